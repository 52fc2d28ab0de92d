/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-health-notify.h"
#include "tend-proc.h"
#include "tend-service-manager.h"

struct _TendHealthNotify {
  TendContext *context;
  char *path;
  int fd;
  guint source;
};

static TendInstance *
instance_of_pid (TendHealthNotify *self, pid_t pid)
{
  GListModel *model = G_LIST_MODEL (tend_context_get_manager (self->context));
  guint n = g_list_model_get_n_items (model);
  TendProcInfo info;
  pid_t sid = tend_proc_read_stat (pid, &info) ? info.sid : 0;

  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (model, i);
    GPtrArray *instances = tend_service_get_instances (service);
    for (guint j = 0; j < instances->len; j++) {
      TendInstance *instance = g_ptr_array_index (instances, j);
      pid_t main_pid = tend_instance_get_pid (instance);
      /* the main process leads its session: any process of the session speaks for it */
      if (main_pid != 0 && (main_pid == pid || main_pid == sid))
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

  if (instance == NULL || !tend_instance_get_config (instance)->notify) {
    g_debug ("notify message from pid %d, which is no notify=true service: ignored", (int) pid);
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
  TendHealthNotify *self = user_data;

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
    for (cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL; cmsg = CMSG_NXTHDR (&msg, cmsg)) {
      if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_CREDENTIALS) {
        struct ucred cred;
        memcpy (&cred, CMSG_DATA (cmsg), sizeof cred);
        pid = cred.pid;
      }
    }
    if (pid > 0)
      handle_message (self, pid, buf);
  }
  return G_SOURCE_CONTINUE;
}

TendHealthNotify *
tend_health_notify_new (TendContext *context, const char *path, GError **error)
{
  g_autofree TendHealthNotify *self = g_new0 (TendHealthNotify, 1);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int one = 1;

  if (strlen (path) >= sizeof addr.sun_path) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "notify socket path too long: %s", path);
    return NULL;
  }
  strcpy (addr.sun_path, path);
  g_unlink (path);
  self->fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (self->fd < 0 || setsockopt (self->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0 ||
      bind (self->fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
    int saved = errno;
    if (self->fd >= 0)
      close (self->fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot create the notify socket %s: %s", path,
                 g_strerror (saved));
    return NULL;
  }
  self->context = g_object_ref (context);
  self->path = g_strdup (path);
  self->source = g_unix_fd_add (self->fd, G_IO_IN, readable_cb, self);
  return g_steal_pointer (&self);
}

void
tend_health_notify_free (TendHealthNotify *self)
{
  g_clear_handle_id (&self->source, g_source_remove);
  close (self->fd);
  g_unlink (self->path);
  g_free (self->path);
  g_object_unref (self->context);
  g_free (self);
}

const char *
tend_health_notify_get_path (TendHealthNotify *self)
{
  return self->path;
}
