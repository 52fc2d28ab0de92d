/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tend-proc.h"

static gboolean
read_small_file (const char *path, char *buf, gsize size, gsize *out_len)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return FALSE;
  do
    n = read (fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  close (fd);
  if (n < 0)
    return FALSE;
  buf[n] = '\0';
  *out_len = (gsize) n;
  return TRUE;
}

/* Moves past @count space-separated fields (numbered as in proc_pid_stat(5)). */
static const char *
skip_fields (const char *p, int count)
{
  for (int i = 0; i < count && p != NULL; i++) {
    p = strchr (p, ' ');
    if (p != NULL)
      p++;
  }
  return p;
}

static gboolean
next_number (const char **p, gint64 *out)
{
  char *end = NULL;

  if (*p == NULL)
    return FALSE;
  *out = g_ascii_strtoll (*p, &end, 10);
  if (end == *p)
    return FALSE;
  *p = *end == ' ' ? end + 1 : end;
  return TRUE;
}

/* Sampling reads this for every process of every service each pass: no sscanf, one walk over the text. */
gboolean
tend_proc_parse_stat (pid_t pid, const char *buf, TendProcInfo *out)
{
  /* comm may hold spaces and parentheses: the fields start after the last ')' */
  const char *p = strrchr (buf, ')');
  gint64 ppid, pgid, sid, utime, stime, start_time, rss;
  char state;

  if (p == NULL || p[1] != ' ' || p[2] == '\0')
    return FALSE;
  p += 2;
  state = *p;
  p = skip_fields (p, 1);                          /* at 4: ppid */
  if (!next_number (&p, &ppid) || !next_number (&p, &pgid) || !next_number (&p, &sid))
    return FALSE;
  p = skip_fields (p, 7);                          /* 7..13: tty_nr .. cmajflt; at 14: utime */
  if (!next_number (&p, &utime) || !next_number (&p, &stime))
    return FALSE;
  p = skip_fields (p, 6);                          /* 16..21: cutime .. itrealvalue; at 22: starttime */
  if (!next_number (&p, &start_time))
    return FALSE;
  p = skip_fields (p, 1);                          /* 23: vsize; at 24: rss */
  if (!next_number (&p, &rss))
    return FALSE;
  out->pid = pid;
  out->ppid = (pid_t) ppid;
  out->pgid = (pid_t) pgid;
  out->sid = (pid_t) sid;
  out->state = state;
  out->utime = (guint64) utime;
  out->stime = (guint64) stime;
  out->start_time = (guint64) start_time;
  out->rss_pages = rss;
  return TRUE;
}

gboolean
tend_proc_read_stat (pid_t pid, TendProcInfo *out)
{
  char path[64];
  char buf[1024];
  gsize len;

  g_snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  if (!read_small_file (path, buf, sizeof buf, &len))
    return FALSE;
  return tend_proc_parse_stat (pid, buf, out);
}

GArray *
tend_proc_list_all (void)
{
  GArray *procs = g_array_new (FALSE, FALSE, sizeof (TendProcInfo));
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;

  if (dir == NULL)
    return procs;
  while ((name = g_dir_read_name (dir)) != NULL) {
    TendProcInfo info;
    char *end = NULL;
    long pid;

    if (!g_ascii_isdigit (name[0]))
      continue;
    pid = strtol (name, &end, 10);
    if (*end != '\0' || pid <= 0)
      continue;
    if (tend_proc_read_stat ((pid_t) pid, &info))
      g_array_append_val (procs, info);
  }
  return procs;
}

char *
tend_proc_environ_get (pid_t pid, const char *key)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/environ", (int) pid);
  g_autofree char *contents = NULL;
  gsize len = 0;
  gsize key_len = strlen (key);

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return NULL;
  for (gsize i = 0; i < len;) {
    const char *entry = contents + i;
    gsize entry_len = strnlen (entry, len - i);

    if (entry_len > key_len && memcmp (entry, key, key_len) == 0 && entry[key_len] == '=')
      return g_strndup (entry + key_len + 1, entry_len - key_len - 1);
    i += entry_len + 1;
  }
  return NULL;
}

char *
tend_proc_read_comm (pid_t pid)
{
  char path[64];
  char buf[64];
  gsize len;

  g_snprintf (path, sizeof path, "/proc/%d/comm", (int) pid);
  if (!read_small_file (path, buf, sizeof buf, &len))
    return NULL;
  if (len > 0 && buf[len - 1] == '\n')
    buf[len - 1] = '\0';
  return g_strdup (buf);
}

GArray *
tend_proc_list_tree (pid_t root, const char *tag)
{
  g_autoptr(GArray) procs = tend_proc_list_all ();
  g_autoptr(GHashTable) members = g_hash_table_new (NULL, NULL);
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (pid_t));
  pid_t self = getpid ();
  gboolean grew = TRUE;

  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *info = &g_array_index (procs, TendProcInfo, i);
    gboolean member = FALSE;

    if (info->state == 'Z')
      continue;
    if (info->pid == root || info->sid == root) {
      member = TRUE;
    } else if (tag != NULL && info->ppid == self) {
      /* a double-forked grandchild that also left the session: known by the tag of its run */
      g_autofree char *its_tag = tend_proc_environ_get (info->pid, "TEND_SUPERVISOR_TAG");
      member = g_strcmp0 (its_tag, tag) == 0;
    }
    if (member)
      g_hash_table_add (members, GINT_TO_POINTER (info->pid));
  }
  while (grew) {
    grew = FALSE;
    for (guint i = 0; i < procs->len; i++) {
      TendProcInfo *info = &g_array_index (procs, TendProcInfo, i);

      if (info->state == 'Z' || g_hash_table_contains (members, GINT_TO_POINTER (info->pid)) ||
          !g_hash_table_contains (members, GINT_TO_POINTER (info->ppid)))
        continue;
      g_hash_table_add (members, GINT_TO_POINTER (info->pid));
      grew = TRUE;
    }
  }
  for (guint i = 0; i < procs->len; i++) {
    TendProcInfo *info = &g_array_index (procs, TendProcInfo, i);
    if (g_hash_table_contains (members, GINT_TO_POINTER (info->pid)))
      g_array_append_val (pids, info->pid);
  }
  return pids;
}

static void
list_cgroup_into (const char *dir, GArray *pids, guint depth)
{
  g_autofree char *procs_path = g_build_filename (dir, "cgroup.procs", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GDir) children = NULL;
  const char *name;

  if (!g_file_get_contents (procs_path, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    pid_t pid = (pid_t) atoi (lines[i]);
    if (pid > 0)
      g_array_append_val (pids, pid);
  }
  /* a service running as root may make groups of its own below ours; they are still its */
  if (depth >= 16)
    return;
  children = g_dir_open (dir, 0, NULL);
  while (children != NULL && (name = g_dir_read_name (children)) != NULL) {
    g_autofree char *child = g_build_filename (dir, name, NULL);
    if (g_file_test (child, G_FILE_TEST_IS_DIR))
      list_cgroup_into (child, pids, depth + 1);
  }
}

static char *
find_cgroup2_mount (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    g_auto(GStrv) fields = g_strsplit (lines[i], " ", -1);
    guint n = g_strv_length (fields);

    /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER" */
    for (guint j = 6; j + 1 < n; j++) {
      if (g_str_equal (fields[j], "-")) {
        if (g_str_equal (fields[j + 1], "cgroup2"))
          return g_strcompress (fields[4]); /* spaces are written \040 */
        break;
      }
    }
  }
  return NULL;
}

const char *
tend_proc_cgroup_mount (void)
{
  static char *mount;
  static gsize done;

  if (g_once_init_enter (&done)) {
    mount = find_cgroup2_mount ();
    g_once_init_leave (&done, 1);
  }
  return mount;
}

char *
tend_proc_get_cgroup (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cgroup", (int) pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  const char *mount = tend_proc_cgroup_mount ();

  if (mount == NULL || !g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix (lines[i], "0::"))
      return g_build_filename (mount, lines[i] + 3, NULL);
  }
  return NULL;
}

gboolean
tend_proc_in_cgroup (pid_t pid, const char *dir)
{
  g_autofree char *own = tend_proc_get_cgroup (pid);
  gsize len = strlen (dir);

  return own != NULL && strncmp (own, dir, len) == 0 && (own[len] == '\0' || own[len] == '/');
}

GArray *
tend_proc_list_cgroup (const char *dir)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (pid_t));

  list_cgroup_into (dir, pids, 0);
  return pids;
}
