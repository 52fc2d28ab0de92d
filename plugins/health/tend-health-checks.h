/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-context.h"

G_BEGIN_DECLS

/**
 * TendHealthChecks:
 * Runs every service's `health-check` (liveness: while the service is
 * online, every health-interval; after health-retries failures in a row the
 * service is restarted with the reason) and `ready-check` (readiness: while
 * an instance is launching, every 250 ms until it passes, which makes it
 * online). One try at a time per check, each bounded by health-timeout, the
 * next one scheduled only after it ended: they never pile up.
 */
typedef struct _TendHealthChecks TendHealthChecks;

TendHealthChecks *tend_health_checks_new (TendContext *context);
void tend_health_checks_free (TendHealthChecks *self);
/** tend_health_checks_get_runs: checks run so far (for the status) */
guint tend_health_checks_get_runs (TendHealthChecks *self);

G_END_DECLS
