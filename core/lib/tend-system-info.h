/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib.h>

G_BEGIN_DECLS

/**
 * TendSystemInfo:
 * The host's figures of the seed's /api/health/system document.
 */
typedef struct {
  double load[3]; /* 1, 5 and 15 minutes */
  guint cores;
  guint64 memory_total; /* bytes */
  guint64 memory_free;  /* bytes available (MemAvailable) */
  double uptime_seconds;
  char hostname[256];
} TendSystemInfo;

/** tend_system_info_read: fills @out from /proc and sysconf; FALSE when /proc cannot be read */
TEND_API gboolean tend_system_info_read (TendSystemInfo *out);

G_END_DECLS
