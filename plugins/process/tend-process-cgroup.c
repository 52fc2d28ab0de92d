/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-proc.h"
#include "tend-process-cgroup.h"

struct _TendProcessCgroup {
  char *path; /* our subtree */
  guint64 runs;
};

/* Our own group, relative to the hierarchy's root ("0::/system.slice/tend.service"). */
static char *
own_group (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/self/cgroup", &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix (lines[i], "0::"))
      return g_strdup (lines[i] + 3);
  }
  return NULL;
}

TendProcessCgroup *
tend_process_cgroup_new (const char *home_tag, GError **error)
{
  const char *mount = tend_proc_cgroup_mount ();
  g_autofree char *group = own_group ();
  g_autofree char *base = NULL;
  g_autofree char *base_procs = NULL;
  g_autofree char *name = g_strdup_printf ("tend-%s", home_tag);
  TendProcessCgroup *self;

  if (mount == NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_FAILED, "no cgroup v2 hierarchy is mounted");
    return NULL;
  }
  if (group == NULL || group[0] != '/' || strstr (group, "/..") != NULL || strstr (group, "(deleted)") != NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "tendd's own cgroup is not usable (%s)",
                 group != NULL ? group : "not listed in /proc/self/cgroup");
    return NULL;
  }
  base = g_build_filename (mount, group, NULL);
  base_procs = g_build_filename (base, "cgroup.procs", NULL);
  /* moving a process between two groups needs write access to their common ancestor: ours */
  if (access (base_procs, W_OK) < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "%s: %s", base_procs, g_strerror (saved));
    return NULL;
  }
  self = g_new0 (TendProcessCgroup, 1);
  self->path = g_build_filename (base, name, NULL);
  if (g_mkdir (self->path, 0755) < 0 && errno != EEXIST) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot create %s: %s", self->path, g_strerror (saved));
    tend_process_cgroup_free (self);
    return NULL;
  }
  return self;
}

void
tend_process_cgroup_free (TendProcessCgroup *self)
{
  if (self == NULL)
    return;
  /* fails, and keeps it, while a run is left: the next tendd of this home ends those */
  tend_process_cgroup_remove (self->path);
  g_free (self->path);
  g_free (self);
}

const char *
tend_process_cgroup_get_path (TendProcessCgroup *self)
{
  return self->path;
}

char *
tend_process_cgroup_make_run (TendProcessCgroup *self, const char *name, guint index, GError **error)
{
  g_autofree char *leaf = NULL;
  g_autofree char *dir = NULL;

  /* a file name is at most 255 bytes; the run counter keeps it unique */
  leaf = g_strdup_printf ("svc-%.200s.%u.%" G_GUINT64_FORMAT, name, index, ++self->runs);
  dir = g_build_filename (self->path, leaf, NULL);
  if (g_mkdir (dir, 0755) < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot create %s: %s", dir, g_strerror (saved));
    return NULL;
  }
  return g_steal_pointer (&dir);
}

guint64
tend_process_cgroup_get_runs (TendProcessCgroup *self)
{
  return self->runs;
}

void
tend_process_cgroup_set_runs (TendProcessCgroup *self, guint64 runs)
{
  self->runs = MAX (self->runs, runs);
}

gboolean
tend_process_cgroup_holds (const char *dir, pid_t pid)
{
  g_autofree char *own = tend_proc_get_cgroup (pid);

  return g_strcmp0 (own, dir) == 0;
}

static gboolean
write_file (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, text, strlen (text)) == (ssize_t) strlen (text);
  close (fd);
  return ok;
}

void
tend_process_cgroup_signal (const char *dir, int signum)
{
  g_autoptr(GArray) pids = NULL;

  if (signum == SIGKILL) {
    g_autofree char *kill_file = g_build_filename (dir, "cgroup.kill", NULL);
    if (write_file (kill_file, "1"))
      return;
  }
  pids = tend_proc_list_cgroup (dir);
  for (guint i = 0; i < pids->len; i++)
    kill (g_array_index (pids, pid_t, i), signum);
}

gboolean
tend_process_cgroup_remove (const char *dir)
{
  g_autoptr(GDir) children = g_dir_open (dir, 0, NULL);
  const char *name;

  if (children == NULL)
    return !g_file_test (dir, G_FILE_TEST_EXISTS);
  while ((name = g_dir_read_name (children)) != NULL) {
    g_autofree char *child = g_build_filename (dir, name, NULL);
    /* the kernel's own entries are files; every directory is a group */
    if (g_file_test (child, G_FILE_TEST_IS_DIR))
      tend_process_cgroup_remove (child);
  }
  return g_rmdir (dir) == 0 || errno == ENOENT;
}

guint
tend_process_cgroup_end_leftovers (TendProcessCgroup *self, guint grace_ms)
{
  g_autoptr(GArray) pids = tend_proc_list_cgroup (self->path);
  gint64 deadline = g_get_monotonic_time () + (gint64) grace_ms * 1000;
  g_autoptr(GDir) children = NULL;
  const char *name;

  for (guint i = 0; i < pids->len; i++) {
    g_message ("ending process %d left behind by a previous tendd of this home",
               (int) g_array_index (pids, pid_t, i));
    kill (g_array_index (pids, pid_t, i), SIGTERM);
  }
  /* a bounded wait at start-up only, so their ports are free before our services start */
  while (pids->len > 0 && g_get_monotonic_time () < deadline) {
    g_autoptr(GArray) left = tend_proc_list_cgroup (self->path);
    if (left->len == 0)
      break;
    g_usleep (20 * 1000);
  }
  children = g_dir_open (self->path, 0, NULL);
  while (children != NULL && (name = g_dir_read_name (children)) != NULL) {
    g_autofree char *child = g_build_filename (self->path, name, NULL);
    if (!g_file_test (child, G_FILE_TEST_IS_DIR))
      continue;
    tend_process_cgroup_signal (child, SIGKILL);
    /* SIGKILLed processes leave their group as they die: a moment at most */
    for (int round = 0; round < 100 && !tend_process_cgroup_remove (child); round++)
      g_usleep (10 * 1000);
  }
  return pids->len;
}
