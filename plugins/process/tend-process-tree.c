/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tend-proc.h"
#include "tend-process-tree.h"

static gboolean
pid_in (GArray *pids, pid_t pid)
{
  for (guint i = 0; i < pids->len; i++) {
    if (g_array_index (pids, pid_t, i) == pid)
      return TRUE;
  }
  return FALSE;
}

static void
add_descendants (GArray *procs, GArray *members, pid_t exclude)
{
  gboolean grew = TRUE;

  /* descendants of members, whatever session they moved to */
  while (grew) {
    grew = FALSE;
    for (guint i = 0; i < procs->len; i++) {
      TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
      if (p->state == 'Z' || p->pid == exclude || pid_in (members, p->pid))
        continue;
      if (pid_in (members, p->ppid)) {
        g_array_append_val (members, p->pid);
        grew = TRUE;
      }
    }
  }
}

static gboolean
is_known (GHashTable *known, const TendProcInfo *p)
{
  const guint64 *start_time = known != NULL ? g_hash_table_lookup (known, GINT_TO_POINTER (p->pid)) : NULL;

  /* the same process, not a new one that got a recycled pid */
  return start_time != NULL && *start_time == p->start_time;
}

GArray *
tend_process_tree_members (GArray *procs, pid_t sid, const char *tag, GHashTable *known)
{
  GArray *members = g_array_new (FALSE, FALSE, sizeof (pid_t));
  pid_t self = getpid ();

  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
    gboolean member = FALSE;

    if (p->pid == sid || p->state == 'Z')
      continue;
    if (p->sid == sid || is_known (known, p)) {
      member = TRUE;
    } else if (p->ppid == self && tag != NULL) {
      g_autofree char *value = tend_proc_environ_get (p->pid, "TEND_SUPERVISOR_TAG");
      member = g_strcmp0 (value, tag) == 0;
    }
    if (member)
      g_array_append_val (members, p->pid);
  }
  add_descendants (procs, members, sid);
  if (known != NULL) {
    /* remembered for the next look: by then the parent that tied a process to us may be gone */
    g_hash_table_remove_all (known);
    for (guint i = 0; i < procs->len; i++) {
      TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
      if (pid_in (members, p->pid))
        g_hash_table_insert (known, GINT_TO_POINTER (p->pid), g_memdup2 (&p->start_time, sizeof p->start_time));
    }
  }
  return members;
}

GArray *
tend_process_tree_find (pid_t sid, const char *tag, const char *cgroup, GHashTable *known)
{
  g_autoptr(GArray) procs = NULL;

  if (cgroup != NULL) {
    GArray *members = tend_proc_list_cgroup (cgroup);
    for (guint i = 0; i < members->len; i++) {
      if (g_array_index (members, pid_t, i) == sid) {
        g_array_remove_index_fast (members, i);
        break;
      }
    }
    return members;
  }
  procs = tend_proc_list_all ();
  return tend_process_tree_members (procs, sid, tag, known);
}

GArray *
tend_process_tree_with_descendants (GArray *roots)
{
  g_autoptr(GArray) procs = tend_proc_list_all ();
  GArray *members = g_array_new (FALSE, FALSE, sizeof (pid_t));

  g_array_append_vals (members, roots->data, roots->len);
  add_descendants (procs, members, 0);
  return members;
}

void
tend_process_tree_signal (pid_t pgid, GArray *members, int signum)
{
  if (pgid > 1)
    kill (-pgid, signum);
  for (guint i = 0; members != NULL && i < members->len; i++)
    kill (g_array_index (members, pid_t, i), signum);
}

GArray *
tend_process_tree_list_our_children (void)
{
  g_autoptr(GArray) procs = tend_proc_list_all ();
  GArray *children = g_array_new (FALSE, FALSE, sizeof (pid_t));
  pid_t self = getpid ();

  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
    if (p->ppid == self)
      g_array_append_val (children, p->pid);
  }
  return children;
}

static GArray *
find_leftovers (const char *prefix, const char *own_prefix)
{
  g_autoptr(GArray) procs = tend_proc_list_all ();
  GArray *found = g_array_new (FALSE, FALSE, sizeof (pid_t));

  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *p = &g_array_index (procs, TendProcInfo, i);
    g_autofree char *tag = NULL;

    if (p->state == 'Z' || p->pid == getpid ())
      continue;
    tag = tend_proc_environ_get (p->pid, "TEND_SUPERVISOR_TAG");
    if (tag != NULL && g_str_has_prefix (tag, prefix) && !g_str_has_prefix (tag, own_prefix))
      g_array_append_val (found, p->pid);
  }
  return found;
}

guint
tend_process_tree_kill_leftovers (const char *home_tag, guint grace_ms)
{
  g_autofree char *prefix = g_strdup_printf ("%s/", home_tag);
  g_autofree char *own_prefix = g_strdup_printf ("%s/%d/", home_tag, (int) getpid ());
  g_autoptr(GArray) found = find_leftovers (prefix, own_prefix);
  gint64 deadline = g_get_monotonic_time () + (gint64) grace_ms * 1000;
  guint count = found->len;

  if (count == 0)
    return 0;
  for (guint i = 0; i < found->len; i++) {
    g_message ("ending process %d left behind by a previous tendd of this home",
               (int) g_array_index (found, pid_t, i));
    kill (g_array_index (found, pid_t, i), SIGTERM);
  }
  /* a bounded wait at start-up only, so their ports are free before our services start */
  while (g_get_monotonic_time () < deadline) {
    g_autoptr(GArray) left = find_leftovers (prefix, own_prefix);
    if (left->len == 0)
      return count;
    g_usleep (20 * 1000);
  }
  {
    g_autoptr(GArray) left = find_leftovers (prefix, own_prefix);
    for (guint i = 0; i < left->len; i++)
      kill (g_array_index (left, pid_t, i), SIGKILL);
  }
  return count;
}
