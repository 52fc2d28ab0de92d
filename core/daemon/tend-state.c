/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "tend-dump.h"
#include "tend-error.h"
#include "tend-parse.h"
#include "tend-service-manager.h"
#include "tend-state.h"

#define STATE_GROUP "tend-state"
#define STATE_VERSION 1

static const char *const list_keys[] = { "running", "stopped", "deleted", "errored", NULL };

struct _TendStateFile {
  GObject parent_instance;

  TendContext *context; /* not a reference: the daemon owns both, and drops us first */
  char *path;

  /* what the file said when tendd started */
  TendConfig *ad_hoc;
  GHashTable *running;
  GHashTable *stopped;
  GHashTable *deleted;

  gboolean watching;
  gboolean frozen;
  guint write_source;
  char *written; /* the text on disk, so an unchanged state is not written again */
};

G_DEFINE_FINAL_TYPE (TendStateFile, tend_state_file, G_TYPE_OBJECT)

static void
tend_state_file_finalize (GObject *object)
{
  TendStateFile *self = TEND_STATE_FILE (object);

  g_clear_handle_id (&self->write_source, g_source_remove);
  g_clear_object (&self->ad_hoc);
  g_hash_table_unref (self->running);
  g_hash_table_unref (self->stopped);
  g_hash_table_unref (self->deleted);
  g_free (self->written);
  g_free (self->path);
  G_OBJECT_CLASS (tend_state_file_parent_class)->finalize (object);
}

static void
tend_state_file_class_init (TendStateFileClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_state_file_finalize;
}

static void
tend_state_file_init (TendStateFile *self)
{
  self->running = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->stopped = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->deleted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

TendStateFile *
tend_state_file_new (TendContext *context, const char *path)
{
  TendStateFile *self = g_object_new (TEND_TYPE_STATE_FILE, NULL);

  self->context = context;
  self->path = g_strdup (path);
  return self;
}

const char *
tend_state_file_get_path (TendStateFile *self)
{
  return self->path;
}

/* ---------------------------------------------------------------------- */
/* Reading */

/* The line of @key in the group's text, which begins at line @first of the file; @first when not there. */
static guint
key_line (const char *group_text, guint first, const char *key)
{
  g_auto(GStrv) lines = g_strsplit (group_text, "\n", -1);
  gsize n = strlen (key);

  for (guint i = 0; lines[i] != NULL; i++) {
    const char *p = lines[i];
    while (g_ascii_isspace (*p))
      p++;
    if (strncmp (p, key, n) == 0 && (p[n] == '=' || g_ascii_isspace (p[n])))
      return first + i;
  }
  return first;
}

static gboolean
read_list (TendStateFile *self,
           GKeyFile *kf,
           const char *group_text,
           guint first,
           const char *key,
           GHashTable *into,
           GError **error)
{
  g_autofree char *raw = g_key_file_get_value (kf, STATE_GROUP, key, NULL);
  g_auto(GStrv) items = NULL;

  if (raw == NULL)
    return TRUE;
  items = g_strsplit (raw, ";", -1);
  for (guint i = 0; items[i] != NULL; i++) {
    const char *name = g_strstrip (items[i]);
    if (name[0] == '\0')
      continue;
    if (!tend_service_name_is_valid (name)) {
      g_autofree char *quoted = tend_quote_for_message (name, -1);
      g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s:%u: [%s] %s: %s is not a service name", self->path,
                   key_line (group_text, first, key), STATE_GROUP, key, quoted);
      return FALSE;
    }
    if (into != NULL)
      g_hash_table_add (into, g_strdup (name));
  }
  return TRUE;
}

static gboolean
read_state (TendStateFile *self, const char *contents, gsize length, TendPluginRegistry *registry, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GString) services = NULL;
  g_autofree char *group_text = NULL;
  g_auto(GStrv) keys = NULL;
  guint first = 0;
  int version;

  /* tendd writes [tend-state] last */
  if (!tend_dump_split (contents, length, STATE_GROUP, &services, &group_text, &first)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s: no [%s] group: the file is damaged or not tendd's",
                 self->path, STATE_GROUP);
    return FALSE;
  }
  if (!g_key_file_load_from_data (kf, group_text, (gsize) -1, G_KEY_FILE_NONE, NULL)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s:%u: [%s] cannot be read", self->path, first, STATE_GROUP);
    return FALSE;
  }
  keys = g_key_file_get_keys (kf, STATE_GROUP, NULL, NULL);
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
    if (!g_str_equal (keys[i], "version") && !g_strv_contains (list_keys, keys[i])) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s:%u: [%s] %s: unknown key", self->path,
                   key_line (group_text, first, keys[i]), STATE_GROUP, keys[i]);
      return FALSE;
    }
  }
  version = g_key_file_get_integer (kf, STATE_GROUP, "version", NULL); /* digits only: no unescaping */
  if (version != STATE_VERSION) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s:%u: [%s] version: expected %d", self->path,
                 key_line (group_text, first, "version"), STATE_GROUP, STATE_VERSION);
    return FALSE;
  }
  if (!read_list (self, kf, group_text, first, "running", self->running, error) ||
      !read_list (self, kf, group_text, first, "stopped", self->stopped, error) ||
      !read_list (self, kf, group_text, first, "deleted", self->deleted, error) ||
      !read_list (self, kf, group_text, first, "errored", NULL, error))
    return FALSE;
  /* the configuration reader, as strict as for tend.conf; added-by= is believed from tendd's own file only */
  self->ad_hoc = tend_config_new_from_data_full (services->str, (gssize) services->len, self->path, "/",
                                                 TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES | TEND_CONFIG_FLAGS_DUMP,
                                                 registry, error);
  return self->ad_hoc != NULL;
}

gboolean
tend_state_file_load (TendStateFile *self, TendPluginRegistry *registry, GError **error)
{
  g_autofree char *contents = NULL;
  g_autofree char *bad = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length = 0;

  if (!g_file_get_contents (self->path, &contents, &length, &local_error)) {
    if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "cannot read the state: %s", local_error->message);
    return FALSE;
  }
  if (read_state (self, contents, length, registry, error))
    return TRUE;

  /* nothing of it applies; the configuration does, and the file is kept for whoever wants to look */
  g_hash_table_remove_all (self->running);
  g_hash_table_remove_all (self->stopped);
  g_hash_table_remove_all (self->deleted);
  g_clear_object (&self->ad_hoc);
  bad = g_strdup_printf ("%s.bad", self->path);
  if (g_rename (self->path, bad) < 0) {
    int saved = errno;
    g_prefix_error (error, "(cannot keep it as %s: %s) ", bad, g_strerror (saved));
  } else {
    g_prefix_error (error, "the state is damaged and was moved to %s; only the configuration applies: ", bad);
  }
  return FALSE;
}

TendApplyChoice
tend_state_file_choose (const char *name, gpointer data)
{
  TendStateFile *self = data;

  if (g_hash_table_contains (self->deleted, name))
    return TEND_APPLY_SKIP;
  if (g_hash_table_contains (self->running, name))
    return TEND_APPLY_START;
  if (g_hash_table_contains (self->stopped, name))
    return TEND_APPLY_NO_START;
  return TEND_APPLY_DEFAULT;
}

void
tend_state_file_restore_ad_hoc (TendStateFile *self)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  GPtrArray *configs = self->ad_hoc != NULL ? tend_config_get_services (self->ad_hoc) : NULL;
  guint restored = 0;

  for (guint i = 0; configs != NULL && i < configs->len; i++) {
    TendServiceConfig *config = g_ptr_array_index (configs, i);
    TendService *service;

    /* the configuration (or a plugin) defines it now: that definition wins, tend_state_file_choose() did the rest */
    if (tend_service_manager_lookup (manager, config->name) != NULL)
      continue;
    service = tend_service_manager_add (manager, config, NULL);
    if (service == NULL)
      continue;
    tend_service_set_ad_hoc (service, TRUE);
    restored++;
    if (g_hash_table_contains (self->running, config->name) ||
        (!g_hash_table_contains (self->stopped, config->name) && config->start))
      tend_service_start (service);
  }
  if (restored > 0)
    g_message (_("restored %u ad hoc services from %s"), restored, self->path);
}

/* ---------------------------------------------------------------------- */
/* Writing */

static char *
build_text (TendStateFile *self)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  GPtrArray *configured = tend_config_get_services (tend_context_get_config (self->context));
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GStrvBuilder *lists[G_N_ELEMENTS (list_keys) - 1];
  g_autofree char *body = NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (manager));

  for (guint k = 0; k < G_N_ELEMENTS (lists); k++)
    lists[k] = g_strv_builder_new ();
  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (G_LIST_MODEL (manager), i);
    const char *name = tend_service_get_name (service);

    /* one being deleted is gone already; a plugin's own service comes back with the plugin */
    if (tend_service_manager_lookup (manager, name) != service || tend_service_get_owner (service) != NULL)
      continue;
    if (tend_service_get_ad_hoc (service))
      tend_service_config_to_key_file (tend_service_get_config (service), kf);
    g_strv_builder_add (lists[tend_service_get_wants_running (service) ? 0 : 1], name);
    if (tend_service_get_state (service) == TEND_SERVICE_STATE_ERRORED)
      g_strv_builder_add (lists[3], name);
  }
  /* a configured service the daemon does not have was deleted on purpose (a reload removes the others) */
  for (guint i = 0; i < configured->len; i++) {
    TendServiceConfig *config = g_ptr_array_index (configured, i);
    if (tend_service_manager_lookup (manager, config->name) == NULL)
      g_strv_builder_add (lists[2], config->name);
  }
  g_key_file_set_integer (kf, STATE_GROUP, "version", STATE_VERSION);
  for (guint k = 0; k < G_N_ELEMENTS (lists); k++) {
    g_auto(GStrv) names = g_strv_builder_end (lists[k]);
    g_strv_builder_unref (lists[k]);
    g_key_file_set_string_list (kf, STATE_GROUP, list_keys[k], (const char *const *) names, g_strv_length (names));
  }
  body = g_key_file_to_data (kf, NULL, NULL);
  return g_strconcat ("# tendd's desired state, rewritten on every change and applied over the configuration\n"
                      "# when tendd starts (docs/lifecycle.md). Written by tendd: tend save writes dump.conf.\n",
                      body, NULL);
}

static void
write_now (TendStateFile *self)
{
  g_autofree char *text = build_text (self);
  g_autoptr(GError) error = NULL;

  if (g_strcmp0 (text, self->written) == 0)
    return;
  if (!g_file_set_contents_full (self->path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error)) {
    /* the next change tries again; the services are not affected */
    g_warning (_("cannot write the state %s: %s"), self->path, error->message);
    return;
  }
  g_free (self->written);
  self->written = g_steal_pointer (&text);
}

static gboolean
write_cb (gpointer user_data)
{
  TendStateFile *self = user_data;

  self->write_source = 0;
  write_now (self);
  return G_SOURCE_REMOVE;
}

void
tend_state_file_changed (TendStateFile *self)
{
  if (!self->watching || self->frozen || self->write_source != 0)
    return;
  /* every change of this main-loop iteration in one write */
  self->write_source = g_idle_add_full (G_PRIORITY_DEFAULT, write_cb, self, NULL);
}

void
tend_state_file_flush (TendStateFile *self)
{
  if (self->write_source == 0)
    return;
  g_clear_handle_id (&self->write_source, g_source_remove);
  write_now (self);
}

void
tend_state_file_freeze (TendStateFile *self)
{
  tend_state_file_flush (self);
  self->frozen = TRUE;
}

static void
wants_running_cb (TendService *service, GParamSpec *pspec, gpointer user_data)
{
  tend_state_file_changed (user_data);
}

static void
connect_service (TendStateFile *self, TendService *service)
{
  g_signal_connect_object (service, "notify::wants-running", G_CALLBACK (wants_running_cb), self, 0);
}

static void
service_added_cb (TendContext *context, TendService *service, gpointer user_data)
{
  connect_service (user_data, service);
  tend_state_file_changed (user_data);
}

static void
service_removed_cb (TendContext *context, TendService *service, gpointer user_data)
{
  tend_state_file_changed (user_data);
}

static void
state_changed_cb (TendContext *context,
                  TendService *service,
                  TendInstance *instance,
                  TendServiceState old_state,
                  TendServiceState new_state,
                  const char *reason,
                  gpointer user_data)
{
  /* errored (the policy gave up) is recorded; other state changes are not a change of what should run */
  if (old_state == TEND_SERVICE_STATE_ERRORED || new_state == TEND_SERVICE_STATE_ERRORED)
    tend_state_file_changed (user_data);
}

void
tend_state_file_watch (TendStateFile *self)
{
  TendServiceManager *manager = tend_context_get_manager (self->context);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (manager));

  if (self->watching)
    return;
  self->watching = TRUE;
  g_signal_connect_object (self->context, "service-added", G_CALLBACK (service_added_cb), self, 0);
  g_signal_connect_object (self->context, "service-removed", G_CALLBACK (service_removed_cb), self, 0);
  g_signal_connect_object (self->context, "service-state-changed", G_CALLBACK (state_changed_cb), self, 0);
  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (G_LIST_MODEL (manager), i);
    connect_service (self, service);
  }
  /* what tendd starts with is the state from now on (a service gone from the configuration leaves it) */
  tend_state_file_changed (self);
}
