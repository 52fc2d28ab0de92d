/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The keys the health plugin adds to every [service:NAME] group: the memory
 * limit and the liveness check, which only it enforces: the plugin's
 * service_keys, and the getters below. The client's key generator
 * (core/cli/tend-cli-keys-gen.c) reads the table from the built module and
 * gives `tend start` an option for each.
 */

#include <glib/gi18n-lib.h>

#include "tend-parse.h"
#include "tend-plugin-config.h"
#include "tend-service-config.h"

static const TendConfigKey tend_health_service_keys[] = {
  { "max-memory-restart", TEND_CONFIG_KEY_SIZE, "0", NULL, N_ ("restart past this resident memory (0: no limit)") },
  { "health-check", TEND_CONFIG_KEY_CHECK_URL, NULL, NULL, N_ ("http://HOST:PORT/PATH, tcp://HOST:PORT or exec:COMMAND") },
  { "health-interval", TEND_CONFIG_KEY_DURATION, "10s", "1ms..24h", N_ ("time between two health checks") },
  { "health-timeout", TEND_CONFIG_KEY_DURATION, "2s", "1ms..24h", N_ ("how long one health check may take") },
  { "health-retries", TEND_CONFIG_KEY_UINT, "3", "1..1000000", N_ ("failed checks in a row before a restart") },
  { NULL },
};

/* the reader checked and normalized the value: only the default can be missing */
static inline guint64
tend_health_service_get_ms (const TendServiceConfig *config, const char *key, guint64 def)
{
  const char *text = tend_service_config_get_plugin_value (config, key);
  guint64 ms;

  return text != NULL && tend_parse_duration (text, &ms, NULL) ? ms : def;
}

static inline guint
tend_health_service_get_retries (const TendServiceConfig *config)
{
  const char *text = tend_service_config_get_plugin_value (config, "health-retries");
  guint64 n;

  return text != NULL && tend_parse_uint (text, 1, G_MAXUINT, &n, NULL) ? (guint) n : 3;
}

/* bytes; 0: no limit */
static inline guint64
tend_health_service_get_max_memory (const TendServiceConfig *config)
{
  const char *text = tend_service_config_get_plugin_value (config, "max-memory-restart");
  guint64 bytes;

  return text != NULL && tend_parse_size (text, &bytes, NULL) ? bytes : 0;
}

#define tend_health_service_get_check(config) tend_service_config_get_plugin_value ((config), "health-check")
#define tend_health_service_get_interval_ms(config) tend_health_service_get_ms ((config), "health-interval", 10000)
#define tend_health_service_get_timeout_ms(config) tend_health_service_get_ms ((config), "health-timeout", 2000)
