/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <gmodule.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-plugin-registry.h"

/*
 * What the registry knows of a plugin. A module is opened only to copy its
 * info and key table, then closed again: a plugin that is not enabled costs
 * nothing (the HTTP plugin alone maps libsoup and json-glib). It is opened
 * for good, and made resident, when the loader needs its GType.
 */
typedef struct {
  TendPluginInfo info;          /* for modules a copy, whose get_type is NULL until loaded */
  const TendPluginInfo *loaded; /* the real one: static infos, or a module once loaded */
  char *path;                   /* the module; NULL for infos added directly */
  GStringChunk *strings;
  TendConfigKey *keys;
  TendConfigKey *service_keys;
} Entry;

struct _TendPluginRegistry {
  GObject parent_instance;

  GHashTable *infos;        /* name -> Entry */
  GHashTable *scanned_dirs; /* canonical folder names */
};

static void
entry_free (Entry *entry)
{
  g_free (entry->path);
  g_free (entry->keys);
  g_free (entry->service_keys);
  if (entry->strings != NULL)
    g_string_chunk_free (entry->strings);
  g_free (entry);
}

static const char *
chunk_dup (GStringChunk *chunk, const char *s)
{
  return s != NULL ? g_string_chunk_insert_const (chunk, s) : NULL;
}

/* a key table copied out of a module that is about to be closed */
static TendConfigKey *
keys_copy (GStringChunk *strings, const TendConfigKey *keys)
{
  TendConfigKey *copy;
  guint n = 0;

  while (keys != NULL && keys[n].name != NULL)
    n++;
  copy = g_new0 (TendConfigKey, n + 1);
  for (guint i = 0; i < n; i++) {
    copy[i].name = chunk_dup (strings, keys[i].name);
    copy[i].type = keys[i].type;
    copy[i].default_value = chunk_dup (strings, keys[i].default_value);
    copy[i].choices = chunk_dup (strings, keys[i].choices);
    copy[i].doc = chunk_dup (strings, keys[i].doc);
  }
  return copy;
}

static Entry *
entry_copy_from_module (const TendPluginInfo *info, const char *path)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->path = g_strdup (path);
  entry->strings = g_string_chunk_new (256);
  entry->keys = keys_copy (entry->strings, info->keys);
  entry->service_keys = keys_copy (entry->strings, info->service_keys);
  entry->info.abi_version = info->abi_version;
  entry->info.name = chunk_dup (entry->strings, info->name);
  entry->info.description = chunk_dup (entry->strings, info->description);
  entry->info.keys = entry->keys;
  entry->info.service_keys = entry->service_keys;
  entry->info.enabled_by_default = info->enabled_by_default;
  entry->info.flags = info->flags;
  return entry;
}

G_DEFINE_FINAL_TYPE (TendPluginRegistry, tend_plugin_registry, G_TYPE_OBJECT)

static void
tend_plugin_registry_finalize (GObject *object)
{
  TendPluginRegistry *self = TEND_PLUGIN_REGISTRY (object);

  g_hash_table_unref (self->infos);
  g_hash_table_unref (self->scanned_dirs);
  G_OBJECT_CLASS (tend_plugin_registry_parent_class)->finalize (object);
}

static void
tend_plugin_registry_class_init (TendPluginRegistryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_plugin_registry_finalize;
}

static void
tend_plugin_registry_init (TendPluginRegistry *self)
{
  self->infos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
  self->scanned_dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

TendPluginRegistry *
tend_plugin_registry_new (void)
{
  return g_object_new (TEND_TYPE_PLUGIN_REGISTRY, NULL);
}

static gboolean
check_info (const TendPluginInfo *info, GError **error)
{
  if (info->abi_version != TEND_PLUGIN_ABI_VERSION) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN,
                 "plugin ABI version %u, but tend needs %u",
                 info->abi_version, (guint) TEND_PLUGIN_ABI_VERSION);
    return FALSE;
  }
  if (info->name == NULL || info->name[0] == '\0') {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_PLUGIN, "plugin has no name");
    return FALSE;
  }
  if (info->get_type == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "plugin %s has no type", info->name);
    return FALSE;
  }
  return TRUE;
}

gboolean
tend_plugin_registry_add_info (TendPluginRegistry *self, const TendPluginInfo *info, GError **error)
{
  g_return_val_if_fail (TEND_IS_PLUGIN_REGISTRY (self), FALSE);
  g_return_val_if_fail (info != NULL, FALSE);

  if (!check_info (info, error))
    return FALSE;
  if (g_hash_table_contains (self->infos, info->name)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN,
                 "plugin %s is already registered", info->name);
    return FALSE;
  }
  {
    Entry *entry = g_new0 (Entry, 1);
    entry->info = *info;
    entry->loaded = info;
    g_hash_table_insert (self->infos, g_strdup (info->name), entry);
  }
  return TRUE;
}

/* A file or folder only root may change: owned by root, and writable by
 * group or others only for a sticky folder (as /tmp), where only root can
 * replace what root owns. */
static gboolean
check_owned_by_root (const char *path, gboolean is_dir, GError **error)
{
  struct stat st;

  if (lstat (path, &st) < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "cannot check %s: %s", path, g_strerror (saved));
    return FALSE;
  }
  if (is_dir ? !S_ISDIR (st.st_mode) : !S_ISREG (st.st_mode)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "%s is not a regular %s", path, is_dir ? "folder" : "file");
    return FALSE;
  }
  if (st.st_uid != 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN,
                 "tendd runs as root and %s is owned by uid %u, not root", path, (guint) st.st_uid);
    return FALSE;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !(is_dir && (st.st_mode & S_ISVTX) != 0)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "tendd runs as root and %s is writable by %s (mode %04o)",
                 path, (st.st_mode & S_IWOTH) != 0 ? "others" : "its group", (guint) (st.st_mode & 07777));
    return FALSE;
  }
  return TRUE;
}

/*
 * A plugin runs inside tendd with tendd's rights. When those are root's, a
 * module someone else could have written, or could swap for another through
 * a folder they may write, is code anyone could run as root: refuse it, as
 * NetworkManager does for its plugins and sudo for its files. The module
 * (after symlinks) and every folder above it are checked, so nobody but root
 * can change what is then loaded.
 */
char *
tend_plugin_registry_check_file (const char *path, uid_t euid, GError **error)
{
  g_autofree char *real = realpath (path, NULL);
  g_autofree char *dir = NULL;

  if (real == NULL) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "cannot resolve %s: %s", path, g_strerror (saved));
    return NULL;
  }
  if (euid != 0)
    return g_steal_pointer (&real);
  if (!check_owned_by_root (real, FALSE, error))
    return NULL;
  dir = g_path_get_dirname (real);
  for (;;) {
    g_autofree char *parent = NULL;
    if (!check_owned_by_root (dir, TRUE, error))
      return NULL;
    parent = g_path_get_dirname (dir);
    if (g_strcmp0 (parent, dir) == 0)
      break;
    g_free (dir);
    dir = g_steal_pointer (&parent);
  }
  return g_steal_pointer (&real);
}

static GModule *
open_checked_module (const char *path, GError **error)
{
  g_autofree char *real = tend_plugin_registry_check_file (path, geteuid (), error);
  GModule *module;

  if (real == NULL) {
    g_prefix_error (error, "refused: ");
    return NULL;
  }
  module = g_module_open (real, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "%s", g_module_error ());
  return module;
}

static const TendPluginInfo *
open_and_query (const char *path, GModule **out_module, GError **error)
{
  GModule *module = open_checked_module (path, error);
  TendPluginQueryFunc query = NULL;
  const TendPluginInfo *info;

  if (module == NULL)
    return NULL;
  if (!g_module_symbol (module, TEND_PLUGIN_QUERY_SYMBOL, (gpointer *) &query) || query == NULL ||
      (info = query ()) == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "no usable %s() entry point", TEND_PLUGIN_QUERY_SYMBOL);
    g_module_close (module);
    return NULL;
  }
  if (!check_info (info, error)) {
    g_module_close (module);
    return NULL;
  }
  *out_module = module;
  return info;
}

static void
load_module (TendPluginRegistry *self, const char *path)
{
  g_autoptr(GError) error = NULL;
  GModule *module = NULL;
  const TendPluginInfo *info = open_and_query (path, &module, &error);

  if (info == NULL) {
    g_warning ("skipping plugin %s: %s", path, error->message);
    return;
  }
  if (g_hash_table_contains (self->infos, info->name)) {
    /* an earlier folder (e.g. $TEND_PLUGIN_DIR) overrides the installed one */
    g_debug ("plugin %s from %s shadowed by an earlier one", info->name, path);
  } else {
    g_hash_table_insert (self->infos, g_strdup (info->name), entry_copy_from_module (info, path));
    g_debug ("plugin %s found in %s", info->name, path);
  }
  /* no GType was registered yet (get_type was not called): closing it is safe */
  g_module_close (module);
}

const TendPluginInfo *
tend_plugin_registry_load (TendPluginRegistry *self, const char *name, GError **error)
{
  Entry *entry = g_hash_table_lookup (self->infos, name);
  GModule *module = NULL;
  const TendPluginInfo *info;

  if (entry == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PLUGIN, "no plugin named %s", name);
    return NULL;
  }
  if (entry->loaded != NULL)
    return entry->loaded;
  info = open_and_query (entry->path, &module, error);
  if (info == NULL) {
    g_prefix_error (error, "%s: ", entry->path);
    return NULL;
  }
  /* its GTypes must outlive any unload */
  g_module_make_resident (module);
  entry->loaded = info;
  g_debug ("plugin %s loaded from %s", name, entry->path);
  return info;
}

static int
compare_str_ptr (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

void
tend_plugin_registry_scan_dir (TendPluginRegistry *self, const char *dir)
{
  g_autofree char *canonical = NULL;
  g_autoptr(GDir) gdir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;

  g_return_if_fail (TEND_IS_PLUGIN_REGISTRY (self));
  g_return_if_fail (dir != NULL);

  canonical = g_canonicalize_filename (dir, NULL);
  if (g_hash_table_contains (self->scanned_dirs, canonical))
    return;
  g_hash_table_add (self->scanned_dirs, g_strdup (canonical));

  gdir = g_dir_open (canonical, 0, &error);
  if (gdir == NULL) {
    g_debug ("no plugins in %s: %s", canonical, error->message);
    return;
  }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (gdir)) != NULL) {
    if (g_str_has_suffix (name, ".so"))
      g_ptr_array_add (names, g_strdup (name));
  }
  /* readdir order is arbitrary; keep duplicate resolution reproducible */
  g_ptr_array_sort (names, compare_str_ptr);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename (canonical, g_ptr_array_index (names, i), NULL);
    load_module (self, path);
  }
}

void
tend_plugin_registry_scan_default_dirs (TendPluginRegistry *self)
{
  const char *env = g_getenv ("TEND_PLUGIN_DIR");

  g_return_if_fail (TEND_IS_PLUGIN_REGISTRY (self));

  if (env != NULL) {
    g_auto(GStrv) dirs = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
    for (guint i = 0; dirs[i] != NULL; i++) {
      if (dirs[i][0] != '\0')
        tend_plugin_registry_scan_dir (self, dirs[i]);
    }
  }
  tend_plugin_registry_scan_dir (self, TEND_PLUGIN_DIR);
}

const TendPluginInfo *
tend_plugin_registry_lookup (TendPluginRegistry *self, const char *name)
{
  g_return_val_if_fail (TEND_IS_PLUGIN_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  {
    Entry *entry = g_hash_table_lookup (self->infos, name);
    return entry != NULL ? (entry->loaded != NULL ? entry->loaded : &entry->info) : NULL;
  }
}

GStrv
tend_plugin_registry_list (TendPluginRegistry *self)
{
  g_autofree const char **keys = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint n;

  g_return_val_if_fail (TEND_IS_PLUGIN_REGISTRY (self), NULL);

  keys = (const char **) g_hash_table_get_keys_as_array (self->infos, &n);
  qsort (keys, n, sizeof (char *), compare_str_ptr);
  for (guint i = 0; i < n; i++)
    g_strv_builder_add (builder, keys[i]);
  return g_strv_builder_end (builder);
}

const TendConfigKey *
tend_plugin_registry_find_service_key (TendPluginRegistry *self, const char *key, const char **out_plugin)
{
  g_auto(GStrv) names = NULL;

  g_return_val_if_fail (TEND_IS_PLUGIN_REGISTRY (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  /* in name order, so that two plugins declaring one key always resolve the same way */
  names = tend_plugin_registry_list (self);
  for (guint i = 0; names[i] != NULL; i++) {
    const TendPluginInfo *info = tend_plugin_registry_lookup (self, names[i]);

    for (guint k = 0; info->service_keys != NULL && info->service_keys[k].name != NULL; k++) {
      if (strcmp (info->service_keys[k].name, key) == 0) {
        if (out_plugin != NULL)
          *out_plugin = info->name;
        return &info->service_keys[k];
      }
    }
  }
  return NULL;
}
