/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-fd-limit.h"
#include "tend-process-spawn.h"

/* What a spawn costs tendd for good: two pipes' read ends, a pidfd, a child watch, two log files;
 * and for a moment: the write ends and GLib's exec report pipe. */
#define SPAWN_FDS 10

typedef struct {
  pid_t parent;
  struct rlimit nofile; /* tendd raised its own: the service gets the one tendd started with */
  const char *cgroup_procs; /* the run's cgroup.procs, or NULL */
  gboolean set_credentials;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  int n_groups;
} ChildSetup;

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void
child_setup (gpointer user_data)
{
  ChildSetup *data = user_data;
  sigset_t empty;

  /* first, and as root still: whatever this process forks from now on is born in the run's group */
  if (data->cgroup_procs != NULL) {
    int fd = open (data->cgroup_procs, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (write (fd, "0", 1) < 0) {
        /* the parent sees it in /proc/PID/cgroup and falls back to the other rules */
      }
      close (fd);
    }
  }
  setsid ();
  setrlimit (RLIMIT_NOFILE, &data->nofile);
  /* tendd ignores SIGPIPE and may block signals; a service must start with the defaults */
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  }
  sigemptyset (&empty);
  sigprocmask (SIG_SETMASK, &empty, NULL);
  if (data->set_credentials) {
    if (setgroups ((size_t) data->n_groups, data->groups) < 0 || setgid (data->gid) < 0 || setuid (data->uid) < 0)
      _exit (126);
  }
  /* after setuid, which clears it; if tendd is SIGKILLed the service must not run on unsupervised */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != data->parent)
    _exit (126);
}

static gboolean
resolve_credentials (TendServiceConfig *config, ChildSetup *setup, GStrv *env, GError **error)
{
  struct passwd *pw = NULL;
  struct group *gr = NULL;
  int n = 64;

  if (config->user == NULL && config->group == NULL)
    return TRUE;
  if (geteuid () != 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "user= and group= need tendd to run as root");
    return FALSE;
  }
  setup->set_credentials = TRUE;
  setup->uid = 0;
  setup->gid = 0;
  if (config->user != NULL) {
    pw = getpwnam (config->user);
    if (pw == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "unknown user %s", config->user);
      return FALSE;
    }
    setup->uid = pw->pw_uid;
    setup->gid = pw->pw_gid;
    *env = g_environ_setenv (*env, "HOME", pw->pw_dir, TRUE);
    *env = g_environ_setenv (*env, "USER", pw->pw_name, TRUE);
    *env = g_environ_setenv (*env, "LOGNAME", pw->pw_name, TRUE);
  }
  if (config->group != NULL) {
    gr = getgrnam (config->group);
    if (gr == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "unknown group %s", config->group);
      return FALSE;
    }
    setup->gid = gr->gr_gid;
  }
  if (pw != NULL) {
    setup->groups = g_new (gid_t, n);
    if (getgrouplist (pw->pw_name, setup->gid, setup->groups, &n) < 0) {
      setup->groups = g_renew (gid_t, setup->groups, n);
      getgrouplist (pw->pw_name, setup->gid, setup->groups, &n);
    }
    setup->n_groups = n;
  } else {
    setup->groups = g_new (gid_t, 1);
    setup->groups[0] = setup->gid;
    setup->n_groups = 1;
  }
  return TRUE;
}

static gboolean
is_executable_file (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_REGULAR) && access (path, X_OK) == 0;
}

/* Finds the program as exec would, with the child's PATH and working directory,
 * so that "not found" and "not executable" are told apart before forking
 * (GLib would hand a non-executable file to /bin/sh). */
static char *
resolve_program (const char *program, const char *cwd, const char *const *env, GError **error)
{
  const char *path_env;
  g_auto(GStrv) dirs = NULL;

  if (strchr (program, '/') != NULL) {
    g_autofree char *path = g_canonicalize_filename (program, cwd);
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "%s: no such file", path);
      return NULL;
    }
    if (!is_executable_file (path)) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "%s: not an executable file", path);
      return NULL;
    }
    return g_steal_pointer (&path);
  }
  path_env = g_environ_getenv ((char **) env, "PATH");
  dirs = g_strsplit (path_env != NULL ? path_env : "/usr/local/bin:/usr/bin:/bin", ":", -1);
  for (guint i = 0; dirs[i] != NULL; i++) {
    g_autofree char *path = g_build_filename (dirs[i][0] ? dirs[i] : ".", program, NULL);
    g_autofree char *absolute = g_canonicalize_filename (path, cwd);
    if (is_executable_file (absolute))
      return g_steal_pointer (&absolute);
  }
  g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "%s: command not found in PATH (%s)", program,
               path_env != NULL ? path_env : "unset");
  return NULL;
}

gboolean
tend_process_spawn (TendInstance *instance,
                    const char *cgroup,
                    pid_t *out_pid,
                    int *out_stdout,
                    int *out_stderr,
                    GError **error)
{
  TendServiceConfig *config = tend_instance_get_config (instance);
  g_auto(GStrv) env = NULL;
  ChildSetup setup = { .parent = getpid (), .nofile = tend_fd_limit_get_original () };
  g_autofree char *cgroup_procs = cgroup != NULL ? g_build_filename (cgroup, "cgroup.procs", NULL) : NULL;
  g_autofree gid_t *groups = NULL;
  GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_FILE_AND_ARGV_ZERO | G_SPAWN_STDIN_FROM_DEV_NULL |
                      G_SPAWN_CLOEXEC_PIPES;
  g_autofree char *program = NULL;
  g_autoptr(GPtrArray) argv = NULL;
  GPid pid = 0;
  g_autoptr(GError) local_error = NULL;
  gboolean ok;

  env = tend_instance_build_environment (instance, error);
  if (env == NULL)
    return FALSE;
  ok = resolve_credentials (config, &setup, &env, error);
  groups = setup.groups;
  setup.cgroup_procs = cgroup_procs;
  if (!ok)
    return FALSE;
  if (config->cwd != NULL && !g_file_test (config->cwd, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "working directory %s does not exist", config->cwd);
    return FALSE;
  }
  program = resolve_program (config->argv[0], config->cwd, (const char *const *) env, error);
  if (program == NULL)
    return FALSE;
  /* argv[0] stays as written (what ps shows); the file run is the one resolved */
  argv = g_ptr_array_new ();
  g_ptr_array_add (argv, program);
  for (guint i = 0; config->argv[i] != NULL; i++)
    g_ptr_array_add (argv, config->argv[i]);
  g_ptr_array_add (argv, NULL);
  /* out of descriptors, a spawn fails half-way and the control socket cannot take a client: stop short */
  if (!tend_fd_limit_check_room (SPAWN_FDS, error))
    return FALSE;
  if (!g_spawn_async_with_pipes_and_fds (config->cwd, (const char *const *) argv->pdata, (const char *const *) env,
                                         flags, child_setup, &setup, -1, -1, -1, NULL, NULL, 0, &pid, NULL,
                                         out_stdout, out_stderr, &local_error)) {
    /* a limit of the system is worth retrying; GLib says "fork failed", or only "pipe failed (Too many open files)" */
    if (g_error_matches (local_error, G_SPAWN_ERROR, G_SPAWN_ERROR_FORK) ||
        g_error_matches (local_error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOMEM) ||
        g_error_matches (local_error, G_SPAWN_ERROR, G_SPAWN_ERROR_MFILE) ||
        g_error_matches (local_error, G_SPAWN_ERROR, G_SPAWN_ERROR_NFILE) ||
        !tend_fd_limit_check_room (SPAWN_FDS, NULL)) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_RESOURCE, "a system limit was reached: %s", local_error->message);
      return FALSE;
    }
    g_propagate_error (error, g_steal_pointer (&local_error));
    return FALSE;
  }
  *out_pid = pid;
  return TRUE;
}
