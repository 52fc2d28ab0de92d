/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "tend-api.h"

G_BEGIN_DECLS

typedef struct _TendContext TendContext;

/** TendSpawnStdio: where a standard stream of the child goes */
typedef enum {
  TEND_SPAWN_STDIO_DEV_NULL, /* /dev/null (the default: 0) */
  TEND_SPAWN_STDIO_INHERIT,  /* tendd's own */
  TEND_SPAWN_STDIO_PIPE,     /* a pipe whose read end is returned (stdout and stderr only) */
  TEND_SPAWN_STDIO_FD,       /* the descriptor given (not closed) */
} TendSpawnStdio;

/** TendSpawnGroup: the process group the child runs in */
typedef enum {
  TEND_SPAWN_GROUP_INHERIT,     /* tendd's */
  TEND_SPAWN_GROUP_NEW_SESSION, /* setsid: a session and a group named by its pid */
  TEND_SPAWN_GROUP_NEW_GROUP,   /* setpgid: a group named by its pid, tendd's session */
} TendSpawnGroup;

/**
 * TendSpawn:
 * What to run and how; zero-initialise it and set what matters. Every child
 * of tendd is started through tend_spawn() with one of these.
 *
 * @argv: the arguments; argv[0] is what ps shows and, without @program, the
 *   file run (searched in the child's PATH when it has no '/'; a relative
 *   path is relative to @cwd)
 * @program: the file to run when it is not argv[0], or NULL
 * @envp: the environment, or NULL for tendd's
 * @cwd: the working directory, or NULL for tendd's
 * @user: run as this user (its uid, primary group and supplementary groups,
 *   and HOME, USER and LOGNAME in the environment); needs root
 * @group: run with this group instead of the user's primary group
 * @group_mode: a new session or process group, so the caller can signal
 *   everything the child starts at once
 * @cgroup: a cgroup v2 directory the child joins first, before it can fork
 *   anything (the caller checks that it did: a failure is not fatal)
 * @nofile: the RLIMIT_NOFILE the child gets (tendd raised its own), or NULL
 * @set_umask: give the child @umask instead of tendd's
 * @parent_death_signal: sent to the child when tendd dies, or 0; only from the main thread (the signal
 *   follows the forking thread, and tend update ends every other one): elsewhere tend_spawn() fails
 * @context: the daemon's context, in which the child is registered as
 *   claimed (see tend_context_is_claimed_child()) until it is reaped; or NULL
 * @exited: called from @main_context once the child was reaped (its pid is
 *   invalid from then on); NULL: the caller reaps it itself, and the child
 *   is not registered in @context
 * @exited_data: for @exited
 * @priority: of the child watch (G_PRIORITY_DEFAULT is 0)
 * @main_context: where @exited runs; NULL: the global default
 */
typedef struct {
  const char *const *argv;
  const char *program;
  const char *const *envp;
  const char *cwd;
  const char *user;
  const char *group;
  TendSpawnGroup group_mode;
  const char *cgroup;
  const struct rlimit *nofile;
  gboolean set_umask;
  mode_t umask;
  int parent_death_signal;
  TendSpawnStdio stdin_mode;
  TendSpawnStdio stdout_mode;
  TendSpawnStdio stderr_mode;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  TendContext *context;
  void (*exited) (GPid pid, int wait_status, gpointer user_data);
  gpointer exited_data;
  int priority;
  GMainContext *main_context;
} TendSpawn;

/**
 * tend_spawn:
 * @spec: what to run
 * @out_pid: (out): the child's pid
 * @out_stdout: (out) (optional): the read end of its stdout pipe (TEND_SPAWN_STDIO_PIPE)
 * @out_stderr: (out) (optional): the read end of its stderr pipe (TEND_SPAWN_STDIO_PIPE)
 * @out_watch: (out) (optional) (transfer full): the child watch that calls
 *   @spec->exited; destroying it before it fired gives up the child (its
 *   claim is released, someone else reaps it)
 * @error: TEND_ERROR_SPAWN with the real cause of a failure before the
 *   program ran ("cannot change to folder /x: No such file or directory",
 *   "unknown user bob", "cannot execute ./x: Permission denied"): the child
 *   was reaped already; TEND_ERROR_RESOURCE when the system was short of
 *   processes, memory or descriptors (worth retrying)
 *
 * Forks and executes the program. Between fork and exec the child does, in
 * this order: join @cgroup, oom_score_adj back to 0 when tendd's own is not 0
 * (a service never inherits the unit's protection of tendd from the OOM killer),
 * new session or group, RLIMIT_NOFILE, default
 * signal dispositions and an empty signal mask, umask, standard streams,
 * working directory, groups and user, parent-death signal, exec. A step that
 * fails is reported to the parent through a pipe and the child exits 127.
 *
 * Returns: TRUE once the program runs (its exec succeeded).
 */
TEND_API gboolean tend_spawn (const TendSpawn *spec,
                     GPid *out_pid,
                     int *out_stdout,
                     int *out_stderr,
                     GSource **out_watch,
                     GError **error);

/**
 * tend_spawn_watch_child:
 * Watches @pid, a child of tendd (one tend_spawn() started, or one adopted
 * from the tendd before `tend update`: it is still this process's child), as
 * tend_spawn() does with `exited`: claimed in @context until it is reaped,
 * then @exited runs. Returns the attached source (a reference for the
 * caller).
 */
TEND_API GSource *tend_spawn_watch_child (TendContext *context,
                                         GPid pid,
                                         void (*exited) (GPid pid, int wait_status, gpointer user_data),
                                         gpointer user_data,
                                         int priority,
                                         GMainContext *main_context);

G_END_DECLS
