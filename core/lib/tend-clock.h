/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "tend-api.h"

G_BEGIN_DECLS

/**
 * TendClock:
 * Where the restart policy reads the time and schedules its delays. The
 * default clock is GLib's (g_get_monotonic_time(), g_timeout_add_once(),
 * g_idle_add_once() on the thread-default main context); a test replaces it
 * with a fake one that advances virtual time, so that minutes of backoff
 * take no time at all.
 */
#define TEND_TYPE_CLOCK (tend_clock_get_type ())
TEND_API
G_DECLARE_DERIVABLE_TYPE (TendClock, tend_clock, TEND, CLOCK, GObject)

struct _TendClockClass {
  GObjectClass parent_class;

  gint64 (*now_us) (TendClock *self);
  guint (*add_timeout) (TendClock *self, guint ms, GSourceOnceFunc func, gpointer data);
  guint (*add_idle) (TendClock *self, GSourceOnceFunc func, gpointer data);
  void (*remove) (TendClock *self, guint id);
};

/** tend_clock_get_default: the real clock (borrowed, lives forever) */
TEND_API TendClock *tend_clock_get_default (void);
/** tend_clock_now_us: monotonic µs */
TEND_API gint64 tend_clock_now_us (TendClock *self);
/** tend_clock_add_timeout: runs @func once after @ms; returns an id for tend_clock_remove(), never 0 */
TEND_API guint tend_clock_add_timeout (TendClock *self, guint ms, GSourceOnceFunc func, gpointer data);
/** tend_clock_add_idle: runs @func once, soon, from the main loop */
TEND_API guint tend_clock_add_idle (TendClock *self, GSourceOnceFunc func, gpointer data);
/** tend_clock_remove: cancels a pending timeout or idle */
TEND_API void tend_clock_remove (TendClock *self, guint id);
/** tend_clock_clear: cancels *@id when it is not 0 and sets it to 0 (as g_clear_handle_id()) */
TEND_API void tend_clock_clear (TendClock *self, guint *id);

G_END_DECLS
