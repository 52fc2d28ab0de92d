/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * TendProcessCgroup:
 * tendd's own subtree of the cgroup v2 hierarchy, `tend-HOMETAG` below the
 * group tendd runs in, with one group per run of a service instance. A
 * process joins its run's group in the child setup, before exec, so every
 * process it ever forks is born there: membership is exact, whatever the
 * descendants do with their session or environment (only a process with the
 * right to write cgroup files, i.e. root, can leave).
 */
typedef struct _TendProcessCgroup TendProcessCgroup;

/**
 * tend_process_cgroup_new:
 * Finds the cgroup v2 hierarchy and makes (or takes over) the subtree.
 * Returns: NULL with @error saying why when there is no cgroup v2 hierarchy
 * or we may not write it (not root, not delegated to us).
 */
TendProcessCgroup *tend_process_cgroup_new (const char *home_tag, GError **error);
/** tend_process_cgroup_free: removes the subtree when it is empty */
void tend_process_cgroup_free (TendProcessCgroup *self);
const char *tend_process_cgroup_get_path (TendProcessCgroup *self);

/**
 * tend_process_cgroup_make_run:
 * Creates the group of one run, named after the service. Returns its
 * directory, or NULL.
 */
char *tend_process_cgroup_make_run (TendProcessCgroup *self, const char *name, guint index, GError **error);
/** tend_process_cgroup_get_runs: the run counter, which tend update carries over so names stay unique */
guint64 tend_process_cgroup_get_runs (TendProcessCgroup *self);
void tend_process_cgroup_set_runs (TendProcessCgroup *self, guint64 runs);

/** tend_process_cgroup_holds: @pid is in the group @dir itself (read from /proc/PID/cgroup) */
gboolean tend_process_cgroup_holds (const char *dir, pid_t pid);

/**
 * tend_process_cgroup_signal:
 * Sends @signum to every process of @dir and the groups below it. SIGKILL
 * goes through cgroup.kill where the kernel has it (5.14+), which also
 * catches a process forked meanwhile.
 */
void tend_process_cgroup_signal (const char *dir, int signum);

/** tend_process_cgroup_remove: removes @dir and the groups below it; FALSE while a process is left */
gboolean tend_process_cgroup_remove (const char *dir);

/**
 * tend_process_cgroup_end_leftovers:
 * At start: the groups a killed tendd of this home left, with whatever still
 * runs in them: SIGTERM, up to @grace_ms, then SIGKILL; the groups are
 * removed. Returns how many processes were ended.
 */
guint tend_process_cgroup_end_leftovers (TendProcessCgroup *self, guint grace_ms);

G_END_DECLS
