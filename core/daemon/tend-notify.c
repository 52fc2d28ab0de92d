/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tend-notify.h"

void
tend_notify_send (const char *state)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  socklen_t addr_len;
  gsize path_len;
  int fd;

  if (path == NULL || path[0] == '\0')
    return;
  path_len = strlen (path);
  if ((path[0] != '/' && path[0] != '@') || path_len >= sizeof addr.sun_path) {
    g_debug ("NOTIFY_SOCKET is not a usable socket path: %s", path);
    return;
  }
  memcpy (addr.sun_path, path, path_len);
  /* '@' names a socket in the abstract namespace */
  if (path[0] == '@')
    addr.sun_path[0] = '\0';
  addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + path_len);

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  /* never wait: a supervisor that does not read (a full queue) must not stop the main loop */
  if (sendto (fd, state, strlen (state), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *) &addr, addr_len) < 0)
    g_debug ("cannot notify %s: %s", path, g_strerror (errno));
  close (fd);
}
