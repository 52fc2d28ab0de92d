/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend migrate: real processes started with nohup (setsid'd, not the test's
 * process group), a configured service for each (start=false, as the
 * operator writes them while the old processes still run), then the
 * takeover: the old tree stopped, double-forked grandchild included, the
 * service online under Tend on its port; or, when Tend's instance fails, the
 * old command running again as it ran. Other services' processes, Tend's own
 * and the caller are never touched.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-port-owner.h"
#include "tend-proc.h"
#include "tend-test-daemon.h"

#define WAIT_MS 20000

typedef struct {
  TendTestDaemon *d;
  guint16 web_port, api_port;
  pid_t web_parent, web_sleep, web_orphan, web_grandchild, api_old, worker_old;
  pid_t pidded_old;     /* named by a pidfile */
  pid_t twin_a, twin_b; /* started by one script, in its session, which has no leader once it ended */
  GArray *groups;       /* process groups started here, killed at teardown */
} Fixture;

static guint16
free_port (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  close (fd);
  return ntohs (addr.sin_port);
}

static void
track_group (Fixture *f, pid_t pid)
{
  g_assert_cmpint (pid, >, 1);
  g_array_append_val (f->groups, pid);
  tend_test_track_pid (pid);
}

/*
 * Starts @command as an operator did: cd, env, [setsid] nohup ... >> LOG 2>&1 &. Returns its pid.
 * Without @setsid it stays in the test's session and process group, as a nohup typed in a shell does.
 */
static pid_t
start_nohup (Fixture *f, const char *dir, const char *env, const char *command, const char *log, gboolean setsid)
{
  g_autofree char *script = g_strdup_printf ("mkdir -p '%s' && cd '%s' || exit 1\n"
                                             "export %s\n"
                                             "%s nohup %s >> '%s' 2>&1 < /dev/null &\n"
                                             "echo $!\n",
                                             dir, dir, env, setsid ? "setsid" : "", command, log);
  const char *const argv[] = { "sh", "-c", script, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  pid_t pid;

  g_assert_cmpint (tend_test_run_program (f->d, NULL, argv, &out, &err), ==, 0);
  pid = atoi (out);
  if (setsid)
    track_group (f, pid);
  else
    tend_test_track_pid (pid);
  return pid;
}

static gboolean
has_lines (gpointer path)
{
  return tend_test_count_lines (path) > 0;
}

static char *
path_in (Fixture *f, const char *name)
{
  return tend_test_daemon_path (f->d, name);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *conf = NULL;
  g_autofree char *web_dir = NULL;
  g_autofree char *api_dir = NULL;
  g_autofree char *record = NULL;
  g_autofree char *parent_record = NULL;
  g_autofree char *orphan_record = NULL;
  g_autofree char *listened = NULL;
  g_autofree char *env = NULL;
  g_autofree char *command = NULL;
  g_autofree char *log = NULL;
  g_autoptr (GArray) sleeps = NULL;
  g_autofree char *helpers = tend_test_helper ("listener.py");
  g_autofree char *helper_dir = g_path_get_dirname (helpers);

  f->d = tend_test_daemon_new ();
  f->groups = g_array_new (FALSE, FALSE, sizeof (pid_t));
  f->web_port = free_port ();
  do
    f->api_port = free_port ();
  while (f->api_port == f->web_port);

  conf = g_strdup_printf ("[service:web]\n"
                          "exec=sh @HELPERS@/double-fork-listener.sh\n"
                          "cwd=@DIR@/web\n"
                          "env=PORT=%u;RECORD=@DIR@/web-tend;LISTENED=@DIR@/web-tend-listened\n"
                          "port=%u\n"
                          "ready-check=tcp://127.0.0.1:%u\n"
                          "start=false\n"
                          "\n"
                          "# its new instance fails: the old command must come back\n"
                          "[service:api]\n"
                          "exec=sh -c \"exit 1\"\n"
                          "cwd=@DIR@/api\n"
                          "port=%u\n"
                          "start=false\n"
                          "\n"
                          "[service:worker]\n"
                          "exec=sleep 100123\n"
                          "match=cmdline:^sleep 100789$\n"
                          "start=false\n"
                          "\n"
                          "# match= names a wrapper and its child; its new instance fails\n"
                          "[service:wrapped]\n"
                          "exec=sh -c \"exit 1\"\n"
                          "match=cmdline:sleep 100903\n"
                          "start=false\n"
                          "\n"
                          "[service:pidded]\n"
                          "exec=sleep 100556\n"
                          "match=pidfile:@DIR@/pidded.pid\n"
                          "start=false\n"
                          "\n"
                          "[service:twin-a]\n"
                          "exec=sleep 100801\n"
                          "start=false\n"
                          "\n"
                          "[service:twin-b]\n"
                          "exec=sleep 100802\n"
                          "start=false\n"
                          "\n"
                          "# a rule that would take the caller (this test) if the guard failed\n"
                          "[service:caller]\n"
                          "exec=sleep 100124\n"
                          "match=cmdline:test-migrate\n"
                          "start=false\n"
                          "\n"
                          "# Tend's own: runs, and its rule matches its own process\n"
                          "[service:own]\n"
                          "exec=sleep 100125\n"
                          "match=cmdline:^sleep 100125$\n",
                          f->web_port, f->web_port, f->web_port, f->api_port);
  tend_test_daemon_write_config (f->d, conf);
  tend_test_daemon_start (f->d);

  /* web: the double-forking one; its grandchild holds the port */
  web_dir = path_in (f, "web");
  record = path_in (f, "web-old");
  parent_record = g_strdup_printf ("%s.parent", record);
  listened = path_in (f, "web-old-listened");
  log = path_in (f, "web-old.log");
  env = g_strdup_printf ("PORT=%u RECORD='%s' LISTENED='%s'", f->web_port, record, listened);
  command = g_strdup_printf ("/bin/sh %s/double-fork-listener.sh", helper_dir);
  f->web_parent = start_nohup (f, web_dir, env, command, log, TRUE);
  g_assert_true (tend_test_wait (has_lines, listened, WAIT_MS));
  g_assert_true (tend_test_wait (has_lines, parent_record, WAIT_MS));
  g_assert_cmpint (tend_test_record_pid (parent_record, 0), ==, f->web_parent);
  f->web_grandchild = tend_test_record_pid (record, 0);
  track_group (f, f->web_grandchild);
  /* the script forks its sleep after it wrote its pid */
  {
    gint64 deadline = g_get_monotonic_time () + (gint64) tend_test_scaled_ms (WAIT_MS) * 1000;
    do {
      g_clear_pointer (&sleeps, g_array_unref);
      sleeps = tend_test_find_descendants (f->web_parent, "sleep 100000");
      if (sleeps->len == 0)
        g_usleep (20 * 1000);
    } while (sleeps->len == 0 && g_get_monotonic_time () < deadline);
  }
  g_assert_cmpuint (sleeps->len, ==, 1);
  f->web_sleep = g_array_index (sleeps, pid_t, 0);
  tend_test_track_pid (f->web_sleep);
  orphan_record = g_strdup_printf ("%s.orphan", record);
  g_assert_true (tend_test_wait (has_lines, orphan_record, WAIT_MS));
  f->web_orphan = tend_test_record_pid (orphan_record, 0);
  tend_test_track_pid (f->web_orphan);

  /* api: found by its port only; it runs something else than Tend's exec */
  g_clear_pointer (&env, g_free);
  g_clear_pointer (&command, g_free);
  g_clear_pointer (&log, g_free);
  g_clear_pointer (&listened, g_free);
  g_clear_pointer (&record, g_free);
  api_dir = path_in (f, "api");
  record = path_in (f, "api-old");
  listened = path_in (f, "api-old-listened");
  log = path_in (f, "api-old.log");
  env = g_strdup_printf ("PORT=%u RECORD='%s' LISTENED='%s' MARK='old api'", f->api_port, record, listened);
  command = g_strdup_printf ("python3 %s/listener.py", helper_dir);
  f->api_old = start_nohup (f, api_dir, env, command, log, TRUE);
  g_assert_true (tend_test_wait (has_lines, listened, WAIT_MS));

  /* twins: one start script, as the seed's operator had, in a session of its own that it leaves */
  {
    const char *const argv[] = { "setsid",
                                 "-w",
                                 "sh",
                                 "-c",
                                 "nohup sleep 100801 > /dev/null 2>&1 < /dev/null & echo $!; "
                                 "nohup sleep 100802 > /dev/null 2>&1 < /dev/null & echo $!",
                                 NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_auto (GStrv) pids = NULL;

    g_assert_cmpint (tend_test_run_program (f->d, NULL, argv, &out, &err), ==, 0);
    pids = g_strsplit (out, "\n", -1);
    g_assert_cmpuint (g_strv_length (pids), >=, 2);
    f->twin_a = atoi (pids[0]);
    f->twin_b = atoi (pids[1]);
    g_assert_cmpint (f->twin_a, >, 1);
    g_assert_cmpint (f->twin_b, >, 1);
    tend_test_track_pid (f->twin_a);
    tend_test_track_pid (f->twin_b);
  }

  /* pidded: its pid in a file, its command unlike its exec */
  {
    g_autofree char *pidfile = path_in (f, "pidded.pid");
    g_autofree char *text = NULL;
    f->pidded_old = start_nohup (f, web_dir, "UNUSED=1", "sleep 100555", "/dev/null", TRUE);
    text = g_strdup_printf ("%d\n", (int) f->pidded_old);
    g_assert_true (g_file_set_contents (pidfile, text, -1, NULL));
  }

  /* worker: found by match=; typed without setsid, so in the test's (the caller's) session and group */
  f->worker_old = start_nohup (f, web_dir, "UNUSED=1", "sleep 100789", "/dev/null", FALSE);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (tend_test_daemon_stop (f->d), ==, 0);
  for (guint i = 0; i < f->groups->len; i++) {
    pid_t pid = g_array_index (f->groups, pid_t, i);
    kill (-pid, SIGKILL);
    kill (pid, SIGKILL);
    tend_test_untrack_pid (pid);
  }
  if (f->web_sleep > 0) {
    kill (f->web_sleep, SIGKILL);
    tend_test_untrack_pid (f->web_sleep);
  }
  if (f->web_orphan > 0) {
    kill (f->web_orphan, SIGKILL);
    tend_test_untrack_pid (f->web_orphan);
  }
  for (guint i = 0; i < 2; i++) {
    pid_t twin = i == 0 ? f->twin_a : f->twin_b;
    if (twin > 0) {
      kill (twin, SIGKILL);
      tend_test_untrack_pid (twin);
    }
  }
  if (f->worker_old > 0) {
    kill (f->worker_old, SIGKILL);
    tend_test_untrack_pid (f->worker_old);
  }
  g_array_unref (f->groups);
  tend_test_daemon_free (f->d);
}

static gboolean
alive (pid_t pid)
{
  return tend_test_pid_alive (pid);
}

/* @text names @pid as a whole number */
static gboolean
mentions (const char *text, pid_t pid)
{
  g_autofree char *word = g_strdup_printf ("%d", (int) pid);
  gsize len = strlen (word);

  for (const char *p = strstr (text, word); p != NULL; p = strstr (p + 1, word)) {
    if ((p == text || !g_ascii_isdigit (p[-1])) && !g_ascii_isdigit (p[len]))
      return TRUE;
  }
  return FALSE;
}

/* The pids holding @port now. */
static GArray *
port_holders (guint16 port)
{
  g_autoptr (GArray) inodes = tend_port_owner_list_listening (port, NULL, NULL);
  g_assert_nonnull (inodes);
  if (inodes->len == 0)
    return g_array_new (FALSE, FALSE, sizeof (pid_t));
  return tend_port_owner_find_holders (inodes);
}

static void
test_dry_run (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *tend_record = path_in (f, "web-tend");

  g_assert_cmpint (tend_test_run_cli (f->d, &out, &err, "migrate", "--dry-run", "all", NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "web: found 2 process(es)"));
  g_assert_true (mentions (out, f->web_parent));
  g_assert_true (mentions (out, f->web_grandchild));
  g_assert_true (mentions (out, f->web_sleep));  /* in what it stops */
  g_assert_true (mentions (out, f->web_orphan)); /* by its session */
  g_assert_nonnull (strstr (out, "api: found 1 process(es)"));
  g_assert_true (mentions (out, f->api_old));
  g_assert_nonnull (strstr (out, "worker: found 1 process(es)"));
  g_assert_true (mentions (out, f->worker_old));
  g_assert_nonnull (strstr (out, "pidded: found 1 process(es)"));
  g_assert_true (mentions (out, f->pidded_old));
  g_assert_nonnull (strstr (out, "found by: match (pidfile)"));
  g_assert_nonnull (strstr (out, "caller: no unsupervised process found"));
  g_assert_nonnull (strstr (out, "own: no unsupervised process found"));
  g_assert_false (mentions (out, getpid ()));
  g_assert_nonnull (strstr (out, "dry run: nothing was changed"));

  /* nothing changed */
  g_assert_true (alive (f->web_parent) && alive (f->web_grandchild) && alive (f->web_sleep) && alive (f->web_orphan));
  g_assert_true (alive (f->api_old) && alive (f->worker_old) && alive (f->pidded_old));
  g_assert_false (g_file_test (tend_record, G_FILE_TEST_EXISTS));
}

static void
test_takeover (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *tend_record = path_in (f, "web-tend");
  g_autoptr (GArray) holders = NULL;
  pid_t tend_listener;

  g_assert_cmpint (tend_test_run_cli (f->d, &out, &err, "migrate", "web", NULL), ==, 0);
  g_test_message ("%s%s", out, err);
  g_assert_nonnull (strstr (out, "web: migrated"));

  /* the old tree is gone, the double-forked grandchild with it */
  g_assert_true (tend_test_wait_pid_gone (f->web_parent, WAIT_MS));
  g_assert_true (tend_test_wait_pid_gone (f->web_sleep, WAIT_MS));
  g_assert_true (tend_test_wait_pid_gone (f->web_grandchild, WAIT_MS));
  g_assert_true (tend_test_wait_pid_gone (f->web_orphan, WAIT_MS));

  /* Tend's instance holds the port */
  g_assert_true (tend_test_wait (has_lines, tend_record, WAIT_MS));
  tend_listener = tend_test_record_pid (tend_record, 0);
  track_group (f, tend_listener);
  holders = port_holders (f->web_port);
  g_assert_cmpuint (holders->len, ==, 1);
  g_assert_cmpint (g_array_index (holders, pid_t, 0), ==, tend_listener);
  {
    g_autofree char *tag = tend_proc_environ_get (tend_listener, "TEND_SUPERVISOR_TAG");
    g_assert_nonnull (tag);
  }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_run_cli (f->d, &out, &err, "describe", "web", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"state\" : \"online\""));

  /* what was not asked for is untouched */
  g_assert_true (alive (f->api_old));
  g_assert_true (alive (f->worker_old));
}

static char *
read_proc (pid_t pid, const char *what)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/%s", (int) pid, what);
  char *text = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  for (gsize i = 0; i + 1 < len; i++) {
    if (text[i] == '\0')
      text[i] = '\n';
  }
  return text;
}

static char *
read_link (pid_t pid, const char *what)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/%s", (int) pid, what);
  return g_file_read_link (path, NULL);
}

static void
test_rollback (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *old_cmdline = read_proc (f->api_old, "cmdline");
  g_autofree char *old_cwd = read_link (f->api_old, "cwd");
  g_autofree char *old_log = read_link (f->api_old, "fd/1");
  g_autofree char *new_cmdline = NULL;
  g_autofree char *new_cwd = NULL;
  g_autofree char *new_log = NULL;
  g_autofree char *new_env = NULL;
  g_autofree char *listened = path_in (f, "api-old-listened");
  g_autoptr (GArray) holders = NULL;
  const char *mark;
  pid_t restored;

  g_assert_cmpint (tend_test_run_cli (f->d, &out, &err, "migrate", "api", NULL), ==, 1);
  g_test_message ("%s%s", out, err);
  g_assert_nonnull (strstr (err, "rolling back"));
  mark = strstr (out, "the original command runs again as before, pid ");
  g_assert_nonnull (mark);
  restored = atoi (mark + strlen ("the original command runs again as before, pid "));
  track_group (f, restored);
  g_assert_cmpint (restored, !=, f->api_old);
  g_assert_true (tend_test_wait_pid_gone (f->api_old, WAIT_MS));

  /* the same command, folder, environment and log file; it holds the port again */
  g_assert_true (alive (restored));
  new_cmdline = read_proc (restored, "cmdline");
  new_cwd = read_link (restored, "cwd");
  new_log = read_link (restored, "fd/1");
  new_env = read_proc (restored, "environ");
  g_assert_cmpstr (new_cmdline, ==, old_cmdline);
  g_assert_cmpstr (new_cwd, ==, old_cwd);
  g_assert_cmpstr (new_log, ==, old_log);
  g_assert_nonnull (strstr (new_env, "MARK=old api\n"));
  g_assert_true (tend_test_wait_lines (listened, 2, WAIT_MS));
  holders = port_holders (f->api_port);
  g_assert_cmpuint (holders->len, ==, 1);
  g_assert_cmpint (g_array_index (holders, pid_t, 0), ==, restored);

  /* Tend's instance is stopped, the others untouched */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (tend_test_run_cli (f->d, &out, &err, "describe", "api", "--json", NULL), ==, 0);
  g_assert_null (strstr (out, "\"state\" : \"online\""));
  g_assert_true (alive (f->web_parent) && alive (f->web_grandchild));
  g_assert_true (alive (f->worker_old));
}

/* A process typed without setsid shares the caller's session and group: migrating it takes it alone. */
static void
test_caller_session (Fixture *f, gconstpointer data)
{
  const char *const argv[] = { "sleep", "100791", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  TendProcInfo mine, worker;
  GPid sibling = 0;

  /* a process of the test's own group and session, as another job of the operator's shell */
  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &sibling, &error));
  g_assert_no_error (error);
  tend_test_track_pid (sibling);
  g_assert_true (tend_proc_read_stat (getpid (), &mine));
  g_assert_true (tend_proc_read_stat (f->worker_old, &worker));
  g_assert_cmpint (worker.sid, ==, mine.sid);

  g_assert_cmpint (tend_test_run_cli (f->d, &out, &err, "migrate", "worker", NULL), ==, 0);
  g_test_message ("%s%s", out, err);
  g_assert_true (tend_test_wait_pid_gone (f->worker_old, WAIT_MS));
  g_assert_true (alive (sibling));
  g_assert_true (alive (f->web_parent) && alive (f->api_old));
  g_assert_nonnull (strstr (out, "worker: migrated"));

  kill (sibling, SIGKILL);
  waitpid (sibling, NULL, 0);
  tend_test_untrack_pid (sibling);
}

/* Two services started by one script share its session and group, leaderless now: one is taken, not both. */
static void
test_shared_session (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  TendProcInfo a, b;

  g_assert_true (tend_proc_read_stat (f->twin_a, &a));
  g_assert_true (tend_proc_read_stat (f->twin_b, &b));
  g_assert_cmpint (a.sid, ==, b.sid);
  g_assert_cmpint (a.pgid, ==, b.pgid);

  g_assert_cmpint (tend_test_run_cli (f->d, &out, &err, "migrate", "twin-a", NULL), ==, 0);
  g_test_message ("%s%s", out, err);
  g_assert_true (mentions (out, f->twin_a));
  g_assert_false (mentions (out, f->twin_b));
  g_assert_true (tend_test_wait_pid_gone (f->twin_a, WAIT_MS));
  g_assert_true (alive (f->twin_b));
}

/* A rollback starts the wrapper again, not its child as well: the wrapper brings it back. */
static void
test_rollback_wrapper (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *dir = path_in (f, "wrapped");
  g_autoptr (GArray) children = NULL;
  const char *mark, *needle = "the original command runs again as before, pid ";
  pid_t wrapper, restored = 0;
  guint n_restored = 0;

  wrapper = start_nohup (f, dir, "UNUSED=1", "sh -c 'sleep 100903 & wait'", "/dev/null", TRUE);
  {
    gint64 deadline = g_get_monotonic_time () + (gint64) tend_test_scaled_ms (WAIT_MS) * 1000;
    do {
      g_clear_pointer (&children, g_array_unref);
      children = tend_test_find_descendants (wrapper, "sleep 100903");
      if (children->len == 0)
        g_usleep (20 * 1000);
    } while (children->len == 0 && g_get_monotonic_time () < deadline);
  }
  g_assert_cmpuint (children->len, ==, 1);
  tend_test_track_pid (g_array_index (children, pid_t, 0));

  g_assert_cmpint (tend_test_run_cli (f->d, &out, &err, "migrate", "wrapped", NULL), ==, 1);
  g_test_message ("%s%s", out, err);
  g_assert_true (mentions (out, g_array_index (children, pid_t, 0))); /* found, and stopped */
  /* every process it started is tracked before anything is asserted on them */
  for (mark = strstr (out, needle); mark != NULL; mark = strstr (mark + 1, needle)) {
    restored = atoi (mark + strlen (needle));
    track_group (f, restored);
    n_restored++;
  }
  g_assert_cmpuint (n_restored, ==, 1); /* the wrapper, once */
  g_assert_true (tend_test_wait_pid_gone (wrapper, WAIT_MS));
  g_assert_true (tend_test_wait_pid_gone (g_array_index (children, pid_t, 0), WAIT_MS));
  g_assert_true (alive (restored));
  {
    g_autofree char *cmdline = read_proc (restored, "cmdline");
    g_assert_cmpstr (cmdline, ==, "sh\n-c\nsleep 100903 & wait");
  }
  tend_test_untrack_pid (g_array_index (children, pid_t, 0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/migrate/dry-run", Fixture, NULL, fixture_set_up, test_dry_run, fixture_tear_down);
  g_test_add ("/migrate/takeover", Fixture, NULL, fixture_set_up, test_takeover, fixture_tear_down);
  g_test_add ("/migrate/rollback", Fixture, NULL, fixture_set_up, test_rollback, fixture_tear_down);
  g_test_add ("/migrate/rollback-wrapper", Fixture, NULL, fixture_set_up, test_rollback_wrapper, fixture_tear_down);
  g_test_add ("/migrate/shared-session", Fixture, NULL, fixture_set_up, test_shared_session, fixture_tear_down);
  g_test_add ("/migrate/caller-session", Fixture, NULL, fixture_set_up, test_caller_session, fixture_tear_down);
  return g_test_run ();
}
