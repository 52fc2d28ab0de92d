/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-context.h"
#include "tend-error.h"
#include "tend-log-file.h"
#include "tend-log-path.h"
#include "tend-logrotate-compress.h"
#include "tend-logrotate-policy.h"
#include "tend-plugin.h"

/* How often sizes and period ends are compared: two integers per file, so cheap. tendd's own log has no
 * size-exceeded (GLib's log writer writes it, not TendLogFile), so this is what catches it. */
#define CHECK_INTERVAL_S 1
/* After a failed rotation (a full or read-only disk) the file is left alone this long. */
#define RETRY_AFTER_FAILURE_S 10
/* At stop a running compression gets this long, then it is cancelled; its temp file goes away either way. */
#define STOP_GRACE_MS 10000
/* A failed compression (a full disk) is tried again after this long. */
#define COMPRESS_RETRY_S 60
/* Two rotations of one file in one second get a counter; this bounds the search for a free name. */
#define MAX_COLLISIONS 100000

#define TEND_TYPE_LOGROTATE_PLUGIN (tend_logrotate_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TendLogrotatePlugin, tend_logrotate_plugin, TEND, LOGROTATE_PLUGIN, GObject)

/* One log file we rotate. */
typedef struct {
  TendLogrotatePlugin *plugin;
  TendLogFile *file; /* ref */
  gulong size_handler;
  gint64 period_opened_at; /* the opened-at that period_end was computed from */
  gint64 period_end;       /* wall-clock µs; 0: to compute */
  gint64 retry_at;         /* monotonic µs; no rotation before it after a failure */
  char *last_base;         /* the counter-less rotated name of the last rotation, and its counter */
  guint last_counter;
} Tracked;

/* A rotated file waiting for, or in, compression. */
typedef struct {
  char *path;
  char *stem;
  uid_t owner; /* the service's user, whose file it may be */
} Job;

struct _TendLogrotatePlugin {
  GObject parent_instance;

  TendContext *context;
  TendPluginConfig *config;
  guint64 max_size;
  guint retain;
  gboolean compress;
  TendLogrotateInterval interval;

  gulong added_handler;
  gulong removed_handler;
  GHashTable *tracked; /* TendLogFile → Tracked */
  GHashTable *scanned; /* "folder/stem" already searched for leftovers of a previous run */
  guint check_timer;

  GQueue queue;     /* Job, oldest first */
  Job *compressing; /* in the worker thread, or NULL */
  GQueue failed;    /* Job whose compression failed, queued again at retry_compress_at */
  gint64 retry_compress_at;
  GCancellable *cancellable;
  gboolean stopping;
  GTask *stop_task;
  guint stop_timer;

  guint64 rotations;
  guint64 compressed;
  guint64 bytes_compressed;
  guint64 bytes_after_compression;
  char *last_error;
};

static void tend_logrotate_plugin_plugin_init (TendPluginInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TendLogrotatePlugin, tend_logrotate_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PLUGIN, tend_logrotate_plugin_plugin_init))

static void compress_next (TendLogrotatePlugin *self);

static void
job_free (Job *job)
{
  g_free (job->path);
  g_free (job->stem);
  g_free (job);
}

static void
set_last_error (TendLogrotatePlugin *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
set_last_error (TendLogrotatePlugin *self, const char *format, ...)
{
  va_list args;

  g_free (self->last_error);
  va_start (args, format);
  self->last_error = g_strdup_vprintf (format, args);
  va_end (args);
  g_warning ("%s", self->last_error);
}

static void
read_config (TendLogrotatePlugin *self, TendPluginConfig *config)
{
  guint64 retain = tend_plugin_config_get_uint (config, "retain");

  self->max_size = tend_plugin_config_get_size (config, "max-size");
  self->retain = (guint) MIN (retain, G_MAXUINT);
  self->compress = tend_plugin_config_get_bool (config, "compress");
  /* the config reader checked the choice already */
  if (!tend_logrotate_interval_from_string (tend_plugin_config_get_string (config, "interval"), &self->interval))
    self->interval = TEND_LOGROTATE_INTERVAL_NEVER;
}

/*
 * The log folder @dir, reached without following links its owner may have
 * put on the way (tend-log-path.h), and the names in it; -1 when it cannot be
 * opened (the reason is the last error). Whatever is deleted or looked at in
 * it is done relative to that descriptor, never by path.
 */
static int
open_folder (TendLogrotatePlugin *self, const char *dir, GStrv *out_names)
{
  g_autoptr(GError) error = NULL;
  int fd = tend_log_path_open_folder (dir, FALSE, &error);

  if (fd >= 0)
    *out_names = tend_log_path_list (fd, &error);
  if (fd >= 0 && *out_names == NULL) {
    close (fd);
    fd = -1;
  }
  if (fd < 0)
    set_last_error (self, "cannot look at the log folder %s: %s", dir, error->message);
  return fd;
}

static int
job_has_path (gconstpointer a, gconstpointer b)
{
  return strcmp (((const Job *) a)->path, b);
}

/* Removes @path's job from the queue or the failed list; TRUE when there was one. */
static gboolean
drop_job (TendLogrotatePlugin *self, const char *path)
{
  GQueue *queues[] = { &self->queue, &self->failed };

  for (guint i = 0; i < G_N_ELEMENTS (queues); i++) {
    GList *link = g_queue_find_custom (queues[i], path, (GCompareFunc) job_has_path);
    if (link != NULL) {
      job_free (link->data);
      g_queue_delete_link (queues[i], link);
      return TRUE;
    }
  }
  return FALSE;
}

/* Keeps at most retain rotations of the log @stem in @dir, deleting the oldest first. */
static void
apply_retain (TendLogrotatePlugin *self, const char *dir, const char *stem)
{
  g_auto(GStrv) names = NULL;
  g_autoptr(GPtrArray) expired = NULL;
  int dir_fd = open_folder (self, dir, &names);

  if (dir_fd < 0)
    return;
  expired = tend_logrotate_select_expired (stem, (const char *const *) names, self->retain);
  for (guint i = 0; i < expired->len; i++) {
    const char *name = g_ptr_array_index (expired, i);
    g_autofree char *path = g_build_filename (dir, name, NULL);

    /* the worker has it open: it goes at the retain pass that follows its compression */
    if (self->compressing != NULL && strcmp (self->compressing->path, path) == 0)
      continue;
    drop_job (self, path);
    /* unlinkat removes a name, never what a link points to */
    if (unlinkat (dir_fd, name, 0) < 0 && errno != ENOENT) {
      int saved = errno;
      set_last_error (self, "cannot delete the old rotated file %s: %s", path, g_strerror (saved));
    } else {
      g_debug ("deleted %s (retain=%u)", path, self->retain);
    }
  }
  close (dir_fd);
}

static void
queue_compression (TendLogrotatePlugin *self, const char *path, const char *stem, uid_t owner)
{
  Job *job;

  if ((self->compressing != NULL && strcmp (self->compressing->path, path) == 0) ||
      g_queue_find_custom (&self->queue, path, (GCompareFunc) job_has_path) != NULL ||
      g_queue_find_custom (&self->failed, path, (GCompareFunc) job_has_path) != NULL)
    return;
  job = g_new0 (Job, 1);
  job->path = g_strdup (path);
  job->stem = g_strdup (stem);
  job->owner = owner;
  g_queue_push_tail (&self->queue, job);
}

static int
compare_rotations (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const char *stem = user_data;
  g_autofree char *ka = NULL;
  g_autofree char *kb = NULL;

  tend_logrotate_parse_rotated (stem, *(const char *const *) a, &ka, NULL);
  tend_logrotate_parse_rotated (stem, *(const char *const *) b, &kb, NULL);
  return g_strcmp0 (ka, kb);
}

/*
 * What a previous tendd killed mid-way may have left next to a log: temp
 * files of an unfinished compression (deleted: the rotated .log they came
 * from is still there), rotated .log files whose .gz was complete but not
 * yet followed by the delete (deleted), and rotated .log files not yet
 * compressed (queued). Once per log per run.
 */
static void
scan_leftovers (TendLogrotatePlugin *self, TendLogFile *file)
{
  const char *log_path = tend_log_file_get_path (file);
  g_autofree char *dir = g_path_get_dirname (log_path);
  g_autofree char *stem = tend_logrotate_stem (log_path);
  g_autofree char *key = g_build_filename (dir, stem, NULL);
  g_auto(GStrv) names = NULL;
  g_autoptr(GPtrArray) uncompressed = g_ptr_array_new ();
  int dir_fd;

  if (g_hash_table_contains (self->scanned, key))
    return;
  g_hash_table_add (self->scanned, g_steal_pointer (&key));

  dir_fd = open_folder (self, dir, &names);
  if (dir_fd < 0)
    return;
  for (guint i = 0; names[i] != NULL; i++) {
    g_autofree char *path = g_build_filename (dir, names[i], NULL);
    gboolean compressed;

    if (tend_logrotate_is_temp_name (stem, names[i])) {
      if (unlinkat (dir_fd, names[i], 0) == 0)
        g_message ("removed %s, an unfinished compression of a previous run", path);
    } else if (tend_logrotate_parse_rotated (stem, names[i], NULL, &compressed) && !compressed) {
      g_autofree char *gz = g_strconcat (names[i], ".gz", NULL);
      struct stat st;
      /* a .gz exists only once complete (it is renamed into place), so the original is redundant */
      if (fstatat (dir_fd, gz, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode)) {
        if (unlinkat (dir_fd, names[i], 0) == 0)
          g_message ("removed %s, already compressed by a previous run", path);
      } else {
        g_ptr_array_add (uncompressed, names[i]);
      }
    }
  }
  close (dir_fd);

  if (self->compress && self->retain > 0 && uncompressed->len > 0) {
    g_ptr_array_sort_with_data (uncompressed, compare_rotations, stem);
    g_message ("compressing %u rotated files of %s left uncompressed by a previous run", uncompressed->len,
               log_path);
    for (guint i = 0; i < uncompressed->len; i++) {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (uncompressed, i), NULL);
      queue_compression (self, path, stem, tend_log_file_get_owner (file));
    }
  }
  apply_retain (self, dir, stem);
  compress_next (self);
}

static void
compress_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TendLogrotatePlugin *self = TEND_LOGROTATE_PLUGIN (source);
  Job *job = g_steal_pointer (&self->compressing);
  g_autoptr(GError) error = NULL;
  guint64 read_bytes = 0, written = 0;

  if (tend_logrotate_compress_finish (result, &read_bytes, &written, &error)) {
    self->compressed++;
    self->bytes_compressed += read_bytes;
    self->bytes_after_compression += written;
    g_debug ("compressed %s: %" G_GUINT64_FORMAT " → %" G_GUINT64_FORMAT " bytes", job->path, read_bytes, written);
  } else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_message ("compression of %s cancelled at stop; the next start finishes it", job->path);
  } else {
    /* the rotated file stays as it is (still counted by retain) and is tried again later */
    set_last_error (self, "%s", error->message);
    /* gone, or refused (a link or a file that is not the log's in its place): no point in trying again */
    if (!self->stopping && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) &&
        !g_error_matches (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED)) {
      g_queue_push_tail (&self->failed, g_steal_pointer (&job));
      self->retry_compress_at = g_get_monotonic_time () + COMPRESS_RETRY_S * G_USEC_PER_SEC;
    }
  }

  if (job != NULL) {
    if (!self->stopping) {
      g_autofree char *dir = g_path_get_dirname (job->path);
      apply_retain (self, dir, job->stem);
    }
    job_free (job);
  }

  if (self->stop_task != NULL) {
    GTask *task = g_steal_pointer (&self->stop_task);
    g_clear_handle_id (&self->stop_timer, g_source_remove);
    g_task_return_boolean (task, TRUE);
    g_object_unref (task);
    return;
  }
  compress_next (self);
}

/* One compression at a time: it is background work, and one thread cannot starve the machine. */
static void
compress_next (TendLogrotatePlugin *self)
{
  if (self->compressing != NULL || self->stopping)
    return;
  self->compressing = g_queue_pop_head (&self->queue);
  if (self->compressing == NULL)
    return;
  tend_logrotate_compress_async (self, self->compressing->path, self->compressing->owner, self->cancellable,
                                 compress_done_cb, NULL);
}

/* a dangling link counts too: the rename would refuse to replace it anyway */
static gboolean
file_exists (const char *path, gpointer user_data)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

/* A free rotated name for @t's file at @now. */
static char *
pick_rotated_path (Tracked *t, const char *path, GDateTime *now)
{
  g_autofree char *base = tend_logrotate_rotated_path (path, now, 0);
  guint first = 0, counter = 0;
  char *rotated;

  /* many rotations in one second (a burst with a small max-size): go on from the last counter */
  if (g_strcmp0 (base, t->last_base) == 0)
    first = t->last_counter + 1;
  rotated = tend_logrotate_pick_rotated_path (path, now, first, MAX_COLLISIONS, file_exists, NULL, &counter);
  if (rotated != NULL) {
    g_free (t->last_base);
    t->last_base = g_steal_pointer (&base);
    t->last_counter = counter;
  }
  return rotated;
}

static gint64 period_end (TendLogrotatePlugin *self, Tracked *t, gint64 from);

static void
rotate (Tracked *t, const char *why)
{
  TendLogrotatePlugin *self = t->plugin;
  const char *path = tend_log_file_get_path (t->file);
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *rotated = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *stem = NULL;
  g_autoptr(GError) error = NULL;

  if (self->stopping || tend_log_file_get_size (t->file) == 0 || g_get_monotonic_time () < t->retry_at)
    return;

  now = g_date_time_new_now_local ();
  rotated = pick_rotated_path (t, path, now);
  if (rotated == NULL) {
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_EXISTS, "no free name for a rotated file");
  } else if (tend_log_file_rotate (t->file, rotated, &error)) {
    g_debug ("rotated %s to %s (%s)", path, rotated, why);
  }
  if (error != NULL) {
    t->retry_at = g_get_monotonic_time () + RETRY_AFTER_FAILURE_S * G_USEC_PER_SEC;
    set_last_error (self, "cannot rotate %s: %s (trying again in %d s)", path, error->message, RETRY_AFTER_FAILURE_S);
    return;
  }
  self->rotations++;
  /* the new file starts its period now, whatever its opened-at says */
  t->period_opened_at = tend_log_file_get_opened_at (t->file);
  t->period_end = period_end (self, t, g_get_real_time ());

  dir = g_path_get_dirname (path);
  stem = tend_logrotate_stem (path);
  if (self->compress && self->retain > 0)
    queue_compression (self, rotated, stem, tend_log_file_get_owner (t->file));
  apply_retain (self, dir, stem);
  compress_next (self);
}

static gboolean
over_size (TendLogrotatePlugin *self, Tracked *t)
{
  return self->max_size > 0 && tend_log_file_get_size (t->file) > self->max_size;
}

static void
size_exceeded_cb (TendLogFile *file, gpointer user_data)
{
  Tracked *t = user_data;

  /*
   * Right now: the signal comes after a write of whole lines, so the file
   * ends at a line boundary, and waiting for a later turn of the main loop
   * would let a flood of output write a megabyte or more past max-size.
   */
  rotate (t, "size");
}

/* The end of the period of @t's current file, wall-clock µs; G_MAXINT64 when rotation on time is off. */
static gint64
period_end (TendLogrotatePlugin *self, Tracked *t, gint64 from)
{
  g_autoptr(GDateTime) start = NULL;
  g_autoptr(GDateTime) end = NULL;

  if (self->interval == TEND_LOGROTATE_INTERVAL_NEVER)
    return G_MAXINT64;
  start = g_date_time_new_from_unix_local (from / G_USEC_PER_SEC);
  end = start != NULL ? tend_logrotate_period_end (self->interval, start) : NULL;
  return end != NULL ? g_date_time_to_unix (end) * G_USEC_PER_SEC : G_MAXINT64;
}

static void
check_interval (TendLogrotatePlugin *self, Tracked *t, gint64 now)
{
  gint64 opened_at = tend_log_file_get_opened_at (t->file);

  if (t->period_end == 0 || opened_at != t->period_opened_at) {
    t->period_opened_at = opened_at;
    t->period_end = period_end (self, t, opened_at);
  }
  if (now < t->period_end)
    return;
  if (tend_log_file_get_size (t->file) > 0) {
    rotate (t, "interval");
  } else {
    /* nothing written in the whole period: the file starts a new one now rather than rotating its first line */
    t->period_end = period_end (self, t, now);
  }
}

static gboolean
check_timer_cb (gpointer user_data)
{
  TendLogrotatePlugin *self = user_data;
  gint64 now = g_get_real_time ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->tracked);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Tracked *t = value;
    if (over_size (self, t))
      rotate (t, "size");
    else
      check_interval (self, t, now);
  }

  if (!g_queue_is_empty (&self->failed) && g_get_monotonic_time () >= self->retry_compress_at) {
    Job *job;
    while ((job = g_queue_pop_head (&self->failed)) != NULL)
      g_queue_push_tail (&self->queue, job);
    compress_next (self);
  }
  return G_SOURCE_CONTINUE;
}

static void
tracked_free (gpointer data)
{
  Tracked *t = data;

  g_clear_signal_handler (&t->size_handler, t->file);
  /* no size-exceeded left to anyone once we are gone */
  tend_log_file_set_size_limit (t->file, 0);
  g_object_unref (t->file);
  g_free (t->last_base);
  g_free (t);
}

static void
track (TendLogrotatePlugin *self, TendLogFile *file)
{
  Tracked *t;

  if (self->stopping || g_hash_table_contains (self->tracked, file))
    return;
  t = g_new0 (Tracked, 1);
  t->plugin = self;
  t->file = g_object_ref (file);
  t->size_handler = g_signal_connect (file, "size-exceeded", G_CALLBACK (size_exceeded_cb), t);
  tend_log_file_set_size_limit (file, self->max_size);
  g_hash_table_insert (self->tracked, file, t);
  scan_leftovers (self, file);
}

static void
log_file_added_cb (TendContext *context, TendLogFile *file, gpointer user_data)
{
  track (TEND_LOGROTATE_PLUGIN (user_data), file);
}

static void
log_file_removed_cb (TendContext *context, TendLogFile *file, gpointer user_data)
{
  g_hash_table_remove (TEND_LOGROTATE_PLUGIN (user_data)->tracked, file);
}

static gboolean
plugin_setup (TendPlugin *plugin, TendContext *context, TendPluginConfig *config, GError **error)
{
  TendLogrotatePlugin *self = TEND_LOGROTATE_PLUGIN (plugin);

  self->context = g_object_ref (context);
  self->config = tend_plugin_config_ref (config);
  read_config (self, config);
  self->added_handler = g_signal_connect (context, "log-file-added", G_CALLBACK (log_file_added_cb), self);
  self->removed_handler = g_signal_connect (context, "log-file-removed", G_CALLBACK (log_file_removed_cb), self);
  return TRUE;
}

static gboolean
plugin_start (TendPlugin *plugin, GError **error)
{
  TendLogrotatePlugin *self = TEND_LOGROTATE_PLUGIN (plugin);
  GPtrArray *files = tend_context_get_log_files (self->context);

  for (guint i = 0; files != NULL && i < files->len; i++)
    track (self, g_ptr_array_index (files, i));
  self->check_timer = g_timeout_add_seconds (CHECK_INTERVAL_S, check_timer_cb, self);
  return TRUE;
}

static void
stop_timeout_cb (gpointer user_data)
{
  TendLogrotatePlugin *self = user_data;
  GTask *task = g_steal_pointer (&self->stop_task);

  self->stop_timer = 0;
  /* the worker removes its temp file when it sees the cancel; the rotated file stays for the next start */
  g_message ("a compression still runs after %d ms; cancelling it", STOP_GRACE_MS);
  g_cancellable_cancel (self->cancellable);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
plugin_stop_async (TendPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TendLogrotatePlugin *self = TEND_LOGROTATE_PLUGIN (plugin);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  self->stopping = TRUE;
  g_clear_handle_id (&self->check_timer, g_source_remove);
  g_clear_signal_handler (&self->added_handler, self->context);
  g_clear_signal_handler (&self->removed_handler, self->context);
  g_hash_table_remove_all (self->tracked);
  /* what is still queued is found again, uncompressed, by the next start */
  g_queue_clear_full (&self->queue, (GDestroyNotify) job_free);
  g_queue_clear_full (&self->failed, (GDestroyNotify) job_free);

  if (self->compressing == NULL) {
    g_task_return_boolean (task, TRUE);
    return;
  }
  self->stop_task = g_steal_pointer (&task);
  self->stop_timer = g_timeout_add_once (STOP_GRACE_MS, stop_timeout_cb, self);
}

static gboolean
plugin_stop_finish (TendPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
plugin_reload (TendPlugin *plugin, TendPluginConfig *config, GError **error)
{
  TendLogrotatePlugin *self = TEND_LOGROTATE_PLUGIN (plugin);
  TendLogrotateInterval old_interval = self->interval;
  guint old_retain = self->retain;
  GHashTableIter iter;
  gpointer value;

  read_config (self, config);
  tend_plugin_config_unref (self->config);
  self->config = tend_plugin_config_ref (config);

  g_hash_table_iter_init (&iter, self->tracked);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Tracked *t = value;
    tend_log_file_set_size_limit (t->file, self->max_size);
    if (self->interval != old_interval)
      t->period_end = 0;
    if (self->retain != old_retain) {
      const char *path = tend_log_file_get_path (t->file);
      g_autofree char *dir = g_path_get_dirname (path);
      g_autofree char *stem = tend_logrotate_stem (path);
      apply_retain (self, dir, stem);
    }
  }
  return TRUE;
}

static void
plugin_add_status (TendPlugin *plugin, GVariantDict *status)
{
  TendLogrotatePlugin *self = TEND_LOGROTATE_PLUGIN (plugin);

  g_variant_dict_insert (status, "files", "u", g_hash_table_size (self->tracked));
  g_variant_dict_insert (status, "rotations", "t", self->rotations);
  g_variant_dict_insert (status, "compressed", "t", self->compressed);
  g_variant_dict_insert (status, "bytes-compressed", "t", self->bytes_compressed);
  g_variant_dict_insert (status, "bytes-after-compression", "t", self->bytes_after_compression);
  g_variant_dict_insert (status, "compressions-pending", "u",
                         g_queue_get_length (&self->queue) + g_queue_get_length (&self->failed) +
                           (self->compressing != NULL ? 1 : 0));
  if (self->last_error != NULL)
    g_variant_dict_insert (status, "last-error", "s", self->last_error);
}

static void
tend_logrotate_plugin_plugin_init (TendPluginInterface *iface)
{
  iface->setup = plugin_setup;
  iface->start = plugin_start;
  iface->stop_async = plugin_stop_async;
  iface->stop_finish = plugin_stop_finish;
  iface->reload = plugin_reload;
  iface->add_status = plugin_add_status;
}

static void
tend_logrotate_plugin_finalize (GObject *object)
{
  TendLogrotatePlugin *self = TEND_LOGROTATE_PLUGIN (object);

  g_clear_handle_id (&self->check_timer, g_source_remove);
  g_clear_handle_id (&self->stop_timer, g_source_remove);
  if (self->context != NULL) {
    g_clear_signal_handler (&self->added_handler, self->context);
    g_clear_signal_handler (&self->removed_handler, self->context);
  }
  g_hash_table_unref (self->tracked);
  g_hash_table_unref (self->scanned);
  g_queue_clear_full (&self->queue, (GDestroyNotify) job_free);
  g_queue_clear_full (&self->failed, (GDestroyNotify) job_free);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->config, tend_plugin_config_unref);
  g_clear_object (&self->context);
  g_free (self->last_error);
  G_OBJECT_CLASS (tend_logrotate_plugin_parent_class)->finalize (object);
}

static void
tend_logrotate_plugin_class_init (TendLogrotatePluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_logrotate_plugin_finalize;
}

static void
tend_logrotate_plugin_init (TendLogrotatePlugin *self)
{
  self->tracked = g_hash_table_new_full (NULL, NULL, NULL, tracked_free);
  self->scanned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_queue_init (&self->queue);
  g_queue_init (&self->failed);
  self->cancellable = g_cancellable_new ();
}

static const TendConfigKey logrotate_keys[] = {
  { "max-size", TEND_CONFIG_KEY_SIZE, "50M", NULL, N_("rotate a log file when it passes this size (0: never on size)") },
  { "retain", TEND_CONFIG_KEY_UINT, "7", "0..10000", N_("rotated files kept per log") },
  { "compress", TEND_CONFIG_KEY_BOOL, "true", NULL, N_("gzip rotated files") },
  { "interval", TEND_CONFIG_KEY_CHOICE, "daily", "never|hourly|daily|weekly", N_("rotate on time as well") },
  { NULL },
};

TEND_DEFINE_PLUGIN ("logrotate",
                    tend_logrotate_plugin,
                    N_("Rotates and compresses log files without losing a line"),
                    logrotate_keys)
