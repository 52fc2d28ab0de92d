/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tend-dump.h"
#include "tend-error.h"
#include "tend-parse.h"
#include "tend-config-private.h"

#define DUMP_GROUP "tend-dump"
#define DUMP_VERSION 1

gboolean
tend_dump_save (TendServiceManager *manager, const char *path, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GStrvBuilder) running = g_strv_builder_new ();
  g_auto(GStrv) running_names = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format_iso8601 (now);
  g_autofree char *body = NULL;
  g_autofree char *text = NULL;
  g_autofree char *previous = NULL;
  g_autofree char *backup = g_strdup_printf ("%s.bak", path);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (manager));
  guint saved = 0;

  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (G_LIST_MODEL (manager), i);
    const char *name = tend_service_get_name (service);

    /* a service on its way out is not part of the state to restore; a plugin's comes back with the plugin */
    if (tend_service_manager_lookup (manager, name) != service || tend_service_get_owner (service) != NULL)
      continue;
    tend_service_config_to_key_file (tend_service_get_config (service), kf);
    if (tend_service_get_wants_running (service))
      g_strv_builder_add (running, name);
    saved++;
  }
  if (saved == 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                 "nothing to save: there is no service (the previous dump is kept)");
    return FALSE;
  }
  running_names = g_strv_builder_end (running);
  g_key_file_set_integer (kf, DUMP_GROUP, "version", DUMP_VERSION);
  g_key_file_set_string_list (kf, DUMP_GROUP, "running", (const char *const *) running_names,
                              g_strv_length (running_names));
  body = g_key_file_to_data (kf, NULL, NULL);
  text = g_strdup_printf ("# written by tend save at %s; restore it with tend resurrect\n%s", stamp, body);

  if (g_file_get_contents (path, &previous, NULL, NULL) &&
      !g_file_set_contents_full (backup, previous, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error)) {
    g_prefix_error (error, "cannot keep the previous dump: ");
    return FALSE;
  }
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error)) {
    g_prefix_error (error, "cannot write %s: ", path);
    return FALSE;
  }
  return TRUE;
}

static gboolean
is_blank (const char *text, gsize length)
{
  for (gsize i = 0; i < length; i++) {
    if (!g_ascii_isspace (text[i]))
      return FALSE;
  }
  return TRUE;
}

/* @line (without its newline) is the header [@group], blanks and a CR allowed around it */
static gboolean
is_group_header (const char *line, gsize length, const char *group)
{
  gsize n = strlen (group);

  while (length > 0 && g_ascii_isspace (*line)) {
    line++;
    length--;
  }
  while (length > 0 && g_ascii_isspace (line[length - 1]))
    length--;
  return length == n + 2 && line[0] == '[' && memcmp (line + 1, group, n) == 0 && line[n + 1] == ']';
}

gboolean
tend_dump_split (const char *contents,
                 gsize length,
                 const char *group,
                 GString **out_services,
                 char **out_group,
                 guint *out_line)
{
  g_autoptr(GString) services = g_string_sized_new (length);
  g_autoptr(GString) dump = g_string_new (NULL);
  const char *end = contents + length;
  gboolean found = FALSE;
  gboolean inside = FALSE;
  guint line = 0;
  guint header_line = 0;

  for (const char *start = contents; start < end;) {
    const char *nl = memchr (start, '\n', (gsize) (end - start));
    const char *line_end = nl != NULL ? nl + 1 : end;
    gsize len = (gsize) ((nl != NULL ? nl : end) - start);
    const char *p = start;

    line++;
    while (p < start + len && g_ascii_isspace (*p))
      p++;
    if (p < start + len && *p == '[')
      inside = !found && is_group_header (start, len, group);
    if (inside && !found)
      header_line = line;
    found = found || inside;
    if (inside) {
      /* for GKeyFile, which knows no CR */
      g_string_append_len (dump, start, (gssize) (len > 0 && start[len - 1] == '\r' ? len - 1 : len));
      g_string_append_c (dump, '\n');
      if (nl != NULL)
        g_string_append_c (services, '\n');
    } else {
      g_string_append_len (services, start, (gssize) (line_end - start));
    }
    start = line_end;
  }
  if (!found)
    return FALSE;
  *out_services = g_steal_pointer (&services);
  *out_group = g_string_free (g_steal_pointer (&dump), FALSE);
  if (out_line != NULL)
    *out_line = header_line;
  return TRUE;
}

/* the services themselves are checked by the configuration reader */
GStrv
tend_dump_read_names (GKeyFile *kf, const char *group, const char *key)
{
  g_autofree char *raw = g_key_file_get_value (kf, group, key, NULL);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_auto(GStrv) items = NULL;

  if (raw == NULL)
    return g_strv_builder_end (names);
  items = g_strsplit (raw, ";", -1);
  for (guint i = 0; items[i] != NULL; i++) {
    const char *name = g_strstrip (items[i]);
    if (tend_service_name_is_valid (name))
      g_strv_builder_add (names, name);
  }
  return g_strv_builder_end (names);
}

TendConfig *
tend_dump_load (const char *path, TendPluginRegistry *registry, GStrv *out_running, GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) running = NULL;
  g_autoptr(GString) services = NULL;
  g_autofree char *dump = NULL;
  g_autoptr(TendConfig) config = NULL;
  gsize length = 0;
  int version = 0;

  if (!g_file_get_contents (path, &contents, &length, &local_error)) {
    g_set_error (error, TEND_ERROR, local_error->code == G_FILE_ERROR_NOENT ? TEND_ERROR_NOT_FOUND : TEND_ERROR_CONFIG,
                 "cannot read the dump: %s (tend save writes it)", local_error->message);
    return NULL;
  }
  if (is_blank (contents, length)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s: the dump is empty; nothing was restored", path);
    return NULL;
  }
  /* tend save writes [tend-dump] last: without it (or with another version) the file was cut short */
  if (tend_dump_split (contents, length, DUMP_GROUP, &services, &dump, NULL) &&
      g_key_file_load_from_data (kf, dump, (gsize) -1, G_KEY_FILE_NONE, NULL))
    version = g_key_file_get_integer (kf, DUMP_GROUP, "version", NULL); /* no unescaping: digits only */
  if (version != DUMP_VERSION) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG,
                 "%s: the dump is damaged or truncated (no [%s] version=%d at its end); nothing was restored", path,
                 DUMP_GROUP, DUMP_VERSION);
    return NULL;
  }
  running = tend_dump_read_names (kf, DUMP_GROUP, "running");
  /* the same strict reader as for configuration files: a hand-edited dump gets the same checks */
  /* TEND_CONFIG_FLAGS_DUMP: added-by=UID, who added a service over D-Bus, is believed from tendd's own file only */
  config = tend_config_new_from_data_full (services->str, (gssize) services->len, path, "/",
                                           TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES | TEND_CONFIG_FLAGS_DUMP, registry, error);
  if (config == NULL) {
    g_prefix_error (error, "the dump is damaged, nothing was restored: ");
    return NULL;
  }
  if (tend_config_get_services (config)->len == 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s: the dump holds no service; nothing was restored", path);
    return NULL;
  }
  if (out_running != NULL)
    *out_running = running != NULL ? g_steal_pointer (&running) : g_new0 (char *, 1);
  return g_steal_pointer (&config);
}
