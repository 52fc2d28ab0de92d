/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-health-history.h"

struct _TendHealthHistory {
  guint capacity;
  guint allocated;
  guint length;
  guint next; /* where the next sample goes */
  TendHealthSample *samples;
};

TendHealthHistory *
tend_health_history_new (guint capacity)
{
  TendHealthHistory *self = g_new0 (TendHealthHistory, 1);

  self->capacity = MAX (capacity, 1);
  /* grown as samples come, so a short-lived service never pays for a full hour */
  self->samples = NULL;
  return self;
}

void
tend_health_history_free (TendHealthHistory *self)
{
  g_free (self->samples);
  g_free (self);
}

TendHealthSample
tend_health_history_sample (gint64 time_us, gboolean known, double cpu_percent, guint64 rss_bytes, guint processes,
                            guint restarts)
{
  TendHealthSample sample = { .time_us = time_us, .restarts = restarts, .known = known ? 1 : 0 };

  if (known) {
    sample.cpu_percent = (float) cpu_percent;
    sample.rss_kib = (guint32) MIN (rss_bytes / 1024, G_MAXUINT32);
    sample.processes = (guint16) MIN (processes, G_MAXUINT16);
  }
  return sample;
}

void
tend_health_history_push (TendHealthHistory *self, const TendHealthSample *sample)
{
  if (self->length < self->capacity) {
    /* not full yet: samples are appended, doubling the room up to the capacity */
    if (self->length == self->allocated) {
      self->allocated = MIN (MAX (self->allocated * 2, 16), self->capacity);
      self->samples = g_renew (TendHealthSample, self->samples, self->allocated);
    }
    self->length++;
  }
  self->samples[self->next] = *sample;
  self->next = (self->next + 1) % self->capacity;
}

guint
tend_health_history_get_length (TendHealthHistory *self)
{
  return self->length;
}

guint
tend_health_history_get_capacity (TendHealthHistory *self)
{
  return self->capacity;
}

/* @index < length: 0 the oldest, which is where the next one will go once the ring is full */
static const TendHealthSample *
at (TendHealthHistory *self, guint index)
{
  guint start = self->length < self->capacity ? 0 : self->next;

  return &self->samples[(start + index) % self->capacity];
}

const TendHealthSample *
tend_health_history_get (TendHealthHistory *self, guint index)
{
  g_return_val_if_fail (index < self->length, NULL);
  return at (self, index);
}

/* the float a sample holds, as its reader wants it: 0.4, not 0.4000000059604645 */
static double
round_cpu (float value)
{
  return (double) (gint64) ((double) value * 100.0 + 0.5) / 100.0;
}

GVariant *
tend_health_history_to_variant (TendHealthHistory *self, gint64 since_us)
{
  GVariantBuilder b;
  guint first = self->length;

  /* the wall clock may have stepped back: look from the newest for the first sample not after @since */
  while (first > 0 && at (self, first - 1)->time_us > since_us)
    first--;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = first; i < self->length; i++) {
    const TendHealthSample *s = at (self, i);

    g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add (&b, "{sv}", "time", g_variant_new_int64 (s->time_us));
    g_variant_builder_add (&b, "{sv}", "restarts", g_variant_new_uint32 (s->restarts));
    if (s->known) {
      g_variant_builder_add (&b, "{sv}", "cpu-percent", g_variant_new_double (round_cpu (s->cpu_percent)));
      g_variant_builder_add (&b, "{sv}", "memory-rss", g_variant_new_uint64 ((guint64) s->rss_kib * 1024));
      g_variant_builder_add (&b, "{sv}", "processes", g_variant_new_uint32 (s->processes));
    }
    g_variant_builder_close (&b);
  }
  return g_variant_builder_end (&b);
}
