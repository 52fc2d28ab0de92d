/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * TendHealthHistory:
 * The last hour of one service's figures, summed over its instances, one
 * sample a sampling pass, in a fixed ring (24 bytes a sample; about 42 KiB a
 * service at the default 2 s), for charts: `GET …/history` and
 * Service1.GetHistory. A pass records every service, running or not, so a
 * chart shows the gaps (figures unknown) and the restarts.
 */
typedef struct _TendHealthHistory TendHealthHistory;

typedef struct {
  gint64 time_us; /* wall clock of the pass */
  float cpu_percent;
  guint32 rss_kib;   /* saturates at G_MAXUINT32 */
  guint32 restarts;  /* the service's count at that time */
  guint16 processes; /* saturates at G_MAXUINT16 */
  guint16 known;     /* TRUE: cpu_percent, rss_kib and processes were measured */
} TendHealthSample;

/** tend_health_history_new: room for @capacity samples (e.g. 3600 s / sample interval) */
TendHealthHistory *tend_health_history_new (guint capacity);
void tend_health_history_free (TendHealthHistory *self);
/** tend_health_history_push: the newest sample; the oldest goes once the ring is full */
void tend_health_history_push (TendHealthHistory *self, const TendHealthSample *sample);
/** tend_health_history_sample: fills a sample; @known FALSE zeroes the figures */
TendHealthSample tend_health_history_sample (gint64 time_us, gboolean known, double cpu_percent, guint64 rss_bytes,
                                             guint processes, guint restarts);
/** tend_health_history_get_length: samples held (at most the capacity) */
guint tend_health_history_get_length (TendHealthHistory *self);
guint tend_health_history_get_capacity (TendHealthHistory *self);
/** tend_health_history_get: sample @index, 0 the oldest held */
const TendHealthSample *tend_health_history_get (TendHealthHistory *self, guint index);
/**
 * tend_health_history_to_variant:
 * @since_us: only samples whose time is after it (0: all)
 * Returns: (transfer floating): aa{sv}, oldest first: "time" (x) and
 * "restarts" (u); "cpu-percent" (d), "memory-rss" (t, bytes) and
 * "processes" (u) only in samples where they were known
 */
GVariant *tend_health_history_to_variant (TendHealthHistory *self, gint64 since_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendHealthHistory, tend_health_history_free)

G_END_DECLS
