/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * TendProcInfo:
 * One process as /proc/PID/stat shows it; times in clock ticks, rss in pages.
 */
typedef struct {
  pid_t pid;
  pid_t ppid;
  pid_t pgid;
  pid_t sid;
  char state;
  guint64 utime;
  guint64 stime;
  guint64 start_time;
  gint64 rss_pages;
} TendProcInfo;

/** tend_proc_parse_stat: parses the text of /proc/@pid/stat (NUL-terminated) */
TEND_API gboolean tend_proc_parse_stat (pid_t pid, const char *text, TendProcInfo *out);
/** tend_proc_read_stat: parses /proc/@pid/stat; FALSE when the process is gone. */
TEND_API gboolean tend_proc_read_stat (pid_t pid, TendProcInfo *out);
/** tend_proc_list_all: every process visible in /proc (an array of TendProcInfo). */
TEND_API GArray *tend_proc_list_all (void);
/**
 * tend_proc_environ_get:
 * The value of @key in /proc/@pid/environ, or NULL (gone, not readable, unset).
 */
TEND_API char *tend_proc_environ_get (pid_t pid, const char *key);
/** tend_proc_read_comm: the command name of @pid (/proc/PID/comm, free it), or NULL when it is gone */
TEND_API char *tend_proc_read_comm (pid_t pid);

/**
 * tend_proc_list_tree:
 * @root: a process that leads its own session (a service's main process)
 * @tag: (nullable): the TEND_SUPERVISOR_TAG of its run
 * The live processes of @root's tree: @root, every process of its session,
 * every child of the calling process (an orphan re-parented to tendd, the
 * subreaper) whose environment carries @tag, and all their descendants.
 * Returns: pids (GArray of pid_t); empty when @root is gone and nothing is left.
 */
TEND_API GArray *tend_proc_list_tree (pid_t root, const char *tag);

/** tend_proc_cgroup_mount: where the cgroup v2 hierarchy is mounted, or NULL */
TEND_API const char *tend_proc_cgroup_mount (void);
/** tend_proc_get_cgroup: the cgroup v2 directory @pid is in (free it), or NULL */
TEND_API char *tend_proc_get_cgroup (pid_t pid);
/** tend_proc_in_cgroup: @pid is in the cgroup directory @dir or a group below it */
TEND_API gboolean tend_proc_in_cgroup (pid_t pid, const char *dir);

/**
 * tend_proc_list_cgroup:
 * The live processes of the cgroup v2 directory @dir and of every group
 * below it (an array of pid_t; empty when @dir is gone). Zombies are not
 * listed: the kernel drops a process from its group when it exits.
 */
TEND_API GArray *tend_proc_list_cgroup (const char *dir);

G_END_DECLS
