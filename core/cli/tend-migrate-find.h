/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/*
 * What `tend migrate` finds in /proc: the unsupervised processes of a
 * configured service, the whole tree to stop with them, and what it takes to
 * start one again exactly as it ran. Runs in the client, with the
 * operator's rights (docs/cli.md, "tend migrate").
 */

/** TendMigrateProc: one process found for a service */
typedef struct {
  pid_t pid;
  pid_t sid;
  pid_t pgid;
  guint64 start_time; /* clock ticks since boot: tells a reused pid */
  uid_t uid;
  char **argv;
  char *cwd;           /* NULL when it cannot be read */
  char *reason;        /* "exec and cwd", "port 7777", "match" */
  gboolean by_command; /* found by exec or match= (not only by the port): what a rollback starts again */
  gboolean holds_port;
} TendMigrateProc;

void tend_migrate_proc_free (TendMigrateProc *proc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendMigrateProc, tend_migrate_proc_free)

/** TendMigrateTarget: a configured service, as the finder needs it */
typedef struct {
  char *name;
  char **argv; /* exec as tendd runs it; /bin/sh -c EXEC with shell=true */
  char *cwd;   /* NULL: none configured */
  guint port;  /* 0: none */
  char *match; /* the match= value, or NULL */
} TendMigrateTarget;

/**
 * TendMigrateGuard:
 * What is never touched: tendd, every process of Tend's own services, the
 * caller and its ancestors (and their sessions and process groups, which a
 * tree is never widened into).
 */
typedef struct {
  GHashTable *pids;     /* pid -> pid */
  GHashTable *sessions; /* sid -> sid, of the guarded processes */
  GHashTable *groups;   /* pgid -> pgid */
} TendMigrateGuard;

TendMigrateGuard *tend_migrate_guard_new (void);
/** tend_migrate_guard_add: @pid and (with @tree) its whole Tend tree: session and descendants */
void tend_migrate_guard_add (TendMigrateGuard *guard, pid_t pid, gboolean tree);
/** tend_migrate_guard_add_self: the calling process and its ancestors */
void tend_migrate_guard_add_self (TendMigrateGuard *guard);
/** tend_migrate_guard_covers: @pid is guarded, or carries TEND_SUPERVISOR_TAG (runs under a Tend) */
gboolean tend_migrate_guard_covers (TendMigrateGuard *guard, pid_t pid);
void tend_migrate_guard_free (TendMigrateGuard *guard);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendMigrateGuard, tend_migrate_guard_free)

/**
 * tend_migrate_find:
 * The processes of @target (TendMigrateProc), in pid order: those whose argv
 * and cwd are the service's exec and cwd, those listening on its port, and
 * those its match= names; never one @guard covers.
 */
GPtrArray *tend_migrate_find (const TendMigrateTarget *target, TendMigrateGuard *guard);

/**
 * tend_migrate_tree:
 * @found: (element-type TendMigrateProc)
 * Everything to stop with @found (a GArray of pid_t): the found processes,
 * the members of their sessions and process groups (when the leader is one
 * of them, so that a login shell's session, live or gone, is never taken),
 * every descendant, and whatever listens on @port; never a guarded process.
 */
GArray *tend_migrate_tree (GPtrArray *found, guint port, TendMigrateGuard *guard);

/** tend_migrate_argv_matches: @have (argv in @have_cwd) runs the command @want would run in @want_cwd */
gboolean tend_migrate_argv_matches (const char *const *want,
                                    const char *want_cwd,
                                    const char *const *have,
                                    const char *have_cwd);

/** tend_migrate_read_argv: /proc/PID/cmdline, NULL when gone or empty (a kernel thread) */
char **tend_migrate_read_argv (pid_t pid);

G_END_DECLS
