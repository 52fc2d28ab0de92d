/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-context.h"
#include "tend-error.h"
#include "tend-parse.h"
#include "tend-plugin.h"
#include "tend-process-backend.h"
#include "tend-process-spawn.h"
#include "tend-proc.h"
#include "tend-process-tree.h"
#include "tend-service-manager.h"

/* How often a tree whose main process is gone is looked at until it is empty. */
#define TREE_POLL_MS 20
/* After SIGKILL a tree gets this long to vanish before we stop waiting for it. */
#define AFTER_KILL_GRACE_MS 5000
/* A background look for orphans to reap that no event told us about. */
#define REAPER_INTERVAL_S 30

#define TEND_TYPE_PROCESS_PLUGIN (tend_process_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TendProcessPlugin, tend_process_plugin, TEND, PROCESS_PLUGIN, GObject)

/* One spawned process and, after it exits, what is left of its tree. */
typedef struct {
  TendProcessPlugin *plugin;
  TendInstance *instance; /* ref; NULL once the exit was reported */
  pid_t pid;
  int pidfd;
  char *tag;
  int kill_signal;
  guint64 kill_timeout_ms;
  gboolean main_exited;
  int wait_status;
  gboolean terminating; /* kill-signal sent to the tree */
  gboolean killed;      /* SIGKILL sent */
  gint64 give_up_at;
  guint kill_timer;
  guint poll_timer;
} Record;

struct _TendProcessPlugin {
  GObject parent_instance;

  TendContext *context;
  GHashTable *by_instance; /* TendInstance → Record of its running process */
  GPtrArray *records;      /* every Record not yet finished, including trees being swept */
  GHashTable *watched;     /* pid → GUINT child watch source id (orphans we reap) */
  guint reaper_timer;
  GTask *stop_task;
};

static void tend_process_plugin_plugin_init (TendPluginInterface *iface);
static void tend_process_plugin_backend_init (TendProcessBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TendProcessPlugin, tend_process_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PLUGIN, tend_process_plugin_plugin_init)
                               G_IMPLEMENT_INTERFACE (TEND_TYPE_PROCESS_BACKEND, tend_process_plugin_backend_init))

static void record_check (Record *record);
static void reap_orphans (TendProcessPlugin *self);

static void
record_free (Record *record)
{
  g_clear_handle_id (&record->kill_timer, g_source_remove);
  g_clear_handle_id (&record->poll_timer, g_source_remove);
  if (record->pidfd >= 0)
    close (record->pidfd);
  g_clear_object (&record->instance);
  g_free (record->tag);
  g_free (record);
}

static void
maybe_finish_stop (TendProcessPlugin *self)
{
  if (self->stop_task != NULL && self->records->len == 0) {
    GTask *task = g_steal_pointer (&self->stop_task);
    g_task_return_boolean (task, TRUE);
    g_object_unref (task);
  }
}

static void
record_finish (Record *record)
{
  TendProcessPlugin *self = record->plugin;

  g_ptr_array_remove (self->records, record);
  record_free (record);
  maybe_finish_stop (self);
}

static void
report_exit (Record *record)
{
  g_autoptr(TendInstance) instance = g_steal_pointer (&record->instance);

  if (instance == NULL)
    return;
  if (g_hash_table_lookup (record->plugin->by_instance, instance) == record)
    g_hash_table_remove (record->plugin->by_instance, instance);
  tend_instance_process_exited (instance, record->wait_status);
}

static void
orphan_exited_cb (GPid pid, int wait_status, gpointer user_data)
{
  TendProcessPlugin *self = user_data;

  g_spawn_close_pid (pid);
  g_hash_table_remove (self->watched, GINT_TO_POINTER (pid));
  /* the orphan's own children are ours now */
  reap_orphans (self);
}

static gboolean
is_main_pid (TendProcessPlugin *self, pid_t pid)
{
  for (guint i = 0; i < self->records->len; i++) {
    Record *record = g_ptr_array_index (self->records, i);
    if (record->pid == pid && !record->main_exited)
      return TRUE;
  }
  return FALSE;
}

/* Every child of ours that GLib does not already wait for gets a child watch, which reaps it: no zombie, ever. */
static void
reap_orphans (TendProcessPlugin *self)
{
  g_autoptr(GArray) children = tend_process_tree_list_our_children ();

  for (guint i = 0; i < children->len; i++) {
    pid_t pid = g_array_index (children, pid_t, i);
    guint id;

    if (is_main_pid (self, pid) || g_hash_table_contains (self->watched, GINT_TO_POINTER (pid)) ||
        tend_proc_is_claimed_child (pid))
      continue;
    id = g_child_watch_add (pid, orphan_exited_cb, self);
    g_hash_table_insert (self->watched, GINT_TO_POINTER (pid), GUINT_TO_POINTER (id));
  }
}

static gboolean
reaper_timer_cb (gpointer user_data)
{
  reap_orphans (TEND_PROCESS_PLUGIN (user_data));
  return G_SOURCE_CONTINUE;
}

static void
kill_timeout_cb (gpointer user_data)
{
  Record *record = user_data;
  g_autoptr(GArray) members = tend_process_tree_find (record->pid, record->tag);

  record->kill_timer = 0;
  record->killed = TRUE;
  record->give_up_at = g_get_monotonic_time () + AFTER_KILL_GRACE_MS * 1000;
  g_message ("%s: still running after kill-timeout %" G_GUINT64_FORMAT " ms, sending SIGKILL to its process group",
             record->instance ? tend_instance_get_name (record->instance) : record->tag, record->kill_timeout_ms);
  tend_process_tree_signal (record->pid, members, SIGKILL);
  if (!record->main_exited)
    kill (record->pid, SIGKILL);
  record_check (record);
}

static gboolean
poll_timer_cb (gpointer user_data)
{
  Record *record = user_data;

  record->poll_timer = 0;
  record_check (record);
  return G_SOURCE_REMOVE;
}

/* Sends kill-signal to the whole tree and arms the SIGKILL timer. */
static void
record_terminate (Record *record)
{
  g_autoptr(GArray) members = NULL;

  if (record->terminating)
    return;
  record->terminating = TRUE;
  members = tend_process_tree_find (record->pid, record->tag);
  tend_process_tree_signal (record->pid, members, record->kill_signal);
  if (!record->main_exited && record->pidfd >= 0)
    syscall (SYS_pidfd_send_signal, record->pidfd, record->kill_signal, NULL, 0);
  record->kill_timer = g_timeout_add_once ((guint) MIN (record->kill_timeout_ms, G_MAXUINT), kill_timeout_cb, record);
}

/* Once the main process is gone: is anything of the tree left? Report and free when not. */
static void
record_check (Record *record)
{
  g_autoptr(GArray) members = NULL;

  if (!record->main_exited)
    return;
  reap_orphans (record->plugin);
  members = tend_process_tree_find (record->pid, record->tag);
  if (members->len > 0 && record->killed && g_get_monotonic_time () > record->give_up_at) {
    g_warning ("%u processes of %s did not die after SIGKILL; giving up on them", members->len, record->tag);
    g_array_set_size (members, 0);
  }
  if (members->len == 0) {
    report_exit (record);
    record_finish (record);
    return;
  }
  if (!record->terminating) {
    /* the main process died and left others behind: report now for a fast restart, end the rest */
    g_message ("%s: ending %u processes its main process left behind",
               record->instance ? tend_instance_get_name (record->instance) : record->tag, members->len);
    report_exit (record);
    record_terminate (record);
  }
  if (record->poll_timer == 0)
    record->poll_timer = g_timeout_add (TREE_POLL_MS, poll_timer_cb, record);
}

static void
sweep_after_exit_cb (gpointer user_data)
{
  Record *record = user_data;

  record->poll_timer = 0;
  record_check (record);
}

static void
main_exited_cb (GPid pid, int wait_status, gpointer user_data)
{
  Record *record = user_data;

  g_spawn_close_pid (pid);
  record->main_exited = TRUE;
  record->wait_status = wait_status;
  if (record->terminating) {
    record_check (record);
    return;
  }
  /* A crash: report first, so a restart is not delayed by looking through /proc (which grows with
   * every process on the host); what the old process left behind is found and ended just after. */
  report_exit (record);
  record->poll_timer = g_idle_add_once (sweep_after_exit_cb, record);
}

static gboolean
backend_spawn (TendProcessBackend *backend, TendInstance *instance, GError **error)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (backend);
  TendServiceConfig *config = tend_instance_get_config (instance);
  Record *record;
  pid_t pid;
  int out_fd = -1, err_fd = -1;

  if (g_hash_table_contains (self->by_instance, instance)) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_BUSY, "already running");
    return FALSE;
  }
  if (self->stop_task != NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_BUSY, "the process backend is stopping");
    return FALSE;
  }
  if (!tend_process_spawn (instance, &pid, &out_fd, &err_fd, error))
    return FALSE;

  record = g_new0 (Record, 1);
  record->plugin = self;
  record->instance = g_object_ref (instance);
  record->pid = pid;
  record->pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  record->tag = g_strdup (tend_instance_get_tag (instance));
  record->kill_signal = config->kill_signal;
  record->kill_timeout_ms = config->kill_timeout_ms;
  g_ptr_array_add (self->records, record);
  g_hash_table_insert (self->by_instance, instance, record);
  g_child_watch_add_full (G_PRIORITY_HIGH, pid, main_exited_cb, record, NULL);

  tend_instance_attach_output (instance, out_fd, err_fd);
  tend_instance_process_started (instance, pid);
  return TRUE;
}

static gboolean
backend_send_signal (TendProcessBackend *backend, TendInstance *instance, int signum, GError **error)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (backend);
  Record *record = g_hash_table_lookup (self->by_instance, instance);
  int rc;

  if (record == NULL || record->main_exited) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_NOT_FOUND, "%s is not running", tend_instance_get_name (instance));
    return FALSE;
  }
  /* the pidfd cannot hit a recycled pid */
  rc = record->pidfd >= 0 ? (int) syscall (SYS_pidfd_send_signal, record->pidfd, signum, NULL, 0)
                          : kill (record->pid, signum);
  if (rc < 0) {
    int saved = errno;
    g_set_error (error, TEND_ERROR, TEND_ERROR_FAILED, "cannot signal %s: %s", tend_instance_get_name (instance),
                 g_strerror (saved));
    return FALSE;
  }
  return TRUE;
}

static void
backend_terminate (TendProcessBackend *backend, TendInstance *instance)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (backend);
  Record *record = g_hash_table_lookup (self->by_instance, instance);

  if (record == NULL)
    return;
  record_terminate (record);
}

static void
tend_process_plugin_backend_init (TendProcessBackendInterface *iface)
{
  iface->spawn = backend_spawn;
  iface->send_signal = backend_send_signal;
  iface->terminate = backend_terminate;
}

static gboolean
plugin_setup (TendPlugin *plugin, TendContext *context, TendPluginConfig *config, GError **error)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (plugin);

  self->context = g_object_ref (context);
  return TRUE;
}

static gboolean
plugin_start (TendPlugin *plugin, GError **error)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (plugin);
  guint ended = tend_process_tree_kill_leftovers (tend_context_get_home_tag (self->context), 2000);

  if (ended > 0)
    g_message ("ended %u processes left by a previous tendd of this home, so they are not duplicated", ended);
  tend_context_set_process_backend (self->context, TEND_PROCESS_BACKEND (self));
  self->reaper_timer = g_timeout_add_seconds (REAPER_INTERVAL_S, reaper_timer_cb, self);
  return TRUE;
}

static void
plugin_stop_async (TendPlugin *plugin, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (plugin);
  g_autoptr(GPtrArray) records = g_ptr_array_copy (self->records, NULL, NULL);

  self->stop_task = g_task_new (self, cancellable, callback, user_data);
  tend_context_set_process_backend (self->context, NULL);
  g_clear_handle_id (&self->reaper_timer, g_source_remove);
  /* normally nothing runs by now (the core stopped every service); if the plugin is disabled, end what is left */
  for (guint i = 0; i < records->len; i++)
    record_terminate (g_ptr_array_index (records, i));
  maybe_finish_stop (self);
}

static gboolean
plugin_stop_finish (TendPlugin *plugin, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
plugin_add_status (TendPlugin *plugin, GVariantDict *status)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (plugin);

  g_variant_dict_insert (status, "processes", "u", g_hash_table_size (self->by_instance));
  g_variant_dict_insert (status, "reaped-orphans-watched", "u", g_hash_table_size (self->watched));
}

static void
tend_process_plugin_plugin_init (TendPluginInterface *iface)
{
  iface->setup = plugin_setup;
  iface->start = plugin_start;
  iface->stop_async = plugin_stop_async;
  iface->stop_finish = plugin_stop_finish;
  iface->add_status = plugin_add_status;
}

static void
tend_process_plugin_finalize (GObject *object)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (object);
  GHashTableIter iter;
  gpointer id;

  g_clear_handle_id (&self->reaper_timer, g_source_remove);
  g_hash_table_iter_init (&iter, self->watched);
  while (g_hash_table_iter_next (&iter, NULL, &id))
    g_source_remove (GPOINTER_TO_UINT (id));
  g_hash_table_unref (self->watched);
  g_hash_table_unref (self->by_instance);
  g_ptr_array_unref (self->records);
  g_clear_object (&self->context);
  G_OBJECT_CLASS (tend_process_plugin_parent_class)->finalize (object);
}

static void
tend_process_plugin_class_init (TendProcessPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tend_process_plugin_finalize;
}

static void
tend_process_plugin_init (TendProcessPlugin *self)
{
  self->by_instance = g_hash_table_new (NULL, NULL);
  self->records = g_ptr_array_new ();
  self->watched = g_hash_table_new (NULL, NULL);
}

static const TendConfigKey process_keys[] = {
  { NULL },
};

static const TendPluginInfo process_info = {
  .abi_version = TEND_PLUGIN_ABI_VERSION,
  .name = "process",
  .description = N_("Spawns, signals and reaps the services' processes"),
  .get_type = tend_process_plugin_get_type,
  .keys = process_keys,
  .enabled_by_default = TRUE,
};

TEND_PLUGIN_EXPORT const TendPluginInfo *tend_plugin_query (void);

TEND_PLUGIN_EXPORT const TendPluginInfo *
tend_plugin_query (void)
{
  return &process_info;
}
