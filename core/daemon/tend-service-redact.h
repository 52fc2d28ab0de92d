/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-service.h"

G_BEGIN_DECLS

/*
 * What a caller without control rights may see of a service. Anyone on the
 * system bus may call Describe, but a service's environment and arguments
 * hold secrets (DB_PASSWORD=..., --token ...) that /proc/PID/environ and
 * /proc/PID/cmdline keep from other users, so they see the variables' names
 * and the program, not the values and the arguments.
 */

/** tend_service_redact_describe: Describe's dictionary without env values and arguments (floating a{sv}) */
GVariant *tend_service_redact_describe (TendService *service);

G_END_DECLS
