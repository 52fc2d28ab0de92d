/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend migrate NAME|all [--dry-run]: takes over the processes of configured
 * services that run without Tend (started with nohup). The policy lives
 * here, in the client: it runs as the operator, with the operator's rights
 * over the old processes, and tendd never signals a process it did not
 * start. The daemon only starts (and, on failure, stops) its own instance.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-cli.h"
#include "tend-migrate-find.h"
#include "tend-parse.h"
#include "tend-port-owner.h"
#include "tend-proc.h"

typedef struct {
  TendMigrateTarget target;
  int kill_signal;
  guint64 kill_timeout_ms;
  gboolean tend_runs_it; /* Tend has (or wants) an instance: stopped first */
  GPtrArray *found;      /* TendMigrateProc */
  GArray *tree;          /* pid_t: all that is stopped */
} Plan;

static void
plan_free (Plan *plan)
{
  g_free (plan->target.name);
  g_strfreev (plan->target.argv);
  g_free (plan->target.cwd);
  g_free (plan->target.match);
  g_clear_pointer (&plan->found, g_ptr_array_unref);
  g_clear_pointer (&plan->tree, g_array_unref);
  g_free (plan);
}

/* What a rollback needs to start a found process again exactly as it ran. */
typedef struct {
  char *exe;
  char **argv;
  char *cwd;
  char **envp;
  char *out_path;
  char *err_path;
} Original;

static void
original_free (Original *o)
{
  g_free (o->exe);
  g_strfreev (o->argv);
  g_free (o->cwd);
  g_strfreev (o->envp);
  g_free (o->out_path);
  g_free (o->err_path);
  g_free (o);
}

static const char *
config_value (GVariant *config, const char *key)
{
  const char *value = NULL;
  if (!g_variant_lookup (config, key, "&s", &value) || value[0] == '\0')
    return NULL;
  return value;
}

static Plan *
plan_new (TendCli *cli, const char *name, GError **error)
{
  g_autoptr (GVariant) service = NULL;
  g_autoptr (GVariant) config = NULL;
  g_autoptr (GVariant) list = NULL;
  gboolean redacted = FALSE, wants = FALSE;
  const char *exec, *text;
  guint32 port = 0;
  Plan *plan;
  GVariantIter iter;
  GVariant *instance;

  if (!tend_dbus_manager1_call_describe_sync (cli->manager, name, G_DBUS_CALL_FLAGS_NONE, -1, &service, NULL, error))
    return NULL;
  g_variant_lookup (service, "redacted", "b", &redacted);
  if (redacted) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                 _ ("tendd shows you %s without its command; run tend migrate as tendd's user, root or a member "
                    "of its admin-group"),
                 name);
    return NULL;
  }
  config = g_variant_lookup_value (service, "config", G_VARIANT_TYPE ("a{ss}"));
  exec = config != NULL ? config_value (config, "exec") : NULL;
  if (exec == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("tendd described %s without its command"), name);
    return NULL;
  }
  plan = g_new0 (Plan, 1);
  plan->target.name = g_strdup (name);
  if (g_strcmp0 (config_value (config, "shell"), "true") == 0) {
    const char *words[] = { "/bin/sh", "-c", exec, NULL };
    plan->target.argv = g_strdupv ((char **) words);
  } else if (!g_shell_parse_argv (exec, NULL, &plan->target.argv, error)) {
    plan_free (plan);
    return NULL;
  }
  plan->target.cwd = g_strdup (config_value (config, "cwd"));
  plan->target.match = g_strdup (config_value (config, "match"));
  g_variant_lookup (service, "port", "u", &port);
  plan->target.port = port;
  plan->kill_signal = SIGTERM;
  plan->kill_timeout_ms = 1600;
  if ((text = config_value (config, "kill-signal")) != NULL)
    tend_parse_signal (text, &plan->kill_signal, NULL);
  if ((text = config_value (config, "kill-timeout")) != NULL)
    tend_parse_duration (text, &plan->kill_timeout_ms, NULL);
  g_variant_lookup (service, "wants-running", "b", &wants);
  plan->tend_runs_it = wants;
  list = g_variant_lookup_value (service, "instance-list", G_VARIANT_TYPE ("aa{sv}"));
  if (list != NULL) {
    g_variant_iter_init (&iter, list);
    while ((instance = g_variant_iter_next_value (&iter)) != NULL) {
      gint32 pid = 0;
      g_variant_lookup (instance, "pid", "i", &pid);
      plan->tend_runs_it |= pid > 0;
      g_variant_unref (instance);
    }
  }
  return plan;
}

/* tendd, every process of every Tend service, the caller and its ancestors. */
static TendMigrateGuard *
build_guard (TendCli *cli, GVariant *instances)
{
  TendMigrateGuard *guard = tend_migrate_guard_new ();
  GCredentials *credentials = g_dbus_connection_get_peer_credentials (cli->connection);
  g_autofree char *pidfile = g_build_filename (cli->home, "tendd.pid", NULL);
  g_autofree char *text = NULL;
  GVariantIter iter;
  GVariant *instance;

  tend_migrate_guard_add_self (guard);
  if (credentials != NULL) {
    pid_t pid = g_credentials_get_unix_pid (credentials, NULL);
    if (pid > 0)
      tend_migrate_guard_add (guard, pid, FALSE);
  }
  if (g_file_get_contents (pidfile, &text, NULL, NULL)) {
    guint64 pid;
    if (g_ascii_string_to_unsigned (g_strstrip (text), 10, 2, G_MAXINT32, &pid, NULL))
      tend_migrate_guard_add (guard, (pid_t) pid, FALSE);
  }
  g_variant_iter_init (&iter, instances);
  while ((instance = g_variant_iter_next_value (&iter)) != NULL) {
    gint32 pid = 0;
    g_variant_lookup (instance, "pid", "i", &pid);
    tend_migrate_guard_add (guard, pid, TRUE);
    g_variant_unref (instance);
  }
  return guard;
}

static char *
format_age (guint64 start_ticks)
{
  g_autofree char *uptime = NULL;
  double up = 0;
  long hz = sysconf (_SC_CLK_TCK);
  gint64 seconds;

  if (!g_file_get_contents ("/proc/uptime", &uptime, NULL, NULL))
    return g_strdup ("-");
  up = g_ascii_strtod (uptime, NULL);
  seconds = (gint64) (up - (double) start_ticks / (double) (hz > 0 ? hz : 100));
  if (seconds < 0)
    seconds = 0;
  if (seconds < 120)
    return g_strdup_printf ("%" G_GINT64_FORMAT "s", seconds);
  if (seconds < 7200)
    return g_strdup_printf ("%" G_GINT64_FORMAT "m", seconds / 60);
  if (seconds < 172800)
    return g_strdup_printf ("%" G_GINT64_FORMAT "h", seconds / 3600);
  return g_strdup_printf ("%" G_GINT64_FORMAT "D", seconds / 86400);
}

static char *
user_name (uid_t uid)
{
  struct passwd *pw = getpwuid (uid);
  return pw != NULL ? g_strdup (pw->pw_name) : g_strdup_printf ("%u", (unsigned) uid);
}

static void
print_plan (Plan *plan)
{
  g_autoptr (GString) pids = g_string_new (NULL);
  g_autofree char *timeout = tend_format_duration (plan->kill_timeout_ms);

  if (plan->found->len == 0) {
    g_print (_ ("%s: no unsupervised process found\n"), plan->target.name);
    return;
  }
  g_print (_ ("%s: found %u process(es)\n"), plan->target.name, plan->found->len);
  g_print ("  %-8s %-10s %-6s %-6s %-28s %s\n", _ ("PID"), _ ("USER"), _ ("AGE"), _ ("PORT"), _ ("CWD"), _ ("COMMAND"));
  for (guint i = 0; i < plan->found->len; i++) {
    TendMigrateProc *proc = g_ptr_array_index (plan->found, i);
    g_autofree char *user = user_name (proc->uid);
    g_autofree char *age = format_age (proc->start_time);
    g_autofree char *command = g_strjoinv (" ", proc->argv);
    g_autofree char *port = proc->holds_port ? g_strdup_printf ("%u", plan->target.port) : g_strdup ("-");

    g_print ("  %-8d %-10s %-6s %-6s %-28s %s\n", (int) proc->pid, user, age, port, proc->cwd != NULL ? proc->cwd : "?",
             command);
    g_print (_ ("           found by: %s\n"), proc->reason);
  }
  for (guint i = 0; i < plan->tree->len; i++)
    g_string_append_printf (pids, "%s%d", i > 0 ? " " : "", (int) g_array_index (plan->tree, pid_t, i));
  g_print (_ ("  stops (%s, then SIGKILL after %s): %s\n"), tend_signal_to_string (plan->kill_signal), timeout,
           pids->str);
}

static char *
read_fd_target (pid_t pid, int fd)
{
  g_autofree char *link = g_strdup_printf ("/proc/%d/fd/%d", (int) pid, fd);
  g_autofree char *target = g_file_read_link (link, NULL);
  struct stat st;

  if (target == NULL || !g_path_is_absolute (target))
    return NULL;
  if (g_str_has_suffix (target, " (deleted)"))
    target[strlen (target) - strlen (" (deleted)")] = '\0';
  /* a file it appended to; not a terminal, pipe or socket */
  if (stat (target, &st) == 0 && !S_ISREG (st.st_mode))
    return NULL;
  return g_steal_pointer (&target);
}

static char **
read_environ (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/environ", (int) pid);
  g_autofree char *data = NULL;
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
  gsize len = 0, start = 0;

  if (!g_file_get_contents (path, &data, &len, NULL))
    return NULL;
  for (gsize i = 0; i < len; i++) {
    if (data[i] == '\0') {
      if (i > start)
        g_ptr_array_add (items, g_strndup (data + start, i - start));
      start = i + 1;
    }
  }
  g_ptr_array_add (items, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&items), FALSE);
}

/* @pid descends from another process of @found (a wrapper's child that match= named as well). */
static gboolean
has_found_ancestor (GPtrArray *found, pid_t pid)
{
  TendProcInfo info;
  guint depth = 0;

  while (tend_proc_read_stat (pid, &info) && info.ppid > 1 && depth++ < 256) {
    pid = info.ppid;
    for (guint i = 0; i < found->len; i++) {
      if (((TendMigrateProc *) g_ptr_array_index (found, i))->pid == pid)
        return TRUE;
    }
  }
  return FALSE;
}

/*
 * The processes a rollback starts again: those found by their command (their children come back
 * with them, so a found descendant of another is not started twice).
 */
static GPtrArray *
capture_originals (Plan *plan, GError **error)
{
  g_autoptr (GPtrArray) originals = g_ptr_array_new_with_free_func ((GDestroyNotify) original_free);
  gboolean any_by_command = FALSE;

  for (guint i = 0; i < plan->found->len; i++)
    any_by_command |= ((TendMigrateProc *) g_ptr_array_index (plan->found, i))->by_command;
  for (guint i = 0; i < plan->found->len; i++) {
    TendMigrateProc *proc = g_ptr_array_index (plan->found, i);
    g_autofree char *exe_link = g_strdup_printf ("/proc/%d/exe", (int) proc->pid);
    Original *o;

    if ((any_by_command && !proc->by_command) || has_found_ancestor (plan->found, proc->pid))
      continue;
    o = g_new0 (Original, 1);
    o->exe = g_file_read_link (exe_link, NULL);
    if (o->exe != NULL && g_str_has_suffix (o->exe, " (deleted)"))
      g_clear_pointer (&o->exe, g_free);
    o->argv = g_strdupv (proc->argv);
    o->cwd = g_strdup (proc->cwd);
    o->envp = read_environ (proc->pid);
    o->out_path = read_fd_target (proc->pid, 1);
    o->err_path = read_fd_target (proc->pid, 2);
    g_ptr_array_add (originals, o);
    if (o->argv[0] == NULL || o->envp == NULL) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _ ("cannot read the command and environment of pid %d, so it could not be started again"),
                   (int) proc->pid);
      return NULL;
    }
  }
  return g_steal_pointer (&originals);
}

static void
detach_setup (gpointer user_data)
{
  setsid ();
}

/* Never -1: that would hand the restored process our own stdout, which ends with us. */
static int
open_log (const char *path)
{
  int fd = path != NULL ? open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
  return fd >= 0 ? fd : open ("/dev/null", O_WRONLY | O_CLOEXEC);
}

/* Starts @o again, detached (its own session), output appended to its old files. Returns the pid or 0. */
static pid_t
restore (Original *o, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  int out_fd = open_log (o->out_path);
  int err_fd = g_strcmp0 (o->out_path, o->err_path) == 0 && out_fd >= 0 ? dup (out_fd) : open_log (o->err_path);
  GPid pid = 0;
  gboolean ok;

  /* the same program file it ran, with its own argv[0] */
  g_ptr_array_add (argv, o->exe != NULL ? o->exe : o->argv[0]);
  for (guint i = 0; o->argv[i] != NULL; i++)
    g_ptr_array_add (argv, o->argv[i]);
  g_ptr_array_add (argv, NULL);
  ok = g_spawn_async_with_pipes_and_fds (
      o->cwd, (const char *const *) argv->pdata, (const char *const *) o->envp,
      G_SPAWN_FILE_AND_ARGV_ZERO | G_SPAWN_STDIN_FROM_DEV_NULL | (o->exe == NULL ? G_SPAWN_SEARCH_PATH_FROM_ENVP : 0),
      detach_setup, NULL, -1, out_fd, err_fd, NULL, NULL, 0, &pid, NULL, NULL, NULL, error);
  if (out_fd >= 0)
    close (out_fd);
  if (err_fd >= 0)
    close (err_fd);
  return ok ? pid : 0;
}

static gboolean
same_process_alive (pid_t pid, guint64 start_time)
{
  TendProcInfo info;
  return tend_proc_read_stat (pid, &info) && info.state != 'Z' && info.start_time == start_time;
}

typedef struct {
  pid_t pid;
  guint64 start_time;
  gboolean signalled;
} Victim;

/*
 * Adds the tree's members not yet in @victims, then sends @signum to each live one that has not had
 * it yet (every live one with @again): a process forked meanwhile gets it too.
 */
static void
signal_tree (Plan *plan, TendMigrateGuard *guard, GArray *victims, int signum, gboolean again)
{
  g_autoptr (GArray) tree = NULL;

  /* what was found is alive or not; a re-read finds children forked meanwhile */
  {
    g_autoptr (GPtrArray) alive = g_ptr_array_new ();
    for (guint i = 0; i < plan->found->len; i++)
      g_ptr_array_add (alive, g_ptr_array_index (plan->found, i));
    tree = tend_migrate_tree (alive, plan->target.port, guard);
  }
  for (guint i = 0; i < tree->len; i++) {
    pid_t pid = g_array_index (tree, pid_t, i);
    TendProcInfo info;
    gboolean known = FALSE;

    for (guint v = 0; v < victims->len && !known; v++)
      known = g_array_index (victims, Victim, v).pid == pid;
    if (!known && tend_proc_read_stat (pid, &info)) {
      Victim victim = { pid, info.start_time, FALSE };
      g_array_append_val (victims, victim);
    }
  }
  for (guint v = 0; v < victims->len; v++) {
    Victim *victim = &g_array_index (victims, Victim, v);
    if ((again || !victim->signalled) && same_process_alive (victim->pid, victim->start_time)) {
      kill (victim->pid, signum);
      victim->signalled = TRUE;
    }
  }
}

static gboolean
all_gone (GArray *victims)
{
  for (guint v = 0; v < victims->len; v++) {
    Victim *victim = &g_array_index (victims, Victim, v);
    if (same_process_alive (victim->pid, victim->start_time))
      return FALSE;
  }
  return TRUE;
}

/* kill-signal to the whole tree (again to what appears), kill-timeout, then SIGKILL. */
static gboolean
stop_tree (Plan *plan, TendMigrateGuard *guard, GError **error)
{
  g_autoptr (GArray) victims = g_array_new (FALSE, FALSE, sizeof (Victim));
  gint64 deadline = g_get_monotonic_time () + (gint64) plan->kill_timeout_ms * 1000;

  signal_tree (plan, guard, victims, plan->kill_signal, FALSE);
  while (!all_gone (victims) && g_get_monotonic_time () < deadline) {
    g_usleep (50 * 1000);
    signal_tree (plan, guard, victims, plan->kill_signal, FALSE);
  }
  if (all_gone (victims))
    return TRUE;
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  do {
    signal_tree (plan, guard, victims, SIGKILL, TRUE);
    g_usleep (50 * 1000);
  } while (!all_gone (victims) && g_get_monotonic_time () < deadline);
  if (!all_gone (victims)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("some processes of %s survived SIGKILL"), plan->target.name);
    return FALSE;
  }
  return TRUE;
}

/* The port is free once nothing listens on it (the kernel may take a moment after the holder died). */
static gboolean
wait_port_free (guint port, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  if (port == 0)
    return TRUE;
  for (;;) {
    g_autoptr (GArray) inodes = tend_port_owner_list_listening ((guint16) port, NULL, NULL);
    if (inodes != NULL && inodes->len == 0)
      return TRUE;
    if (g_get_monotonic_time () > deadline) {
      g_autoptr (GArray) holders = inodes != NULL ? tend_port_owner_find_holders (inodes) : NULL;
      if (holders != NULL && holders->len > 0)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("port %u is still held by pid %d"), port,
                     (int) g_array_index (holders, pid_t, 0));
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("port %u is still held, by a process you may not see"),
                     port);
      return FALSE;
    }
    g_usleep (50 * 1000);
  }
}

/* Every process of the plan may be signalled by us: checked before anything is stopped. */
static gboolean
check_permission (Plan *plan, GError **error)
{
  for (guint i = 0; i < plan->tree->len; i++) {
    pid_t pid = g_array_index (plan->tree, pid_t, i);
    if (kill (pid, 0) < 0 && errno == EPERM) {
      struct stat st;
      g_autofree char *dir = g_strdup_printf ("/proc/%d", (int) pid);
      g_autofree char *user = user_name (stat (dir, &st) == 0 ? st.st_uid : (uid_t) -1);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _ ("pid %d belongs to %s: run tend migrate as %s or root"), (int) pid, user, user);
      return FALSE;
    }
  }
  return TRUE;
}

static int
stop_in_tend (TendCli *cli, const char *name, double wait_s)
{
  const char *names[] = { name, NULL };
  g_autoptr (GError) error = NULL;

  if (!tend_dbus_manager1_call_stop_sync (cli->manager, name, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
    return tend_cli_report_error (error);
  return tend_cli_wait (cli, names, TEND_CLI_WAIT_STOPPED, NULL, TEND_CLI_WAIT_FLAG_NONE, wait_s);
}

/* One service: stop the old tree, start it under Tend, and put the old command back when that fails. */
static int
migrate_one (TendCli *cli, Plan *plan, TendMigrateGuard *guard, double wait_s)
{
  const char *name = plan->target.name;
  const char *names[] = { name, NULL };
  g_autoptr (GPtrArray) originals = NULL;
  g_autoptr (GVariant) before = NULL;
  g_autoptr (GError) error = NULL;
  int status;

  if (!check_permission (plan, &error))
    return tend_cli_fail ("%s: %s", name, error->message);
  originals = capture_originals (plan, &error);
  if (originals == NULL)
    return tend_cli_fail ("%s: %s", name, error->message);
  if (plan->tend_runs_it) {
    /* most likely crash-looping on the port the old process holds */
    g_print (_ ("%s: stopping Tend's own instance first\n"), name);
    stop_in_tend (cli, name, wait_s);
  }
  g_print (_ ("%s: stopping the old processes...\n"), name);
  if (!stop_tree (plan, guard, &error) || !wait_port_free (plan->target.port, &error))
    goto rollback;
  g_print (_ ("%s: starting under Tend...\n"), name);
  before = tend_cli_list_services (cli, &error);
  if (before == NULL ||
      !tend_dbus_manager1_call_start_sync (cli->manager, name, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error))
    goto rollback;
  status = tend_cli_wait (cli, names, TEND_CLI_WAIT_RUNNING, before, TEND_CLI_WAIT_FLAG_NEW_PROCESS, wait_s);
  if (status == TEND_CLI_EXIT_OK) {
    g_print (_ ("%s: migrated, it runs under Tend now\n"), name);
    return TEND_CLI_EXIT_OK;
  }
  g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("it did not become ready under Tend"));

rollback:
  g_printerr (_ ("tend: %s: %s; rolling back\n"), name, error->message);
  stop_in_tend (cli, name, wait_s);
  for (guint i = 0; i < originals->len; i++) {
    Original *o = g_ptr_array_index (originals, i);
    g_autofree char *command = g_strjoinv (" ", o->argv);
    g_autoptr (GError) spawn_error = NULL;
    pid_t pid = restore (o, &spawn_error);

    if (pid > 0)
      g_print (_ ("%s: the original command runs again as before, pid %d: %s\n"), name, (int) pid, command);
    else
      g_printerr (_ ("tend: %s: could not start the original command again (%s): %s\n"), name, command,
                  spawn_error->message);
  }
  return TEND_CLI_EXIT_FAILED;
}

/* The names of ListServices, once each, in its order. */
static GPtrArray *
service_names (GVariant *instances)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GVariantIter iter;
  GVariant *instance;

  g_variant_iter_init (&iter, instances);
  while ((instance = g_variant_iter_next_value (&iter)) != NULL) {
    const char *name = NULL;
    if (g_variant_lookup (instance, "name", "&s", &name) && !g_hash_table_contains (seen, name)) {
      char *copy = g_strdup (name);
      g_ptr_array_add (names, copy);
      g_hash_table_add (seen, copy);
    }
    g_variant_unref (instance);
  }
  return names;
}

int
tend_cli_cmd_migrate (TendCli *cli, int argc, char **argv)
{
  gboolean dry_run = FALSE;
  g_autofree char *wait_text = NULL;
  const GOptionEntry entries[] = {
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, N_ ("Print what would be stopped and started; change nothing"),
      NULL },
    { "wait", 0, 0, G_OPTION_ARG_STRING, &wait_text, N_ ("How long to wait for the service to be ready (default 15)"),
      N_ ("SECONDS") },
    { NULL },
  };
  g_autoptr (GPtrArray) positional = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GPtrArray) plans = g_ptr_array_new_with_free_func ((GDestroyNotify) plan_free);
  g_autoptr (GVariant) instances = NULL;
  g_autoptr (TendMigrateGuard) guard = NULL;
  g_autoptr (GError) error = NULL;
  double wait_s = TEND_CLI_DEFAULT_WAIT_S;
  const char *which;
  gboolean all, any = FALSE;
  int status, result = TEND_CLI_EXIT_OK;

  status = tend_cli_parse_options ("migrate", "NAME|all",
                                   _ ("take over running, unsupervised processes of configured services"), entries,
                                   NULL, argc, argv, &positional);
  if (status == TEND_CLI_HELP_SHOWN)
    return TEND_CLI_EXIT_OK;
  if (status != TEND_CLI_EXIT_OK)
    return status;
  if (positional->len != 1)
    return tend_cli_usage_error (_ ("tend migrate takes one NAME or all"));
  if (wait_text != NULL && !tend_cli_parse_wait (wait_text, &wait_s))
    return tend_cli_usage_error (_ ("--wait: not a number of seconds: %s"), wait_text);
  which = g_ptr_array_index (positional, 0);
  all = strcmp (which, "all") == 0;
  if (!all && !tend_service_name_is_valid (which))
    return tend_cli_usage_error (_ ("invalid service name “%s”"), which);
  /* no autostart: a new daemon would start the services on the ports the old processes hold */
  status = tend_cli_connect (cli, FALSE);
  if (status != TEND_CLI_EXIT_OK)
    return status;
  instances = tend_cli_list_services (cli, &error);
  if (instances == NULL)
    return tend_cli_report_error (error);
  names = service_names (instances);
  if (!all) {
    gboolean known = FALSE;
    for (guint i = 0; i < names->len && !known; i++)
      known = strcmp (g_ptr_array_index (names, i), which) == 0;
    if (!known)
      return tend_cli_fail (_ ("unknown service “%s”"), which);
    g_ptr_array_set_size (names, 0);
    g_ptr_array_add (names, g_strdup (which));
  }
  guard = build_guard (cli, instances);
  for (guint i = 0; i < names->len; i++) {
    Plan *plan = plan_new (cli, g_ptr_array_index (names, i), &error);
    if (plan == NULL) {
      if (error->domain == G_IO_ERROR)
        return tend_cli_fail ("%s", error->message);
      return tend_cli_report_error (error);
    }
    plan->found = tend_migrate_find (&plan->target, guard);
    plan->tree = tend_migrate_tree (plan->found, plan->target.port, guard);
    g_ptr_array_add (plans, plan);
  }
  for (guint i = 0; i < plans->len; i++) {
    Plan *plan = g_ptr_array_index (plans, i);
    print_plan (plan);
    any |= plan->found->len > 0;
  }
  if (dry_run) {
    g_print (_ ("dry run: nothing was changed\n"));
    return TEND_CLI_EXIT_OK;
  }
  if (!any)
    return all ? TEND_CLI_EXIT_OK : tend_cli_fail (_ ("%s: nothing to migrate"), which);
  for (guint i = 0; i < plans->len; i++) {
    Plan *plan = g_ptr_array_index (plans, i);
    if (plan->found->len > 0 && migrate_one (cli, plan, guard, wait_s) != TEND_CLI_EXIT_OK)
      result = TEND_CLI_EXIT_FAILED;
  }
  return result;
}
