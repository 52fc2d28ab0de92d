/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The health plugin's hour of samples: a fixed ring, oldest first, growing only as samples come. */
#include "config.h"

#include "tend-health-history.h"

static void
push (TendHealthHistory *history, gint64 time_us, gboolean known, double cpu, guint64 rss, guint processes,
      guint restarts)
{
  TendHealthSample sample = tend_health_history_sample (time_us, known, cpu, rss, processes, restarts);
  tend_health_history_push (history, &sample);
}

static void
test_fills_then_wraps (void)
{
  g_autoptr(TendHealthHistory) history = tend_health_history_new (3);
  const TendHealthSample *sample;

  g_assert_cmpuint (tend_health_history_get_length (history), ==, 0);
  push (history, 1000, TRUE, 1.5, 1024, 1, 0);
  push (history, 2000, TRUE, 2.5, 2048, 2, 0);
  g_assert_cmpuint (tend_health_history_get_length (history), ==, 2);
  sample = tend_health_history_get (history, 0);
  g_assert_cmpint (sample->time_us, ==, 1000);
  g_assert_cmpfloat (sample->cpu_percent, ==, 1.5f);
  g_assert_cmpuint (sample->rss_kib, ==, 1);
  g_assert_cmpuint (sample->processes, ==, 1);

  /* full: the oldest goes first */
  push (history, 3000, TRUE, 3.5, 3072, 3, 1);
  push (history, 4000, TRUE, 4.5, 4096, 4, 2);
  g_assert_cmpuint (tend_health_history_get_length (history), ==, 3);
  g_assert_cmpint (tend_health_history_get (history, 0)->time_us, ==, 2000);
  g_assert_cmpfloat (tend_health_history_get (history, 0)->cpu_percent, ==, 2.5f);
  g_assert_cmpfloat (tend_health_history_get (history, 1)->cpu_percent, ==, 3.5f);
  g_assert_cmpfloat (tend_health_history_get (history, 2)->cpu_percent, ==, 4.5f);
  g_assert_cmpuint (tend_health_history_get (history, 2)->rss_kib, ==, 4);
  g_assert_cmpuint (tend_health_history_get (history, 2)->restarts, ==, 2);
  g_assert_cmpint (tend_health_history_get (history, 2)->time_us, ==, 4000);
}

static void
test_wraps_many_times (void)
{
  g_autoptr(TendHealthHistory) history = tend_health_history_new (7);

  for (gint64 t = 1; t <= 100; t++)
    push (history, t * 10, TRUE, 0, (guint64) t * 1024, 1, 0);
  g_assert_cmpuint (tend_health_history_get_length (history), ==, 7);
  for (guint i = 0; i < 7; i++) {
    g_assert_cmpint (tend_health_history_get (history, i)->time_us, ==, (94 + i) * 10);
    g_assert_cmpuint (tend_health_history_get (history, i)->rss_kib, ==, 94 + i);
  }
}

static void
test_huge_figures_saturate (void)
{
  g_autoptr(TendHealthHistory) history = tend_health_history_new (1);

  push (history, 1, TRUE, 0, G_MAXUINT64, 100000, 0);
  g_assert_cmpuint (tend_health_history_get (history, 0)->rss_kib, ==, G_MAXUINT32);
  g_assert_cmpuint (tend_health_history_get (history, 0)->processes, ==, G_MAXUINT16);
}

static gint64
lookup_time (GVariant *sample)
{
  gint64 time_us = -1;
  g_assert_true (g_variant_lookup (sample, "time", "x", &time_us));
  return time_us;
}

static void
test_since_filters (void)
{
  g_autoptr(TendHealthHistory) history = tend_health_history_new (4);
  g_autoptr(GVariant) all = NULL;
  g_autoptr(GVariant) later = NULL;
  g_autoptr(GVariant) none = NULL;
  g_autoptr(GVariant) s0 = NULL;

  for (gint64 t = 1; t <= 6; t++)
    push (history, t * 1000000, TRUE, 0.25 * (double) t, (guint64) t << 20, (guint) t, (guint) t / 2);
  /* holds 3..6 s */
  all = g_variant_ref_sink (tend_health_history_to_variant (history, 0));
  g_assert_cmpuint (g_variant_n_children (all), ==, 4);
  s0 = g_variant_get_child_value (all, 0);
  g_assert_cmpint (lookup_time (s0), ==, 3000000);
  /* strictly after: a client passes the time of the last sample it has */
  later = g_variant_ref_sink (tend_health_history_to_variant (history, 4000000));
  g_assert_cmpuint (g_variant_n_children (later), ==, 2);
  for (guint i = 0; i < 2; i++) {
    g_autoptr(GVariant) s = g_variant_get_child_value (later, i);
    guint64 rss = 0;
    guint32 processes = 0, restarts = 0;
    double cpu = -1;
    g_assert_cmpint (lookup_time (s), ==, (5 + i) * 1000000);
    g_assert_true (g_variant_lookup (s, "memory-rss", "t", &rss));
    g_assert_cmpuint (rss, ==, (guint64) (5 + i) << 20);
    g_assert_true (g_variant_lookup (s, "cpu-percent", "d", &cpu));
    g_assert_cmpfloat_with_epsilon (cpu, 0.25 * (5 + i), 1e-9);
    g_assert_true (g_variant_lookup (s, "processes", "u", &processes));
    g_assert_cmpuint (processes, ==, 5 + i);
    g_assert_true (g_variant_lookup (s, "restarts", "u", &restarts));
    g_assert_cmpuint (restarts, ==, (5 + i) / 2);
  }
  none = g_variant_ref_sink (tend_health_history_to_variant (history, 6000000));
  g_assert_cmpuint (g_variant_n_children (none), ==, 0);
}

static void
test_unknown_figures_are_left_out (void)
{
  g_autoptr(TendHealthHistory) history = tend_health_history_new (4);
  g_autoptr(GVariant) all = NULL;
  g_autoptr(GVariant) s0 = NULL;
  g_autoptr(GVariant) s1 = NULL;

  push (history, 10, FALSE, 9.0, 1 << 20, 3, 1);
  push (history, 20, TRUE, 0.0, 1 << 20, 1, 2);
  all = g_variant_ref_sink (tend_health_history_to_variant (history, 0));
  s0 = g_variant_get_child_value (all, 0);
  s1 = g_variant_get_child_value (all, 1);
  g_assert_false (g_variant_lookup (s0, "cpu-percent", "d", NULL));
  g_assert_false (g_variant_lookup (s0, "memory-rss", "t", NULL));
  g_assert_false (g_variant_lookup (s0, "processes", "u", NULL));
  g_assert_true (g_variant_lookup (s0, "restarts", "u", NULL));
  /* a measured 0 is a figure */
  g_assert_true (g_variant_lookup (s1, "cpu-percent", "d", NULL));
  g_assert_true (g_variant_lookup (s1, "memory-rss", "t", NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/health/history/fills-then-wraps", test_fills_then_wraps);
  g_test_add_func ("/health/history/wraps-many-times", test_wraps_many_times);
  g_test_add_func ("/health/history/huge-figures-saturate", test_huge_figures_saturate);
  g_test_add_func ("/health/history/since-filters", test_since_filters);
  g_test_add_func ("/health/history/unknown-figures-are-left-out", test_unknown_figures_are_left_out);
  return g_test_run ();
}
