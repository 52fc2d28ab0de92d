/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-config-reader.h"
#include "tend-config.h"
#include "tend-error.h"
#include "tend-parse.h"
#include "tend-config-private.h"

struct _TendConfig {
  GObject parent_instance;

  char *path;
  TendDbusMode dbus_mode;
  char *admin_group;
  char *plugin_dir;
  GPtrArray *services;           /* TendServiceConfig, file order */
  GHashTable *services_by_name;  /* name -> TendServiceConfig (borrowed from services) */
  GPtrArray *plugins;            /* TendPluginConfig, sorted by name */
  GHashTable *plugins_by_name;   /* name -> TendPluginConfig (borrowed from plugins) */
  TendConfigFlags flags;
  GHashTable *depends_on_lines;  /* service name -> line of its depends-on key */
  GPtrArray *warnings;           /* char *: FILE:LINE: ... texts, file order */
};

G_DEFINE_FINAL_TYPE (TendConfig, tend_config, G_TYPE_OBJECT)

/* ---------------------------------------------------------------------- */
/* Pre-scan: GKeyFile gives no line numbers and silently merges duplicates */


static void
key_line_free (KeyLine *kl)
{
  g_free (kl->key);
  g_free (kl);
}

static void
group_lines_free (GroupLines *g)
{
  g_free (g->name);
  g_hash_table_unref (g->keys_by_name);
  g_ptr_array_unref (g->keys);
  g_free (g);
}


static void G_GNUC_PRINTF (4, 5)
set_line_error (GError **error, Reader *r, guint line, const char *format, ...)
{
  va_list args;
  g_autofree char *reason = NULL;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s:%u: %s", r->path, line, reason);
}

void G_GNUC_PRINTF (4, 5)
tend_config_set_group_error (GError **error, Reader *r, const GroupLines *g, const char *format, ...)
{
  va_list args;
  g_autofree char *reason = NULL;
  g_autofree char *group = NULL;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  group = tend_shorten_for_message (g->name, -1);
  g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s:%u: [%s]: %s", r->path, g->line, group, reason);
}

void G_GNUC_PRINTF (5, 6)
tend_config_set_key_error (GError **error, Reader *r, const GroupLines *g, const KeyLine *kl, const char *format, ...)
{
  va_list args;
  g_autofree char *reason = NULL;
  g_autofree char *group = NULL;
  g_autofree char *key = NULL;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  group = tend_shorten_for_message (g->name, -1);
  key = tend_shorten_for_message (kl->key, -1);
  g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s:%u: [%s] %s: %s", r->path, kl->line, group, key, reason);
}

/* wraps a parser's bare reason; SPEC's "text after = is all value" trips people who add "# ..." */
void
tend_config_set_value_error (GError **error, Reader *r, const GroupLines *g, const KeyLine *kl,
                 const char *value, const GError *reason)
{
  gboolean has_comment = FALSE;

  for (const char *p = value; p != NULL && *p != '\0'; p++) {
    if ((*p == ' ' || *p == '\t') && p[1] == '#')
      has_comment = TRUE;
  }
  tend_config_set_key_error (error, r, g, kl, "%s%s", reason->message,
                 has_comment ? " (comments must be on a line of their own)" : "");
}

gboolean
tend_config_key_name_is_valid (const char *key)
{
  for (const char *p = key; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  }
  return key[0] != '\0';
}

/* "[name]" with only blanks after it, as GKeyFile accepts it */
static char *
parse_group_header (const char *line)
{
  const char *close = strchr (line, ']');
  const char *p;

  if (close == NULL)
    return NULL;
  for (p = close + 1; *p == ' ' || *p == '\t'; p++)
    ;
  if (*p != '\0' || close == line + 1)
    return NULL;
  for (p = line + 1; p < close; p++) {
    if (*p == '[' || g_ascii_iscntrl (*p))
      return NULL;
  }
  return g_strndup (line + 1, (gsize) (close - line - 1));
}

/* by hash: a file may hold 100,000 services */
static GroupLines *
find_group (Reader *r, const char *name)
{
  return g_hash_table_lookup (r->groups_by_name, name);
}

KeyLine *
tend_config_find_key_line (const GroupLines *g, const char *key)
{
  return g_hash_table_lookup (g->keys_by_name, key);
}

/*
 * Reads the raw text line by line: each group's and key's line, duplicates,
 * and anything GKeyFile would reject or misread, each with its line number.
 * @normalized gets the text GKeyFile is given: the same lines, without a
 * "\r" before the "\n" (files written on Windows), so that GKeyFile, which
 * knows no CR, sees exactly what was checked here.
 */
static gboolean
prescan (Reader *r, const char *data, gsize length, GString *normalized, GError **error)
{
  g_autofree char *quoted = NULL;
  g_autofree char *short_group = NULL;
  g_autofree char *short_key = NULL;
  GroupLines *current = NULL;
  const char *end = data + length;
  guint line_no = 0;

  for (const char *start = data; start < end;) {
    const char *nl = memchr (start, '\n', (gsize) (end - start));
    const char *line_end = nl != NULL ? nl : end;
    gsize line_len = (gsize) (line_end - start);
    g_autofree char *line = NULL;
    char *text;
    char *eq;

    line_no++;
    if (line_len > 0 && start[line_len - 1] == '\r')
      line_len--;
    if (memchr (start, '\0', line_len) != NULL) {
      set_line_error (error, r, line_no, "a NUL byte (not a text file?)");
      return FALSE;
    }
    if (!g_utf8_validate_len (start, line_len, NULL)) {
      set_line_error (error, r, line_no, "not valid UTF-8 text");
      return FALSE;
    }
    if (memchr (start, '\r', line_len) != NULL) {
      quoted = tend_quote_for_message (start, (gssize) line_len);
      set_line_error (error, r, line_no,
                      "a carriage return inside a line (only \\r\\n line ends are allowed): %s", quoted);
      return FALSE;
    }
    line = g_strndup (start, line_len);
    g_string_append_len (normalized, start, (gssize) line_len);
    g_string_append_c (normalized, '\n');
    start = nl != NULL ? nl + 1 : end;

    text = line;
    while (g_ascii_isspace (*text))
      text++;
    if (*text == '\0' || *text == '#')
      continue;

    if (*text == '[') {
      g_autofree char *name = parse_group_header (text);
      GroupLines *previous;

      if (name == NULL) {
        quoted = tend_quote_for_message (text, -1);
        set_line_error (error, r, line_no, "not a group header: %s", quoted);
        return FALSE;
      }
      previous = find_group (r, name);
      if (previous != NULL) {
        short_group = tend_shorten_for_message (name, -1);
        set_line_error (error, r, line_no, "[%s]: duplicate group (first at line %u)", short_group, previous->line);
        return FALSE;
      }
      current = g_new0 (GroupLines, 1);
      current->name = g_steal_pointer (&name);
      current->line = line_no;
      current->keys = g_ptr_array_new_with_free_func ((GDestroyNotify) key_line_free);
      current->keys_by_name = g_hash_table_new (g_str_hash, g_str_equal);
      g_ptr_array_add (r->groups, current);
      g_hash_table_insert (r->groups_by_name, current->name, current);
      continue;
    }

    eq = strchr (text, '=');
    if (eq == NULL) {
      quoted = tend_quote_for_message (text, -1);
      short_group = current != NULL ? tend_shorten_for_message (current->name, -1) : NULL;
      if (current == NULL)
        set_line_error (error, r, line_no, "not a key=value line, group header or comment: %s", quoted);
      else
        set_line_error (error, r, line_no, "[%s]: not a key=value line, group header or comment: %s", short_group,
                        quoted);
      return FALSE;
    }
    {
      g_autofree char *key = g_strchomp (g_strndup (text, (gsize) (eq - text)));
      KeyLine *previous;
      KeyLine *kl;

      if (current == NULL) {
        quoted = tend_quote_for_message (key, -1);
        set_line_error (error, r, line_no,
                        "key %s is outside any group (add a group header such as [service:NAME] above it)", quoted);
        return FALSE;
      }
      if (!tend_config_key_name_is_valid (key)) {
        quoted = tend_quote_for_message (key, -1);
        short_group = tend_shorten_for_message (current->name, -1);
        set_line_error (error, r, line_no, "[%s]: not a valid key name: %s", short_group, quoted);
        return FALSE;
      }
      previous = tend_config_find_key_line (current, key);
      if (previous != NULL) {
        short_key = tend_shorten_for_message (key, -1);
        short_group = tend_shorten_for_message (current->name, -1);
        set_line_error (error, r, line_no, "[%s] %s: duplicate key (first at line %u)", short_group, short_key,
                        previous->line);
        return FALSE;
      }
      kl = g_new0 (KeyLine, 1);
      kl->key = g_steal_pointer (&key);
      kl->line = line_no;
      g_ptr_array_add (current->keys, kl);
      g_hash_table_insert (current->keys_by_name, kl->key, kl);
    }
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Values */

/*
 * GKeyFile's escapes, read here rather than by g_key_file_get_string(): GLib
 * 2.74 sets its GError twice ("GError set over the top of a previous
 * GError") on a value with two bad escapes, such as "\q\". A string knows
 * \s \n \t \r \\; in a list (@list) "\;" is a literal ';', kept escaped
 * (with "\\") for tend_parse_env_list(), which reads the same rules.
 */
static gboolean
unescape_value (const char *raw, gboolean list, GString *out)
{
  for (const char *p = raw; *p != '\0'; p++) {
    if (*p != '\\') {
      g_string_append_c (out, *p);
      continue;
    }
    switch (*++p) {
    case 's':
      g_string_append_c (out, ' ');
      break;
    case 'n':
      g_string_append_c (out, '\n');
      break;
    case 't':
      g_string_append_c (out, '\t');
      break;
    case 'r':
      g_string_append_c (out, '\r');
      break;
    case '\\':
      g_string_append (out, list ? "\\\\" : "\\");
      break;
    case ';':
      if (!list)
        return FALSE;
      g_string_append (out, "\\;");
      break;
    default:
      /* another letter, or a backslash at the end */
      return FALSE;
    }
  }
  return TRUE;
}

/* the value as written, trailing blanks trimmed before unescaping so that a written "\s" survives */
static gboolean
fetch_unescaped (Reader *r, const GroupLines *g, const KeyLine *kl, gboolean list, GString *out, GError **error)
{
  g_autofree char *raw = g_key_file_get_value (r->kf, g->name, kl->key, NULL);

  g_assert (raw != NULL);
  g_strchomp (raw);
  if (!unescape_value (raw, list, out)) {
    g_autofree char *quoted = tend_quote_for_message (raw, -1);
    tend_config_set_key_error (error, r, g, kl, "bad escape sequence in %s (write \\\\ for a backslash%s)", quoted,
                               list ? ", \\; for a semicolon" : "");
    return FALSE;
  }
  return TRUE;
}

char *
tend_config_fetch_value (Reader *r, const GroupLines *g, const KeyLine *kl, GError **error)
{
  g_autoptr(GString) value = g_string_new (NULL);

  if (!fetch_unescaped (r, g, kl, FALSE, value, error))
    return NULL;
  return g_string_free (g_steal_pointer (&value), FALSE);
}

/* a list value, items separated by ';', as one string with "\;" and "\\" still escaped */
char *
tend_config_fetch_list_value (Reader *r, const GroupLines *g, const KeyLine *kl, GError **error)
{
  g_autoptr(GString) value = g_string_new (NULL);

  if (!fetch_unescaped (r, g, kl, TRUE, value, error))
    return NULL;
  return g_string_free (g_steal_pointer (&value), FALSE);
}

char *
tend_config_resolve_path (Reader *r, const char *value)
{
  return g_canonicalize_filename (value, r->base_dir);
}

gboolean
tend_config_env_name_is_valid (const char *name)
{
  if (!g_ascii_isalpha (name[0]) && name[0] != '_')
    return FALSE;
  for (const char *p = name + 1; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  }
  return TRUE;
}

static gboolean
all_digits (const char *text)
{
  for (const char *p = text; *p != '\0'; p++) {
    if (!g_ascii_isdigit (*p))
      return FALSE;
  }
  return text[0] != '\0';
}

gboolean
tend_config_check_user (const char *name, GError **error)
{
  g_autofree char *quoted = NULL;

  if (getpwnam (name) != NULL)
    return TRUE;
  if (all_digits (name) && getpwuid ((uid_t) g_ascii_strtoull (name, NULL, 10)) != NULL)
    return TRUE;
  quoted = tend_quote_for_message (name, -1);
  g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "unknown user: %s", quoted);
  return FALSE;
}

gboolean
tend_config_check_group (const char *name, GError **error)
{
  g_autofree char *quoted = NULL;

  if (getgrnam (name) != NULL)
    return TRUE;
  if (all_digits (name) && getgrgid ((gid_t) g_ascii_strtoull (name, NULL, 10)) != NULL)
    return TRUE;
  quoted = tend_quote_for_message (name, -1);
  g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "unknown group: %s", quoted);
  return FALSE;
}

/* ---------------------------------------------------------------------- */
/* [tend] */

static gboolean
read_tend_group (TendConfig *self, Reader *r, const GroupLines *g, GError **error)
{
  g_autofree char *quoted = NULL;
  g_autofree char *quoted_dir = NULL;

  for (guint i = 0; i < g->keys->len; i++) {
    const KeyLine *kl = g_ptr_array_index (g->keys, i);
    g_autofree char *value = tend_config_fetch_value (r, g, kl, error);
    g_autoptr(GError) local = NULL;

    if (value == NULL)
      return FALSE;
    if (strcmp (kl->key, "dbus") == 0) {
      if (!tend_dbus_mode_from_string (value, &self->dbus_mode)) {
        quoted = tend_quote_for_message (value, -1);
        g_set_error (&local, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                     "not a valid choice: %s (use auto, system, session or none)", quoted);
      }
    } else if (strcmp (kl->key, "admin-group") == 0) {
      if (value[0] == '\0')
        g_set_error_literal (&local, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty value");
      else if (tend_config_check_group (value, &local))
        self->admin_group = g_strdup (value);
    } else if (strcmp (kl->key, "plugin-dir") == 0) {
      g_autofree char *dir = value[0] != '\0' ? tend_config_resolve_path (r, value) : NULL;
      if (dir == NULL) {
        g_set_error_literal (&local, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "empty path");
      } else if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
        quoted_dir = tend_quote_for_message (dir, -1);
        g_set_error (&local, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "not a directory: %s", quoted_dir);
      } else {
        self->plugin_dir = g_steal_pointer (&dir);
        /* before the plugin groups are checked, so they may name its plugins */
        tend_plugin_registry_scan_dir (r->registry, self->plugin_dir);
      }
    } else {
      tend_config_set_key_error (error, r, g, kl, "unknown key (known keys: dbus, admin-group, plugin-dir)");
      return FALSE;
    }
    if (local != NULL) {
      tend_config_set_value_error (error, r, g, kl, value, local);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* [plugin:NAME] */

static char *
plugin_names_text (TendPluginRegistry *registry)
{
  g_auto(GStrv) names = tend_plugin_registry_list (registry);
  g_autofree char *list = NULL;

  if (names[0] == NULL)
    return g_strdup ("no plugins available");
  list = g_strjoinv (", ", names);
  return g_strdup_printf ("plugins available: %s", list);
}

static TendConfigKeyType
plugin_key_type (const TendPluginInfo *info, const char *key, gboolean *found)
{
  for (const TendConfigKey *k = info->keys; k != NULL && k->name != NULL; k++) {
    if (strcmp (k->name, key) == 0) {
      *found = TRUE;
      return k->type;
    }
  }
  *found = FALSE;
  return TEND_CONFIG_KEY_STRING;
}

static TendPluginConfig *
read_plugin_group (Reader *r, const GroupLines *g, const char *name, GError **error)
{
  const TendPluginInfo *info = tend_plugin_registry_lookup (r->registry, name);
  g_autoptr(TendPluginConfig) pc = NULL;
  /* writing the group means you want the plugin; enabled=false turns it off */
  gboolean enabled = TRUE;

  if (info == NULL) {
    g_autofree char *available = plugin_names_text (r->registry);
    tend_config_set_group_error (error, r, g, "unknown plugin (%s)", available);
    return NULL;
  }
  pc = tend_plugin_config_new (name, info->keys);
  for (guint i = 0; i < g->keys->len; i++) {
    const KeyLine *kl = g_ptr_array_index (g->keys, i);
    g_autofree char *value = tend_config_fetch_value (r, g, kl, error);
    g_autoptr(GError) local = NULL;
    gboolean found;
    TendConfigKeyType type;

    if (value == NULL)
      return NULL;
    if (strcmp (kl->key, "enabled") == 0) {
      if (!tend_parse_bool (value, &enabled, &local)) {
        tend_config_set_value_error (error, r, g, kl, value, local);
        return NULL;
      }
      continue;
    }
    type = plugin_key_type (info, kl->key, &found);
    if (found && type == TEND_CONFIG_KEY_PATH && value[0] != '\0') {
      char *resolved = tend_config_resolve_path (r, value);
      g_free (value);
      value = resolved;
    }
    if (!tend_plugin_config_set (pc, kl->key, value, &local)) {
      tend_config_set_value_error (error, r, g, kl, value, local);
      return NULL;
    }
  }
  tend_plugin_config_set_enabled (pc, enabled);
  return g_steal_pointer (&pc);
}

/* ---------------------------------------------------------------------- */
/* depends-on: names must exist, no cycles */

typedef enum {
  VISIT_NEW,
  VISIT_ACTIVE,
  VISIT_DONE,
} VisitState;

/* what a service depends on, by name: NULL when it has no dependency or does not exist */
typedef char **(*DepsFunc) (const char *name, gpointer data);

/*
 * Depth-first search without recursion: a chain of 100,000 services, each
 * depending on the next, must not overflow the stack. @stack gets the names
 * on the path, ending with the one that closes the loop.
 */
typedef struct {
  const char *name;
  char **deps;
  guint next;
} Frame;

static gboolean
find_cycle (DepsFunc get_deps, gpointer data, GHashTable *states, GPtrArray *stack, const char *root)
{
  g_autoptr(GArray) frames = g_array_new (FALSE, FALSE, sizeof (Frame));
  Frame first = { root, get_deps (root, data), 0 };

  g_array_append_val (frames, first);
  g_hash_table_insert (states, (gpointer) root, GINT_TO_POINTER (VISIT_ACTIVE));
  g_ptr_array_add (stack, (gpointer) root);
  while (frames->len > 0) {
    Frame *top = &g_array_index (frames, Frame, frames->len - 1);
    const char *dep;
    VisitState state;

    if (top->deps == NULL || top->deps[top->next] == NULL) {
      g_hash_table_insert (states, (gpointer) top->name, GINT_TO_POINTER (VISIT_DONE));
      g_ptr_array_remove_index (stack, stack->len - 1);
      g_array_set_size (frames, frames->len - 1);
      continue;
    }
    dep = top->deps[top->next++];
    state = GPOINTER_TO_INT (g_hash_table_lookup (states, dep));
    if (state == VISIT_ACTIVE) {
      g_ptr_array_add (stack, (gpointer) dep);
      return TRUE;
    }
    if (state == VISIT_NEW) {
      Frame next = { dep, get_deps (dep, data), 0 };

      g_hash_table_insert (states, (gpointer) dep, GINT_TO_POINTER (VISIT_ACTIVE));
      g_ptr_array_add (stack, (gpointer) dep);
      g_array_append_val (frames, next);
    }
  }
  return FALSE;
}

#define MAX_NAMES_IN_MESSAGE 10

/* "a, b, c" with at most MAX_NAMES_IN_MESSAGE names, then "and N more" */
static void
append_names (GString *out, const char *const *names, guint n, const char *separator)
{
  for (guint i = 0; i < n; i++) {
    if (i == MAX_NAMES_IN_MESSAGE) {
      g_string_append_printf (out, "%s… (%u in all)", separator, n);
      return;
    }
    if (i > 0)
      g_string_append (out, separator);
    g_string_append (out, names[i]);
  }
}

/* "a -> b -> a" from the stack of find_cycle(), from the first visit of the closing name */
static char *
cycle_text (GPtrArray *stack, const char **out_closing)
{
  const char *closing = g_ptr_array_index (stack, stack->len - 1);
  g_autoptr(GString) cycle = g_string_new (NULL);
  guint start = 0;
  guint n;

  while (strcmp (g_ptr_array_index (stack, start), closing) != 0)
    start++;
  n = stack->len - start;
  if (n > MAX_NAMES_IN_MESSAGE) {
    /* the start, and the end that closes the loop */
    for (guint j = 0; j < MAX_NAMES_IN_MESSAGE / 2; j++)
      g_string_append_printf (cycle, "%s -> ", (const char *) g_ptr_array_index (stack, start + j));
    g_string_append_printf (cycle, "… (%u services) -> ", n - 1);
    for (guint j = stack->len - 3; j < stack->len; j++)
      g_string_append_printf (cycle, "%s%s", (const char *) g_ptr_array_index (stack, j),
                              j + 1 < stack->len ? " -> " : "");
  } else {
    for (guint j = start; j < stack->len; j++)
      g_string_append_printf (cycle, "%s%s", (const char *) g_ptr_array_index (stack, j),
                              j + 1 < stack->len ? " -> " : "");
  }
  if (out_closing != NULL)
    *out_closing = closing;
  return g_string_free (g_steal_pointer (&cycle), FALSE);
}

static char **
file_deps (const char *name, gpointer data)
{
  TendServiceConfig *svc = g_hash_table_lookup (data, name);
  return svc != NULL ? svc->depends_on : NULL;
}

/* the group and depends-on line of a service that has dependencies */
static const KeyLine *
depends_on_line (Reader *r, const char *service, const GroupLines **out_group)
{
  g_autofree char *group_name = g_strconcat ("service:", service, NULL);
  const GroupLines *g = find_group (r, group_name);
  const KeyLine *kl;

  g_assert (g != NULL);
  kl = tend_config_find_key_line (g, "depends-on");
  g_assert (kl != NULL);
  *out_group = g;
  return kl;
}

static gboolean
check_dependencies (TendConfig *self, Reader *r, GError **error)
{
  g_autoptr(GHashTable) states = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *quoted = NULL;

  for (guint i = 0; i < self->services->len; i++) {
    TendServiceConfig *svc = g_ptr_array_index (self->services, i);
    const GroupLines *g;
    const KeyLine *kl;

    if (svc->depends_on == NULL)
      continue;
    kl = depends_on_line (r, svc->name, &g);
    g_hash_table_insert (self->depends_on_lines, svc->name, GUINT_TO_POINTER (kl->line));
    for (guint j = 0; svc->depends_on[j] != NULL; j++) {
      const char *dep = svc->depends_on[j];
      if (strcmp (dep, svc->name) == 0) {
        tend_config_set_key_error (error, r, g, kl, "a service cannot depend on itself");
        return FALSE;
      }
      /* a file for `tend start FILE` may name the daemon's services: checked when it is added */
      if (!g_hash_table_contains (self->services_by_name, dep) && !(self->flags & TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES)) {
        g_autoptr(GString) names = g_string_new (NULL);
        g_autoptr(GPtrArray) all = g_ptr_array_new ();

        for (guint k = 0; k < self->services->len; k++)
          g_ptr_array_add (all, ((TendServiceConfig *) g_ptr_array_index (self->services, k))->name);
        append_names (names, (const char *const *) all->pdata, all->len, ", ");
        quoted = tend_quote_for_message (dep, -1);
        tend_config_set_key_error (error, r, g, kl, "unknown service %s (services in this file: %s)", quoted,
                                   names->str);
        return FALSE;
      }
    }
  }

  for (guint i = 0; i < self->services->len; i++) {
    TendServiceConfig *svc = g_ptr_array_index (self->services, i);
    g_autoptr(GPtrArray) stack = g_ptr_array_new ();

    if (GPOINTER_TO_INT (g_hash_table_lookup (states, svc->name)) != VISIT_NEW)
      continue;
    if (find_cycle (file_deps, self->services_by_name, states, stack, svc->name)) {
      const char *closing;
      g_autofree char *cycle = cycle_text (stack, &closing);
      const GroupLines *g;
      const KeyLine *kl = depends_on_line (r, closing, &g);

      tend_config_set_key_error (error, r, g, kl, "dependency cycle: %s", cycle);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Selecting services to add to a running daemon */

typedef struct {
  TendConfig *self;
  GHashTable *selected; /* name -> TendServiceConfig */
  TendConfigLookupFunc lookup;
  gpointer lookup_data;
} Union;

/* the graph the daemon will have: the selected services as in this file, the others as they run */
static char **
union_deps (const char *name, gpointer data)
{
  Union *u = data;
  TendServiceConfig *svc = g_hash_table_lookup (u->selected, name);

  if (svc != NULL)
    return svc->depends_on;
  svc = u->lookup (name, u->lookup_data);
  return svc != NULL ? svc->depends_on : NULL;
}

static void
set_depends_on_error (GError **error, TendConfig *self, const char *service, const char *format, ...) G_GNUC_PRINTF (4, 5);

static void
set_depends_on_error (GError **error, TendConfig *self, const char *service, const char *format, ...)
{
  va_list args;
  g_autofree char *reason = NULL;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TEND_ERROR, TEND_ERROR_CONFIG, "%s:%u: [service:%s] depends-on: %s", self->path,
               GPOINTER_TO_UINT (g_hash_table_lookup (self->depends_on_lines, service)), service, reason);
}

GStrv
tend_config_select_services (TendConfig *self,
                             const char *const *only,
                             TendConfigLookupFunc lookup,
                             gpointer lookup_data,
                             GError **error)
{
  g_autoptr(GHashTable) selected = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) queue = g_ptr_array_new ();
  g_autoptr(GHashTable) states = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  Union u = { self, selected, lookup, lookup_data };

  g_return_val_if_fail (TEND_IS_CONFIG (self), NULL);
  g_return_val_if_fail (lookup != NULL, NULL);

  if (only == NULL || only[0] == NULL) {
    for (guint i = 0; i < self->services->len; i++)
      g_ptr_array_add (queue, g_ptr_array_index (self->services, i));
  } else {
    for (guint i = 0; only[i] != NULL; i++) {
      TendServiceConfig *svc = g_hash_table_lookup (self->services_by_name, only[i]);
      if (svc == NULL) {
        g_autofree char *quoted = tend_quote_for_message (only[i], -1);
        g_set_error (error, TEND_ERROR, TEND_ERROR_NOT_FOUND, "%s has no service named %s", self->path, quoted);
        return NULL;
      }
      g_ptr_array_add (queue, svc);
    }
  }

  /* what the selection depends on: the daemon's service of that name, else this file's, pulled in */
  for (guint i = 0; i < queue->len; i++) {
    TendServiceConfig *svc = g_ptr_array_index (queue, i);

    if (!g_hash_table_insert (selected, svc->name, svc))
      continue;
    for (guint j = 0; svc->depends_on != NULL && svc->depends_on[j] != NULL; j++) {
      const char *dep = svc->depends_on[j];
      TendServiceConfig *in_file = g_hash_table_lookup (self->services_by_name, dep);

      if (g_hash_table_contains (selected, dep) || lookup (dep, lookup_data) != NULL)
        continue;
      if (in_file != NULL) {
        g_ptr_array_add (queue, in_file);
        continue;
      }
      {
        g_autofree char *quoted = tend_quote_for_message (dep, -1);
        set_depends_on_error (error, self, svc->name, "unknown service %s (defined neither in this file nor in the daemon)",
                              quoted);
      }
      return NULL;
    }
  }

  /* with the daemon's services a new loop may close */
  for (guint i = 0; i < self->services->len; i++) {
    TendServiceConfig *svc = g_ptr_array_index (self->services, i);
    g_autoptr(GPtrArray) stack = g_ptr_array_new ();

    if (!g_hash_table_contains (selected, svc->name) ||
        GPOINTER_TO_INT (g_hash_table_lookup (states, svc->name)) != VISIT_NEW)
      continue;
    if (find_cycle (union_deps, &u, states, stack, svc->name)) {
      g_autofree char *cycle = cycle_text (stack, NULL);
      const char *in_file = NULL;

      /* reported at a depends-on of this file that is part of the loop */
      for (guint j = stack->len; j > 0 && in_file == NULL; j--) {
        const char *name = g_ptr_array_index (stack, j - 1);
        if (g_hash_table_contains (selected, name) && g_hash_table_contains (self->depends_on_lines, name))
          in_file = name;
      }
      if (in_file == NULL)
        continue; /* a loop of the daemon's own: not this file's doing */
      set_depends_on_error (error, self, in_file, "dependency cycle with the daemon's services: %s", cycle);
      return NULL;
    }
  }

  for (guint i = 0; i < self->services->len; i++) {
    TendServiceConfig *svc = g_ptr_array_index (self->services, i);
    if (g_hash_table_contains (selected, svc->name))
      g_strv_builder_add (names, svc->name);
  }
  return g_strv_builder_end (names);
}

/* ---------------------------------------------------------------------- */

static void
tend_config_finalize (GObject *object)
{
  TendConfig *self = TEND_CONFIG (object);

  g_free (self->path);
  g_free (self->admin_group);
  g_free (self->plugin_dir);
  g_hash_table_unref (self->services_by_name);
  g_ptr_array_unref (self->services);
  g_hash_table_unref (self->plugins_by_name);
  g_ptr_array_unref (self->warnings);
  g_ptr_array_unref (self->plugins);
  g_hash_table_unref (self->depends_on_lines);
  G_OBJECT_CLASS (tend_config_parent_class)->finalize (object);
}

static void
tend_config_class_init (TendConfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_config_finalize;
}

static void
tend_config_init (TendConfig *self)
{
  self->dbus_mode = TEND_DBUS_MODE_AUTO;
  self->services = g_ptr_array_new_with_free_func ((GDestroyNotify) tend_service_config_unref);
  self->services_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) tend_plugin_config_unref);
  self->plugins_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  /* reserved, so that pdata is an empty NULL-terminated array rather than NULL */
  self->warnings = g_ptr_array_new_null_terminated (1, g_free, TRUE);
  self->depends_on_lines = g_hash_table_new (g_str_hash, g_str_equal);
}

/* every plugin the registry knows, in name order, from its group or its default */
static void
fill_plugins (TendConfig *self, TendPluginRegistry *registry, GHashTable *from_groups)
{
  g_auto(GStrv) names = tend_plugin_registry_list (registry);

  for (guint i = 0; names[i] != NULL; i++) {
    TendPluginConfig *pc = from_groups != NULL ? g_hash_table_lookup (from_groups, names[i]) : NULL;

    if (pc != NULL) {
      tend_plugin_config_ref (pc);
    } else {
      const TendPluginInfo *info = tend_plugin_registry_lookup (registry, names[i]);
      pc = tend_plugin_config_new (names[i], info->keys);
      tend_plugin_config_set_enabled (pc, info->enabled_by_default);
    }
    g_ptr_array_add (self->plugins, pc);
    g_hash_table_insert (self->plugins_by_name, (gpointer) tend_plugin_config_get_name (pc), pc);
  }
}

/*
 * The line on which GKeyFile fails: the shortest prefix of whole lines it
 * rejects, found by bisection (GKeyFile's own messages carry no line).
 */
static guint
keyfile_error_line (const char *text, gsize length)
{
  g_autoptr(GArray) ends = g_array_new (FALSE, FALSE, sizeof (gsize));
  guint lo = 0;
  guint hi;

  for (gsize i = 0; i < length; i++) {
    if (text[i] == '\n') {
      gsize e = i + 1;
      g_array_append_val (ends, e);
    }
  }
  if (ends->len == 0 || g_array_index (ends, gsize, ends->len - 1) != length)
    g_array_append_val (ends, length);
  /* invariant: the first lo lines load, the first hi do not */
  hi = ends->len;
  while (hi - lo > 1) {
    guint mid = lo + (hi - lo) / 2;
    g_autoptr(GKeyFile) kf = g_key_file_new ();

    if (g_key_file_load_from_data (kf, text, g_array_index (ends, gsize, mid - 1), G_KEY_FILE_NONE, NULL))
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

/*
 * With TEND_CONFIG_FLAGS_ALL_ERRORS the reader goes on after an error in one
 * group and reports every group's first error, one FILE:LINE line each (so
 * `tend check` lists them all at once); a file full of mistakes is cut at
 * this many. Without it the first error ends the read.
 */
#define MAX_REPORTED_ERRORS 100

typedef struct {
  GString *text;
  guint n;
  guint first_cut_line; /* the line of the first error not shown */
} Errors;

static void
errors_clear (Errors *errors)
{
  g_string_free (errors->text, TRUE);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Errors, errors_clear)

static void
add_error (Errors *errors, const Reader *r, const GError *error)
{
  errors->n++;
  if (errors->n > MAX_REPORTED_ERRORS) {
    /* every message starts with PATH:LINE: */
    if (errors->n == MAX_REPORTED_ERRORS + 1 && g_str_has_prefix (error->message, r->path) &&
        sscanf (error->message + strlen (r->path), ":%u:", &errors->first_cut_line) != 1)
      errors->first_cut_line = 1;
    return;
  }
  if (errors->text->len > 0)
    g_string_append_c (errors->text, '\n');
  g_string_append (errors->text, error->message);
}

static gboolean
stop_now (const Reader *r, const Errors *errors)
{
  return errors->n > 0 && (r->flags & TEND_CONFIG_FLAGS_ALL_ERRORS) == 0;
}

static gboolean
report_errors (const Reader *r, Errors *errors, GError **error)
{
  if (errors->n > MAX_REPORTED_ERRORS)
    g_string_append_printf (errors->text, "\n%s:%u: and %u more errors not shown", r->path,
                            MAX (errors->first_cut_line, 1), errors->n - MAX_REPORTED_ERRORS);
  g_set_error_literal (error, TEND_ERROR, TEND_ERROR_CONFIG, errors->text->str);
  return FALSE;
}

static gboolean
read_config (TendConfig *self, Reader *r, const char *data, gsize length, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GString) normalized = g_string_sized_new (length + 1);
  g_autoptr(GHashTable) plugin_groups =
    g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) tend_plugin_config_unref);
  const GroupLines *tend_group = NULL;
  g_autoptr(GPtrArray) bad_groups = g_ptr_array_new ();
  g_auto(Errors) errors = { g_string_new (NULL), 0, 0 };

  /* a byte-order mark, as some Windows editors write, is not part of the text */
  if (length >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0) {
    data += 3;
    length -= 3;
  }
  if (!prescan (r, data, length, normalized, error))
    return FALSE;
  if (!g_key_file_load_from_data (r->kf, normalized->str, normalized->len, G_KEY_FILE_NONE, &local)) {
    /* the pre-scan is stricter than GKeyFile, so this is not expected; still, name the line */
    guint line = keyfile_error_line (normalized->str, normalized->len);
    g_auto(GStrv) lines = g_strsplit (normalized->str, "\n", (int) line + 1);
    g_autofree char *quoted = tend_quote_for_message (g_strv_length (lines) >= line ? lines[line - 1] : "", -1);

    set_line_error (error, r, line, "not a line GKeyFile can read: %s", quoted);
    return FALSE;
  }

  /* group kinds and names first, in file order; a group that fails is skipped, the next is read on */
  for (guint i = 0; i < r->groups->len; i++) {
    const GroupLines *g = g_ptr_array_index (r->groups, i);
    g_autoptr(GError) group_error = NULL;

    if (strcmp (g->name, "tend") == 0) {
      tend_group = g;
    } else if (g_str_has_prefix (g->name, "plugin:")) {
      if (g->name[strlen ("plugin:")] == '\0')
        tend_config_set_group_error (&group_error, r, g, "missing plugin name (use [plugin:NAME])");
    } else if (g_str_has_prefix (g->name, "service:")) {
      if (!tend_service_name_is_valid (g->name + strlen ("service:")))
        tend_config_set_group_error (&group_error, r, g,
                         "not a valid service name (use letters, digits, \"-\", \"_\" and \".\", "
                         "at most 64; not \"all\")");
    } else {
      tend_config_set_group_error (&group_error, r, g,
                                   "unknown group (groups are [tend], [plugin:NAME] and [service:NAME])");
    }
    if (group_error != NULL) {
      add_error (&errors, r, group_error);
      g_ptr_array_add (bad_groups, (gpointer) g);
      if (stop_now (r, &errors))
        return report_errors (r, &errors, error);
    }
  }

  if (tend_group != NULL && !read_tend_group (self, r, tend_group, &local)) {
    add_error (&errors, r, local);
    g_clear_error (&local);
    if (stop_now (r, &errors))
      return report_errors (r, &errors, error);
  }

  for (guint i = 0; i < r->groups->len; i++) {
    const GroupLines *g = g_ptr_array_index (r->groups, i);
    const char *name = g->name + strlen ("plugin:");
    TendPluginConfig *pc;

    if (!g_str_has_prefix (g->name, "plugin:") || g_ptr_array_find (bad_groups, g, NULL))
      continue;
    pc = read_plugin_group (r, g, name, &local);
    if (pc == NULL) {
      add_error (&errors, r, local);
      g_clear_error (&local);
      if (stop_now (r, &errors))
        return report_errors (r, &errors, error);
      continue;
    }
    g_hash_table_insert (plugin_groups, (gpointer) tend_plugin_config_get_name (pc), pc);
  }
  fill_plugins (self, r->registry, plugin_groups);
  r->plugins_by_name = self->plugins_by_name;

  for (guint i = 0; i < r->groups->len; i++) {
    const GroupLines *g = g_ptr_array_index (r->groups, i);
    TendServiceConfig *svc;

    if (!g_str_has_prefix (g->name, "service:") || g_ptr_array_find (bad_groups, g, NULL))
      continue;
    svc = tend_config_read_service_group (r, g, g->name + strlen ("service:"), &local);
    if (svc == NULL) {
      add_error (&errors, r, local);
      g_clear_error (&local);
      if (stop_now (r, &errors))
        return report_errors (r, &errors, error);
      continue;
    }
    g_ptr_array_add (self->services, svc);
    g_hash_table_insert (self->services_by_name, svc->name, svc);
  }

  /* a depends-on naming a broken group would only repeat that group's error */
  if (errors.n > 0)
    return report_errors (r, &errors, error);
  return check_dependencies (self, r, error);
}

TendConfig *
tend_config_new_from_data (const char *data,
                           gssize length,
                           const char *display_name,
                           const char *base_dir,
                           TendPluginRegistry *registry,
                           GError **error)
{
  return tend_config_new_from_data_full (data, length, display_name, base_dir, TEND_CONFIG_FLAGS_NONE, registry, error);
}

TendConfig *
tend_config_new_from_data_full (const char *data,
                                gssize length,
                                const char *display_name,
                                const char *base_dir,
                                TendConfigFlags flags,
                                TendPluginRegistry *registry,
                                GError **error)
{
  g_autoptr(TendConfig) self = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) group_lines_free);
  g_autoptr(GHashTable) groups_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) warned_plugins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *dir = NULL;
  Reader r = { 0 };

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (TEND_IS_PLUGIN_REGISTRY (registry), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (length < 0)
    length = (gssize) strlen (data);
  /* a relative base is taken from the current folder, once, so paths stay stable */
  dir = g_canonicalize_filename (base_dir != NULL ? base_dir : ".", NULL);

  self = g_object_new (TEND_TYPE_CONFIG, NULL);
  self->path = g_strdup (display_name != NULL ? display_name : "<data>");
  self->flags = flags;
  r.path = self->path;
  r.base_dir = dir;
  r.flags = flags;
  r.registry = registry;
  r.kf = kf;
  r.groups = groups;
  r.groups_by_name = groups_by_name;
  r.warned_plugins = warned_plugins;
  r.warnings = self->warnings;
  if (!read_config (self, &r, data, (gsize) length, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* the reader's errors are all TEND_ERROR_CONFIG, whatever failed underneath */
static gboolean
read_text_file (const char *path, char **out_text, gsize *out_len, GError **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!tend_read_text_file (path, out_text, out_len, &local_error)) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_CONFIG, local_error->message);
    return FALSE;
  }
  return TRUE;
}

TendConfig *
tend_config_new_from_file (const char *path, TendPluginRegistry *registry, GError **error)
{
  return tend_config_new_from_file_full (path, TEND_CONFIG_FLAGS_NONE, registry, error);
}

TendConfig *
tend_config_new_from_file_full (const char *path, TendConfigFlags flags, TendPluginRegistry *registry, GError **error)
{
  g_autofree char *abs_path = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *text = NULL;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (TEND_IS_PLUGIN_REGISTRY (registry), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  abs_path = g_canonicalize_filename (path, NULL);
  if (!read_text_file (abs_path, &text, &len, error))
    return NULL;
  dir = g_path_get_dirname (abs_path);
  return tend_config_new_from_data_full (text, (gssize) len, abs_path, dir, flags, registry, error);
}

TendConfig *
tend_config_new_empty (TendPluginRegistry *registry)
{
  TendConfig *self;

  g_return_val_if_fail (TEND_IS_PLUGIN_REGISTRY (registry), NULL);

  self = g_object_new (TEND_TYPE_CONFIG, NULL);
  self->path = g_strdup ("<empty>");
  fill_plugins (self, registry, NULL);
  return self;
}

const char *
tend_config_get_path (TendConfig *self)
{
  g_return_val_if_fail (TEND_IS_CONFIG (self), NULL);
  return self->path;
}

TendDbusMode
tend_config_get_dbus_mode (TendConfig *self)
{
  g_return_val_if_fail (TEND_IS_CONFIG (self), TEND_DBUS_MODE_AUTO);
  return self->dbus_mode;
}

const char *
tend_config_get_admin_group (TendConfig *self)
{
  g_return_val_if_fail (TEND_IS_CONFIG (self), NULL);
  return self->admin_group;
}

const char *
tend_config_get_plugin_dir (TendConfig *self)
{
  g_return_val_if_fail (TEND_IS_CONFIG (self), NULL);
  return self->plugin_dir;
}

GPtrArray *
tend_config_get_services (TendConfig *self)
{
  g_return_val_if_fail (TEND_IS_CONFIG (self), NULL);
  return self->services;
}

TendServiceConfig *
tend_config_lookup_service (TendConfig *self, const char *name)
{
  g_return_val_if_fail (TEND_IS_CONFIG (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  return g_hash_table_lookup (self->services_by_name, name);
}

GPtrArray *
tend_config_get_plugins (TendConfig *self)
{
  g_return_val_if_fail (TEND_IS_CONFIG (self), NULL);
  return self->plugins;
}

TendPluginConfig *
tend_config_lookup_plugin (TendConfig *self, const char *name)
{
  g_return_val_if_fail (TEND_IS_CONFIG (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  return g_hash_table_lookup (self->plugins_by_name, name);
}

const char *const *
tend_config_get_warnings (TendConfig *self)
{
  g_return_val_if_fail (TEND_IS_CONFIG (self), NULL);

  return (const char *const *) self->warnings->pdata;
}
