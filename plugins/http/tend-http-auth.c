/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-error.h"
#include "tend-http-auth.h"

/* A token file is a line; anything much longer is not one. */
#define TOKEN_FILE_MAX 4096

static void
digest_of (const char *text, gsize length, guint8 out[TEND_HTTP_TOKEN_DIGEST_SIZE])
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize size = TEND_HTTP_TOKEN_DIGEST_SIZE;

  g_checksum_update (checksum, (const guchar *) text, (gssize) length);
  g_checksum_get_digest (checksum, out, &size);
}

static gboolean
create_token_file (const char *path, GError **error)
{
  g_autoptr(GString) token = g_string_new (NULL);
  guint8 bytes[32];
  ssize_t n;
  int fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);

  if (fd < 0 || (n = read (fd, bytes, sizeof bytes)) != (ssize_t) sizeof bytes) {
    int saved = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot read random bytes: %s", g_strerror (saved));
    return FALSE;
  }
  close (fd);
  for (guint i = 0; i < sizeof bytes; i++)
    g_string_append_printf (token, "%02x", bytes[i]);
  g_string_append_c (token, '\n');
  memset (bytes, 0, sizeof bytes);
  return g_file_set_contents_full (path, token->str, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISSOCK (mode))
    return "a socket";
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return "a device";
  if (S_ISLNK (mode))
    return "a symbolic link";
  return "not a regular file";
}

static char *
user_text (uid_t uid)
{
  struct passwd *pw = getpwuid (uid);

  if (pw != NULL && pw->pw_name != NULL)
    return g_strdup_printf ("%s (uid %u)", pw->pw_name, (unsigned) uid);
  return g_strdup_printf ("uid %u", (unsigned) uid);
}

/*
 * Opened without following a symbolic link and without blocking (a FIFO
 * would wait for a writer forever), then checked on the open file, so a swap
 * between the checks and the read cannot fool them.
 */
static int
open_token_file (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
  struct stat st;

  if (fd < 0) {
    int saved = errno;
    if (saved == ELOOP && lstat (path, &st) == 0 && S_ISLNK (st.st_mode))
      g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED,
                   "the token file %s is a symbolic link; set token-file to the file itself", path);
    else
      g_set_error (error, TEND_ERROR, saved == ENOENT ? TEND_ERROR_NOT_FOUND : TEND_ERROR_FAILED,
                   "cannot read the token file %s: %s", path, g_strerror (saved));
    return -1;
  }
  if (fstat (fd, &st) < 0) {
    int saved = errno;
    close (fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot read the token file %s: %s", path, g_strerror (saved));
    return -1;
  }
  if (!S_ISREG (st.st_mode)) {
    close (fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "the token file %s is not a regular file (%s)", path,
                 file_kind (st.st_mode));
    return -1;
  }
  if (st.st_uid != geteuid ()) {
    g_autofree char *owner = user_text (st.st_uid);
    g_autofree char *us = user_text (geteuid ());
    close (fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED,
                 "the token file %s is owned by %s, not by tendd's user %s; whoever owns it can change the token", path,
                 owner, us);
    return -1;
  }
  if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
    close (fd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED,
                 "the token file %s is readable or writable by group or others (mode %04o); run chmod 600 %s", path,
                 (unsigned) (st.st_mode & 07777), path);
    return -1;
  }
  return fd;
}

gboolean
tend_http_token_load (const char *path, TendHttpToken *out, gboolean *out_created, GError **error)
{
  g_autoptr(GError) open_error = NULL;
  char buf[TOKEN_FILE_MAX + 1];
  ssize_t n;
  int saved;
  int fd;

  memset (out, 0, sizeof *out);
  if (out_created != NULL)
    *out_created = FALSE;
  fd = open_token_file (path, &open_error);
  if (fd < 0 && g_error_matches (open_error, TEND_ERROR, TEND_ERROR_NOT_FOUND)) {
    g_clear_error (&open_error);
    if (!create_token_file (path, error)) {
      g_prefix_error (error, "cannot create the token file %s: ", path);
      return FALSE;
    }
    if (out_created != NULL)
      *out_created = TRUE;
    fd = open_token_file (path, &open_error);
  }
  if (fd < 0) {
    g_propagate_error (error, g_steal_pointer (&open_error));
    return FALSE;
  }
  n = read (fd, buf, sizeof buf);
  saved = errno;
  close (fd);
  if (n < 0 || n > TOKEN_FILE_MAX) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot read the token file %s: %s", path,
                 n < 0 ? g_strerror (saved) : "too long for a token");
    return FALSE;
  }
  buf[n] = '\0';
  g_strstrip (buf);
  if (buf[0] == '\0') {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "the token file %s is empty", path);
    return FALSE;
  }
  digest_of (buf, strlen (buf), out->digest);
  out->set = TRUE;
  memset (buf, 0, sizeof buf);
  return TRUE;
}

TendHttpAuthResult
tend_http_token_check (const TendHttpToken *token, const char *authorization)
{
  guint8 digest[TEND_HTTP_TOKEN_DIGEST_SIZE];
  const char *p = authorization;
  const char *start;
  const char *end;
  guint8 diff = 0;

  if (p == NULL)
    return TEND_HTTP_AUTH_MISSING;
  while (*p == ' ' || *p == '\t')
    p++;
  if (g_ascii_strncasecmp (p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
    return TEND_HTTP_AUTH_MALFORMED;
  p += 6;
  while (*p == ' ' || *p == '\t')
    p++;
  start = p;
  end = start + strlen (start);
  while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  if (end == start)
    return TEND_HTTP_AUTH_MALFORMED;
  /* token68 (RFC 7235): no spaces, no parameters */
  for (p = start; p < end; p++) {
    if (!g_ascii_isalnum (*p) && strchr ("-._~+/=", *p) == NULL)
      return TEND_HTTP_AUTH_MALFORMED;
  }
  if (!token->set)
    return TEND_HTTP_AUTH_WRONG;
  /* comparing digests: the time depends neither on the length nor on the matching prefix */
  digest_of (start, (gsize) (end - start), digest);
  for (guint i = 0; i < TEND_HTTP_TOKEN_DIGEST_SIZE; i++)
    diff |= digest[i] ^ token->digest[i];
  return diff == 0 ? TEND_HTTP_AUTH_OK : TEND_HTTP_AUTH_WRONG;
}
