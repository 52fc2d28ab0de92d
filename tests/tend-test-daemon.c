/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-proc.h"
#include "tend-test-daemon.h"

static gboolean cgroup_base_known (void);
static void remove_cgroups (const char *dir);

/* Daemons to end if an assertion aborts the test before its teardown runs. */
#define MAX_TRACKED 16
static volatile pid_t tracked[MAX_TRACKED];

static void
abort_handler (int sig)
{
  for (int i = 0; i < MAX_TRACKED; i++) {
    if (tracked[i] > 0)
      kill (tracked[i], SIGTERM);
  }
  signal (sig, SIG_DFL);
  raise (sig);
}

void
tend_test_track_pid (pid_t pid)
{
  static gboolean installed;

  if (!installed) {
    signal (SIGABRT, abort_handler);
    installed = TRUE;
  }
  for (int i = 0; i < MAX_TRACKED; i++) {
    if (tracked[i] == 0 || tracked[i] == pid) {
      tracked[i] = pid;
      return;
    }
  }
}

void
tend_test_untrack_pid (pid_t pid)
{
  for (int i = 0; i < MAX_TRACKED; i++) {
    if (tracked[i] == pid)
      tracked[i] = 0;
  }
}

/* A foreground tendd ends (gracefully) with the test process, whatever happens to it. */
static void
daemon_child_setup (gpointer user_data)
{
  TendTestDaemon *d = user_data;

  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (d->nofile > 0) {
    struct rlimit limit = { d->nofile, d->nofile_hard > 0 ? d->nofile_hard : d->nofile };
    setrlimit (RLIMIT_NOFILE, &limit);
  }
}

static const char *
build_dir (void)
{
  const char *dir = g_getenv ("TEND_TEST_BUILDDIR");
  g_assert_nonnull (dir);
  return dir;
}

char *
tend_test_helper (const char *name)
{
  const char *src = g_getenv ("TEND_TEST_SRCDIR");
  g_assert_nonnull (src);
  return g_build_filename (src, "helpers", name, NULL);
}

guint
tend_test_scaled_ms (guint ms)
{
  static guint factor;

  if (factor == 0) {
    const char *env = g_getenv ("TEND_TEST_TIME_FACTOR");
    guint64 v = env != NULL ? g_ascii_strtoull (env, NULL, 10) : 1;
    factor = v >= 1 && v <= 20 ? (guint) v : 1;
  }
  return ms * factor;
}

gboolean
tend_test_wait (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) tend_test_scaled_ms (timeout_ms) * 1000;

  while (!cond (data)) {
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    g_usleep (10 * 1000);
  }
  return TRUE;
}

GStrv
tend_test_read_lines (const char *path)
{
  g_autofree char *contents = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strv_builder_end (builder);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (lines[i][0] != '\0')
      g_strv_builder_add (builder, lines[i]);
  }
  return g_strv_builder_end (builder);
}

/* Counted in place: polled on files of 400,000 lines, where a string per line under ASan's slow unwinder took
 * minutes a look. Empty lines do not count, as in tend_test_read_lines(). */
guint
tend_test_count_lines (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  const char *p, *end;
  guint n = 0;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return 0;
  for (p = contents, end = contents + length; p < end;) {
    const char *nl = memchr (p, '\n', (gsize) (end - p));
    const char *line_end = nl != NULL ? nl : end;

    n += line_end > p;
    p = line_end + 1;
  }
  return n;
}

typedef struct {
  const char *path;
  guint n;
} LinesWait;

static gboolean
has_lines (gpointer data)
{
  LinesWait *w = data;
  return tend_test_count_lines (w->path) >= w->n;
}

gboolean
tend_test_wait_lines (const char *path, guint n, guint timeout_ms)
{
  LinesWait w = { path, n };
  return tend_test_wait (has_lines, &w, timeout_ms);
}

pid_t
tend_test_record_pid (const char *path, guint index)
{
  g_auto(GStrv) lines = tend_test_read_lines (path);
  g_assert_cmpuint (g_strv_length (lines), >, index);
  return (pid_t) atoi (lines[index]);
}

gint64
tend_test_record_time_ms (const char *path, guint index)
{
  g_auto(GStrv) lines = tend_test_read_lines (path);
  const char *space;

  g_assert_cmpuint (g_strv_length (lines), >, index);
  space = strchr (lines[index], ' ');
  g_assert_nonnull (space);
  return g_ascii_strtoll (space + 1, NULL, 10) / 1000000;
}

gboolean
tend_test_pid_alive (pid_t pid)
{
  TendProcInfo info;
  return pid > 0 && tend_proc_read_stat (pid, &info) && info.state != 'Z';
}

static gboolean
pid_gone (gpointer data)
{
  return !tend_test_pid_alive (GPOINTER_TO_INT (data));
}

gboolean
tend_test_wait_pid_gone (pid_t pid, guint timeout_ms)
{
  return tend_test_wait (pid_gone, GINT_TO_POINTER (pid), timeout_ms);
}

TendTestDaemon *
tend_test_daemon_new (void)
{
  TendTestDaemon *d = g_new0 (TendTestDaemon, 1);
  g_autoptr(GError) error = NULL;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  d->dir = g_dir_make_tmp ("tend-test-XXXXXX", &error);
  g_assert_no_error (error);
  d->home = g_build_filename (d->dir, "home", NULL);
  d->config = g_build_filename (d->dir, "tend.conf", NULL);
  d->log = g_build_filename (d->dir, "tendd-output.log", NULL);
  d->notify_path = g_build_filename (d->dir, "notify.sock", NULL);
  d->notify_fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (d->notify_fd, >=, 0);
  g_assert_cmpuint (strlen (d->notify_path), <, sizeof addr.sun_path);
  strcpy (addr.sun_path, d->notify_path);
  g_assert_cmpint (bind (d->notify_fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  return d;
}

char *
tend_test_daemon_path (TendTestDaemon *d, const char *name)
{
  return g_build_filename (d->dir, name, NULL);
}

void
tend_test_daemon_write_config (TendTestDaemon *d, const char *text)
{
  g_autofree char *helpers = tend_test_helper ("");
  g_autoptr(GString) s = g_string_new (text);
  g_autoptr(GError) error = NULL;

  g_string_replace (s, "@HELPERS@", helpers, 0);
  g_string_replace (s, "@DIR@", d->dir, 0);
  g_file_set_contents (d->config, s->str, -1, &error);
  g_assert_no_error (error);
}

void
tend_test_daemon_spawn (TendTestDaemon *d, const char *const *args)
{
  g_autofree char *tendd = g_build_filename (build_dir (), "..", "core", "daemon", "tendd", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) error = NULL;
  int log_fd;

  g_ptr_array_add (argv, tendd);
  g_ptr_array_add (argv, (char *) "--foreground");
  g_ptr_array_add (argv, (char *) "--verbose");
  g_ptr_array_add (argv, (char *) "--home");
  g_ptr_array_add (argv, d->home);
  g_ptr_array_add (argv, (char *) "--config");
  g_ptr_array_add (argv, d->config);
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  env = g_environ_setenv (env, "NOTIFY_SOCKET", d->notify_path, TRUE);
  env = g_environ_setenv (env, "G_DEBUG", "fatal-criticals", TRUE);
  log_fd = open (d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  g_assert_cmpint (log_fd, >=, 0);
  d->exited = FALSE;
  g_spawn_async_with_pipes_and_fds (NULL, (const char *const *) argv->pdata, (const char *const *) env,
                                    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL, daemon_child_setup, d,
                                    -1, log_fd,
                                    log_fd, NULL, NULL, 0, &d->pid, NULL, NULL, NULL, &error);
  close (log_fd);
  g_assert_no_error (error);
  tend_test_track_pid (d->pid);
}

static gboolean
poll_exit (TendTestDaemon *d)
{
  int status;
  pid_t r;

  if (d->exited)
    return TRUE;
  r = waitpid (d->pid, &status, WNOHANG);
  if (r == d->pid) {
    tend_test_untrack_pid (d->pid);
    d->exited = TRUE;
    d->exit_status = status;
    return TRUE;
  }
  return FALSE;
}

void
tend_test_daemon_start (TendTestDaemon *d)
{
  gint64 deadline;
  char buf[256];

  tend_test_daemon_spawn (d, NULL);
  deadline = g_get_monotonic_time () + (gint64) tend_test_scaled_ms (20000) * 1000;
  for (;;) {
    struct pollfd pfd = { .fd = d->notify_fd, .events = POLLIN };
    ssize_t n;

    if (poll (&pfd, 1, 50) == 1) {
      n = recv (d->notify_fd, buf, sizeof buf - 1, 0);
      if (n > 0) {
        buf[n] = '\0';
        if (strstr (buf, "READY=1") != NULL)
          return;
      }
    }
    if (poll_exit (d)) {
      g_autofree char *out = NULL;
      g_file_get_contents (d->log, &out, NULL, NULL);
      g_error ("tendd exited before it was ready (status %d):\n%s", d->exit_status, out ? out : "");
    }
    if (g_get_monotonic_time () > deadline)
      g_error ("tendd did not send READY=1 within %u s", tend_test_scaled_ms (20));
  }
}

gboolean
tend_test_daemon_wait_exit (TendTestDaemon *d, guint timeout_ms)
{
  return tend_test_wait ((gboolean (*) (gpointer)) poll_exit, d, timeout_ms);
}

int
tend_test_daemon_stop (TendTestDaemon *d)
{
  if (!d->exited)
    kill (d->pid, SIGTERM);
  g_assert_true (tend_test_daemon_wait_exit (d, 30000));
  return d->exit_status;
}

gboolean
tend_test_daemon_log_contains (TendTestDaemon *d, const char *needle)
{
  g_autofree char *out = NULL;

  if (!g_file_get_contents (d->log, &out, NULL, NULL))
    return FALSE;
  return strstr (out, needle) != NULL;
}

GArray *
tend_test_daemon_leftovers (TendTestDaemon *d)
{
  g_autoptr(GArray) procs = tend_proc_list_all ();
  GArray *found = g_array_new (FALSE, FALSE, sizeof (pid_t));

  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
    g_autofree char *home = NULL;

    if (p->state == 'Z' || p->pid == getpid () || (!d->exited && p->pid == d->pid))
      continue;
    home = tend_proc_environ_get (p->pid, "TEND_HOME");
    if (home != NULL && g_strcmp0 (home, d->home) == 0)
      g_array_append_val (found, p->pid);
  }
  return found;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  }
  g_rmdir (path);
}

/* A test that mounted something (a small tmpfs) must not leave it behind, even when it failed. */
static void
unmount_below (const char *dir)
{
  g_autofree char *mounts = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *prefix = g_strdup_printf ("%s/", dir);

  if (!g_file_get_contents ("/proc/self/mounts", &mounts, NULL, NULL))
    return;
  lines = g_strsplit (mounts, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    g_auto(GStrv) fields = g_strsplit (lines[i], " ", 3);
    if (g_strv_length (fields) >= 2 && g_str_has_prefix (fields[1], prefix))
      umount2 (fields[1], MNT_DETACH);
  }
}

void
tend_test_daemon_free (TendTestDaemon *d)
{
  g_autoptr(GArray) left = NULL;

  if (d->pid > 0 && !d->exited) {
    kill (d->pid, SIGKILL);
    tend_test_daemon_wait_exit (d, 5000);
  }
  /* never leave a process behind, whatever the test did */
  left = tend_test_daemon_leftovers (d);
  for (guint i = 0; i < left->len; i++)
    kill (g_array_index (left, pid_t, i), SIGKILL);
  if (d->notify_fd >= 0)
    close (d->notify_fd);
  /* a tendd that was killed leaves its (by now empty) cgroup subtree; its home is going away */
  if (cgroup_base_known ()) {
    g_autofree char *cgroup = tend_test_daemon_cgroup (d);
    remove_cgroups (cgroup);
  }
  unmount_below (d->dir);
  if (g_getenv ("TEND_TEST_KEEP") == NULL)
    remove_tree (d->dir);
  g_free (d->dir);
  g_free (d->home);
  g_free (d->config);
  g_free (d->log);
  g_free (d->notify_path);
  g_free (d);
}

/* Every live process whose parent chain leads to @root. */
static GArray *
descendants_of (pid_t root)
{
  g_autoptr(GArray) procs = tend_proc_list_all ();
  GArray *found = g_array_new (FALSE, FALSE, sizeof (pid_t));
  gboolean grew = TRUE;

  while (grew) {
    grew = FALSE;
    for (guint i = 0; i < procs->len; i++) {
      TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
      gboolean parent_in = p->ppid == root;
      gboolean already = FALSE;

      if (p->state == 'Z')
        continue;
      for (guint j = 0; j < found->len; j++) {
        pid_t f = g_array_index (found, pid_t, j);
        already = already || f == p->pid;
        parent_in = parent_in || f == p->ppid;
      }
      if (parent_in && !already) {
        g_array_append_val (found, p->pid);
        grew = TRUE;
      }
    }
  }
  return found;
}

/* The command line of @pid, arguments joined by spaces ("" when gone). */
static char *
cmdline_of (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  g_autofree char *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, NULL) || len == 0)
    return g_strdup ("");
  for (gsize i = 0; i + 1 < len; i++) {
    if (text[i] == '\0')
      text[i] = ' ';
  }
  return g_steal_pointer (&text);
}

GArray *
tend_test_find_descendants (pid_t root, const char *cmdline)
{
  g_autoptr(GArray) all = descendants_of (root);
  GArray *found = g_array_new (FALSE, FALSE, sizeof (pid_t));

  for (guint i = 0; i < all->len; i++) {
    pid_t pid = g_array_index (all, pid_t, i);
    g_autofree char *text = cmdline_of (pid);
    if (cmdline == NULL || g_str_equal (text, cmdline))
      g_array_append_val (found, pid);
  }
  return found;
}

/* The group we (and the tendd we start) run in, as a directory of the cgroup v2 hierarchy; NULL when none. */
static char *
cgroup_base (void)
{
  g_autofree char *mountinfo = NULL;
  g_autofree char *own = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) own_lines = NULL;
  const char *group = NULL;

  if (!g_file_get_contents ("/proc/self/mountinfo", &mountinfo, NULL, NULL) ||
      !g_file_get_contents ("/proc/self/cgroup", &own, NULL, NULL))
    return NULL;
  own_lines = g_strsplit (own, "\n", -1);
  for (guint i = 0; own_lines[i] != NULL; i++) {
    if (g_str_has_prefix (own_lines[i], "0::"))
      group = own_lines[i] + 3;
  }
  if (group == NULL)
    return NULL;
  lines = g_strsplit (mountinfo, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    g_auto(GStrv) fields = g_strsplit (lines[i], " ", -1);
    guint n = g_strv_length (fields);
    guint dash = 0;

    for (guint j = 6; j < n && dash == 0; j++)
      dash = g_str_equal (fields[j], "-") ? j : 0;
    if (dash != 0 && dash + 1 < n && g_str_equal (fields[dash + 1], "cgroup2"))
      return g_build_filename (fields[4], group, NULL);
  }
  return NULL;
}

static gboolean
cgroup_base_known (void)
{
  g_autofree char *base = cgroup_base ();
  return base != NULL;
}

/* rmdir of a group and those below it: only empty groups go */
static void
remove_cgroups (const char *dir)
{
  g_autoptr(GDir) children = g_dir_open (dir, 0, NULL);
  const char *name;

  while (children != NULL && (name = g_dir_read_name (children)) != NULL) {
    g_autofree char *child = g_build_filename (dir, name, NULL);
    if (g_file_test (child, G_FILE_TEST_IS_DIR))
      remove_cgroups (child);
  }
  g_rmdir (dir);
}

gboolean
tend_test_cgroups_writable (void)
{
  g_autofree char *base = cgroup_base ();
  g_autofree char *probe = NULL;

  if (geteuid () != 0 || base == NULL)
    return FALSE;
  probe = g_strdup_printf ("%s/tend-test-probe-%d", base, (int) getpid ());
  if (g_mkdir (probe, 0755) < 0)
    return FALSE;
  g_rmdir (probe);
  return TRUE;
}

char *
tend_test_daemon_cgroup (TendTestDaemon *d)
{
  g_autofree char *base = cgroup_base ();
  g_autofree char *home = g_canonicalize_filename (d->home, NULL);
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, home, -1);
  g_autofree char *name = NULL;

  g_assert_nonnull (base);
  digest[12] = '\0';
  name = g_strdup_printf ("tend-%s", digest);
  return g_build_filename (base, name, NULL);
}

/* ---- the command-line client ---- */

#define CLI_TIMEOUT_MS 60000

static char **
cli_argv (TendTestDaemon *d, const char *const *args)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *tend = g_build_filename (build_dir (), "..", "core", "cli", "tend", NULL);

  g_strv_builder_add (builder, tend);
  g_strv_builder_add (builder, "--home");
  g_strv_builder_add (builder, d->home);
  g_strv_builder_addv (builder, (const char **) args);
  return g_strv_builder_end (builder);
}

static char **
cli_environ (const char *const *extra)
{
  char **env = g_get_environ ();

  /* --home is the only source of the home, as a user typing it would expect */
  env = g_environ_unsetenv (env, "TEND_HOME");
  env = g_environ_setenv (env, "G_DEBUG", "fatal-criticals", TRUE);
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++) {
    const char *eq = strchr (extra[i], '=');
    g_autofree char *key = NULL;

    g_assert_nonnull (eq);
    key = g_strndup (extra[i], eq - extra[i]);
    env = g_environ_setenv (env, key, eq + 1, TRUE);
  }
  return env;
}

static GPid
spawn_argv (const char *const *argv, const char *const *env, int out_fd, int err_fd)
{
  g_auto(GStrv) envp = cli_environ (env);
  g_autoptr(GError) error = NULL;
  GPid pid = 0;

  g_spawn_async_with_pipes_and_fds (NULL, argv, (const char *const *) envp,
                                    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_SEARCH_PATH,
                                    NULL, NULL, -1, out_fd, err_fd, NULL, NULL, 0, &pid, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  return pid;
}

static GPid
spawn_cli (TendTestDaemon *d, const char *const *env, const char *const *args, int out_fd, int err_fd)
{
  g_auto(GStrv) argv = cli_argv (d, args);
  return spawn_argv ((const char *const *) argv, env, out_fd, err_fd);
}

int
tend_test_wait_cli (GPid pid, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) tend_test_scaled_ms (timeout_ms) * 1000;
  int status;

  for (;;) {
    pid_t r = waitpid (pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
    if (g_get_monotonic_time () > deadline) {
      kill (pid, SIGKILL);
      waitpid (pid, &status, 0);
      return -1;
    }
    g_usleep (5 * 1000);
  }
}

static char *
read_and_remove (const char *path)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    contents = g_strdup ("");
  g_unlink (path);
  return g_steal_pointer (&contents);
}

int
tend_test_run_program (TendTestDaemon *d, const char *const *env, const char *const *argv, char **out_stdout,
                       char **out_stderr)
{
  static guint counter;
  g_autofree char *out_name = g_strdup_printf ("run-%u.out", counter);
  g_autofree char *err_name = g_strdup_printf ("run-%u.err", counter++);
  g_autofree char *out_path = tend_test_daemon_path (d, out_name);
  g_autofree char *err_path = tend_test_daemon_path (d, err_name);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int out_fd, err_fd, status;
  GPid pid;

  out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (out_fd, >=, 0);
  g_assert_cmpint (err_fd, >=, 0);
  pid = spawn_argv (argv, env, out_fd, err_fd);
  close (out_fd);
  close (err_fd);
  status = tend_test_wait_cli (pid, CLI_TIMEOUT_MS);
  out = read_and_remove (out_path);
  err = read_and_remove (err_path);
  if (g_test_verbose ()) {
    g_autofree char *joined = g_strjoinv (" ", (char **) argv);
    g_test_message ("%s → %d\nstdout: %s\nstderr: %s", joined, status, out, err);
  }
  if (status < 0)
    g_error ("%s did not end within %d s; stderr: %s", argv[0], CLI_TIMEOUT_MS / 1000, err);
  /* a caller may reuse its variables from one call to the next: what they held goes */
  if (out_stdout != NULL) {
    g_free (*out_stdout);
    *out_stdout = g_steal_pointer (&out);
  }
  if (out_stderr != NULL) {
    g_free (*out_stderr);
    *out_stderr = g_steal_pointer (&err);
  }
  return status;
}

int
tend_test_run_cli_env (TendTestDaemon *d, const char *const *env, const char *const *args, char **out_stdout,
                       char **out_stderr)
{
  g_auto(GStrv) argv = cli_argv (d, args);
  return tend_test_run_program (d, env, (const char *const *) argv, out_stdout, out_stderr);
}

int
tend_test_run_cli (TendTestDaemon *d, char **out_stdout, char **out_stderr, const char *arg, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, arg);
  for (const char *a = arg; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return tend_test_run_cli_env (d, NULL, (const char *const *) args->pdata, out_stdout, out_stderr);
}

GPid
tend_test_spawn_cli (TendTestDaemon *d, const char *const *args)
{
  int log_fd = open (d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  GPid pid;

  g_assert_cmpint (log_fd, >=, 0);
  pid = spawn_cli (d, NULL, args, log_fd, log_fd);
  close (log_fd);
  return pid;
}

pid_t
tend_test_daemon_read_pidfile (TendTestDaemon *d)
{
  g_autofree char *path = g_build_filename (d->home, "tendd.pid", NULL);
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  return (pid_t) atoi (contents);
}

typedef struct {
  uid_t uid;
  gid_t gid;
  gid_t groups[1];
  size_t n_groups;
} NobodyIdentity;

/* In the forked child, before exec: only what was looked up before the fork. */
static void
become_nobody (gpointer data)
{
  const NobodyIdentity *id = data;

  if (setgroups (id->n_groups, id->groups) < 0 || setresgid (id->gid, id->gid, id->gid) < 0 ||
      setresuid (id->uid, id->uid, id->uid) < 0)
    _exit (126);
}

int
tend_test_run_as_nobody (TendTestDaemon *d, const char *const *argv, gid_t extra_group, char **out_stdout,
                         char **out_stderr, GPid *out_pid)
{
  static guint counter;
  g_autofree char *out_path = g_strdup_printf ("%s/nobody-%u.out", d->dir, counter);
  g_autofree char *err_path = g_strdup_printf ("%s/nobody-%u.err", d->dir, counter++);
  const char *env[] = { "HOME=/", "PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C.UTF-8", NULL };
  struct passwd *pw = getpwnam ("nobody");
  NobodyIdentity id = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int out_fd, err_fd, status;
  GPid pid;

  g_assert_nonnull (pw);
  id.uid = pw->pw_uid;
  id.gid = pw->pw_gid;
  id.groups[0] = extra_group;
  id.n_groups = extra_group != 0 ? 1 : 0;
  out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  err_fd = open (err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (out_fd, >=, 0);
  g_assert_cmpint (err_fd, >=, 0);
  g_spawn_async_with_pipes_and_fds (NULL, argv, env,
                                    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_SEARCH_PATH,
                                    become_nobody, &id, -1, out_fd, err_fd, NULL, NULL, 0, &pid, NULL, NULL, NULL,
                                    &error);
  close (out_fd);
  close (err_fd);
  g_assert_no_error (error);
  status = tend_test_wait_cli (pid, CLI_TIMEOUT_MS);
  g_assert_cmpint (status, >=, 0);
  g_assert_cmpint (status, !=, 126);
  out = read_and_remove (out_path);
  err = read_and_remove (err_path);
  if (g_test_verbose ())
    g_test_message ("%s as nobody → %d\nstdout: %s\nstderr: %s", argv[0], status, out, err);
  if (out_stdout != NULL) {
    g_free (*out_stdout);
    *out_stdout = g_steal_pointer (&out);
  }
  if (out_stderr != NULL) {
    g_free (*out_stderr);
    *out_stderr = g_steal_pointer (&err);
  }
  if (out_pid != NULL)
    *out_pid = pid;
  return status;
}
