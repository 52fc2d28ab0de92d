/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend_spawn(), the one fork path of tendd: a failure between fork and exec
 * comes back with its real cause and leaves no zombie; a success runs the
 * program with its streams, its session and its claim in the context.
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-context-private.h"
#include "tend-error.h"
#include "tend-spawn.h"

static guint
count_open_fds (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* No child of this test is left, not even a zombie. */
static void
assert_no_child (void)
{
  g_assert_cmpint (waitpid (-1, NULL, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
}

/* Spawns @spec, which must fail with TEND_ERROR_SPAWN and @expected in the message. */
static void
assert_spawn_fails (const TendSpawn *spec, const char *expected)
{
  g_autoptr (GError) error = NULL;
  guint fds = count_open_fds ();
  GPid pid = 0;

  g_assert_false (tend_spawn (spec, &pid, NULL, NULL, NULL, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_SPAWN);
  g_test_message ("%s", error->message);
  if (strstr (error->message, expected) == NULL)
    g_error ("expected \"%s\" in \"%s\"", expected, error->message);
  assert_no_child ();
  g_assert_cmpuint (count_open_fds (), ==, fds);
}

static void
test_bad_cwd (void)
{
  const char *argv[] = { "/bin/true", NULL };
  TendSpawn spec = { .argv = argv, .cwd = "/nonexistent/tend-spawn" };

  assert_spawn_fails (&spec, "cannot change to folder /nonexistent/tend-spawn: No such file or directory");
}

static void
test_unknown_user (void)
{
  const char *argv[] = { "/bin/true", NULL };
  TendSpawn spec = { .argv = argv, .user = "nosuchuser-tend" };

  if (geteuid () != 0) {
    assert_spawn_fails (&spec, "need tendd to run as root");
    g_test_skip ("another user needs root: only the refusal was checked");
    return;
  }
  assert_spawn_fails (&spec, "unknown user nosuchuser-tend");
  spec.user = NULL;
  spec.group = "nosuchgroup-tend";
  assert_spawn_fails (&spec, "unknown group nosuchgroup-tend");
}

static void
test_not_executable (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tend-spawn-XXXXXX", NULL);
  g_autofree char *plain = g_build_filename (dir, "plain", NULL);
  g_autofree char *expected = g_strdup_printf ("cannot execute %s: Permission denied", plain);
  const char *argv[] = { plain, NULL };
  const char *relative_argv[] = { "./plain", NULL };
  TendSpawn spec = { .argv = argv };

  g_assert_true (g_file_set_contents (plain, "echo not a program\n", -1, NULL));
  g_assert_cmpint (g_chmod (plain, 0644), ==, 0);
  assert_spawn_fails (&spec, expected);
  /* a relative path is relative to the child's folder, and is named as written */
  spec.argv = relative_argv;
  spec.cwd = dir;
  assert_spawn_fails (&spec, "cannot execute ./plain: Permission denied");
  g_unlink (plain);
  g_rmdir (dir);
}

static void
test_missing_program (void)
{
  const char *argv[] = { "/nonexistent/tend-program", "--flag", NULL };
  const char *bare_argv[] = { "no-such-program-tend", NULL };
  const char *env[] = { "PATH=/nonexistent/bin:/also-not-here", NULL };
  TendSpawn spec = { .argv = argv };

  assert_spawn_fails (&spec, "cannot execute /nonexistent/tend-program: No such file or directory");
  spec.argv = bare_argv;
  spec.envp = env;
  assert_spawn_fails (&spec, "no-such-program-tend: command not found in PATH (/nonexistent/bin:/also-not-here)");
}

/* Executable by root but not by the user it runs as: only the exec in the child can tell. */
static void
test_exec_as_user_denied (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *script = NULL;
  g_autofree char *expected = NULL;
  const char *argv[2] = { NULL, NULL };
  TendSpawn spec = { .user = "nobody" };

  if (geteuid () != 0) {
    g_test_skip ("needs root to run as nobody");
    return;
  }
  dir = g_dir_make_tmp ("tend-spawn-XXXXXX", NULL);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  script = g_build_filename (dir, "root-only", NULL);
  g_assert_true (g_file_set_contents (script, "#!/bin/sh\nexit 0\n", -1, NULL));
  g_assert_cmpint (g_chmod (script, 0700), ==, 0);
  argv[0] = script;
  spec.argv = argv;
  expected = g_strdup_printf ("cannot execute %s: Permission denied", script);
  assert_spawn_fails (&spec, expected);
  g_unlink (script);
  g_rmdir (dir);
}

typedef struct {
  GMainLoop *loop;
  GPid pid;
  int wait_status;
  gboolean exited;
} Exit;

static void
on_exited (GPid pid, int wait_status, gpointer user_data)
{
  Exit *exit = user_data;

  exit->pid = pid;
  exit->wait_status = wait_status;
  exit->exited = TRUE;
  g_main_loop_quit (exit->loop);
}

static char *
read_all (int fd)
{
  GString *text = g_string_new (NULL);
  char buf[256];
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0)
      g_string_append_len (text, buf, n);
  }
  close (fd);
  return g_string_free (text, FALSE);
}

static gboolean
on_deadline (gpointer user_data)
{
  g_error ("the child was not reaped in time");
  return G_SOURCE_REMOVE;
}

static void
test_output_and_claim (void)
{
  g_autofree char *home = g_dir_make_tmp ("tend-spawn-home-XXXXXX", NULL);
  g_autofree char *logs = g_build_filename (home, "logs", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TendContext) context = tend_context_new (home, &error);
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { "sh", "-c",
                         "echo \"out $GREETING $(pwd)\"; echo err >&2; test $(cut -d' ' -f6 /proc/$$/stat) -eq $$",
                         NULL };
  const char *env[] = { "GREETING=hello", "PATH=/usr/bin:/bin", NULL };
  Exit exit = { .loop = loop };
  TendSpawn spec = {
    .argv = argv,
    .envp = env,
    .cwd = "/",
    .group_mode = TEND_SPAWN_GROUP_NEW_SESSION,
    .parent_death_signal = SIGKILL,
    .stdout_mode = TEND_SPAWN_STDIO_PIPE,
    .stderr_mode = TEND_SPAWN_STDIO_PIPE,
    .context = context,
    .exited = on_exited,
    .exited_data = &exit,
  };
  GSource *watch = NULL;
  GPid pid = 0;
  int out_fd = -1, err_fd = -1;
  guint deadline;

  g_assert_no_error (error);
  g_assert_true (tend_spawn (&spec, &pid, &out_fd, &err_fd, &watch, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pid, >, 0);
  g_assert_nonnull (watch);
  /* the orphan reaper must leave it alone until its owner has reaped it */
  g_assert_true (tend_context_is_claimed_child (context, pid));
  out = read_all (out_fd);
  err = read_all (err_fd);
  g_assert_cmpstr (out, ==, "out hello /\n");
  g_assert_cmpstr (err, ==, "err\n");
  deadline = g_timeout_add_seconds (30, on_deadline, NULL);
  g_main_loop_run (loop);
  g_source_remove (deadline);
  g_assert_true (exit.exited);
  g_assert_cmpint (exit.pid, ==, pid);
  /* exit status 0: it was the leader of a session of its own */
  g_assert_true (WIFEXITED (exit.wait_status));
  g_assert_cmpint (WEXITSTATUS (exit.wait_status), ==, 0);
  g_assert_false (tend_context_is_claimed_child (context, pid));
  g_source_unref (watch);
  assert_no_child ();
  g_rmdir (logs);
  g_rmdir (home);
}

/* A watch destroyed before its child exited gives the child up: the claim goes. */
/* The cgroup v2 folder this process is in, or NULL when there is no writable cgroup2 mount. */
static char *
own_cgroup_dir (void)
{
  g_autofree char *mounts = NULL;
  g_autofree char *self = NULL;
  g_auto (GStrv) lines = NULL;
  const char *mount = NULL;
  const char *path = NULL;

  if (!g_file_get_contents ("/proc/self/mounts", &mounts, NULL, NULL) ||
      !g_file_get_contents ("/proc/self/cgroup", &self, NULL, NULL))
    return NULL;
  lines = g_strsplit (mounts, "\n", -1);
  for (guint i = 0; lines[i] != NULL && mount == NULL; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], " ", 4);
    if (g_strv_length (f) >= 3 && strcmp (f[2], "cgroup2") == 0)
      mount = g_intern_string (f[1]);
  }
  path = strstr (self, "0::");
  if (mount == NULL || path == NULL)
    return NULL;
  {
    g_autofree char *rel = g_strndup (path + 3, strcspn (path + 3, "\n"));
    return g_build_filename (mount, rel, NULL);
  }
}

static gpointer
nothing (gpointer data)
{
  return NULL;
}

/* makes and ends threads, as tendd's pools do: glibc's thread-list lock is often held */
static gpointer
churn_threads (gpointer data)
{
  GCancellable *stop = data;

  while (!g_cancellable_is_cancelled (stop))
    g_thread_join (g_thread_new ("churn", nothing, NULL));
  return NULL;
}

/*
 * As root, into a cgroup (clone3), as another user, while other threads of
 * the parent come and go, as tendd's do: the child inherits glibc's locks as
 * they were, so glibc's setuid wrappers (which take its thread-list lock)
 * could wait in the child forever. Forty spawns; none may hang.
 */
static void
test_user_into_cgroup_with_threads (void)
{
  g_autofree char *parent = NULL;
  g_autofree char *cgroup = NULL;
  g_autoptr (GCancellable) stop = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  const char *argv[] = { "/bin/sh", "-c", "id -u; cat /proc/$$/cgroup", NULL };
  const char *env[] = { "PATH=/usr/bin:/bin", NULL };
  TendSpawn spec = { .argv = argv, .envp = env, .user = "nobody", .stdout_mode = TEND_SPAWN_STDIO_PIPE };
  GThread *thread;

  if (geteuid () != 0) {
    g_test_skip ("needs root to run as nobody and to make a cgroup");
    return;
  }
  parent = own_cgroup_dir ();
  if (parent == NULL) {
    g_test_skip ("no cgroup v2 hierarchy");
    return;
  }
  cgroup = g_strdup_printf ("%s/tend-spawn-test-%d", parent, (int) getpid ());
  if (g_mkdir (cgroup, 0755) < 0) {
    g_test_skip ("the cgroup v2 hierarchy is not writable here");
    return;
  }
  spec.cgroup = cgroup;
  thread = g_thread_new ("churn", churn_threads, stop);
  /* a hang is the failure: end the test rather than wait for meson's timeout */
  alarm (30);
  for (guint i = 0; i < 40; i++) {
    g_autofree char *out = NULL;
    g_autofree char *leaf = g_path_get_basename (cgroup);
    GPid pid = 0;
    int out_fd = -1, status = 0;

    g_assert_true (tend_spawn (&spec, &pid, &out_fd, NULL, NULL, &error));
    g_assert_no_error (error);
    out = read_all (out_fd);
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    /* nobody, and born in the group */
    g_assert_true (g_str_has_prefix (out, "65534\n"));
    g_assert_nonnull (strstr (out, leaf));
  }
  alarm (0);
  g_cancellable_cancel (stop);
  g_thread_join (thread);
  g_assert_cmpint (g_rmdir (cgroup), ==, 0);
}

static gpointer
spawn_from_thread (gpointer data)
{
  const char *argv[] = { "/bin/true", NULL };
  TendSpawn spec = { .argv = argv, .parent_death_signal = SIGKILL };
  GError **error = data;
  GPid pid = 0;

  if (tend_spawn (&spec, &pid, NULL, NULL, NULL, error))
    waitpid (pid, NULL, 0);
  return NULL;
}

/* tend update execs from the main thread, which ends every other: their children would get the signal */
static void
test_parent_death_main_thread_only (void)
{
  g_autoptr (GError) error = NULL;

  g_thread_join (g_thread_new ("spawner", spawn_from_thread, &error));
  g_assert_error (error, TEND_ERROR, TEND_ERROR_SPAWN);
  g_assert_nonnull (strstr (error->message, "main thread"));
}

static void
test_give_up (void)
{
  g_autofree char *home = g_dir_make_tmp ("tend-spawn-home-XXXXXX", NULL);
  g_autofree char *logs = g_build_filename (home, "logs", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TendContext) context = tend_context_new (home, &error);
  const char *argv[] = { "/bin/sleep", "60", NULL };
  Exit exit = { 0 };
  TendSpawn spec = { .argv = argv, .context = context, .exited = on_exited, .exited_data = &exit };
  GSource *watch = NULL;
  GPid pid = 0;
  int status;

  g_assert_true (tend_spawn (&spec, &pid, NULL, NULL, &watch, &error));
  g_assert_no_error (error);
  g_assert_true (tend_context_is_claimed_child (context, pid));
  g_source_destroy (watch);
  g_source_unref (watch);
  g_assert_false (tend_context_is_claimed_child (context, pid));
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_false (exit.exited);
  assert_no_child ();
  g_rmdir (logs);
  g_rmdir (home);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/spawn/bad-cwd", test_bad_cwd);
  g_test_add_func ("/spawn/unknown-user", test_unknown_user);
  g_test_add_func ("/spawn/not-executable", test_not_executable);
  g_test_add_func ("/spawn/missing-program", test_missing_program);
  g_test_add_func ("/spawn/exec-as-user-denied", test_exec_as_user_denied);
  g_test_add_func ("/spawn/output-and-claim", test_output_and_claim);
  g_test_add_func ("/spawn/give-up", test_give_up);
  g_test_add_func ("/spawn/parent-death-main-thread-only", test_parent_death_main_thread_only);
  g_test_add_func ("/spawn/user-into-cgroup-with-threads", test_user_into_cgroup_with_threads);
  return g_test_run ();
}
