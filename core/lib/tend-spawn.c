/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-context.h"
#include "tend-error.h"
#include "tend-spawn.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The step of the child that failed, written to the parent with its errno. */
typedef enum {
  STEP_SESSION = 1,
  STEP_RLIMIT,
  STEP_STDIO,
  STEP_CHDIR,
  STEP_SETGROUPS,
  STEP_SETGID,
  STEP_SETUID,
  STEP_EXEC,
} Step;

typedef struct {
  int step;
  int error;
} Report;

/* Everything the child needs, made before fork: between fork and exec only async-signal-safe calls. */
typedef struct {
  const char *file;
  char *const *argv;
  char *const *sh_argv; /* a file without a known format is a script for /bin/sh, as execvp does */
  char *const *envp;
  const char *cwd;
  TendSpawnGroup group_mode;
  int cgroup_procs_fd;
  gboolean reset_oom_score_adj;
  const struct rlimit *nofile;
  gboolean set_umask;
  mode_t umask;
  int stdio[3]; /* what becomes 0, 1, 2; -1: left as it is */
  gboolean set_credentials;
  uid_t uid;
  gid_t gid;
  const gid_t *groups;
  size_t n_groups;
  int parent_death_signal;
  pid_t parent;
  int report_fd;
  rlim_t fd_limit; /* tendd's own soft limit: its descriptors may go up to it */
} Plan;

G_GNUC_NORETURN static void
child_fail (const Plan *plan, Step step, int error)
{
  Report report = { step, error };
  ssize_t n;

  do
    n = write (plan->report_fd, &report, sizeof report);
  while (n < 0 && errno == EINTR);
  _exit (127);
}

/* Marks every descriptor above stderr close-on-exec: what tendd has open is not the program's. */
static void
child_cloexec_from_3 (const Plan *plan)
{
  if (syscall (SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return;
  /* kernels before 5.11 */
  for (rlim_t fd = 3; fd < plan->fd_limit && fd < (rlim_t) G_MAXINT; fd++)
    fcntl ((int) fd, F_SETFD, FD_CLOEXEC);
}

/*
 * The kernel's struct clone_args up to its cgroup field (CLONE_ARGS_SIZE_VER2,
 * Linux 5.7); spelled out here because <linux/sched.h> clashes with glibc's
 * <sched.h>.
 */
typedef struct {
  guint64 flags;
  guint64 pidfd;
  guint64 child_tid;
  guint64 parent_tid;
  guint64 exit_signal;
  guint64 stack;
  guint64 stack_size;
  guint64 tls;
  guint64 set_tid;
  guint64 set_tid_size;
  guint64 cgroup;
} CloneArgs;

#define TEND_CLONE_INTO_CGROUP 0x200000000ULL

/*
 * A child born in @cgroup_dir_fd's cgroup, as fork() makes one otherwise.
 * Joining after fork (a write to cgroup.procs) migrates the process, which
 * costs the kernel an RCU grace period: 10 ms and more per spawn on the test
 * machines, on every respawn. clone3 (CLONE_INTO_CGROUP) costs nothing of
 * the kind. Returns -1 with errno when the kernel cannot do it (before 5.7,
 * or a cgroup it refuses), and the caller forks and joins instead. The child
 * runs only async-signal-safe calls until exec, so skipping glibc's fork
 * handlers is safe, provided none of them is a glibc wrapper that acts on
 * every thread (setuid and friends: child_run uses the system calls).
 */
static pid_t
clone_into_cgroup (int cgroup_dir_fd)
{
#ifdef SYS_clone3
  CloneArgs args = { 0 };

  args.flags = TEND_CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = (guint64) cgroup_dir_fd;
  return (pid_t) syscall (SYS_clone3, &args, sizeof args);
#else
  errno = ENOSYS;
  return -1;
#endif
}

/* Runs in the child between fork and exec: only async-signal-safe calls, no GLib, no malloc. */
G_GNUC_NORETURN static void
child_run (const Plan *plan)
{
  int stdio[3];
  sigset_t empty;

  /* first, and as root still: whatever this process forks from now on is born in the group */
  if (plan->cgroup_procs_fd >= 0) {
    if (write (plan->cgroup_procs_fd, "0", 1) < 0) {
      /* the parent sees it in /proc/PID/cgroup and tracks the tree the other way */
    }
    close (plan->cgroup_procs_fd);
  }
  /* as root still: after setuid /proc/self is no longer ours to write */
  if (plan->reset_oom_score_adj) {
    int fd = open ("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (write (fd, "0", 1) < 0) {
        /* a read-only /proc, or a floor set by whoever started tendd: the service keeps tendd's value */
      }
      close (fd);
    }
  }
  if (plan->group_mode == TEND_SPAWN_GROUP_NEW_SESSION && setsid () < 0)
    child_fail (plan, STEP_SESSION, errno);
  if (plan->group_mode == TEND_SPAWN_GROUP_NEW_GROUP && setpgid (0, 0) < 0)
    child_fail (plan, STEP_SESSION, errno);
  if (plan->nofile != NULL && setrlimit (RLIMIT_NOFILE, plan->nofile) < 0)
    child_fail (plan, STEP_RLIMIT, errno);
  /* tendd ignores SIGPIPE and handles others; the program starts with the defaults (the mask is
   * emptied just before exec: until then every signal stays blocked, as the parent forked) */
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  }
  if (plan->set_umask)
    umask (plan->umask);
  /* a source among 0, 1, 2 could be overwritten by an earlier dup2: move them all above first */
  for (int i = 0; i < 3; i++) {
    stdio[i] = plan->stdio[i];
    if (stdio[i] >= 0 && stdio[i] < 3) {
      stdio[i] = fcntl (stdio[i], F_DUPFD_CLOEXEC, 3);
      if (stdio[i] < 0)
        child_fail (plan, STEP_STDIO, errno);
    }
  }
  for (int i = 0; i < 3; i++) {
    if (stdio[i] >= 0 && dup2 (stdio[i], i) < 0)
      child_fail (plan, STEP_STDIO, errno);
  }
  /* where tendd's own GLib spawn changed folder: before the user changes, as root */
  if (plan->cwd != NULL && chdir (plan->cwd) < 0)
    child_fail (plan, STEP_CHDIR, errno);
  /*
   * The raw system calls, not glibc's wrappers: those change the ids of every
   * thread they believe the process has, and after clone3 (which skips
   * glibc's fork handlers) they still believe in tendd's other threads and
   * wait for them forever. This child has one thread, which is all the
   * kernel's calls change.
   */
  if (plan->set_credentials) {
    if (syscall (SYS_setgroups, plan->n_groups, plan->groups) < 0)
      child_fail (plan, STEP_SETGROUPS, errno);
    if (syscall (SYS_setresgid, plan->gid, plan->gid, plan->gid) < 0)
      child_fail (plan, STEP_SETGID, errno);
    if (syscall (SYS_setresuid, plan->uid, plan->uid, plan->uid) < 0)
      child_fail (plan, STEP_SETUID, errno);
  }
  if (plan->parent_death_signal != 0) {
    /* after setuid, which clears it; if tendd is already gone nobody would ever signal us */
    prctl (PR_SET_PDEATHSIG, plan->parent_death_signal);
    if (getppid () != plan->parent)
      _exit (127);
  }
  child_cloexec_from_3 (plan);
  sigemptyset (&empty);
  sigprocmask (SIG_SETMASK, &empty, NULL);
  execve (plan->file, plan->argv, plan->envp);
  if (errno == ENOEXEC) {
    execve ("/bin/sh", plan->sh_argv, plan->envp);
    errno = ENOEXEC;
  }
  child_fail (plan, STEP_EXEC, errno);
}

/*
 * tendd may run with a lowered oom_score_adj (the systemd unit's
 * OOMScoreAdjust=-900), so that under memory pressure the kernel kills a
 * service, which tendd restarts, rather than tendd, which would take every
 * service with it. A child inherits the value at fork, and services start at
 * the kernel's default, 0, whatever tendd's own is. Read at every spawn: an
 * operator may change it (choom) while tendd runs.
 */
static gboolean
own_oom_score_adj_is_set (void)
{
  char text[16] = { 0 };
  ssize_t n;
  int fd = open ("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return FALSE;
  n = read (fd, text, sizeof text - 1);
  close (fd);
  return n > 0 && !(text[0] == '0' && (text[1] == '\n' || text[1] == '\0'));
}

static gboolean
is_executable_file (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_REGULAR) && access (path, X_OK) == 0;
}

/* A name without '/' is looked up as execvp would, in the child's PATH from its folder; execvp
 * itself may allocate, so this is done before fork. A path is run as it is, after chdir. */
static char *
resolve_program (const char *program, const char *cwd, char **env, GError **error)
{
  const char *path_env;
  g_auto (GStrv) dirs = NULL;

  if (strchr (program, '/') != NULL)
    return g_strdup (program);
  path_env = g_environ_getenv (env, "PATH");
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

/* The user's uid, groups and identity in the environment; done before fork (getpwnam allocates). */
static gboolean
resolve_credentials (const TendSpawn *spec, Plan *plan, GArray *groups, char ***env, GError **error)
{
  struct passwd *pw = NULL;
  struct group *gr = NULL;

  if (spec->user == NULL && spec->group == NULL)
    return TRUE;
  if (geteuid () != 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "user= and group= need tendd to run as root");
    return FALSE;
  }
  plan->set_credentials = TRUE;
  plan->uid = 0;
  plan->gid = 0;
  if (spec->user != NULL) {
    pw = getpwnam (spec->user);
    if (pw == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "unknown user %s", spec->user);
      return FALSE;
    }
    plan->uid = pw->pw_uid;
    plan->gid = pw->pw_gid;
    *env = g_environ_setenv (*env, "HOME", pw->pw_dir, TRUE);
    *env = g_environ_setenv (*env, "USER", pw->pw_name, TRUE);
    *env = g_environ_setenv (*env, "LOGNAME", pw->pw_name, TRUE);
  }
  if (spec->group != NULL) {
    gr = getgrnam (spec->group);
    if (gr == NULL) {
      g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "unknown group %s", spec->group);
      return FALSE;
    }
    plan->gid = gr->gr_gid;
  }
  if (pw != NULL) {
    int n = 64;
    g_array_set_size (groups, (guint) n);
    if (getgrouplist (pw->pw_name, plan->gid, (gid_t *) groups->data, &n) < 0) {
      g_array_set_size (groups, (guint) n);
      getgrouplist (pw->pw_name, plan->gid, (gid_t *) groups->data, &n);
    }
    g_array_set_size (groups, (guint) n);
  } else {
    g_array_append_val (groups, plan->gid);
  }
  plan->groups = (const gid_t *) groups->data;
  plan->n_groups = groups->len;
  return TRUE;
}

static gboolean
is_resource_errno (int error)
{
  return error == EAGAIN || error == ENOMEM || error == EMFILE || error == ENFILE;
}

static void
set_errno_error (GError **error, int saved, const char *what)
{
  if (is_resource_errno (saved))
    g_set_error (error, TEND_ERROR, TEND_ERROR_RESOURCE, "a system limit was reached: %s: %s", what,
                 g_strerror (saved));
  else
    g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "%s: %s", what, g_strerror (saved));
}

static void
set_report_error (GError **error, const Report *report, const TendSpawn *spec, const Plan *plan)
{
  g_autofree char *what = NULL;

  switch ((Step) report->step) {
  case STEP_SESSION:
    what = g_strdup (spec->group_mode == TEND_SPAWN_GROUP_NEW_SESSION ? "cannot start a new session"
                                                                      : "cannot start a new process group");
    break;
  case STEP_RLIMIT:
    what = g_strdup ("cannot set the open-file limit");
    break;
  case STEP_STDIO:
    what = g_strdup ("cannot set up the standard streams");
    break;
  case STEP_CHDIR:
    what = g_strdup_printf ("cannot change to folder %s", spec->cwd);
    break;
  case STEP_SETGROUPS:
    what = g_strdup_printf ("cannot set the groups of %s", spec->user != NULL ? spec->user : spec->group);
    break;
  case STEP_SETGID:
    what = g_strdup_printf ("cannot change to group %u", (guint) plan->gid);
    break;
  case STEP_SETUID:
    what = g_strdup_printf ("cannot change to user %s", spec->user);
    break;
  case STEP_EXEC:
    what = g_strdup_printf ("cannot execute %s", plan->file);
    break;
  default:
    what = g_strdup_printf ("the child failed before exec (step %d)", report->step);
    break;
  }
  set_errno_error (error, report->error, what);
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

typedef struct {
  TendContext *context; /* ref, or NULL */
  GPid pid;
  gboolean released;
  void (*exited) (GPid pid, int wait_status, gpointer user_data);
  gpointer exited_data;
} Watch;

static void
watch_exited (GPid pid, int wait_status, gpointer user_data)
{
  Watch *watch = user_data;

  g_spawn_close_pid (pid);
  /* before the owner runs: it may spawn again, and the kernel may give the new child this pid */
  if (watch->context != NULL)
    tend_context_release_child (watch->context, pid);
  watch->released = TRUE;
  watch->exited (pid, wait_status, watch->exited_data);
}

static void
watch_free (gpointer data)
{
  Watch *watch = data;

  /* destroyed before the child was reaped: the orphan reaper may have it */
  if (watch->context != NULL && !watch->released)
    tend_context_release_child (watch->context, watch->pid);
  g_clear_object (&watch->context);
  g_free (watch);
}

GSource *
tend_spawn_watch_child (TendContext *context,
                        GPid pid,
                        void (*exited) (GPid pid, int wait_status, gpointer user_data),
                        gpointer user_data,
                        int priority,
                        GMainContext *main_context)
{
  GSource *source = g_child_watch_source_new (pid);
  Watch *watch = g_new0 (Watch, 1);

  watch->context = context != NULL ? g_object_ref (context) : NULL;
  watch->pid = pid;
  watch->exited = exited;
  watch->exited_data = user_data;
  /* tendd is a subreaper whose orphan reaper waits for unknown children: this one is its owner's */
  if (watch->context != NULL)
    tend_context_claim_child (watch->context, pid);
  g_source_set_priority (source, priority);
  g_source_set_callback (source, G_SOURCE_FUNC (watch_exited), watch, watch_free);
  g_source_attach (source, main_context);
  return source;
}

static int
open_dev_null (GError **error)
{
  int fd = open ("/dev/null", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    set_errno_error (error, errno, "cannot open /dev/null");
  return fd;
}

/* Fills plan->stdio[@target] from @mode; a pipe's read end goes to *@out_read. */
static gboolean
prepare_stream (int target,
                TendSpawnStdio mode,
                int given,
                int *dev_null,
                int *child_end,
                int *out_read,
                Plan *plan,
                GError **error)
{
  int fds[2];

  switch (mode) {
  case TEND_SPAWN_STDIO_INHERIT:
    plan->stdio[target] = -1;
    return TRUE;
  case TEND_SPAWN_STDIO_FD:
    plan->stdio[target] = given;
    return TRUE;
  case TEND_SPAWN_STDIO_PIPE:
    g_return_val_if_fail (target != 0, FALSE);
    if (pipe2 (fds, O_CLOEXEC) < 0) {
      set_errno_error (error, errno, "cannot make a pipe");
      return FALSE;
    }
    *out_read = fds[0];
    *child_end = fds[1];
    plan->stdio[target] = fds[1];
    return TRUE;
  case TEND_SPAWN_STDIO_DEV_NULL:
  default:
    if (*dev_null < 0)
      *dev_null = open_dev_null (error);
    if (*dev_null < 0)
      return FALSE;
    plan->stdio[target] = *dev_null;
    return TRUE;
  }
}

gboolean
tend_spawn (const TendSpawn *spec, GPid *out_pid, int *out_stdout, int *out_stderr, GSource **out_watch, GError **error)
{
  Plan plan = { .cgroup_procs_fd = -1, .report_fd = -1, .stdio = { -1, -1, -1 } };
  g_auto (GStrv) env = NULL;
  g_autoptr (GArray) groups = g_array_new (FALSE, FALSE, sizeof (gid_t));
  g_autoptr (GPtrArray) sh_argv = g_ptr_array_new ();
  g_autofree char *file = NULL;
  int dev_null = -1, report[2] = { -1, -1 }, cgroup_dir_fd = -1;
  int child_out = -1, child_err = -1, read_out = -1, read_err = -1;
  sigset_t all, saved_mask;
  Report got;
  ssize_t n;
  pid_t pid;
  gboolean ok = FALSE;

  g_return_val_if_fail (spec != NULL && spec->argv != NULL && spec->argv[0] != NULL, FALSE);
  g_return_val_if_fail (out_pid != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /*
   * The parent-death signal fires when the *thread* that forked ends, and tend update's exec ends
   * every thread but the main one: a child forked elsewhere would be killed by the update.
   */
  if (spec->parent_death_signal != 0 && syscall (SYS_gettid) != getpid ()) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_SPAWN,
                         "a child with a parent-death signal must be spawned from tendd's main thread");
    return FALSE;
  }
  env = spec->envp != NULL ? g_strdupv ((char **) spec->envp) : g_get_environ ();
  if (!resolve_credentials (spec, &plan, groups, &env, error))
    return FALSE;
  file = resolve_program (spec->program != NULL ? spec->program : spec->argv[0], spec->cwd, env, error);
  if (file == NULL)
    return FALSE;
  g_ptr_array_add (sh_argv, (gpointer) "/bin/sh");
  g_ptr_array_add (sh_argv, file);
  for (guint i = 1; spec->argv[i] != NULL; i++)
    g_ptr_array_add (sh_argv, (gpointer) spec->argv[i]);
  g_ptr_array_add (sh_argv, NULL);
  plan.file = file;
  plan.argv = (char *const *) spec->argv;
  plan.sh_argv = (char *const *) sh_argv->pdata;
  plan.envp = env;
  plan.cwd = spec->cwd;
  plan.group_mode = spec->group_mode;
  plan.nofile = spec->nofile;
  plan.reset_oom_score_adj = own_oom_score_adj_is_set ();
  plan.set_umask = spec->set_umask;
  plan.umask = spec->umask;
  plan.parent_death_signal = spec->parent_death_signal;
  plan.parent = getpid ();
  {
    struct rlimit limit;
    plan.fd_limit = getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY ? limit.rlim_cur : 65536;
  }

  if (!prepare_stream (0, spec->stdin_mode, spec->stdin_fd, &dev_null, NULL, NULL, &plan, error) ||
      !prepare_stream (1, spec->stdout_mode, spec->stdout_fd, &dev_null, &child_out, &read_out, &plan, error) ||
      !prepare_stream (2, spec->stderr_mode, spec->stderr_fd, &dev_null, &child_err, &read_err, &plan, error))
    goto out;
  if (pipe2 (report, O_CLOEXEC) < 0) {
    set_errno_error (error, errno, "cannot make a pipe");
    goto out;
  }
  plan.report_fd = report[1];
  /* not fatal when the group cannot be opened: the caller checks where the child ended up */
  if (spec->cgroup != NULL)
    cgroup_dir_fd = open (spec->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  /* no handler of tendd's may run in the child before its dispositions are reset */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &saved_mask);
  pid = cgroup_dir_fd >= 0 ? clone_into_cgroup (cgroup_dir_fd) : -1;
  if (pid == 0)
    child_run (&plan); /* born in the group: nothing to join */
  if (pid < 0) {
    /* the kernel could not: fork, and the child joins by writing to cgroup.procs */
    if (cgroup_dir_fd >= 0)
      plan.cgroup_procs_fd = openat (cgroup_dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    pid = fork ();
  }
  if (pid == 0)
    child_run (&plan);
  {
    int saved = errno;
    pthread_sigmask (SIG_SETMASK, &saved_mask, NULL);
    if (pid < 0) {
      set_errno_error (error, saved, "cannot fork");
      goto out;
    }
  }
  close_fd (&report[1]);
  close_fd (&child_out);
  close_fd (&child_err);
  close_fd (&plan.cgroup_procs_fd);
  close_fd (&cgroup_dir_fd);
  close_fd (&dev_null);

  /* end of file: the exec closed the pipe; a report: a step failed and the child exits */
  do
    n = read (report[0], &got, sizeof got);
  while (n < 0 && errno == EINTR);
  if (n != 0) {
    int status;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
      ;
    if (n == (ssize_t) sizeof got)
      set_report_error (error, &got, spec, &plan);
    else
      g_set_error (error, TEND_ERROR, TEND_ERROR_SPAWN, "the child failed before exec, and its report was lost");
    goto out;
  }

  *out_pid = pid;
  if (out_watch != NULL)
    *out_watch = NULL;
  if (out_stdout != NULL) {
    *out_stdout = read_out;
    read_out = -1;
  }
  if (out_stderr != NULL) {
    *out_stderr = read_err;
    read_err = -1;
  }
  if (spec->exited != NULL) {
    GSource *source = tend_spawn_watch_child (spec->context, pid, spec->exited, spec->exited_data, spec->priority,
                                              spec->main_context);
    if (out_watch != NULL)
      *out_watch = source;
    else
      g_source_unref (source);
  }
  ok = TRUE;

out:
  close_fd (&report[0]);
  close_fd (&report[1]);
  close_fd (&child_out);
  close_fd (&child_err);
  close_fd (&read_out);
  close_fd (&read_err);
  close_fd (&plan.cgroup_procs_fd);
  close_fd (&cgroup_dir_fd);
  close_fd (&dev_null);
  return ok;
}
