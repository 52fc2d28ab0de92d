/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The health plugin's hour of samples: a fixed ring, oldest first, growing only as samples come. */
#include "config.h"

#include "tend-health-history.h"

static void
test_fills_then_wraps (void)
{
  TendHealthHistory *history = tend_health_history_new (3);
  TendHealthSample sample;

  g_assert_cmpuint (tend_health_history_get_length (history), ==, 0);
  tend_health_history_push (history, 1.5, 1024);
  tend_health_history_push (history, 2.5, 2048);
  g_assert_cmpuint (tend_health_history_get_length (history), ==, 2);
  sample = tend_health_history_get (history, 0);
  g_assert_cmpfloat (sample.cpu_percent, ==, 1.5f);
  g_assert_cmpuint (sample.rss_kib, ==, 1);

  /* full: the oldest goes first */
  tend_health_history_push (history, 3.5, 3072);
  tend_health_history_push (history, 4.5, 4096);
  g_assert_cmpuint (tend_health_history_get_length (history), ==, 3);
  g_assert_cmpfloat (tend_health_history_get (history, 0).cpu_percent, ==, 2.5f);
  g_assert_cmpfloat (tend_health_history_get (history, 1).cpu_percent, ==, 3.5f);
  g_assert_cmpfloat (tend_health_history_get (history, 2).cpu_percent, ==, 4.5f);
  g_assert_cmpuint (tend_health_history_get (history, 2).rss_kib, ==, 4);
  tend_health_history_free (history);
}

static void
test_huge_rss_saturates (void)
{
  TendHealthHistory *history = tend_health_history_new (1);

  tend_health_history_push (history, 0, G_MAXUINT64);
  g_assert_cmpuint (tend_health_history_get (history, 0).rss_kib, ==, G_MAXUINT32);
  tend_health_history_free (history);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/health/history/fills-then-wraps", test_fills_then_wraps);
  g_test_add_func ("/health/history/huge-rss-saturates", test_huge_rss_saturates);
  return g_test_run ();
}
