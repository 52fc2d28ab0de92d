/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "tend-fd-limit.h"
#include "tend-health-sampler.h"
#include "tend-proc.h"

/*
 * What an idle pass costs is what it reads. The stat file of a process in a tree is read on every
 * pass; a process outside every tree cannot join one (a tree grows by new processes, which a pass
 * reads as soon as /proc lists them), so its stat file is read again only on every RESCAN_PASSES-th
 * pass. A recycled pid is a new process: /proc lists it with a new inode number, which makes it
 * read at once (and the rescan would catch it anyway). Open fds (a directory listing per process)
 * are counted when a process joins a tree and then on those passes only.
 */
#define RESCAN_PASSES 10

/* One process seen in a pass. */
typedef struct {
  TendProcInfo info;
  int fd;           /* kept open while the process belongs to a tree, else -1 */
  guint64 last_ticks; /* utime + stime at the previous pass, 0 when first seen */
  gboolean seen_before;
  char *tag;        /* TEND_SUPERVISOR_TAG of an orphan of ours, read once */
  gboolean tag_read;
  TendInstance *owner; /* the instance whose tree it was in at the last pass (not a ref) */
  ino_t ino;              /* of /proc/PID as the last listing gave it */
  guint64 read_pass;      /* the pass that last read its stat file */
  guint64 prev_read_pass; /* the one before */
  guint open_fds;         /* at the last count */
} Proc;

/* What outlives the processes of an instance's current run. */
typedef struct {
  pid_t main_pid;
  guint64 ticks_of_gone; /* CPU ticks of tree members that have exited */
} RunTotals;

struct _TendHealthSampler {
  GHashTable *procs;  /* pid → Proc */
  GHashTable *totals; /* TendInstance → RunTotals (weak keys: pruned when not running) */
  gint64 last_pass;
  guint64 pass; /* passes so far, this one included */
  long ticks_per_second;
  long page_size;
};

static void
proc_free (Proc *proc)
{
  if (proc->fd >= 0)
    close (proc->fd);
  g_free (proc->tag);
  g_free (proc);
}

TendHealthSampler *
tend_health_sampler_new (void)
{
  TendHealthSampler *self = g_new0 (TendHealthSampler, 1);

  self->procs = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) proc_free);
  self->totals = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->ticks_per_second = sysconf (_SC_CLK_TCK);
  self->page_size = sysconf (_SC_PAGESIZE);
  return self;
}

void
tend_health_sampler_free (TendHealthSampler *self)
{
  g_hash_table_unref (self->procs);
  g_hash_table_unref (self->totals);
  g_free (self);
}

guint
tend_health_sampler_get_open_files (TendHealthSampler *self)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->procs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += ((Proc *) value)->fd >= 0;
  return n;
}

static gboolean
read_stat (TendHealthSampler *self, Proc *proc, pid_t pid)
{
  char buf[1024];
  ssize_t n;

  proc->prev_read_pass = proc->read_pass;
  proc->read_pass = self->pass;

  if (proc->fd >= 0) {
    n = pread (proc->fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
      buf[n] = '\0';
      return tend_proc_parse_stat (pid, buf, &proc->info);
    }
    /* gone (ESRCH), or a recycled pid behind a stale descriptor */
    close (proc->fd);
    proc->fd = -1;
  }
  return tend_proc_read_stat (pid, &proc->info);
}

/* Reads every process once; the Proc table afterwards holds exactly the live ones. */
static void
scan (TendHealthSampler *self, GHashTable *by_main_pid)
{
  DIR *dir = opendir ("/proc");
  g_autoptr(GHashTable) alive = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer key, value;
  struct dirent *entry;

  while (dir != NULL && (entry = readdir (dir)) != NULL) {
    char *end = NULL;
    long pid = strtol (entry->d_name, &end, 10);
    Proc *proc;
    guint64 start_time;
    ino_t ino;

    if (*end != '\0' || pid <= 0)
      continue;
    proc = g_hash_table_lookup (self->procs, GINT_TO_POINTER (pid));
    ino = proc != NULL ? proc->ino : 0;
    if (proc == NULL) {
      proc = g_new0 (Proc, 1);
      proc->fd = -1;
      if (!read_stat (self, proc, (pid_t) pid)) {
        proc_free (proc);
        continue;
      }
      proc->ino = entry->d_ino;
      g_hash_table_insert (self->procs, GINT_TO_POINTER (pid), proc);
    } else {
      start_time = proc->info.start_time;
      proc->seen_before = TRUE;
      proc->ino = entry->d_ino;
      /* outside every tree at the last pass, the same process (same inode) and no main process
       * (belt and braces: that one is surely in a tree now): still there, as far as this pass cares */
      if (proc->owner == NULL && self->pass % RESCAN_PASSES != 0 && entry->d_ino == ino &&
          !g_hash_table_contains (by_main_pid, GINT_TO_POINTER (pid))) {
        if (proc->info.state != 'Z')
          g_hash_table_add (alive, GINT_TO_POINTER (pid));
        continue;
      }
      if (!read_stat (self, proc, (pid_t) pid))
        continue;
      if (proc->info.start_time != start_time) {
        /* the pid was recycled: a new process */
        proc->seen_before = FALSE;
        proc->last_ticks = 0;
        g_clear_pointer (&proc->tag, g_free);
        proc->tag_read = FALSE;
        proc->owner = NULL;
      }
    }
    if (proc->info.state != 'Z')
      g_hash_table_add (alive, GINT_TO_POINTER (pid));
  }
  if (dir != NULL)
    closedir (dir);

  /* exited processes: their CPU time stays counted in their run's total */
  g_hash_table_iter_init (&iter, self->procs);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    Proc *proc = value;
    if (g_hash_table_contains (alive, key))
      continue;
    if (proc->owner != NULL) {
      RunTotals *totals = g_hash_table_lookup (self->totals, proc->owner);
      if (totals != NULL)
        totals->ticks_of_gone += proc->last_ticks;
    }
    g_hash_table_iter_remove (&iter);
  }
}

static TendInstance *
owner_by_session (GHashTable *by_main_pid, Proc *proc)
{
  return g_hash_table_lookup (by_main_pid, GINT_TO_POINTER (proc->info.sid));
}

void
tend_health_sampler_sample (TendHealthSampler *self, GPtrArray *instances)
{
  g_autoptr(GHashTable) by_main_pid = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) by_tag = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) usage = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autoptr(GHashTable) owners = g_hash_table_new (NULL, NULL); /* pid → TendInstance, this pass */
  gint64 now = g_get_monotonic_time ();
  double elapsed = self->last_pass > 0 ? (double) (now - self->last_pass) / G_USEC_PER_SEC : 0;
  pid_t self_pid = getpid ();
  GHashTableIter iter;
  gpointer key, value;
  gboolean grew = TRUE;
  gint64 spare = -1;

  self->last_pass = now;
  self->pass++;
  for (guint i = 0; i < instances->len; i++) {
    TendInstance *instance = g_ptr_array_index (instances, i);
    RunTotals *totals = g_hash_table_lookup (self->totals, instance);

    g_hash_table_insert (by_main_pid, GINT_TO_POINTER (tend_instance_get_pid (instance)), instance);
    if (tend_instance_get_tag (instance) != NULL)
      g_hash_table_insert (by_tag, (gpointer) tend_instance_get_tag (instance), instance);
    g_hash_table_insert (usage, instance, g_new0 (TendUsage, 1));
    if (totals == NULL || totals->main_pid != tend_instance_get_pid (instance)) {
      /* a new run: CPU seconds count from its start */
      totals = g_new0 (RunTotals, 1);
      totals->main_pid = tend_instance_get_pid (instance);
      g_hash_table_insert (self->totals, instance, totals);
    }
  }
  scan (self, by_main_pid);

  /* membership, where the process backend gave a run its own cgroup: exactly the group's processes,
   * the same tree that stop signals */
  for (guint i = 0; i < instances->len; i++) {
    TendInstance *instance = g_ptr_array_index (instances, i);
    const char *cgroup = tend_instance_get_cgroup (instance);
    g_autoptr(GArray) pids = NULL;

    if (cgroup == NULL)
      continue;
    pids = tend_proc_list_cgroup (cgroup);
    for (guint j = 0; j < pids->len; j++) {
      pid_t pid = g_array_index (pids, pid_t, j);
      Proc *proc = g_hash_table_lookup (self->procs, GINT_TO_POINTER (pid));

      if (proc == NULL) {
        /* born since the listing of /proc */
        proc = g_new0 (Proc, 1);
        proc->fd = -1;
        if (!read_stat (self, proc, pid)) {
          proc_free (proc);
          continue;
        }
        g_hash_table_insert (self->procs, GINT_TO_POINTER (pid), proc);
      } else if (proc->read_pass != self->pass && !read_stat (self, proc, pid)) {
        continue;
      }
      if (proc->info.state != 'Z')
        g_hash_table_insert (owners, GINT_TO_POINTER (pid), instance);
    }
  }
  /* elsewhere: the session, orphans of ours with the instance's tag or seen in its tree at the last
   * pass, then descendants of members */
  g_hash_table_iter_init (&iter, self->procs);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    Proc *proc = value;
    TendInstance *owner;

    /* not read in this pass: outside every tree, as at the last pass */
    if (proc->info.state == 'Z' || proc->read_pass != self->pass || g_hash_table_contains (owners, key))
      continue;
    owner = owner_by_session (by_main_pid, proc);
    if (owner == NULL && proc->info.ppid == self_pid &&
        !g_hash_table_contains (by_main_pid, GINT_TO_POINTER (proc->info.pid))) {
      if (!proc->tag_read) {
        proc->tag = tend_proc_environ_get (proc->info.pid, "TEND_SUPERVISOR_TAG");
        proc->tag_read = TRUE;
      }
      if (proc->tag != NULL)
        owner = g_hash_table_lookup (by_tag, proc->tag);
      /* an orphan that cleared its environment: it was in this tree while its parent lived */
      if (owner == NULL && proc->seen_before && proc->owner != NULL &&
          g_hash_table_contains (usage, proc->owner) && tend_instance_get_cgroup (proc->owner) == NULL)
        owner = proc->owner;
    }
    if (owner != NULL)
      g_hash_table_insert (owners, key, owner);
  }
  while (grew) {
    grew = FALSE;
    g_hash_table_iter_init (&iter, self->procs);
    while (g_hash_table_iter_next (&iter, &key, &value)) {
      Proc *proc = value;
      TendInstance *parent_owner;
      if (proc->info.state == 'Z' || proc->read_pass != self->pass || g_hash_table_contains (owners, key))
        continue;
      parent_owner = g_hash_table_lookup (owners, GINT_TO_POINTER (proc->info.ppid));
      if (parent_owner != NULL) {
        g_hash_table_insert (owners, key, parent_owner);
        grew = TRUE;
      }
    }
  }

  g_hash_table_iter_init (&iter, self->procs);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    Proc *proc = value;
    TendInstance *owner = g_hash_table_lookup (owners, key);
    guint64 ticks = proc->info.utime + proc->info.stime;
    TendUsage *u;

    if (proc->read_pass != self->pass)
      continue;
    if (owner == NULL) {
      /* not ours: no reason to keep its file open */
      if (proc->fd >= 0) {
        close (proc->fd);
        proc->fd = -1;
      }
      proc->owner = NULL;
      proc->last_ticks = ticks;
      continue;
    }
    /* kept open only while tendd has descriptors to spare: read it the slow way otherwise */
    if (proc->fd < 0 && spare < 0)
      spare = (gint64) tend_fd_limit_get_spare (); /* counted only when a file is to be opened */
    if (proc->fd < 0 && spare > 0) {
      g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) proc->info.pid);
      proc->fd = open (path, O_RDONLY | O_CLOEXEC);
      spare -= proc->fd >= 0;
    }
    u = g_hash_table_lookup (usage, owner);
    u->processes++;
    u->memory_rss += (guint64) MAX (proc->info.rss_pages, 0) * (guint64) self->page_size;
    u->cpu_seconds += (double) ticks / (double) self->ticks_per_second;
    /* a process first seen in this pass started within it (or sampling just began); one also read
     * in the previous pass has its ticks since then; one not read then (see RESCAN_PASSES) counts
     * from this pass on */
    if (elapsed > 0 && (!proc->seen_before || proc->prev_read_pass + 1 == self->pass))
      u->cpu_percent += (double) (ticks - MIN (proc->last_ticks, ticks)) / (double) self->ticks_per_second / elapsed * 100.0;
    if (proc->owner == NULL || self->pass % RESCAN_PASSES == 0) {
      g_autofree char *fd_dir = g_strdup_printf ("/proc/%d/fd", (int) proc->info.pid);
      g_autoptr(GDir) fds = g_dir_open (fd_dir, 0, NULL);
      proc->open_fds = 0;
      while (fds != NULL && g_dir_read_name (fds) != NULL)
        proc->open_fds++;
    }
    u->open_fds += proc->open_fds;
    proc->owner = owner;
    proc->last_ticks = ticks;
  }

  g_hash_table_iter_init (&iter, usage);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    TendUsage *u = value;
    RunTotals *totals = g_hash_table_lookup (self->totals, key);
    u->cpu_seconds += (double) totals->ticks_of_gone / (double) self->ticks_per_second;
    tend_instance_set_usage_full (key, u);
  }
  /* forget runs that ended */
  g_hash_table_iter_init (&iter, self->totals);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    if (!g_hash_table_contains (usage, key))
      g_hash_table_iter_remove (&iter);
  }
}
