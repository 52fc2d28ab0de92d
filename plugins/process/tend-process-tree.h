/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * tend_process_tree_find:
 * The live processes of one spawned service process tree, main process
 * (@sid, which leads its session) excluded.
 *
 * With @cgroup (the run's group): exactly the processes of that group.
 *
 * Without: everything in session @sid, every child of ours (a reparented
 * orphan) whose environment carries @tag, every process remembered in
 * @known (pid → start time, nullable) from an earlier look, and all their
 * descendants; @known is then replaced by what was found. This is how a
 * double-forked grandchild that left the session is still found; one that
 * also cleared its environment is found only if an earlier look saw it
 * while its parent chain still led to the service.
 * Returns: pids (GArray of pid_t), possibly empty.
 */
GArray *tend_process_tree_find (pid_t sid, const char *tag, const char *cgroup, GHashTable *known);
/** tend_process_tree_members: tend_process_tree_find() without a cgroup, over a listing @procs already made */
GArray *tend_process_tree_members (GArray *procs, pid_t sid, const char *tag, GHashTable *known);
/** tend_process_tree_with_descendants: @roots and every live descendant of theirs */
GArray *tend_process_tree_with_descendants (GArray *roots);

/**
 * tend_process_tree_signal:
 * Sends @signum to the process group @pgid and to each pid of @members.
 */
void tend_process_tree_signal (pid_t pgid, GArray *members, int signum);

/**
 * tend_process_tree_list_our_children:
 * Our direct children (orphans reparented to us as subreaper included).
 */
GArray *tend_process_tree_list_our_children (void);

/**
 * tend_process_tree_kill_leftovers:
 * Ends processes that a previous, killed tendd of the same home left behind
 * (their TEND_SUPERVISOR_TAG starts with "@home_tag/" but names another
 * daemon pid): SIGTERM, up to @grace_ms, then SIGKILL. Returns how many.
 */
guint tend_process_tree_kill_leftovers (const char *home_tag, guint grace_ms);

G_END_DECLS
