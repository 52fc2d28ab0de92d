/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-context.h"
#include "tend-error.h"
#include "tend-parse.h"
#include "tend-plugin.h"
#include "tend-process-backend.h"
#include "tend-process-cgroup.h"
#include "tend-process-spawn.h"
#include "tend-proc.h"
#include "tend-process-tree.h"
#include "tend-service-manager.h"
#include "tend-service.h"
#include "tend-handover.h"
#include "tend-spawn.h"

/* How often a tree whose main process is gone is looked at until it is empty. */
#define TREE_POLL_MS 20
/* After SIGKILL a tree gets this long to vanish before we stop waiting for it. */
#define AFTER_KILL_GRACE_MS 5000
/* A background look for orphans to reap that no event told us about. */
#define REAPER_INTERVAL_S 30
/* Without cgroups: how often the trees of running services are looked at, so a descendant is
 * remembered as theirs before its parent dies and it comes back to us with nothing to tell. */
#define LEARN_INTERVAL_S 2
/* At shutdown, what was re-parented to us and belongs to no run gets this long after SIGTERM. */
#define SWEEP_KILL_MS 1600

#define TEND_TYPE_PROCESS_PLUGIN (tend_process_plugin_get_type ())
G_DECLARE_FINAL_TYPE (TendProcessPlugin, tend_process_plugin, TEND, PROCESS_PLUGIN, GObject)

/* One spawned process and, after it exits, what is left of its tree. */
typedef struct {
  TendProcessPlugin *plugin;
  TendInstance *instance; /* ref; NULL once the exit was reported */
  pid_t pid;
  int pidfd;
  char *tag;
  char *cgroup;       /* the run's group, NULL without cgroups */
  GHashTable *known;  /* without cgroups: pid → start time of members seen before */
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
  guint learn_timer;
  gboolean use_cgroups;      /* [plugin:process] cgroups */
  TendProcessCgroup *cgroup; /* our subtree, NULL when not usable */
  gboolean cgroup_failed;    /* a child could not join its group: warned once */
  GTask *stop_task;
  /* the last step of stopping: orphans of ours that no run claimed */
  gboolean swept;
  gboolean sweep_killed;
  gint64 sweep_kill_at;
  gint64 sweep_give_up_at;
  guint sweep_timer;
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
  if (record->cgroup != NULL && !tend_process_cgroup_remove (record->cgroup))
    g_debug ("cannot remove %s yet: %s", record->cgroup, g_strerror (errno));
  g_clear_object (&record->instance);
  g_clear_pointer (&record->known, g_hash_table_unref);
  g_free (record->cgroup);
  g_free (record->tag);
  g_free (record);
}

static void sweep_start (TendProcessPlugin *self);

static void
maybe_finish_stop (TendProcessPlugin *self)
{
  if (self->stop_task == NULL || self->records->len > 0)
    return;
  if (!self->swept) {
    sweep_start (self);
    return;
  }
  {
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
        tend_context_is_claimed_child (self->context, pid))
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

/* Without cgroups: one look at /proc for every running tree, so each remembers its members. */
static gboolean
learn_timer_cb (gpointer user_data)
{
  TendProcessPlugin *self = user_data;
  g_autoptr(GArray) procs = NULL;

  for (guint i = 0; i < self->records->len; i++) {
    Record *record = g_ptr_array_index (self->records, i);
    g_autoptr(GArray) members = NULL;

    if (record->known == NULL || record->main_exited)
      continue;
    if (procs == NULL)
      procs = tend_proc_list_all ();
    members = tend_process_tree_members (procs, record->pid, record->tag, record->known);
  }
  /* nothing to learn about: no wake-ups until a service runs without a cgroup again */
  if (procs == NULL) {
    self->learn_timer = 0;
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* ---- the last step of stopping ---- */

/* What is left once every run is gone: children of ours (orphans re-parented to us, the subreaper)
 * that no one claimed, with their descendants, and whatever is still in our cgroup subtree. Only
 * a service's descendants can have come back to us, so all of it is the services' own. */
static GArray *
sweep_targets (TendProcessPlugin *self)
{
  g_autoptr(GArray) children = tend_process_tree_list_our_children ();
  g_autoptr(GArray) roots = g_array_new (FALSE, FALSE, sizeof (pid_t));
  GArray *targets;

  for (guint i = 0; i < children->len; i++) {
    pid_t pid = g_array_index (children, pid_t, i);
    TendProcInfo info;
    if (tend_context_is_claimed_child (self->context, pid) || is_main_pid (self, pid) || !tend_proc_read_stat (pid, &info) ||
        info.state == 'Z')
      continue;
    g_array_append_val (roots, pid);
  }
  targets = tend_process_tree_with_descendants (roots);
  if (self->cgroup != NULL) {
    g_autoptr(GArray) in_groups = tend_proc_list_cgroup (tend_process_cgroup_get_path (self->cgroup));
    g_array_append_vals (targets, in_groups->data, in_groups->len);
  }
  return targets;
}

static void
sweep_done (TendProcessPlugin *self)
{
  g_clear_handle_id (&self->sweep_timer, g_source_remove);
  self->swept = TRUE;
  /* nothing runs in it any more: our subtree goes too */
  g_clear_pointer (&self->cgroup, tend_process_cgroup_free);
  maybe_finish_stop (self);
}

static gboolean
sweep_poll_cb (gpointer user_data)
{
  TendProcessPlugin *self = user_data;
  g_autoptr(GArray) targets = NULL;
  gint64 now = g_get_monotonic_time ();

  reap_orphans (self);
  targets = sweep_targets (self);
  if (targets->len == 0) {
    self->sweep_timer = 0;
    sweep_done (self);
    return G_SOURCE_REMOVE;
  }
  if (now > self->sweep_give_up_at) {
    g_warning (_("%u processes left by services did not die after SIGKILL; giving up on them"), targets->len);
    self->sweep_timer = 0;
    sweep_done (self);
    return G_SOURCE_REMOVE;
  }
  if (!self->sweep_killed && now > self->sweep_kill_at) {
    self->sweep_killed = TRUE;
    tend_process_tree_signal (0, targets, SIGKILL);
    if (self->cgroup != NULL)
      tend_process_cgroup_signal (tend_process_cgroup_get_path (self->cgroup), SIGKILL);
  }
  return G_SOURCE_CONTINUE;
}

static void
sweep_start (TendProcessPlugin *self)
{
  g_autoptr(GArray) targets = NULL;

  if (self->sweep_timer != 0)
    return;
  targets = sweep_targets (self);
  if (targets->len == 0) {
    sweep_done (self);
    return;
  }
  g_message (_("ending %u processes that services left behind and no service's tree accounts for"), targets->len);
  for (guint i = 0; i < targets->len; i++)
    g_debug ("ending left-behind process %d", (int) g_array_index (targets, pid_t, i));
  tend_process_tree_signal (0, targets, SIGTERM);
  self->sweep_kill_at = g_get_monotonic_time () + SWEEP_KILL_MS * 1000;
  self->sweep_give_up_at = self->sweep_kill_at + AFTER_KILL_GRACE_MS * 1000;
  self->sweep_timer = g_timeout_add (TREE_POLL_MS, sweep_poll_cb, self);
}

static GArray *
record_members (Record *record)
{
  return tend_process_tree_find (record->pid, record->tag, record->cgroup, record->known);
}

static void
kill_timeout_cb (gpointer user_data)
{
  Record *record = user_data;
  g_autoptr(GArray) members = record_members (record);

  record->kill_timer = 0;
  record->killed = TRUE;
  record->give_up_at = g_get_monotonic_time () + AFTER_KILL_GRACE_MS * 1000;
  g_message ("%s: still running after kill-timeout %" G_GUINT64_FORMAT " ms, sending SIGKILL to its process group",
             record->instance ? tend_instance_get_name (record->instance) : record->tag, record->kill_timeout_ms);
  tend_process_tree_signal (record->pid, members, SIGKILL);
  if (record->cgroup != NULL)
    tend_process_cgroup_signal (record->cgroup, SIGKILL);
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
  members = record_members (record);
  tend_process_tree_signal (record->pid, members, record->kill_signal);
  if (!record->main_exited && record->pidfd >= 0)
    pidfd_send_signal (record->pidfd, record->kill_signal, NULL, 0);
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
  members = record_members (record);
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

/* The run's group, or NULL: then the tree is found by session, tag and memory, as without cgroups. */
static char *
make_run_cgroup (TendProcessPlugin *self, TendInstance *instance)
{
  g_autoptr(GError) error = NULL;
  char *dir;

  if (self->cgroup == NULL)
    return NULL;
  dir = tend_process_cgroup_make_run (self->cgroup, tend_instance_get_name (instance),
                                      tend_instance_get_index (instance), &error);
  if (dir == NULL)
    g_warning (_("%s: no cgroup for this run, its process tree is tracked by session and tag: %s"),
               tend_instance_get_name (instance), error->message);
  return dir;
}

static gboolean
backend_spawn (TendProcessBackend *backend, TendInstance *instance, GError **error)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (backend);
  TendServiceConfig *config = tend_instance_get_config (instance);
  g_autofree char *cgroup = NULL;
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
  cgroup = make_run_cgroup (self, instance);
  record = g_new0 (Record, 1);
  record->plugin = self;
  record->pidfd = -1;
  if (!tend_process_spawn (instance, cgroup, self->context, main_exited_cb, record, &pid, &out_fd, &err_fd, error)) {
    if (cgroup != NULL)
      tend_process_cgroup_remove (cgroup);
    g_free (record);
    return FALSE;
  }
  /* the child joined its group before exec, or could not: then it is tracked the other way */
  if (cgroup != NULL && !tend_process_cgroup_holds (cgroup, pid)) {
    if (!self->cgroup_failed)
      g_warning (_("%s: the process did not join its cgroup %s; tracking its tree by session and tag"),
                 tend_instance_get_name (instance), cgroup);
    self->cgroup_failed = TRUE;
    tend_process_cgroup_remove (cgroup);
    g_clear_pointer (&cgroup, g_free);
  }

  record->instance = g_object_ref (instance);
  record->pid = pid;
  record->pidfd = pidfd_open (pid, 0);
  record->tag = g_strdup (tend_instance_get_tag (instance));
  record->cgroup = g_steal_pointer (&cgroup);
  if (record->cgroup == NULL) {
    record->known = g_hash_table_new_full (NULL, NULL, NULL, g_free);
    if (self->learn_timer == 0)
      self->learn_timer = g_timeout_add_seconds (LEARN_INTERVAL_S, learn_timer_cb, self);
  }
  record->kill_signal = config->kill_signal;
  record->kill_timeout_ms = config->kill_timeout_ms;
  g_ptr_array_add (self->records, record);
  g_hash_table_insert (self->by_instance, instance, record);

  tend_instance_set_cgroup (instance, record->cgroup);
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
  rc = record->pidfd >= 0 ? pidfd_send_signal (record->pidfd, signum, NULL, 0) : kill (record->pid, signum);
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

/* ---- tend update: the processes stay; the next tendd's plugin adopts them ---- */

#define HANDOVER_KEY "process"

static void
save_handover_cb (TendContext *context, TendHandover *handover, gpointer user_data)
{
  TendProcessPlugin *self = user_data;
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < self->records->len; i++) {
    Record *record = g_ptr_array_index (self->records, i);
    GVariantDict dict;

    /* a run whose exit was reported is only a tree being swept: the orphan reaper takes the rest */
    if (record->instance == NULL || record->main_exited)
      continue;
    g_variant_dict_init (&dict, NULL);
    g_variant_dict_insert (&dict, "instance-id", "u", tend_instance_get_id (record->instance));
    g_variant_dict_insert (&dict, "pid", "i", (gint32) record->pid);
    g_variant_dict_insert (&dict, "tag", "s", record->tag);
    if (record->cgroup != NULL)
      g_variant_dict_insert (&dict, "cgroup", "s", record->cgroup);
    g_variant_dict_insert (&dict, "kill-signal", "i", (gint32) record->kill_signal);
    g_variant_dict_insert (&dict, "kill-timeout-ms", "t", record->kill_timeout_ms);
    g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
  }
  tend_handover_set_value (handover, HANDOVER_KEY, g_variant_builder_end (&builder));
  if (self->cgroup != NULL)
    tend_handover_set_value (handover, HANDOVER_KEY "-cgroup-runs",
                             g_variant_new_uint64 (tend_process_cgroup_get_runs (self->cgroup)));
}

static TendInstance *
find_instance (TendProcessPlugin *self, guint id)
{
  GListModel *services = G_LIST_MODEL (tend_context_get_manager (self->context));
  guint n = g_list_model_get_n_items (services);

  for (guint i = 0; i < n; i++) {
    g_autoptr(TendService) service = g_list_model_get_item (services, i);
    GPtrArray *instances = tend_service_get_instances (service);
    for (guint j = 0; j < instances->len; j++) {
      TendInstance *instance = g_ptr_array_index (instances, j);
      if (tend_instance_get_id (instance) == id)
        return instance;
    }
  }
  return NULL;
}

/* Each run of the tendd before the exec: still our child (same process), so its child watch reaps it;
 * one that exited during the exec is a zombie until then, and its exit is reported as any other. */
static void
adopt_runs (TendProcessPlugin *self, GVariant *runs)
{
  GVariantIter iter;
  GVariant *next;
  guint adopted = 0;

  g_variant_iter_init (&iter, runs);
  while ((next = g_variant_iter_next_value (&iter)) != NULL) {
    g_autoptr(GVariant) run = next;
    GVariantDict dict;
    guint32 id = 0;
    gint32 pid = 0, kill_signal = SIGTERM;
    const char *tag = NULL, *cgroup = NULL;
    TendInstance *instance;
    Record *record;

    g_variant_dict_init (&dict, run);
    g_variant_dict_lookup (&dict, "instance-id", "u", &id);
    g_variant_dict_lookup (&dict, "pid", "i", &pid);
    g_variant_dict_lookup (&dict, "tag", "&s", &tag);
    g_variant_dict_lookup (&dict, "cgroup", "&s", &cgroup);
    g_variant_dict_lookup (&dict, "kill-signal", "i", &kill_signal);
    instance = find_instance (self, id);
    if (instance == NULL || pid <= 0 || tend_instance_get_pid (instance) != pid) {
      g_warning (_("update: the run of pid %d belongs to no service any more; it is left to the orphan reaper"), pid);
      g_variant_dict_clear (&dict);
      continue;
    }
    record = g_new0 (Record, 1);
    record->plugin = self;
    record->instance = g_object_ref (instance);
    record->pid = pid;
    record->pidfd = pidfd_open (pid, 0);
    record->tag = g_strdup (tag != NULL ? tag : tend_instance_get_tag (instance));
    record->cgroup = g_strdup (cgroup);
    record->kill_signal = kill_signal;
    g_variant_dict_lookup (&dict, "kill-timeout-ms", "t", &record->kill_timeout_ms);
    g_variant_dict_clear (&dict);
    if (record->cgroup == NULL) {
      record->known = g_hash_table_new_full (NULL, NULL, NULL, g_free);
      if (self->learn_timer == 0)
        self->learn_timer = g_timeout_add_seconds (LEARN_INTERVAL_S, learn_timer_cb, self);
    }
    g_ptr_array_add (self->records, record);
    g_hash_table_insert (self->by_instance, instance, record);
    g_source_unref (tend_spawn_watch_child (self->context, pid, main_exited_cb, record, G_PRIORITY_HIGH, NULL));
    adopted++;
  }
  g_message (_("update: adopted %u running processes"), adopted);
}

static gboolean
plugin_setup (TendPlugin *plugin, TendContext *context, TendPluginConfig *config, GError **error)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (plugin);

  self->context = g_object_ref (context);
  self->use_cgroups = tend_plugin_config_get_bool (config, "cgroups");
  g_signal_connect (context, "save-handover", G_CALLBACK (save_handover_cb), self);
  return TRUE;
}

static void
start_tracking (TendProcessPlugin *self)
{
  g_autoptr(GError) error = NULL;

  if (self->use_cgroups)
    self->cgroup = tend_process_cgroup_new (tend_context_get_home_tag (self->context), &error);
  if (self->cgroup != NULL) {
    g_message (_("process trees are tracked by cgroup, in %s"), tend_process_cgroup_get_path (self->cgroup));
    return;
  }
  g_message (_("process trees are tracked by session, environment tag and ancestry (no cgroup: %s); a descendant "
               "that leaves its session and clears its environment at once can outlive its service's stop"),
             error != NULL ? error->message : _("cgroups=false"));
}

static gboolean
plugin_start (TendPlugin *plugin, GError **error)
{
  TendProcessPlugin *self = TEND_PROCESS_PLUGIN (plugin);
  g_autoptr(GVariant) runs = tend_context_lookup_handover_value (self->context, HANDOVER_KEY);
  guint ended = 0;

  start_tracking (self);
  if (runs != NULL) {
    g_autoptr(GVariant) cgroup_runs = tend_context_lookup_handover_value (self->context, HANDOVER_KEY "-cgroup-runs");
    /* tend update: what runs is ours, not a previous tendd's leftovers */
    if (self->cgroup != NULL && cgroup_runs != NULL && g_variant_is_of_type (cgroup_runs, G_VARIANT_TYPE_UINT64))
      tend_process_cgroup_set_runs (self->cgroup, g_variant_get_uint64 (cgroup_runs));
    adopt_runs (self, runs);
    reap_orphans (self);
  } else {
    if (self->cgroup != NULL)
      ended += tend_process_cgroup_end_leftovers (self->cgroup, 2000);
    ended += tend_process_tree_kill_leftovers (tend_context_get_home_tag (self->context), 2000);
  }
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
  self->swept = FALSE;
  self->sweep_killed = FALSE;
  tend_context_set_process_backend (self->context, NULL);
  g_signal_handlers_disconnect_by_data (self->context, self);
  g_clear_handle_id (&self->reaper_timer, g_source_remove);
  g_clear_handle_id (&self->learn_timer, g_source_remove);
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
  g_variant_dict_insert (status, "cgroup", "s",
                         self->cgroup != NULL ? tend_process_cgroup_get_path (self->cgroup) : "");
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
  g_clear_handle_id (&self->learn_timer, g_source_remove);
  g_clear_handle_id (&self->sweep_timer, g_source_remove);
  g_clear_pointer (&self->cgroup, tend_process_cgroup_free);
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
  { "cgroups", TEND_CONFIG_KEY_BOOL, "true", NULL,
    N_("Run each service in a cgroup of its own when the cgroup v2 hierarchy is writable, so its process tree is "
       "exact") },
  { NULL },
};

TEND_DEFINE_PLUGIN ("process",
                    tend_process_plugin,
                    N_("Spawns, signals and reaps the services' processes"),
                    process_keys,
                    .enabled_by_default = TRUE,
                    .flags = TEND_PLUGIN_FLAG_PROCESS_BACKEND)
