/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tend-system-info.h"

static guint64
meminfo_value (const char *text, const char *key)
{
  const char *at = strstr (text, key);
  return at != NULL ? g_ascii_strtoull (at + strlen (key), NULL, 10) * 1024 : 0;
}

gboolean
tend_system_info_read (TendSystemInfo *out)
{
  g_autofree char *loadavg = NULL;
  g_autofree char *meminfo = NULL;
  g_autofree char *uptime = NULL;
  long cores = sysconf (_SC_NPROCESSORS_ONLN);

  memset (out, 0, sizeof *out);
  if (!g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL) ||
      !g_file_get_contents ("/proc/meminfo", &meminfo, NULL, NULL) ||
      !g_file_get_contents ("/proc/uptime", &uptime, NULL, NULL))
    return FALSE;
  if (sscanf (loadavg, "%lf %lf %lf", &out->load[0], &out->load[1], &out->load[2]) != 3)
    return FALSE;
  out->uptime_seconds = g_ascii_strtod (uptime, NULL);
  out->cores = cores > 0 ? (guint) cores : 1;
  out->memory_total = meminfo_value (meminfo, "MemTotal:");
  /* what a new program could get, as free(1) reports "available" */
  out->memory_free = meminfo_value (meminfo, "MemAvailable:");
  g_strlcpy (out->hostname, g_get_host_name (), sizeof out->hostname);
  return TRUE;
}
