/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * TendTestDaemon:
 * A real tendd for one test: its own temporary home and config, started with
 * `--foreground`, its output in a file (never in the TAP stream), ready when
 * it sends READY=1 on the test's own NOTIFY_SOCKET. Freeing it kills the
 * daemon if still running and every process that carries its TEND_HOME.
 */
typedef struct {
  char *dir;
  char *home;
  char *config;
  char *log;
  char *notify_path;
  int notify_fd;
  GPid pid;
  int exit_status;
  gboolean exited;
  guint nofile;      /* when set: tendd starts with this soft RLIMIT_NOFILE ... */
  guint nofile_hard; /* ... and this hard one (0: the same) */
} TendTestDaemon;

TendTestDaemon *tend_test_daemon_new (void);
/** tend_test_daemon_write_config: writes the config file; "@HELPERS@" and "@DIR@" are replaced */
void tend_test_daemon_write_config (TendTestDaemon *d, const char *text);
/** tend_test_daemon_path: @name inside the test's folder (free it) */
char *tend_test_daemon_path (TendTestDaemon *d, const char *name);
/** tend_test_daemon_spawn: starts tendd with extra @args (NULL-terminated), without waiting */
void tend_test_daemon_spawn (TendTestDaemon *d, const char *const *args);
/** tend_test_daemon_start: spawn and wait for READY=1 (asserts) */
void tend_test_daemon_start (TendTestDaemon *d);
/** tend_test_daemon_wait_exit: waits up to @timeout_ms for tendd to exit; FALSE on timeout */
gboolean tend_test_daemon_wait_exit (TendTestDaemon *d, guint timeout_ms);
/** tend_test_daemon_stop: SIGTERM, then waits; returns the exit status (asserts it exited) */
int tend_test_daemon_stop (TendTestDaemon *d);
/** tend_test_daemon_log_contains: the daemon's output contains @needle */
gboolean tend_test_daemon_log_contains (TendTestDaemon *d, const char *needle);
/** tend_test_daemon_leftovers: live processes (not zombies) whose environment has our TEND_HOME */
GArray *tend_test_daemon_leftovers (TendTestDaemon *d);
void tend_test_daemon_free (TendTestDaemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendTestDaemon, tend_test_daemon_free)

/**
 * tend_test_cgroups_writable:
 * Whether tendd (running as we do) can give services cgroups of their own:
 * root, and a cgroup v2 hierarchy where a group can be made.
 */
gboolean tend_test_cgroups_writable (void);
/** tend_test_daemon_cgroup: the cgroup subtree tendd makes for this home (when it can) */
char *tend_test_daemon_cgroup (TendTestDaemon *d);
/**
 * tend_test_find_descendants:
 * Live processes whose parent chain leads to @root and whose command line
 * (arguments joined by spaces) is @cmdline (any, when NULL).
 */
GArray *tend_test_find_descendants (pid_t root, const char *cmdline);
/** tend_test_track_pid: @pid gets SIGTERM if the test aborts (for daemons not spawned by the fixture) */
void tend_test_track_pid (pid_t pid);
/** tend_test_untrack_pid: forgets @pid (it ended, or the test ends it itself) */
void tend_test_untrack_pid (pid_t pid);
/** tend_test_helper: absolute path of tests/helpers/@name */
char *tend_test_helper (const char *name);
/**
 * tend_test_scaled_ms: @ms times $TEND_TEST_TIME_FACTOR (1 to 20; default 1),
 * which a slow build (the sanitizer run) sets; every deadline of the fixture
 * goes through it
 */
guint tend_test_scaled_ms (guint ms);
/** tend_test_wait: polls @cond every 10 ms for up to @timeout_ms (scaled) */
gboolean tend_test_wait (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms);
/** tend_test_read_lines: the file's lines (empty vector when missing) */
GStrv tend_test_read_lines (const char *path);
/** tend_test_count_lines: number of lines of a file, 0 when missing */
guint tend_test_count_lines (const char *path);
/** tend_test_wait_lines: waits until @path has at least @n lines */
gboolean tend_test_wait_lines (const char *path, guint n, guint timeout_ms);
/** tend_test_record_pid: the pid on line @index of a record file written by the helpers */
pid_t tend_test_record_pid (const char *path, guint index);
/** tend_test_record_time_ms: the start time (ms, realtime) on line @index */
gint64 tend_test_record_time_ms (const char *path, guint index);
/** tend_test_pid_alive: the process exists and is not a zombie */
gboolean tend_test_pid_alive (pid_t pid);
/** tend_test_wait_pid_gone: waits until @pid is gone (or a zombie) */
gboolean tend_test_wait_pid_gone (pid_t pid, guint timeout_ms);

/**
 * tend_test_run_cli:
 * Runs build/core/cli/tend --home d->home ARG... (NULL-terminated) with the test's
 * environment (TEND_PLUGIN_DIR) minus TEND_HOME, for at most 60 s (asserts),
 * and returns its exit status (asserts it exited). @out_stdout and
 * @out_stderr (nullable; NULL or an earlier answer, which is freed) get what
 * it printed.
 */
int tend_test_run_cli (TendTestDaemon *d, char **out_stdout, char **out_stderr, const char *arg, ...)
    G_GNUC_NULL_TERMINATED;
/** tend_test_run_cli_env: as tend_test_run_cli, with @env ("KEY=VALUE", nullable) added to the environment */
int tend_test_run_cli_env (TendTestDaemon *d, const char *const *env, const char *const *args, char **out_stdout,
                           char **out_stderr);
/**
 * tend_test_run_program: runs @argv (argv[0] looked up in PATH) as tend_test_run_cli runs tend
 * (same environment, @env added, at most 60 s); returns its exit status
 */
int tend_test_run_program (TendTestDaemon *d, const char *const *env, const char *const *argv, char **out_stdout,
                           char **out_stderr);
/**
 * tend_test_run_as_nobody: runs @argv (looked up in PATH) as the user nobody,
 * with its primary group and, when @extra_group is not 0, that one group
 * besides; a small fixed environment. Otherwise as tend_test_run_program.
 * Needs root. @out_pid (nullable) gets the pid, already reaped.
 */
int tend_test_run_as_nobody (TendTestDaemon *d, const char *const *argv, gid_t extra_group, char **out_stdout,
                             char **out_stderr, GPid *out_pid);
/** tend_test_spawn_cli: starts tend --home d->home @args without waiting (output to the daemon's log file) */
GPid tend_test_spawn_cli (TendTestDaemon *d, const char *const *args);
/** tend_test_wait_cli: waits up to @timeout_ms for a spawned tend to end; its exit status, -1 on timeout (killed) */
int tend_test_wait_cli (GPid pid, guint timeout_ms);
/** tend_test_daemon_read_pidfile: the pid in HOME/tendd.pid, 0 when none */
pid_t tend_test_daemon_read_pidfile (TendTestDaemon *d);

G_END_DECLS
