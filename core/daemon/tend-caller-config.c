/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <unistd.h>

#include "tend-as-user.h"
#include "tend-caller-config.h"
#include "tend-error.h"
#include "tend-config-private.h"

typedef struct {
  const char *path; /* a file, or NULL for text */
  const char *text;
  const char *display_name;
  const char *base_dir;
  TendPluginRegistry *registry;
} Read;

static gpointer
read_cb (gpointer data, GError **error)
{
  Read *read = data;

  if (read->path != NULL)
    return tend_config_new_from_file_full (read->path, TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES, read->registry, error);
  return tend_config_new_from_data_full (read->text, -1, read->display_name, read->base_dir,
                                         TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES, read->registry, error);
}

/*
 * Every later read of the services' env-files (each start, reload, resurrect)
 * is made with the caller's rights too, unless user= names whose: the
 * services remember who added them. The configs are new, shared with no one.
 */
static TendConfig *
mark_added_by (TendConfig *config, uid_t caller)
{
  GPtrArray *services;

  if (config == NULL)
    return NULL;
  services = tend_config_get_services (config);
  for (guint i = 0; i < services->len; i++)
    ((TendServiceConfig *) g_ptr_array_index (services, i))->added_by_uid = caller;
  return config;
}

static TendConfig *
read_as (Read *read, uid_t caller, GError **error)
{
  const char *name = read->path != NULL ? read->path : read->display_name;
  g_autoptr(GError) local_error = NULL;
  TendConfig *config;

  if (caller == 0 || caller == geteuid ())
    return read_cb (read, error);
  if (geteuid () == 0)
    return mark_added_by (tend_as_user_run (caller, read_cb, read, error), caller);
  config = mark_added_by (read_cb (read, &local_error), caller);
  if (config == NULL) {
    g_message ("%s, for uid %u: %s", name, (unsigned) caller, local_error->message);
    g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG,
                 "%s: not a valid configuration (tendd is not root, so it cannot read files as you and does not "
                 "show you its error; `tend check` does)",
                 name);
  }
  return config;
}

TendConfig *
tend_caller_config_from_file (const char *path, TendPluginRegistry *registry, uid_t caller, GError **error)
{
  Read read = { .path = path, .registry = registry };
  return read_as (&read, caller, error);
}

TendConfig *
tend_caller_config_from_data (const char *text,
                              const char *display_name,
                              const char *base_dir,
                              TendPluginRegistry *registry,
                              uid_t caller,
                              GError **error)
{
  Read read = { .text = text, .display_name = display_name, .base_dir = base_dir, .registry = registry };
  return read_as (&read, caller, error);
}
