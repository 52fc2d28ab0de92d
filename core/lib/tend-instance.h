/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib-object.h>
#include <sys/types.h>

#include "tend-enums.h"
#include "tend-service-config.h"

G_BEGIN_DECLS

typedef struct _TendService TendService;

/**
 * TendInstance:
 * One process slot of a service (a service with `instances=N` has N). It owns
 * the restart policy: what happens when its process exits (restart now, after
 * a delay or a backoff, or give up as `errored`) and what start/stop/restart
 * mean in each state. The process backend only reports facts to it.
 */
#define TEND_TYPE_INSTANCE (tend_instance_get_type ())
TEND_API
G_DECLARE_FINAL_TYPE (TendInstance, tend_instance, TEND, INSTANCE, GObject)


TEND_API TendService *tend_instance_get_service (TendInstance *self);
/** tend_instance_get_config: the config the current (or next) process runs with */
TEND_API TendServiceConfig *tend_instance_get_config (TendInstance *self);
TEND_API const char *tend_instance_get_name (TendInstance *self);
TEND_API guint tend_instance_get_index (TendInstance *self);
TEND_API guint tend_instance_get_id (TendInstance *self);
TEND_API TendServiceState tend_instance_get_state (TendInstance *self);
TEND_API pid_t tend_instance_get_pid (TendInstance *self);
TEND_API guint tend_instance_get_restarts (TendInstance *self);
/** tend_instance_get_start_time: wall-clock µs of the current process's start, 0 when none */
TEND_API gint64 tend_instance_get_start_time (TendInstance *self);
/** tend_instance_get_status_message: why it is in its state ("exited with code 1", "cannot execute: ..."), or NULL */
TEND_API const char *tend_instance_get_status_message (TendInstance *self);
/** tend_instance_get_last_exit: the wait status of the last exit; FALSE when it never exited */
TEND_API gboolean tend_instance_get_last_exit (TendInstance *self, int *out_wait_status);
/**
 * tend_instance_get_exits: how many of its processes ended on their own (a
 * crash, a clean exit, a kill from outside), not stopped or restarted by Tend;
 * a client that saw the count before its start knows whether a run failed since
 */
TEND_API guint tend_instance_get_exits (TendInstance *self);
/** tend_instance_has_ready_rule: `online` means ready (ready-check or notify, and a plugin to judge it), not spawned */
TEND_API gboolean tend_instance_has_ready_rule (TendInstance *self);
/** tend_instance_get_next_restart_delay: ms before the pending restart (waiting-restart), else 0 */
TEND_API guint64 tend_instance_get_next_restart_delay (TendInstance *self);
TEND_API gboolean tend_instance_get_wants_running (TendInstance *self);

/* Operator actions: idempotent, never fail; they act on the state machine. */
TEND_API void tend_instance_start (TendInstance *self);
TEND_API void tend_instance_stop (TendInstance *self);
TEND_API void tend_instance_restart (TendInstance *self, const char *reason);

/* For the process backend. */
/** tend_instance_build_environment: daemon env + env-file + env + TEND_INSTANCE, NODE_APP_INSTANCE, increment-var, the supervisor tag */
TEND_API GStrv tend_instance_build_environment (TendInstance *self, GError **error);
/** tend_instance_get_tag: the value of TEND_SUPERVISOR_TAG in the current process's environment */
TEND_API const char *tend_instance_get_tag (TendInstance *self);
/**
 * tend_instance_set_cgroup:
 * Set by the process backend before tend_instance_process_started() when the
 * run has a cgroup of its own (the cgroup v2 directory); cleared at the exit.
 * Its processes (tend_proc_list_cgroup()) are then exactly the run's tree.
 */
TEND_API void tend_instance_set_cgroup (TendInstance *self, const char *dir);
/** tend_instance_get_cgroup: the current run's cgroup directory, or NULL (no run, or no cgroup) */
TEND_API const char *tend_instance_get_cgroup (TendInstance *self);
/** tend_instance_get_log_path: the out (@stream 1) or error (@stream 2) log file */
TEND_API char *tend_instance_get_log_path (TendInstance *self, int stream);
/** tend_instance_attach_output: hands the read ends of the child's stdout/stderr pipes (owned from now on) */
TEND_API void tend_instance_attach_output (TendInstance *self, int stdout_fd, int stderr_fd);
TEND_API void tend_instance_process_started (TendInstance *self, pid_t pid);
TEND_API void tend_instance_process_exited (TendInstance *self, int wait_status);

/** tend_instance_set_ready: a readiness rule passed; launching → online */
TEND_API void tend_instance_set_ready (TendInstance *self);
/**
 * tend_instance_set_not_ready_reason:
 * Why its ready-check has not passed yet (the last try's failure, "connection
 * refused"), shown as its status message ("not ready: ...") while a process
 * of it is launching; NULL clears it. Ignored in any other state.
 */
TEND_API void tend_instance_set_not_ready_reason (TendInstance *self, const char *reason);
/** tend_instance_is_stopped_for_good: stopped or errored, with no process left */
TEND_API gboolean tend_instance_is_idle (TendInstance *self);

/**
 * TendUsage:
 * What the health plugin measures of an instance's whole process tree.
 */
typedef struct {
  double cpu_percent;  /* of one core, over the last sample interval */
  guint64 memory_rss;  /* bytes */
  double cpu_seconds;  /* CPU time used since the process started, tree included */
  guint processes;
  guint open_fds;
} TendUsage;

/* Figures set by whoever measures them (the health plugin). */
TEND_API double tend_instance_get_cpu_percent (TendInstance *self);
TEND_API guint64 tend_instance_get_memory_rss (TendInstance *self);
/** tend_instance_set_usage_full: all figures at once; each changed one is notified */
TEND_API void tend_instance_set_usage_full (TendInstance *self, const TendUsage *usage);
/**
 * tend_instance_clear_usage: the figures are unknown from now on (zero, and
 * tend_instance_get_figures_known() FALSE): what a measuring plugin calls when
 * it stops measuring, so that no stale figure stays behind
 */
TEND_API void tend_instance_clear_usage (TendInstance *self);
/**
 * tend_instance_get_figures_known: whether the usage figures were measured
 * during the current run (tend_instance_set_usage_full() since the process
 * started, by a plugin that still measures). FALSE with no process, before the
 * first sample, or with no measuring plugin: the figures then read 0 but mean
 * "unknown", and every output shows them so (`-`, `null`, no metric sample).
 */
TEND_API gboolean tend_instance_get_figures_known (TendInstance *self);
/** tend_instance_get_usage: the last figures (zero when not known) */
TEND_API const TendUsage *tend_instance_get_usage (TendInstance *self);
/** tend_instance_get_last_restart_reason: why it was last restarted ("exited with code 1", "memory limit ...") */
TEND_API const char *tend_instance_get_last_restart_reason (TendInstance *self);
/** tend_instance_set_notify_status: the STATUS= text a notify service sent */
TEND_API void tend_instance_set_notify_status (TendInstance *self, const char *status);
TEND_API const char *tend_instance_get_notify_status (TendInstance *self);
/** tend_instance_is_waiting_for_dependencies: wants to run, held until its dependencies are online */
TEND_API gboolean tend_instance_is_waiting_for_dependencies (TendInstance *self);

G_END_DECLS
