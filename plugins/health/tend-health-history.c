/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-health-history.h"

struct _TendHealthHistory {
  guint capacity;
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

void
tend_health_history_push (TendHealthHistory *self, double cpu_percent, guint64 rss_bytes)
{
  if (self->length < self->capacity && self->next == self->length) {
    self->samples = g_renew (TendHealthSample, self->samples, self->length + 1);
    self->length++;
  }
  self->samples[self->next].cpu_percent = (float) cpu_percent;
  self->samples[self->next].rss_kib = (guint32) MIN (rss_bytes / 1024, G_MAXUINT32);
  self->next = (self->next + 1) % self->capacity;
}

guint
tend_health_history_get_length (TendHealthHistory *self)
{
  return self->length;
}

TendHealthSample
tend_health_history_get (TendHealthHistory *self, guint index)
{
  /* the oldest is where the next one will go once the ring is full */
  guint start = self->length < self->capacity ? 0 : self->next;

  g_return_val_if_fail (index < self->length, (TendHealthSample) { 0 });
  return self->samples[(start + index) % self->capacity];
}
