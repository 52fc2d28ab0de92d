/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * TendHealthHistory:
 * The last hour of one instance's CPU and memory samples, in a fixed ring
 * (8 bytes a sample), for charts.
 */
typedef struct _TendHealthHistory TendHealthHistory;

typedef struct {
  float cpu_percent;
  guint32 rss_kib;
} TendHealthSample;

/** tend_health_history_new: room for @capacity samples (e.g. 3600 s / sample interval) */
TendHealthHistory *tend_health_history_new (guint capacity);
void tend_health_history_free (TendHealthHistory *self);
void tend_health_history_push (TendHealthHistory *self, double cpu_percent, guint64 rss_bytes);
/** tend_health_history_get_length: samples held (at most the capacity) */
guint tend_health_history_get_length (TendHealthHistory *self);
/** tend_health_history_get: sample @index, 0 the oldest held */
TendHealthSample tend_health_history_get (TendHealthHistory *self, guint index);

G_END_DECLS
