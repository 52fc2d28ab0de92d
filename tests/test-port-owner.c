/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend-port-owner: which sockets listen on a TCP port and which processes
 * hold them, against real sockets of this test and of children it forks
 * (IPv4 and IPv6), and tend_proc_list_tree() on a real process tree.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-port-owner.h"
#include "tend-proc.h"

/* A listening socket on @host (IPv4 or IPv6 literal) and @port (0: any free one); -1 when @host
 * cannot be bound (no such address on this machine). */
static int
listen_on (const char *host, guint16 port, gboolean reuse_port, guint16 *out_port)
{
  struct sockaddr_storage ss = { 0 };
  socklen_t len;
  int one = 1;
  int fd;

  if (strchr (host, ':') != NULL) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons (port);
    g_assert_cmpint (inet_pton (AF_INET6, host, &a->sin6_addr), ==, 1);
    len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *) &ss;
    a->sin_family = AF_INET;
    a->sin_port = htons (port);
    g_assert_cmpint (inet_pton (AF_INET, host, &a->sin_addr), ==, 1);
    len = sizeof *a;
  }
  fd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (reuse_port)
    g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), ==, 0);
  if (bind (fd, (struct sockaddr *) &ss, len) < 0 || listen (fd, 4) < 0) {
    close (fd);
    return -1;
  }
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &ss, &len), ==, 0);
  if (out_port != NULL)
    *out_port = ntohs (ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                                : ((struct sockaddr_in *) &ss)->sin_port);
  return fd;
}

static guint64
inode_of (int fd)
{
  struct stat st;

  g_assert_cmpint (fstat (fd, &st), ==, 0);
  return (guint64) st.st_ino;
}

static GArray *
listening (guint16 port, const char *host)
{
  g_autoptr(GInetAddress) address = host != NULL ? g_inet_address_new_from_string (host) : NULL;
  g_autoptr(GError) error = NULL;
  GArray *inodes = tend_port_owner_list_listening (port, address, &error);

  g_assert_no_error (error);
  g_assert_nonnull (inodes);
  return inodes;
}

static void
assert_inodes (GArray *inodes, guint n, guint64 first)
{
  g_assert_cmpuint (inodes->len, ==, n);
  if (n > 0)
    g_assert_cmpuint (g_array_index (inodes, guint64, 0), ==, first);
}

static void
test_ipv4_own (void)
{
  guint16 port = 0;
  int fd = listen_on ("127.0.0.1", 0, FALSE, &port);
  guint64 inode;
  pid_t self = getpid ();
  guint64 missing = 0;
  g_autoptr(GArray) all = NULL;
  g_autoptr(GArray) to_loopback = NULL;
  g_autoptr(GArray) to_ipv6 = NULL;
  g_autoptr(GArray) holders = NULL;
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  int client;

  g_assert_cmpint (fd, >=, 0);
  inode = inode_of (fd);
  /* a connection to it (an ESTABLISHED pair) is no listener */
  to.sin_port = htons (port);
  client = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (connect (client, (struct sockaddr *) &to, sizeof to), ==, 0);

  all = listening (port, NULL);
  assert_inodes (all, 1, inode);
  to_loopback = listening (port, "127.0.0.1");
  assert_inodes (to_loopback, 1, inode);
  /* bound to 127.0.0.1: a connection to ::1 does not reach it */
  to_ipv6 = listening (port, "::1");
  assert_inodes (to_ipv6, 0, 0);

  g_assert_true (tend_port_owner_pids_hold (&self, 1, all, &missing));
  holders = tend_port_owner_find_holders (all);
  g_assert_cmpuint (holders->len, ==, 1);
  g_assert_cmpint (g_array_index (holders, pid_t, 0), ==, self);

  close (client);
  close (fd);
  /* closed: nothing listens any more */
  g_clear_pointer (&all, g_array_unref);
  all = listening (port, NULL);
  assert_inodes (all, 0, 0);
}

typedef struct {
  pid_t child;  /* leads its own session and group */
  guint16 port;
  guint64 inode;
} Holder;

/* A child (its own session) whose child, a grandchild, holds a socket listening on @host; the
 * child itself closes its copy. Ready when this returns. */
static gboolean
holder_start (const char *host, Holder *out)
{
  int ready[2];
  pid_t child;
  struct {
    guint16 port;
    guint64 inode;
    int ok;
  } msg = { 0 };

  g_assert_cmpint (pipe (ready), ==, 0);
  child = fork ();
  g_assert_cmpint (child, >=, 0);
  if (child == 0) {
    int fd;
    setsid ();
    close (ready[0]);
    fd = listen_on (host, 0, FALSE, &msg.port);
    msg.ok = fd >= 0;
    if (msg.ok) {
      msg.inode = inode_of (fd);
      if (fork () == 0) {
        /* the grandchild keeps the socket */
        if (write (ready[1], &msg, sizeof msg) != sizeof msg)
          _exit (1);
        close (ready[1]);
        for (;;)
          pause ();
      }
      close (fd);
    } else {
      if (write (ready[1], &msg, sizeof msg) != sizeof msg)
        _exit (1);
    }
    close (ready[1]);
    for (;;)
      pause ();
  }
  close (ready[1]);
  g_assert_cmpint (read (ready[0], &msg, sizeof msg), ==, sizeof msg);
  close (ready[0]);
  out->child = child;
  out->port = msg.port;
  out->inode = msg.inode;
  if (!msg.ok) {
    kill (child, SIGKILL);
    waitpid (child, NULL, 0);
  }
  return msg.ok;
}

static void
holder_stop (Holder *h)
{
  /* the whole group: the grandchild stayed in it */
  kill (-h->child, SIGKILL);
  g_assert_cmpint (waitpid (h->child, NULL, 0), ==, h->child);
}

static void
test_ipv6_child (void)
{
  Holder h = { 0 };
  pid_t self = getpid ();
  guint64 missing = 0;
  g_autoptr(GArray) inodes = NULL;
  g_autoptr(GArray) to_ipv4 = NULL;
  g_autoptr(GArray) holders = NULL;
  g_autoptr(GArray) tree = NULL;
  pid_t grandchild;

  if (!holder_start ("::1", &h)) {
    g_test_skip ("no IPv6 loopback address on this machine");
    return;
  }
  inodes = listening (h.port, "::1");
  assert_inodes (inodes, 1, h.inode);
  to_ipv4 = listening (h.port, "127.0.0.1");
  assert_inodes (to_ipv4, 0, 0);

  /* not ours: the missing one is named */
  g_assert_false (tend_port_owner_pids_hold (&self, 1, inodes, &missing));
  g_assert_cmpuint (missing, ==, h.inode);
  /* nor the child's: it gave its copy to the grandchild */
  g_assert_false (tend_port_owner_pids_hold (&h.child, 1, inodes, NULL));

  holders = tend_port_owner_find_holders (inodes);
  g_assert_cmpuint (holders->len, ==, 1);
  grandchild = g_array_index (holders, pid_t, 0);
  g_assert_cmpint (grandchild, !=, h.child);
  g_assert_cmpint (grandchild, !=, self);

  /* the child's tree has the grandchild, and so holds the socket */
  tree = tend_proc_list_tree (h.child, NULL);
  g_assert_cmpuint (tree->len, ==, 2);
  g_assert_true (tend_port_owner_pids_hold ((const pid_t *) tree->data, tree->len, inodes, NULL));
  holder_stop (&h);
}

static void
test_ipv4_child (void)
{
  Holder h = { 0 };
  g_autoptr(GArray) inodes = NULL;
  g_autoptr(GArray) holders = NULL;

  g_assert_true (holder_start ("127.0.0.1", &h));
  inodes = listening (h.port, "127.0.0.1");
  assert_inodes (inodes, 1, h.inode);
  g_assert_false (tend_port_owner_pids_hold (&h.child, 1, inodes, NULL));
  holders = tend_port_owner_find_holders (inodes);
  g_assert_cmpuint (holders->len, ==, 1);
  g_assert_cmpint (g_array_index (holders, pid_t, 0), !=, h.child);
  {
    g_autoptr(GArray) tree = tend_proc_list_tree (h.child, NULL);
    g_assert_true (tend_port_owner_pids_hold ((const pid_t *) tree->data, tree->len, inodes, NULL));
  }
  holder_stop (&h);
}

/* Bound to the address itself beats the wildcard, as the kernel picks. */
static void
test_specific_over_wildcard (void)
{
  guint16 port = 0;
  int wildcard = listen_on ("0.0.0.0", 0, TRUE, &port);
  int specific = listen_on ("127.0.0.1", port, TRUE, NULL);
  pid_t self = getpid ();
  g_autoptr(GArray) all = NULL;
  g_autoptr(GArray) to_one = NULL;
  g_autoptr(GArray) to_two = NULL;
  g_autoptr(GArray) to_any = NULL;

  g_assert_cmpint (wildcard, >=, 0);
  g_assert_cmpint (specific, >=, 0);
  all = listening (port, NULL);
  g_assert_cmpuint (all->len, ==, 2);
  to_one = listening (port, "127.0.0.1");
  assert_inodes (to_one, 1, inode_of (specific));
  to_two = listening (port, "127.0.0.2");
  assert_inodes (to_two, 1, inode_of (wildcard));
  to_any = listening (port, "0.0.0.0");
  g_assert_cmpuint (to_any->len, ==, 2);
  g_assert_true (tend_port_owner_pids_hold (&self, 1, all, NULL));
  close (specific);
  close (wildcard);
}

static gboolean
is_local (const char *text)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);

  g_assert_nonnull (address);
  return tend_port_owner_is_local_address (address);
}

static void
test_local_address (void)
{
  struct ifaddrs *list = NULL;

  g_assert_true (is_local ("127.0.0.1"));
  g_assert_true (is_local ("127.1.2.3"));
  g_assert_true (is_local ("::1"));
  g_assert_true (is_local ("0.0.0.0"));
  g_assert_true (is_local ("::"));
  g_assert_true (is_local ("::ffff:127.0.0.1"));
  /* documentation ranges: never an address of this machine */
  g_assert_false (is_local ("192.0.2.1"));
  g_assert_false (is_local ("2001:db8::1"));
  g_assert_false (is_local ("::2"));
  /* every address of every interface */
  g_assert_cmpint (getifaddrs (&list), ==, 0);
  for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
    g_autoptr(GInetAddress) address = NULL;

    if (ifa->ifa_addr == NULL)
      continue;
    if (ifa->ifa_addr->sa_family == AF_INET)
      address = g_inet_address_new_from_bytes ((const guint8 *) &((struct sockaddr_in *) ifa->ifa_addr)->sin_addr,
                                               G_SOCKET_FAMILY_IPV4);
    else if (ifa->ifa_addr->sa_family == AF_INET6)
      address = g_inet_address_new_from_bytes ((const guint8 *) &((struct sockaddr_in6 *) ifa->ifa_addr)->sin6_addr,
                                               G_SOCKET_FAMILY_IPV6);
    if (address != NULL)
      g_assert_true (tend_port_owner_is_local_address (address));
  }
  freeifaddrs (list);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/port-owner/ipv4-own", test_ipv4_own);
  g_test_add_func ("/port-owner/ipv4-child", test_ipv4_child);
  g_test_add_func ("/port-owner/ipv6-child", test_ipv6_child);
  g_test_add_func ("/port-owner/specific-over-wildcard", test_specific_over_wildcard);
  g_test_add_func ("/port-owner/local-address", test_local_address);
  return g_test_run ();
}
