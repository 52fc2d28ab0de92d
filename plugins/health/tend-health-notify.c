/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-health-notify.h"
#include "tend-proc.h"
#include "tend-service-manager.h"

/* How far up a sender's parent chain we look for the main process. */
#define MAX_ANCESTRY 64

typedef struct {
  TendHealthNotify *notify;
  int fd;
  guint source;
} Listener;

struct _TendHealthNotify {
  TendContext *context;
  char *path;
  char *open_address; /* "@name" */
  Listener file;
  Listener open;
};

/* Whether @pid is a process of the instance's tree: its cgroup when it has one (exact), else its
 * session or a descendant of its main process. */
static gboolean
pid_in_tree (TendInstance *instance, pid_t pid, const TendProcInfo *info)
{
  pid_t main_pid = tend_instance_get_pid (instance);
  const char *cgroup = tend_instance_get_cgroup (instance);
  pid_t ancestor;

  if (main_pid == 0)
    return FALSE;
  if (pid == main_pid)
    return TRUE;
  if (cgroup != NULL)
    return tend_proc_in_cgroup (pid, cgroup);
  if (info->sid == main_pid)
    return TRUE;
  ancestor = info->ppid;
  for (int i = 0; i < MAX_ANCESTRY && ancestor > 1 && ancestor != getpid (); i++) {
    TendProcInfo up;
    if (ancestor == main_pid)
      return TRUE;
    if (!tend_proc_read_stat (ancestor, &up))
      return FALSE;
    ancestor = up.ppid;
  }
  return FALSE;
}

static TendInstance *
instance_of_pid (TendHealthNotify *self, pid_t pid)
{
  GListModel *model = G_LIST_MODEL (tend_context_get_manager (self->context));
  guint n = g_list_model_get_n_items (model);
  TendProcInfo info;

  if (!tend_proc_read_stat (pid, &info))
    return NULL;
  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (model, i);
    GPtrArray *instances = tend_service_get_instances (service);

    /* only services that asked for it: the rest cannot be made ready this way */
    if (!tend_service_get_config (service)->notify)
      continue;
    for (guint j = 0; j < instances->len; j++) {
      TendInstance *instance = g_ptr_array_index (instances, j);
      if (pid_in_tree (instance, pid, &info))
        return instance;
    }
  }
  return NULL;
}

static void
handle_message (TendHealthNotify *self, pid_t pid, char *text)
{
  TendInstance *instance = instance_of_pid (self, pid);
  g_auto(GStrv) lines = NULL;

  if (instance == NULL) {
    g_debug ("notify message from pid %d, which is in no notify=true service's tree: ignored", (int) pid);
    return;
  }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_equal (lines[i], "READY=1")) {
      g_debug ("%s[%u]: READY=1", tend_instance_get_name (instance), tend_instance_get_index (instance));
      tend_instance_set_ready (instance);
    } else if (g_str_has_prefix (lines[i], "STATUS=")) {
      tend_instance_set_notify_status (instance, lines[i] + strlen ("STATUS="));
    }
  }
}

static gboolean
readable_cb (int fd, GIOCondition condition, gpointer user_data)
{
  Listener *listener = user_data;

  for (int round = 0; round < 32; round++) {
    char buf[4096];
    union {
      struct cmsghdr header;
      char space[CMSG_SPACE (sizeof (struct ucred))];
    } control;
    struct iovec iov = { buf, sizeof buf - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
    struct cmsghdr *cmsg;
    ssize_t n = recvmsg (fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    pid_t pid = 0;

    if (n < 0)
      break;
    buf[n] = '\0';
    /* the kernel fills these in (SO_PASSCRED): a sender cannot claim another pid without privileges */
    for (cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL; cmsg = CMSG_NXTHDR (&msg, cmsg)) {
      if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_CREDENTIALS) {
        struct ucred cred;
        memcpy (&cred, CMSG_DATA (cmsg), sizeof cred);
        pid = cred.pid;
      }
    }
    if (pid > 0)
      handle_message (listener->notify, pid, buf);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
listen_on (TendHealthNotify *self, Listener *listener, const struct sockaddr_un *addr, socklen_t len, const char *name,
           GError **error)
{
  int one = 1;

  listener->notify = self;
  listener->fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener->fd < 0 || setsockopt (listener->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0 ||
      bind (listener->fd, (const struct sockaddr *) addr, len) < 0) {
    int saved = errno;
    if (listener->fd >= 0)
      close (listener->fd);
    listener->fd = -1;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot create the notify socket %s: %s", name,
                 g_strerror (saved));
    return FALSE;
  }
  listener->source = g_unix_fd_add (listener->fd, G_IO_IN, readable_cb, listener);
  return TRUE;
}

static void
listener_close (Listener *listener)
{
  g_clear_handle_id (&listener->source, g_source_remove);
  if (listener->fd >= 0)
    close (listener->fd);
  listener->fd = -1;
}

TendHealthNotify *
tend_health_notify_new (TendContext *context, const char *path, GError **error)
{
  g_autofree TendHealthNotify *self = g_new0 (TendHealthNotify, 1);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_autofree char *name = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize name_len;

  self->file.fd = -1;
  self->open.fd = -1;
  if (strlen (path) >= sizeof addr.sun_path) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "notify socket path too long: %s", path);
    return NULL;
  }
  strcpy (addr.sun_path, path);
  g_unlink (path);
  if (!listen_on (self, &self->file, &addr, sizeof addr, path, error))
    return NULL;

  /* The abstract namespace has no permissions: anyone may send, which is the point (a service
   * with user= cannot enter the home). Who speaks for a service is decided from the sender's
   * credentials; the random part only keeps another process from taking the name first. */
  name = g_strdup_printf ("tend-notify-%s-%08x%08x", tend_context_get_home_tag (context), g_random_int (),
                          g_random_int ());
  name_len = strlen (name);
  memset (addr.sun_path, 0, sizeof addr.sun_path);
  memcpy (addr.sun_path + 1, name, name_len);
  if (listen_on (self, &self->open, &addr, (socklen_t) (offsetof (struct sockaddr_un, sun_path) + 1 + name_len),
                 name, &local_error)) {
    self->open_address = g_strdup_printf ("@%s", name);
  } else {
    /* not fatal: only services with user= and notify=true miss it (they are given the file) */
    g_warning ("%s; services with user= cannot send READY=1", local_error->message);
  }
  self->context = g_object_ref (context);
  self->path = g_strdup (path);
  return g_steal_pointer (&self);
}

void
tend_health_notify_free (TendHealthNotify *self)
{
  listener_close (&self->file);
  listener_close (&self->open);
  g_unlink (self->path);
  g_free (self->path);
  g_free (self->open_address);
  g_object_unref (self->context);
  g_free (self);
}

const char *
tend_health_notify_get_path (TendHealthNotify *self)
{
  return self->path;
}

const char *
tend_health_notify_get_open_address (TendHealthNotify *self)
{
  return self->open_address;
}
