/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding a service's unsupervised processes in /proc, precisely: by the
 * command tendd would run (argv words, argv[0] by basename or PATH, the rest
 * exactly) in the service's folder, by the port it listens on, or by its
 * match= rule; never tendd, Tend's own services or the caller.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-migrate-find.h"
#include "tend-parse.h"
#include "tend-port-owner.h"
#include "tend-proc.h"

void
tend_migrate_proc_free (TendMigrateProc *proc)
{
  g_strfreev (proc->argv);
  g_free (proc->cwd);
  g_free (proc->reason);
  g_free (proc);
}

char **
tend_migrate_read_argv (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  g_autofree char *data = NULL;
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  gsize len = 0, start = 0;

  if (!g_file_get_contents (path, &data, &len, NULL) || len == 0)
    return NULL;
  for (gsize i = 0; i <= len; i++) {
    if (i == len || data[i] == '\0') {
      if (i > start || i < len)
        g_ptr_array_add (words, g_strndup (data + start, i - start));
      start = i + 1;
    }
  }
  g_ptr_array_add (words, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&words), FALSE);
}

TendMigrateGuard *
tend_migrate_guard_new (void)
{
  TendMigrateGuard *guard = g_new0 (TendMigrateGuard, 1);

  guard->pids = g_hash_table_new (NULL, NULL);
  guard->sessions = g_hash_table_new (NULL, NULL);
  guard->groups = g_hash_table_new (NULL, NULL);
  return guard;
}

void
tend_migrate_guard_free (TendMigrateGuard *guard)
{
  g_hash_table_unref (guard->pids);
  g_hash_table_unref (guard->sessions);
  g_hash_table_unref (guard->groups);
  g_free (guard);
}

static void
guard_one (TendMigrateGuard *guard, pid_t pid)
{
  TendProcInfo info;

  g_hash_table_add (guard->pids, GINT_TO_POINTER (pid));
  if (tend_proc_read_stat (pid, &info)) {
    g_hash_table_add (guard->sessions, GINT_TO_POINTER (info.sid));
    g_hash_table_add (guard->groups, GINT_TO_POINTER (info.pgid));
  }
}

void
tend_migrate_guard_add (TendMigrateGuard *guard, pid_t pid, gboolean tree)
{
  g_autoptr (GArray) members = NULL;

  if (pid <= 0)
    return;
  guard_one (guard, pid);
  if (!tree)
    return;
  members = tend_proc_list_tree (pid, NULL);
  for (guint i = 0; i < members->len; i++)
    guard_one (guard, g_array_index (members, pid_t, i));
}

void
tend_migrate_guard_add_self (TendMigrateGuard *guard)
{
  pid_t pid = getpid ();

  /* the caller, its shell, its terminal's session...: up to init */
  while (pid > 1) {
    TendProcInfo info;
    guard_one (guard, pid);
    if (!tend_proc_read_stat (pid, &info))
      break;
    pid = info.ppid;
  }
  g_hash_table_add (guard->pids, GINT_TO_POINTER (1));
}

gboolean
tend_migrate_guard_covers (TendMigrateGuard *guard, pid_t pid)
{
  g_autofree char *tag = NULL;

  if (pid <= 1 || g_hash_table_contains (guard->pids, GINT_TO_POINTER (pid)))
    return TRUE;
  /* a process some Tend started (this one's or another home's): never a stray */
  tag = tend_proc_environ_get (pid, "TEND_SUPERVISOR_TAG");
  return tag != NULL;
}

/*
 * @path as an absolute path: against @cwd when relative, through PATH when a bare name; its folder
 * resolved (/bin is /usr/bin), not the file itself: a symlink names another program (busybox's
 * sleep and sh are one file).
 */
static char *
resolve_program (const char *path, const char *cwd)
{
  g_autofree char *joined = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *real = NULL;

  if (strchr (path, '/') == NULL)
    joined = g_find_program_in_path (path);
  else if (g_path_is_absolute (path))
    joined = g_strdup (path);
  else if (cwd != NULL)
    joined = g_build_filename (cwd, path, NULL);
  if (joined == NULL)
    return NULL;
  dir = g_path_get_dirname (joined);
  base = g_path_get_basename (joined);
  real = realpath (dir, NULL);
  return real != NULL ? g_build_filename (real, base, NULL) : g_steal_pointer (&joined);
}

static gboolean
same_program (const char *want, const char *want_cwd, const char *have, const char *have_cwd)
{
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  /* ./server in another folder is another program */
  if (strcmp (want, have) == 0 && (strchr (want, '/') == NULL || g_path_is_absolute (want)))
    return TRUE;
  if (strchr (want, '/') == NULL) {
    /* `node app.js` runs /usr/bin/node as well as ./node_modules/.bin/node: the name is what exec says */
    g_autofree char *base = g_path_get_basename (have);
    if (strcmp (base, want) == 0)
      return TRUE;
  }
  a = resolve_program (want, want_cwd);
  b = resolve_program (have, have_cwd);
  return a != NULL && b != NULL && strcmp (a, b) == 0;
}

/* The file starts with "#!": the kernel runs its interpreter, which shows in argv before the script. */
static gboolean
is_script (const char *path, const char *cwd)
{
  g_autofree char *resolved = resolve_program (path, cwd);
  char head[2];
  FILE *f;
  gboolean script = FALSE;

  if (resolved == NULL || (f = fopen (resolved, "re")) == NULL)
    return FALSE;
  script = fread (head, 1, 2, f) == 2 && head[0] == '#' && head[1] == '!';
  fclose (f);
  return script;
}

gboolean
tend_migrate_argv_matches (const char *const *want, const char *want_cwd, const char *const *have, const char *have_cwd)
{
  guint n_want = g_strv_length ((char **) want);
  guint n_have = g_strv_length ((char **) have);

  if (n_want == 0 || n_have == 0)
    return FALSE;
  if (n_have == n_want && same_program (want[0], want_cwd, have[0], have_cwd)) {
    for (guint i = 1; i < n_want; i++) {
      if (strcmp (want[i], have[i]) != 0)
        return FALSE;
    }
    return TRUE;
  }
  /* a script run directly: INTERPRETER [ARG] SCRIPT ARGS... (the shebang line may hold one argument) */
  for (guint skip = 1; skip <= 2; skip++) {
    gboolean rest_equal = TRUE;

    if (n_have != n_want + skip || !same_program (want[0], want_cwd, have[skip], have_cwd))
      continue;
    for (guint i = 1; i < n_want && rest_equal; i++)
      rest_equal = strcmp (want[i], have[i + skip]) == 0;
    if (rest_equal && is_script (want[0], want_cwd))
      return TRUE;
  }
  return FALSE;
}

static gboolean
same_dir (const char *a, const char *b)
{
  struct stat sa, sb;

  if (a == NULL || b == NULL)
    return FALSE;
  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static pid_t
read_pidfile (const char *path)
{
  g_autofree char *text = NULL;
  guint64 pid;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  g_strstrip (text);
  if (!g_ascii_string_to_unsigned (text, 10, 2, G_MAXINT32, &pid, NULL))
    return 0;
  return (pid_t) pid;
}

static void
add_reason (GHashTable *reasons, pid_t pid, const char *reason)
{
  GString *text = g_hash_table_lookup (reasons, GINT_TO_POINTER (pid));

  if (text == NULL) {
    g_hash_table_insert (reasons, GINT_TO_POINTER (pid), g_string_new (reason));
    return;
  }
  if (strstr (text->str, reason) == NULL)
    g_string_append_printf (text, ", %s", reason);
}

static void
free_gstring (gpointer text)
{
  g_string_free (text, TRUE);
}

static gint
compare_procs (gconstpointer a, gconstpointer b)
{
  const TendMigrateProc *pa = *(TendMigrateProc *const *) a;
  const TendMigrateProc *pb = *(TendMigrateProc *const *) b;
  return (pa->pid > pb->pid) - (pa->pid < pb->pid);
}

GPtrArray *
tend_migrate_find (const TendMigrateTarget *target, TendMigrateGuard *guard)
{
  g_autoptr (GArray) procs = tend_proc_list_all ();
  g_autoptr (GHashTable) reasons = g_hash_table_new_full (NULL, NULL, NULL, free_gstring);
  g_autoptr (GHashTable) by_command = g_hash_table_new (NULL, NULL);
  g_autoptr (GHashTable) holders = g_hash_table_new (NULL, NULL);
  g_autoptr (GRegex) regex = NULL;
  g_autofree char *match_text = NULL;
  TendMatchKind match_kind = TEND_MATCH_CMDLINE;
  pid_t pidfile_pid = 0;
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) tend_migrate_proc_free);
  GHashTableIter iter;
  gpointer key, value;

  if (target->match != NULL && tend_parse_match (target->match, &match_kind, &match_text, NULL)) {
    if (match_kind == TEND_MATCH_PIDFILE)
      pidfile_pid = read_pidfile (match_text);
    else
      regex = g_regex_new (match_text, G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT, NULL);
  }
  if (target->port > 0) {
    g_autoptr (GArray) inodes = tend_port_owner_list_listening ((guint16) target->port, NULL, NULL);
    g_autoptr (GArray) pids = inodes != NULL && inodes->len > 0 ? tend_port_owner_find_holders (inodes) : NULL;
    g_autofree char *reason = g_strdup_printf ("port %u", target->port);

    for (guint i = 0; pids != NULL && i < pids->len; i++) {
      pid_t pid = g_array_index (pids, pid_t, i);
      g_hash_table_add (holders, GINT_TO_POINTER (pid));
      add_reason (reasons, pid, reason);
    }
  }
  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *info = &g_array_index (procs, TendProcInfo, i);
    g_auto (GStrv) argv = NULL;
    g_autofree char *cwd = NULL;
    g_autofree char *cwd_path = NULL;

    if (info->state == 'Z')
      continue;
    if (info->pid == pidfile_pid) {
      add_reason (reasons, info->pid, "match (pidfile)");
      g_hash_table_add (by_command, GINT_TO_POINTER (info->pid));
    }
    argv = tend_migrate_read_argv (info->pid);
    if (argv == NULL)
      continue;
    cwd_path = g_strdup_printf ("/proc/%d/cwd", (int) info->pid);
    cwd = g_file_read_link (cwd_path, NULL);
    if (target->argv != NULL && (target->cwd == NULL || same_dir (target->cwd, cwd)) &&
        tend_migrate_argv_matches ((const char *const *) target->argv, target->cwd, (const char *const *) argv, cwd)) {
      add_reason (reasons, info->pid, target->cwd != NULL ? "exec and cwd" : "exec");
      g_hash_table_add (by_command, GINT_TO_POINTER (info->pid));
    }
    if (regex != NULL) {
      g_autofree char *line = g_strjoinv (" ", argv);
      if (g_regex_match (regex, line, G_REGEX_MATCH_DEFAULT, NULL)) {
        add_reason (reasons, info->pid, "match");
        g_hash_table_add (by_command, GINT_TO_POINTER (info->pid));
      }
    }
  }

  g_hash_table_iter_init (&iter, reasons);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    pid_t pid = GPOINTER_TO_INT (key);
    TendProcInfo info;
    g_autofree char *cwd_path = g_strdup_printf ("/proc/%d/cwd", (int) pid);
    g_autofree char *dir = g_strdup_printf ("/proc/%d", (int) pid);
    struct stat st;
    TendMigrateProc *proc;

    if (tend_migrate_guard_covers (guard, pid) || !tend_proc_read_stat (pid, &info) || info.state == 'Z')
      continue;
    proc = g_new0 (TendMigrateProc, 1);
    proc->pid = pid;
    proc->sid = info.sid;
    proc->pgid = info.pgid;
    proc->start_time = info.start_time;
    proc->uid = stat (dir, &st) == 0 ? st.st_uid : (uid_t) -1;
    proc->argv = tend_migrate_read_argv (pid);
    if (proc->argv == NULL)
      proc->argv = g_new0 (char *, 1);
    proc->cwd = g_file_read_link (cwd_path, NULL);
    proc->reason = g_strdup (((GString *) value)->str);
    proc->by_command = g_hash_table_contains (by_command, key);
    proc->holds_port = g_hash_table_contains (holders, key);
    g_ptr_array_add (found, proc);
  }
  g_ptr_array_sort (found, compare_procs);
  return found;
}

/*
 * A session or group is taken whole only when its leader is one of the processes being stopped: the
 * found process made it (setsid, a shell's job). Never when the leader is someone else (a login
 * shell) or gone: the seed started all nine services from one login session, now leaderless, and
 * migrating one must not stop the other eight.
 */
static gboolean
leader_is_ours (pid_t leader, GHashTable *members, GHashTable *guarded)
{
  if (leader <= 1 || g_hash_table_contains (guarded, GINT_TO_POINTER (leader)))
    return FALSE;
  return g_hash_table_contains (members, GINT_TO_POINTER (leader));
}

GArray *
tend_migrate_tree (GPtrArray *found, guint port, TendMigrateGuard *guard)
{
  g_autoptr (GArray) procs = tend_proc_list_all ();
  g_autoptr (GHashTable) members = g_hash_table_new (NULL, NULL);
  g_autoptr (GHashTable) sessions = g_hash_table_new (NULL, NULL);
  g_autoptr (GHashTable) groups = g_hash_table_new (NULL, NULL);
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (pid_t));
  gboolean grew = TRUE;

  for (guint i = 0; i < found->len; i++) {
    TendMigrateProc *proc = g_ptr_array_index (found, i);
    g_hash_table_add (members, GINT_TO_POINTER (proc->pid));
  }
  if (port > 0) {
    g_autoptr (GArray) inodes = tend_port_owner_list_listening ((guint16) port, NULL, NULL);
    g_autoptr (GArray) holders = inodes != NULL && inodes->len > 0 ? tend_port_owner_find_holders (inodes) : NULL;
    for (guint i = 0; holders != NULL && i < holders->len; i++)
      g_hash_table_add (members, GINT_TO_POINTER (g_array_index (holders, pid_t, i)));
  }
  while (grew) {
    grew = FALSE;
    g_hash_table_remove_all (sessions);
    g_hash_table_remove_all (groups);
    for (guint i = 0; i < procs->len; i++) {
      TendProcInfo *info = &g_array_index (procs, TendProcInfo, i);
      if (!g_hash_table_contains (members, GINT_TO_POINTER (info->pid)))
        continue;
      if (!g_hash_table_contains (guard->sessions, GINT_TO_POINTER (info->sid)) &&
          leader_is_ours (info->sid, members, guard->pids))
        g_hash_table_add (sessions, GINT_TO_POINTER (info->sid));
      if (!g_hash_table_contains (guard->groups, GINT_TO_POINTER (info->pgid)) &&
          leader_is_ours (info->pgid, members, guard->pids))
        g_hash_table_add (groups, GINT_TO_POINTER (info->pgid));
    }
    for (guint i = 0; i < procs->len; i++) {
      TendProcInfo *info = &g_array_index (procs, TendProcInfo, i);
      if (info->state == 'Z' || g_hash_table_contains (members, GINT_TO_POINTER (info->pid)))
        continue;
      if (g_hash_table_contains (members, GINT_TO_POINTER (info->ppid)) ||
          g_hash_table_contains (sessions, GINT_TO_POINTER (info->sid)) ||
          g_hash_table_contains (groups, GINT_TO_POINTER (info->pgid))) {
        g_hash_table_add (members, GINT_TO_POINTER (info->pid));
        grew = TRUE;
      }
    }
  }
  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *info = &g_array_index (procs, TendProcInfo, i);
    if (info->state != 'Z' && g_hash_table_contains (members, GINT_TO_POINTER (info->pid)) &&
        !tend_migrate_guard_covers (guard, info->pid))
      g_array_append_val (pids, info->pid);
  }
  return pids;
}
