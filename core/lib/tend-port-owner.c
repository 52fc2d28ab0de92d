/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tend-port-owner.h"

#define TCP_LISTEN 0x0A

/* One listening socket of /proc/net/tcp{,6}; an IPv4-mapped IPv6 address is kept as IPv4 in @addr. */
typedef struct {
  gboolean ipv6_socket;
  gsize addr_len; /* 4 or 16 */
  guint8 addr[16];
  guint64 inode;
} Listener;

/* The kernel prints each 32-bit word of the address as the number it is in memory ("%08X"):
 * reading a word back as a number and storing it natively gives the bytes in network order. */
static gboolean
parse_hex_address (const char *text, gsize n_words, guint8 *out)
{
  for (gsize i = 0; i < n_words; i++) {
    char word[9];
    char *end = NULL;
    guint32 value;

    memcpy (word, text + i * 8, 8);
    word[8] = '\0';
    value = (guint32) strtoul (word, &end, 16);
    if (end != word + 8)
      return FALSE;
    memcpy (out + i * 4, &value, 4);
  }
  return TRUE;
}

static const guint8 v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Makes an IPv4-mapped IPv6 address plain IPv4, in place. */
static void
unmap (guint8 *addr, gsize *len)
{
  if (*len == 16 && memcmp (addr, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
    memmove (addr, addr + 12, 4);
    *len = 4;
  }
}

static gboolean
is_zero (const guint8 *addr, gsize len)
{
  for (gsize i = 0; i < len; i++) {
    if (addr[i] != 0)
      return FALSE;
  }
  return TRUE;
}

/* One line: "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...". */
static gboolean
parse_line (const char *line, gboolean ipv6, guint16 port, Listener *out)
{
  g_auto(GStrv) fields = g_strsplit_set (line, " \t", -1);
  const char *f[10];
  guint n = 0;
  const char *colon;
  gsize hex_len = ipv6 ? 32 : 8;
  guint64 value;
  char *end = NULL;

  for (guint i = 0; fields[i] != NULL && n < G_N_ELEMENTS (f); i++) {
    if (fields[i][0] != '\0')
      f[n++] = fields[i];
  }
  if (n < G_N_ELEMENTS (f))
    return FALSE;
  /* the state first: most lines of a busy server are connections, not listeners */
  if (strtoul (f[3], &end, 16) != TCP_LISTEN || *end != '\0')
    return FALSE;
  colon = strchr (f[1], ':');
  if (colon == NULL || (gsize) (colon - f[1]) != hex_len)
    return FALSE;
  value = g_ascii_strtoull (colon + 1, &end, 16);
  if (*end != '\0' || value != port)
    return FALSE;
  if (!parse_hex_address (f[1], hex_len / 8, out->addr))
    return FALSE;
  out->ipv6_socket = ipv6;
  out->addr_len = hex_len / 2;
  unmap (out->addr, &out->addr_len);
  out->inode = g_ascii_strtoull (f[9], &end, 10);
  return *end == '\0' && out->inode != 0;
}

static gboolean
read_table (const char *path, gboolean ipv6, guint16 port, GArray *listeners, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &local_error)) {
    /* no IPv6 in this kernel: no IPv6 listener */
    if (ipv6 && g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    g_propagate_error (error, g_steal_pointer (&local_error));
    return FALSE;
  }
  lines = g_strsplit (contents, "\n", -1);
  /* the first line is the header */
  for (guint i = 1; lines[0] != NULL && lines[i] != NULL; i++) {
    Listener l = { 0 };
    if (parse_line (lines[i], ipv6, port, &l))
      g_array_append_val (listeners, l);
  }
  return TRUE;
}

GArray *
tend_port_owner_list_listening (guint16 port, GInetAddress *address, GError **error)
{
  g_autoptr(GArray) listeners = g_array_new (FALSE, FALSE, sizeof (Listener));
  GArray *inodes = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint8 target[16] = { 0 };
  gsize target_len = 0;
  int best = 0;

  g_return_val_if_fail (address == NULL || G_IS_INET_ADDRESS (address), NULL);

  if (!read_table ("/proc/net/tcp", FALSE, port, listeners, error) ||
      !read_table ("/proc/net/tcp6", TRUE, port, listeners, error)) {
    g_array_unref (inodes);
    return NULL;
  }
  if (address != NULL) {
    target_len = g_inet_address_get_native_size (address);
    memcpy (target, g_inet_address_to_bytes (address), MIN (target_len, sizeof target));
    unmap (target, &target_len);
  }
  /* a connection to the wildcard (or no address at all): every listener on the port */
  if (address == NULL || is_zero (target, target_len)) {
    for (guint i = 0; i < listeners->len; i++)
      g_array_append_val (inodes, g_array_index (listeners, Listener, i).inode);
    return inodes;
  }
  /* rank as the kernel does: bound to the address itself, then the wildcard of its family, then
   * (for IPv4) the IPv6 wildcard; only the best rank present is reached */
  for (int pass = 0; pass < 2; pass++) {
    for (guint i = 0; i < listeners->len; i++) {
      Listener *l = &g_array_index (listeners, Listener, i);
      int rank = 0;

      if (l->addr_len == target_len && memcmp (l->addr, target, target_len) == 0)
        rank = 3;
      else if (is_zero (l->addr, l->addr_len) && l->ipv6_socket == (target_len == 16))
        rank = 2;
      else if (is_zero (l->addr, l->addr_len) && l->ipv6_socket && target_len == 4)
        rank = 1;
      if (pass == 0)
        best = MAX (best, rank);
      else if (rank > 0 && rank == best)
        g_array_append_val (inodes, l->inode);
    }
  }
  return inodes;
}

/* Adds to @found the inodes of @wanted that @pid has open; FALSE when its descriptors cannot be read. */
static gboolean
collect_held (pid_t pid, GHashTable *wanted, GHashTable *found)
{
  char path[64];
  DIR *dir;
  struct dirent *entry;

  g_snprintf (path, sizeof path, "/proc/%d/fd", (int) pid);
  dir = opendir (path);
  if (dir == NULL)
    return FALSE;
  while ((entry = readdir (dir)) != NULL) {
    char link[64];
    ssize_t n;
    guint64 inode;
    char *end = NULL;

    if (entry->d_name[0] == '.')
      continue;
    n = readlinkat (dirfd (dir), entry->d_name, link, sizeof link - 1);
    if (n <= 0)
      continue;
    link[n] = '\0';
    if (!g_str_has_prefix (link, "socket:["))
      continue;
    inode = g_ascii_strtoull (link + strlen ("socket:["), &end, 10);
    if (*end == ']' && g_hash_table_contains (wanted, &inode))
      g_hash_table_add (found, g_memdup2 (&inode, sizeof inode));
  }
  closedir (dir);
  return TRUE;
}

static GHashTable *
inode_set (GArray *inodes)
{
  GHashTable *set = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (guint i = 0; inodes != NULL && i < inodes->len; i++)
    g_hash_table_add (set, g_memdup2 (&g_array_index (inodes, guint64, i), sizeof (guint64)));
  return set;
}

gboolean
tend_port_owner_pids_hold (const pid_t *pids, guint n_pids, GArray *inodes, guint64 *out_missing)
{
  g_autoptr(GHashTable) wanted = inode_set (inodes);
  g_autoptr(GHashTable) found = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  g_return_val_if_fail (pids != NULL || n_pids == 0, FALSE);
  g_return_val_if_fail (inodes != NULL, FALSE);

  for (guint i = 0; i < n_pids && g_hash_table_size (found) < g_hash_table_size (wanted); i++)
    collect_held (pids[i], wanted, found);
  for (guint i = 0; i < inodes->len; i++) {
    guint64 inode = g_array_index (inodes, guint64, i);
    if (!g_hash_table_contains (found, &inode)) {
      if (out_missing != NULL)
        *out_missing = inode;
      return FALSE;
    }
  }
  return TRUE;
}

static gint
compare_pids (gconstpointer a, gconstpointer b)
{
  pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
  return (x > y) - (x < y);
}

GArray *
tend_port_owner_find_holders (GArray *inodes)
{
  g_autoptr(GHashTable) wanted = inode_set (inodes);
  GArray *holders = g_array_new (FALSE, FALSE, sizeof (pid_t));
  DIR *dir;
  struct dirent *entry;

  if (g_hash_table_size (wanted) == 0 || (dir = opendir ("/proc")) == NULL)
    return holders;
  while ((entry = readdir (dir)) != NULL) {
    g_autoptr(GHashTable) found = NULL;
    char *end = NULL;
    long pid;

    if (!g_ascii_isdigit (entry->d_name[0]))
      continue;
    pid = strtol (entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0)
      continue;
    found = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
    if (collect_held ((pid_t) pid, wanted, found) && g_hash_table_size (found) > 0) {
      pid_t holder = (pid_t) pid;
      g_array_append_val (holders, holder);
    }
  }
  closedir (dir);
  g_array_sort (holders, compare_pids);
  return holders;
}

gboolean
tend_port_owner_is_local_address (GInetAddress *address)
{
  guint8 addr[16] = { 0 };
  gsize len;
  struct ifaddrs *list = NULL;
  gboolean local = FALSE;

  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);

  len = g_inet_address_get_native_size (address);
  memcpy (addr, g_inet_address_to_bytes (address), MIN (len, sizeof addr));
  unmap (addr, &len);
  if (is_zero (addr, len) || (len == 4 && addr[0] == 127))
    return TRUE;
  if (len == 16 && is_zero (addr, 15) && addr[15] == 1)
    return TRUE;
  if (getifaddrs (&list) < 0)
    return FALSE;
  for (struct ifaddrs *ifa = list; ifa != NULL && !local; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == NULL)
      continue;
    if (ifa->ifa_addr->sa_family == AF_INET && len == 4)
      local = memcmp (&((struct sockaddr_in *) ifa->ifa_addr)->sin_addr, addr, 4) == 0;
    else if (ifa->ifa_addr->sa_family == AF_INET6 && len == 16)
      local = memcmp (&((struct sockaddr_in6 *) ifa->ifa_addr)->sin6_addr, addr, 16) == 0;
  }
  freeifaddrs (list);
  return local;
}
