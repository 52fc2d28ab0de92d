/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <sys/resource.h>

#include "tend-error.h"
#include "tend-fd-limit.h"
#include "tend-process-spawn.h"
#include "tend-spawn.h"

/* What a spawn costs tendd for good: two pipes' read ends, a pidfd, a child watch, two log files;
 * and for a moment: the write ends, /dev/null and the exec report pipe. */
#define SPAWN_FDS 10

gboolean
tend_process_spawn (TendInstance *instance,
                    const char *cgroup,
                    TendContext *context,
                    void (*exited) (GPid pid, int wait_status, gpointer user_data),
                    gpointer user_data,
                    pid_t *out_pid,
                    int *out_stdout,
                    int *out_stderr,
                    GError **error)
{
  TendServiceConfig *config = tend_instance_get_config (instance);
  g_auto (GStrv) env = NULL;
  struct rlimit nofile = tend_fd_limit_get_original ();
  TendSpawn spec = {
    .argv = (const char *const *) config->argv,
    .cwd = config->cwd,
    .user = config->user,
    .group = config->group,
    .group_mode = TEND_SPAWN_GROUP_NEW_SESSION,
    .cgroup = cgroup,
    .nofile = &nofile,
    /* if tendd is SIGKILLed the service must not run on unsupervised */
    .parent_death_signal = SIGKILL,
    .stdin_mode = TEND_SPAWN_STDIO_DEV_NULL,
    .stdout_mode = TEND_SPAWN_STDIO_PIPE,
    .stderr_mode = TEND_SPAWN_STDIO_PIPE,
    .context = context,
    .exited = exited,
    .exited_data = user_data,
    /* an exit is seen before the output and timers of the same iteration */
    .priority = G_PRIORITY_HIGH,
  };
  g_autoptr (GError) local_error = NULL;
  GPid pid = 0;

  env = tend_instance_build_environment (instance, error);
  if (env == NULL)
    return FALSE;
  spec.envp = (const char *const *) env;
  /* out of descriptors, a spawn fails half-way and the control socket cannot take a client: stop short */
  if (!tend_fd_limit_check_room (SPAWN_FDS, error))
    return FALSE;
  if (!tend_spawn (&spec, &pid, out_stdout, out_stderr, NULL, &local_error)) {
    /* a failure half-way for lack of descriptors is a limit of the system, worth retrying */
    if (!g_error_matches (local_error, TEND_ERROR, TEND_ERROR_RESOURCE) &&
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
