/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-context.h"
#include "tend-error.h"
#include "tend-update.h"

#define CHECK_TIMEOUT_S 15
#define STATE_MAGIC "tend-handover-1"

typedef struct {
  TendContext *context;
  char *binary;
  char **check_argv;
  GSubprocess *process;
  guint timeout;
  gboolean timed_out;
  char *version;
} Check;

static void
check_free (Check *check)
{
  g_clear_handle_id (&check->timeout, g_source_remove);
  g_clear_object (&check->process);
  g_clear_object (&check->context);
  g_strfreev (check->check_argv);
  g_free (check->binary);
  g_free (check->version);
  g_free (check);
}

static void run_step (GTask *task, char **argv);

static gboolean
timeout_cb (gpointer user_data)
{
  Check *check = user_data;

  check->timeout = 0;
  check->timed_out = TRUE;
  if (check->process != NULL)
    g_subprocess_force_exit (check->process);
  return G_SOURCE_REMOVE;
}

static void
release_child (Check *check)
{
  const char *id = check->process != NULL ? g_subprocess_get_identifier (check->process) : NULL;

  if (id != NULL && check->context != NULL)
    tend_context_release_child (check->context, (GPid) atoi (id));
}

static void
step_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Check *check = g_task_get_task_data (task);
  g_autofree char *output = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;
  gboolean first = check->version == NULL;

  g_clear_handle_id (&check->timeout, g_source_remove);
  if (!g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &output, NULL, &error)) {
    release_child (check);
    g_task_return_new_error (task, TEND_ERROR, TEND_ERROR_FAILED, "the new tendd %s could not be checked: %s",
                             check->binary, error->message);
    return;
  }
  release_child (check);
  g_strstrip (output);
  command = g_strdup_printf ("%s %s", check->binary, first ? "--version" : "--check-config");
  if (check->timed_out) {
    g_task_return_new_error (task, TEND_ERROR, TEND_ERROR_FAILED, "%s did not answer within %d s; nothing changed",
                             command, CHECK_TIMEOUT_S);
    return;
  }
  if (!g_subprocess_get_if_exited (G_SUBPROCESS (source)) ||
      g_subprocess_get_exit_status (G_SUBPROCESS (source)) != 0) {
    /* a reason, not a manual: the first line, cut short */
    char *nl = strchr (output, '\n');
    if (nl != NULL)
      *nl = '\0';
    if (strlen (output) > 300)
      strcpy (output + 297, "...");
    g_task_return_new_error (task, TEND_ERROR, TEND_ERROR_FAILED, "%s failed%s%s; nothing changed", command,
                             output[0] != '\0' ? ": " : "", output);
    return;
  }
  if (first) {
    if (!g_str_has_prefix (output, "tendd ") || strchr (output, '\n') != NULL) {
      g_autofree char *shown = g_strescape (output, NULL);
      g_task_return_new_error (task, TEND_ERROR, TEND_ERROR_FAILED,
                               "%s printed \"%s\", not \"tendd VERSION\": not a tendd; nothing changed", command,
                               shown);
      return;
    }
    check->version = g_strdup (output + strlen ("tendd "));
    g_clear_object (&check->process);
    run_step (g_steal_pointer (&task), check->check_argv);
    return;
  }
  g_task_return_pointer (task, g_strdup (check->version), g_free);
}

static void
run_step (GTask *task, char **argv)
{
  Check *check = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  const char *id;

  check->process = g_subprocess_newv ((const char *const *) argv,
                                      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
  if (check->process == NULL) {
    g_task_return_new_error (task, TEND_ERROR, TEND_ERROR_FAILED, "cannot run the new tendd %s: %s; nothing changed",
                             check->binary, error->message);
    g_object_unref (task);
    return;
  }
  /* GSubprocess reaps it: the process plugin's orphan reaper must not wait for it too */
  id = g_subprocess_get_identifier (check->process);
  if (id != NULL && check->context != NULL)
    tend_context_claim_child (check->context, (GPid) atoi (id));
  check->timed_out = FALSE;
  check->timeout = g_timeout_add_seconds (CHECK_TIMEOUT_S, timeout_cb, check);
  g_subprocess_communicate_utf8_async (check->process, NULL, NULL, step_done_cb, task);
}

void
tend_update_check_async (GObject *source,
                         gpointer context,
                         const char *binary,
                         const char *home,
                         const char *config_path,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  GTask *task = g_task_new (source, NULL, callback, user_data);
  Check *check = g_new0 (Check, 1);
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();
  char *version_argv[] = { (char *) binary, (char *) "--version", NULL };
  struct stat st;

  check->context = context != NULL ? g_object_ref (context) : NULL;
  check->binary = g_strdup (binary);
  g_strv_builder_add_many (argv, binary, "--check-config", "--home", home, NULL);
  if (config_path != NULL)
    g_strv_builder_add_many (argv, "--config", config_path, NULL);
  check->check_argv = g_strv_builder_end (argv);
  g_task_set_task_data (task, check, (GDestroyNotify) check_free);

  if (!g_path_is_absolute (binary)) {
    g_task_return_new_error (task, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "%s: the path must be absolute", binary);
    g_object_unref (task);
    return;
  }
  if (stat (binary, &st) < 0 || !S_ISREG (st.st_mode) || access (binary, X_OK) < 0) {
    int saved = errno;
    g_task_return_new_error (task, TEND_ERROR, TEND_ERROR_FAILED, "%s: %s; nothing changed", binary,
                             !S_ISREG (st.st_mode) && saved == 0 ? "not a regular file" : g_strerror (saved));
    g_object_unref (task);
    return;
  }
  /* tendd runs as root: the program it becomes must be as safe from others as tendd's own */
  if (geteuid () == 0 && (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)) {
    g_task_return_new_error (task, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED,
                             "%s: refusing a program that someone other than root owns or may write; nothing changed",
                             binary);
    g_object_unref (task);
    return;
  }
  run_step (task, version_argv);
}

char *
tend_update_check_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
set_cloexec_all (GHashTable *fds, gboolean on)
{
  GHashTableIter iter;
  gpointer fd;

  g_hash_table_iter_init (&iter, fds);
  while (g_hash_table_iter_next (&iter, NULL, &fd)) {
    int flags = fcntl (GPOINTER_TO_INT (fd), F_GETFD);
    if (flags >= 0)
      fcntl (GPOINTER_TO_INT (fd), F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
  }
}

static gboolean
write_all (int fd, const guint8 *data, gsize length)
{
  while (length > 0) {
    ssize_t n = write (fd, data, length);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    data += n;
    length -= (gsize) n;
  }
  return TRUE;
}

gboolean
tend_update_exec (const char *binary, char *const *argv, GVariant *state, TendHandover *handover, GError **error)
{
  GHashTable *fds = tend_handover_get_fds (handover);
  g_autoptr(GVariantBuilder) fd_map = g_variant_builder_new (G_VARIANT_TYPE ("a{si}"));
  g_autoptr(GVariant) whole = NULL;
  g_autoptr(GPtrArray) new_argv = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, fd;
  int memfd;
  int saved;

  g_hash_table_iter_init (&iter, fds);
  while (g_hash_table_iter_next (&iter, &key, &fd))
    g_variant_builder_add (fd_map, "{si}", (const char *) key, (gint32) GPOINTER_TO_INT (fd));
  whole = g_variant_ref_sink (g_variant_new ("(s@a{sv}@a{si})", STATE_MAGIC, state, g_variant_builder_end (fd_map)));

  /* no MFD_CLOEXEC: the next program reads it */
  memfd = memfd_create ("tend-handover", 0);
  if (memfd < 0) {
    saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot create the handover memfd: %s", g_strerror (saved));
    return FALSE;
  }
  if (!write_all (memfd, g_variant_get_data (whole), g_variant_get_size (whole)) || lseek (memfd, 0, SEEK_SET) < 0) {
    saved = errno;
    close (memfd);
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot write the handover state: %s", g_strerror (saved));
    return FALSE;
  }
  /* the program's own arguments, without the --handover of an earlier update */
  for (guint i = 0; argv[i] != NULL; i++) {
    if (g_str_equal (argv[i], "--handover") && argv[i + 1] != NULL) {
      i++;
      continue;
    }
    if (g_str_has_prefix (argv[i], "--handover="))
      continue;
    g_ptr_array_add (new_argv, g_strdup (argv[i]));
  }
  g_ptr_array_add (new_argv, g_strdup ("--handover"));
  g_ptr_array_add (new_argv, g_strdup_printf ("%d", memfd));
  g_ptr_array_add (new_argv, NULL);

  set_cloexec_all (fds, FALSE);
  g_message ("update: executing %s", binary);
  {
    /* tests only: widen the window in which a service's exit must wait for the next program */
    const char *delay = g_getenv ("TEND_TEST_UPDATE_EXEC_DELAY_MS");
    if (delay != NULL)
      g_usleep ((gulong) g_ascii_strtoull (delay, NULL, 10) * 1000);
  }
  execv (binary, (char *const *) new_argv->pdata);
  saved = errno;
  set_cloexec_all (fds, TRUE);
  close (memfd);
  g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot execute %s: %s", binary, g_strerror (saved));
  return FALSE;
}

GVariant *
tend_update_read_state (int fd, GHashTable **out_fds, GError **error)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  g_autoptr(GVariant) whole = NULL;
  g_autoptr(GVariant) state = NULL;
  g_autoptr(GVariant) fd_map = NULL;
  g_autoptr(GHashTable) fds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *magic = NULL;
  guint8 chunk[65536];
  GVariantIter iter;
  const char *key;
  gint32 number;

  lseek (fd, 0, SEEK_SET);
  for (;;) {
    ssize_t n = read (fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      close (fd);
      g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot read the handover state: %s", g_strerror (saved));
      return NULL;
    }
    if (n == 0)
      break;
    g_byte_array_append (bytes, chunk, (guint) n);
  }
  close (fd);
  {
    g_autoptr(GBytes) data = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
    whole = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("(sa{sv}a{si})"), data, FALSE));
  }
  g_variant_get (whole, "(&s@a{sv}@a{si})", &magic, &state, &fd_map);
  if (!g_str_equal (magic, STATE_MAGIC)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "the handover state is not one this tendd reads (%s)", magic);
    return NULL;
  }
  g_variant_iter_init (&iter, fd_map);
  while (g_variant_iter_next (&iter, "{&si}", &key, &number)) {
    if (number >= 0)
      g_hash_table_insert (fds, g_strdup (key), GINT_TO_POINTER (number));
  }
  *out_fds = g_steal_pointer (&fds);
  return g_steal_pointer (&state);
}
