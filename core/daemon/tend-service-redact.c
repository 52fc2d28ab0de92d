/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "tend-service-info.h"
#include "tend-service-redact.h"

/* "node" of "node server.js --token x" */
static char *
program_of (const char *command)
{
  g_auto(GStrv) argv = NULL;

  /* a command that does not parse shows nothing rather than a guess at its first word */
  if (command == NULL || !g_shell_parse_argv (command, NULL, &argv, NULL))
    return g_strdup ("");
  return g_strdup (argv[0]);
}

/* "DB_PASSWORD;PORT" of "DB_PASSWORD=x;PORT=7777" */
static char *
env_names (char **env)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; env != NULL && env[i] != NULL; i++) {
    const char *eq = strchr (env[i], '=');
    if (names->len > 0)
      g_string_append_c (names, ';');
    g_string_append_len (names, env[i], eq != NULL ? eq - env[i] : (gssize) strlen (env[i]));
  }
  return g_string_free (g_steal_pointer (&names), FALSE);
}

/* "exec:pg_isready" of "exec:pg_isready -d postgres://user:secret@db"; other checks as they are */
static char *
redact_check (const char *check)
{
  g_autofree char *program = NULL;

  if (g_str_has_prefix (check, "exec:")) {
    program = program_of (check + strlen ("exec:"));
    return g_strconcat ("exec:", program, NULL);
  }
  {
    /* a URL may carry credentials (user:password@, ?token=): only where it points is public */
    g_autoptr(GUri) uri = g_uri_parse (check, G_URI_FLAGS_NONE, NULL);
    if (uri == NULL)
      return g_strdup ("(hidden)");
    return g_uri_to_string_partial (uri, G_URI_HIDE_USERINFO | G_URI_HIDE_QUERY | G_URI_HIDE_FRAGMENT);
  }
}

static GVariant *
redact_config (TendServiceConfig *config)
{
  g_autoptr(GVariant) full = g_variant_ref_sink (tend_service_info_config (config));
  g_autoptr(GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("a{ss}"));
  GVariantIter iter;
  const char *key, *value;

  g_variant_iter_init (&iter, full);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value)) {
    g_autofree char *shown = NULL;

    if (strcmp (key, "env") == 0)
      shown = env_names (config->env);
    else if (strcmp (key, "exec") == 0)
      /* the program actually run: /bin/sh for shell=true, whose whole command is an argument */
      shown = g_strdup (config->argv != NULL && config->argv[0] != NULL ? config->argv[0] : "");
    else if (strcmp (key, "health-check") == 0 || strcmp (key, "ready-check") == 0)
      shown = redact_check (value);
    else
      shown = g_strdup (value);
    g_variant_builder_add (builder, "{ss}", key, shown);
  }
  return g_variant_builder_end (builder);
}

GVariant *
tend_service_redact_describe (TendService *service)
{
  g_autoptr(GVariant) full = g_variant_ref_sink (tend_service_info_describe (service));
  GVariantDict dict;

  g_variant_dict_init (&dict, full);
  g_variant_dict_insert_value (&dict, "config", redact_config (tend_service_get_config (service)));
  /* a client that needs the real command (tend export) must know it got less */
  g_variant_dict_insert (&dict, "redacted", "b", TRUE);
  return g_variant_dict_end (&dict);
}
