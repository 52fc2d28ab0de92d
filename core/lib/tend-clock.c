/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-clock.h"

G_DEFINE_TYPE (TendClock, tend_clock, G_TYPE_OBJECT)

static gint64
real_now_us (TendClock *self)
{
  return g_get_monotonic_time ();
}

static guint
real_add_timeout (TendClock *self, guint ms, GSourceOnceFunc func, gpointer data)
{
  return g_timeout_add_once (ms, func, data);
}

static guint
real_add_idle (TendClock *self, GSourceOnceFunc func, gpointer data)
{
  return g_idle_add_once (func, data);
}

static void
real_remove (TendClock *self, guint id)
{
  g_source_remove (id);
}

static void
tend_clock_class_init (TendClockClass *klass)
{
  klass->now_us = real_now_us;
  klass->add_timeout = real_add_timeout;
  klass->add_idle = real_add_idle;
  klass->remove = real_remove;
}

static void
tend_clock_init (TendClock *self)
{
}

TendClock *
tend_clock_get_default (void)
{
  static TendClock *clock;

  if (g_once_init_enter (&clock))
    g_once_init_leave (&clock, g_object_new (TEND_TYPE_CLOCK, NULL));
  return clock;
}

gint64
tend_clock_now_us (TendClock *self)
{
  return TEND_CLOCK_GET_CLASS (self)->now_us (self);
}

guint
tend_clock_add_timeout (TendClock *self, guint ms, GSourceOnceFunc func, gpointer data)
{
  return TEND_CLOCK_GET_CLASS (self)->add_timeout (self, ms, func, data);
}

guint
tend_clock_add_idle (TendClock *self, GSourceOnceFunc func, gpointer data)
{
  return TEND_CLOCK_GET_CLASS (self)->add_idle (self, func, data);
}

void
tend_clock_remove (TendClock *self, guint id)
{
  TEND_CLOCK_GET_CLASS (self)->remove (self, id);
}

void
tend_clock_clear (TendClock *self, guint *id)
{
  guint old = *id;

  if (old == 0)
    return;
  *id = 0;
  tend_clock_remove (self, old);
}
