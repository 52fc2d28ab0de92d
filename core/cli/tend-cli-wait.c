/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tend-cli.h"

/*
 * The wait wakes on the manager's ServiceStateChanged, InstanceStateChanged
 * and ServiceRemoved signals, and once at its deadline: it never looks on a timer.
 */

/* One instance as ListServices reports it (only what waiting needs). */
typedef struct {
  char *name;
  guint index;
  int pid;
  char *state;
  char *status_message;
  gboolean wants_running;
  gint64 start_time; /* µs since the epoch, 0 when not running */
  guint restarts;
  guint exits;        /* its processes that ended on their own, ever */
  char *last_exit;    /* "exited with code 3", "" */
  int last_exit_code; /* -1: never exited, or killed by a signal */
  guint64 min_uptime_ms;
  gboolean ready_rule;
} Instance;

static void
instance_free (gpointer data)
{
  Instance *inst = data;

  g_free (inst->name);
  g_free (inst->state);
  g_free (inst->status_message);
  g_free (inst->last_exit);
  g_free (inst);
}

static GPtrArray *
parse_instances (GVariant *list)
{
  GPtrArray *instances = g_ptr_array_new_with_free_func (instance_free);
  gsize n = list != NULL ? g_variant_n_children (list) : 0;

  for (gsize i = 0; i < n; i++) {
    g_autoptr(GVariant) dict = g_variant_get_child_value (list, i);
    Instance *inst = g_new0 (Instance, 1);

    if (!g_variant_lookup (dict, "name", "s", &inst->name))
      inst->name = g_strdup ("");
    if (!g_variant_lookup (dict, "state", "s", &inst->state))
      inst->state = g_strdup ("");
    if (!g_variant_lookup (dict, "status-message", "s", &inst->status_message))
      inst->status_message = g_strdup ("");
    g_variant_lookup (dict, "index", "u", &inst->index);
    g_variant_lookup (dict, "pid", "i", &inst->pid);
    g_variant_lookup (dict, "wants-running", "b", &inst->wants_running);
    g_variant_lookup (dict, "start-time", "x", &inst->start_time);
    g_variant_lookup (dict, "restarts", "u", &inst->restarts);
    /* a daemon older than the client has none of these: it is judged as before, by its state */
    g_variant_lookup (dict, "exits", "u", &inst->exits);
    if (!g_variant_lookup (dict, "last-exit", "s", &inst->last_exit))
      inst->last_exit = g_strdup ("");
    inst->last_exit_code = -1;
    g_variant_lookup (dict, "last-exit-code", "i", &inst->last_exit_code);
    g_variant_lookup (dict, "min-uptime-ms", "t", &inst->min_uptime_ms);
    g_variant_lookup (dict, "ready-rule", "b", &inst->ready_rule);
    g_ptr_array_add (instances, inst);
  }
  return instances;
}

static const Instance *
find_instance (GPtrArray *instances, const char *name, guint index)
{
  for (guint i = 0; instances != NULL && i < instances->len; i++) {
    const Instance *inst = g_ptr_array_index (instances, i);
    if (inst->index == index && strcmp (inst->name, name) == 0)
      return inst;
  }
  return NULL;
}

/* The services to watch, in the daemon's order, each once. */
static GPtrArray *
select_names (const char *const *names, GPtrArray *instances, TendCliWaitGoal goal)
{
  GPtrArray *selected = g_ptr_array_new_with_free_func (g_free);

  if (names != NULL) {
    for (guint i = 0; names[i] != NULL; i++) {
      if (!g_ptr_array_find_with_equal_func (selected, names[i], g_str_equal, NULL))
        g_ptr_array_add (selected, g_strdup (names[i]));
    }
    return selected;
  }
  for (guint i = 0; i < instances->len; i++) {
    const Instance *inst = g_ptr_array_index (instances, i);
    /* "start all" leaves services with start=false alone: they are not waited for */
    if (goal == TEND_CLI_WAIT_RUNNING && !inst->wants_running)
      continue;
    if (!g_ptr_array_find_with_equal_func (selected, inst->name, g_str_equal, NULL))
      g_ptr_array_add (selected, g_strdup (inst->name));
  }
  return selected;
}

typedef enum {
  OUTCOME_PENDING,
  OUTCOME_GOOD,
  OUTCOME_BAD,
} Outcome;

/* What the wait knows between two looks at ListServices. */
typedef struct {
  GPtrArray *watched;   /* NULL until the first answer: then every service counts */
  gboolean dirty;       /* a signal (or a timer) said "look again" */
  GHashTable *held;     /* "NAME/INDEX" of instances that stayed up their min-uptime: settled for good */
  gint64 wake_at;       /* real time (µs) an instance will have been up its min-uptime; 0: none */
  guint64 longest_uptime_ms; /* the longest min-uptime to wait for, added to the deadline */
} Watch;

static char *
instance_key (const Instance *inst)
{
  return g_strdup_printf ("%s/%u", inst->name, inst->index);
}

static void
wake_at (Watch *watch, gint64 when)
{
  if (watch->wake_at == 0 || when < watch->wake_at)
    watch->wake_at = when;
}

/*
 * Start, restart, resurrect: an instance is good once it has been up its
 * min-uptime (or is ready, with a ready rule), bad as soon as one of its
 * processes ended on its own since the command (the daemon counts those in
 * "exits"), or when it errored or stopped while it should run.
 */
static Outcome
running_outcome (const Instance *inst, GPtrArray *before, TendCliWaitFlags flags, Watch *watch, gint64 now)
{
  const Instance *old = find_instance (before, inst->name, inst->index);
  g_autofree char *key = instance_key (inst);
  const char *state = inst->state;

  if (g_hash_table_contains (watch->held, key))
    return OUTCOME_GOOD;
  if (g_str_equal (state, "errored"))
    return OUTCOME_BAD;
  /* a program that exited on purpose (autorestart=false or on-failure, a clean exit) no longer wants to run */
  if (g_str_equal (state, "stopped"))
    return inst->wants_running ? OUTCOME_BAD : OUTCOME_GOOD;
  if (inst->exits > (old != NULL ? old->exits : 0))
    return OUTCOME_BAD;
  if (!g_str_equal (state, "online"))
    return OUTCOME_PENDING;
  /* still the process from before the restart */
  if ((flags & TEND_CLI_WAIT_FLAG_NEW_PROCESS) && old != NULL && old->pid > 0 && old->pid == inst->pid)
    return OUTCOME_PENDING;
  if (!inst->ready_rule && inst->start_time > 0) {
    gint64 held_at = inst->start_time + (gint64) inst->min_uptime_ms * 1000;
    if (now < held_at) {
      wake_at (watch, held_at);
      return OUTCOME_PENDING;
    }
  }
  g_hash_table_add (watch->held, g_steal_pointer (&key));
  return OUTCOME_GOOD;
}

static Outcome
instance_outcome (const Instance *inst, TendCliWaitGoal goal, GPtrArray *before, TendCliWaitFlags flags,
                  Watch *watch, gint64 now)
{
  const char *state = inst->state;

  if (goal == TEND_CLI_WAIT_STOPPED)
    return g_str_equal (state, "stopped") || g_str_equal (state, "errored") ? OUTCOME_GOOD : OUTCOME_PENDING;
  return running_outcome (inst, before, flags, watch, now);
}

static char *
state_with_reason (const Instance *inst)
{
  if (inst->status_message[0] == '\0')
    return g_strdup (inst->state);
  return g_strdup_printf ("%s: %s", inst->state, inst->status_message);
}

/* One service's verdict, for the text lines and the JSON document alike. */
typedef struct {
  char *name;
  Outcome outcome;
  gboolean timed_out;
  const Instance *shown; /* the instance the verdict is about (the first bad one), NULL when none is listed */
  GArray *pids;          /* int, of the online instances */
  guint exits;           /* processes that ended on their own since the command, all instances */
  char *line;            /* without the "tend: " of stderr */
} Verdict;

static void
verdict_free (gpointer data)
{
  Verdict *v = data;

  g_free (v->name);
  g_free (v->line);
  g_array_unref (v->pids);
  g_free (v);
}

static void
describe_bad (Verdict *v, const Instance *inst, const Instance *old)
{
  if (inst->exits > (old != NULL ? old->exits : 0) && !g_str_equal (inst->state, "errored")) {
    /* the state says what the daemon does about it now (waiting-restart, online again, stopped) */
    v->line = g_strdup_printf (_("%s: failed: %s (now %s); see: tend logs %s"), v->name,
                               inst->last_exit[0] != '\0' ? inst->last_exit : _("exited"), inst->state, v->name);
    return;
  }
  {
    g_autofree char *how = state_with_reason (inst);
    v->line = g_strdup_printf (_("%s: %s; see: tend logs %s"), v->name, how, v->name);
  }
}

static Verdict *
service_verdict (const char *name,
                 GPtrArray *instances,
                 TendCliWaitGoal goal,
                 GPtrArray *before,
                 TendCliWaitFlags flags,
                 Watch *watch,
                 gint64 now,
                 const char **out_pending_state)
{
  Verdict *v = g_new0 (Verdict, 1);
  g_autoptr(GString) pids = g_string_new (NULL);
  const Instance *first_bad = NULL;
  const Instance *first_pending = NULL;
  const Instance *first_other = NULL;
  guint n = 0;

  v->name = g_strdup (name);
  v->pids = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 0; i < instances->len; i++) {
    const Instance *inst = g_ptr_array_index (instances, i);
    const Instance *old;
    Outcome outcome;

    if (strcmp (inst->name, name) != 0)
      continue;
    n++;
    if (v->shown == NULL)
      v->shown = inst;
    old = find_instance (before, inst->name, inst->index);
    if (inst->exits > (old != NULL ? old->exits : 0))
      v->exits += inst->exits - (old != NULL ? old->exits : 0);
    if (goal == TEND_CLI_WAIT_GONE) {
      *out_pending_state = inst->state;
      v->outcome = OUTCOME_PENDING;
      return v;
    }
    outcome = instance_outcome (inst, goal, before, flags, watch, now);
    if (outcome == OUTCOME_BAD && first_bad == NULL)
      first_bad = inst;
    if (outcome == OUTCOME_PENDING && first_pending == NULL)
      first_pending = inst;
    if (g_str_equal (inst->state, "online")) {
      g_array_append_val (v->pids, inst->pid);
      g_string_append_printf (pids, "%s%d", pids->len > 0 ? ", " : "", inst->pid);
    } else if (first_other == NULL) {
      first_other = inst;
    }
  }

  /* one bad instance decides: there is no need to wait for the others */
  if (first_bad != NULL) {
    v->outcome = OUTCOME_BAD;
    v->shown = first_bad;
    describe_bad (v, first_bad, find_instance (before, first_bad->name, first_bad->index));
    return v;
  }
  if (first_pending != NULL) {
    v->outcome = OUTCOME_PENDING;
    v->shown = first_pending;
    *out_pending_state = first_pending->state;
    return v;
  }
  v->outcome = OUTCOME_GOOD;
  if (goal == TEND_CLI_WAIT_GONE) {
    v->line = g_strdup_printf (_("%s: deleted"), name);
    return v;
  }
  if (n == 0) {
    if (goal == TEND_CLI_WAIT_STOPPED) {
      v->line = g_strdup_printf (_("%s: deleted"), name);
      return v;
    }
    v->outcome = OUTCOME_BAD;
    v->line = g_strdup_printf (_("%s: no longer exists"), name);
    return v;
  }
  if (first_other != NULL) {
    /* after a stop, "stopped" says it all; after a start, why it stopped matters */
    g_autofree char *how = goal == TEND_CLI_WAIT_STOPPED ? g_strdup (first_other->state)
                                                         : state_with_reason (first_other);
    v->shown = first_other;
    v->line = g_strdup_printf ("%s: %s", name, how);
    return v;
  }
  if (v->pids->len == 1)
    v->line = g_strdup_printf (_("%s: %s (pid %s)"), name, "online", pids->str);
  else
    v->line = g_strdup_printf (_("%s: %s (pids %s)"), name, "online", pids->str);
  return v;
}

static void
service_state_changed_cb (TendDbusManager1 *manager, const char *name, const char *state, gpointer user_data)
{
  Watch *watch = user_data;

  if (watch->watched == NULL || g_ptr_array_find_with_equal_func (watch->watched, name, g_str_equal, NULL))
    watch->dirty = TRUE;
}

static void
instance_state_changed_cb (TendDbusManager1 *manager,
                           const char *name,
                           guint index,
                           const char *old_state,
                           const char *new_state,
                           int pid,
                           const char *reason,
                           gint64 time,
                           gpointer user_data)
{
  service_state_changed_cb (manager, name, new_state, user_data);
}

static void
service_removed_cb (TendDbusManager1 *manager, const char *name, gpointer user_data)
{
  service_state_changed_cb (manager, name, NULL, user_data);
}

static void
connection_closed_cb (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error, gpointer user_data)
{
  Watch *watch = user_data;

  /* the next ListServices fails, and says the daemon is gone */
  watch->dirty = TRUE;
}

static gboolean
look_again_cb (gpointer user_data)
{
  Watch *watch = user_data;

  watch->dirty = TRUE;
  return G_SOURCE_CONTINUE;
}

static const char *
verdict_result (const Verdict *v)
{
  if (v->outcome == OUTCOME_GOOD)
    return "ok";
  return v->timed_out ? "timeout" : "failed";
}

/* --json: one document, every service with its verdict; the exit status says the same. */
static void
print_json (GPtrArray *verdicts, int status)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "result");
  json_builder_add_string_value (b, status == TEND_CLI_EXIT_OK ? "ok" : "failed");
  json_builder_set_member_name (b, "services");
  json_builder_begin_array (b);
  for (guint i = 0; i < verdicts->len; i++) {
    const Verdict *v = g_ptr_array_index (verdicts, i);
    const Instance *inst = v->shown;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, v->name);
    json_builder_set_member_name (b, "result");
    json_builder_add_string_value (b, verdict_result (v));
    json_builder_set_member_name (b, "state");
    json_builder_add_string_value (b, inst != NULL ? inst->state : "");
    json_builder_set_member_name (b, "pids");
    json_builder_begin_array (b);
    for (guint j = 0; j < v->pids->len; j++)
      json_builder_add_int_value (b, g_array_index (v->pids, int, j));
    json_builder_end_array (b);
    json_builder_set_member_name (b, "restarts");
    json_builder_add_int_value (b, inst != NULL ? inst->restarts : 0);
    json_builder_set_member_name (b, "exits");
    json_builder_add_int_value (b, v->exits);
    json_builder_set_member_name (b, "last-exit");
    json_builder_add_string_value (b, inst != NULL ? inst->last_exit : "");
    json_builder_set_member_name (b, "exit-code");
    if (inst != NULL && inst->last_exit_code >= 0 && v->outcome != OUTCOME_GOOD)
      json_builder_add_int_value (b, inst->last_exit_code);
    else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "message");
    json_builder_add_string_value (b, v->line != NULL ? v->line : "");
    if (v->outcome != OUTCOME_GOOD) {
      g_autofree char *see = g_strdup_printf ("tend logs %s", v->name);
      json_builder_set_member_name (b, "see");
      json_builder_add_string_value (b, see);
    }
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  tend_cli_print_json (root);
}

void
tend_cli_print_no_services (TendCliWaitFlags flags, const char *text)
{
  if (flags & TEND_CLI_WAIT_FLAG_JSON) {
    g_autoptr(GPtrArray) none = g_ptr_array_new ();
    print_json (none, TEND_CLI_EXIT_OK);
    return;
  }
  g_print ("%s\n", text);
}

/*
 * One evaluation: ListServices now, and whether every watched service
 * settled. When it did, or @timed_out, the lines are printed and the exit
 * status returned; otherwise -1.
 */
static int
evaluate (TendCli *cli,
          const char *const *names,
          TendCliWaitGoal goal,
          GPtrArray *before_instances,
          TendCliWaitFlags flags,
          Watch *watch,
          gboolean timed_out,
          double timeout_s)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) list = tend_cli_list_services (cli, &error);
  g_autoptr(GPtrArray) instances = NULL;
  g_autoptr(GPtrArray) verdicts = g_ptr_array_new_with_free_func (verdict_free);
  g_autoptr(GString) pending = g_string_new (NULL);
  gint64 now = g_get_real_time ();
  gboolean first = watch->watched == NULL;
  int status = TEND_CLI_EXIT_OK;

  if (list == NULL)
    return tend_cli_report_error (error);
  instances = parse_instances (list);
  if (first) {
    watch->watched = select_names (names, instances, goal);
    if (watch->watched->len == 0) {
      tend_cli_print_no_services (flags, _("no services"));
      return TEND_CLI_EXIT_OK;
    }
    /* a service is given its min-uptime on top of --wait, however long that is */
    for (guint i = 0; goal == TEND_CLI_WAIT_RUNNING && i < instances->len; i++) {
      const Instance *inst = g_ptr_array_index (instances, i);
      if (!inst->ready_rule &&
          g_ptr_array_find_with_equal_func (watch->watched, inst->name, g_str_equal, NULL))
        watch->longest_uptime_ms = MAX (watch->longest_uptime_ms, inst->min_uptime_ms);
    }
    if (watch->longest_uptime_ms > 0)
      return -1;
  }

  watch->wake_at = 0;
  for (guint i = 0; i < watch->watched->len; i++) {
    const char *name = g_ptr_array_index (watch->watched, i);
    const char *pending_state = NULL;
    Verdict *v = service_verdict (name, instances, goal, before_instances, flags, watch, now, &pending_state);

    g_ptr_array_add (verdicts, v);
    if (v->outcome == OUTCOME_PENDING) {
      v->timed_out = TRUE;
      g_string_append_printf (pending, "%s%s (%s)", pending->len > 0 ? ", " : "", name, pending_state);
    }
  }
  if (pending->len > 0 && !timed_out)
    return -1;

  for (guint i = 0; i < verdicts->len; i++) {
    const Verdict *v = g_ptr_array_index (verdicts, i);

    if (v->outcome != OUTCOME_GOOD)
      status = TEND_CLI_EXIT_FAILED;
    if (flags & TEND_CLI_WAIT_FLAG_JSON)
      continue;
    if (v->outcome == OUTCOME_GOOD)
      g_print ("%s\n", v->line);
    else if (v->outcome == OUTCOME_BAD)
      g_printerr ("tend: %s\n", v->line);
  }
  if (flags & TEND_CLI_WAIT_FLAG_JSON)
    print_json (verdicts, status);
  else if (pending->len > 0)
    g_printerr (_("tend: timed out after %g s; still waiting for %s\n"),
                timeout_s + (double) watch->longest_uptime_ms / 1000.0, pending->str);
  return status;
}

int
tend_cli_wait (TendCli *cli,
               const char *const *names,
               TendCliWaitGoal goal,
               GVariant *before,
               TendCliWaitFlags flags,
               double timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  g_autoptr(GPtrArray) before_instances = before != NULL ? parse_instances (before) : NULL;
  Watch watch = { NULL, TRUE, g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), 0, 0 };
  gulong service_id, instance_id, removed_id, closed_id;
  guint wake_id = 0;
  gboolean extended = FALSE;
  int status;

  /*
   * The proxy subscribed to the manager's signals when it was made, before
   * the call that this waits for; what came since is queued in this thread's
   * main context and reaches these handlers at its first iteration. A
   * signal only says "look again": the answer of ListServices decides.
   */
  service_id = g_signal_connect (cli->manager, "service-state-changed", G_CALLBACK (service_state_changed_cb), &watch);
  instance_id = g_signal_connect (cli->manager, "instance-state-changed", G_CALLBACK (instance_state_changed_cb),
                                  &watch);
  removed_id = g_signal_connect (cli->manager, "service-removed", G_CALLBACK (service_removed_cb), &watch);
  closed_id = g_signal_connect (cli->connection, "closed", G_CALLBACK (connection_closed_cb), &watch);

  for (;;) {
    gint64 now, wake;

    if (!watch.dirty) {
      g_main_context_iteration (NULL, TRUE);
      continue;
    }
    watch.dirty = FALSE;
    status = evaluate (cli, names, goal, before_instances, flags, &watch, g_get_monotonic_time () >= deadline,
                       timeout_s);
    if (status >= 0)
      break;
    if (!extended && watch.watched != NULL) {
      extended = TRUE;
      deadline += (gint64) watch.longest_uptime_ms * 1000;
      if (watch.longest_uptime_ms > 0) {
        /* the first look only learnt how long to wait: look again at once */
        watch.dirty = TRUE;
        continue;
      }
    }
    /* no signal comes when an instance has been up its min-uptime, nor at the deadline: a timer does */
    now = g_get_monotonic_time ();
    wake = deadline;
    if (watch.wake_at != 0)
      wake = MIN (wake, now + (watch.wake_at - g_get_real_time ()));
    if (wake_id != 0)
      g_source_remove (wake_id);
    wake_id = g_timeout_add ((guint) CLAMP ((wake - now) / 1000 + 1, 1, G_MAXUINT), look_again_cb, &watch);
  }

  g_signal_handler_disconnect (cli->manager, service_id);
  g_signal_handler_disconnect (cli->manager, instance_id);
  g_signal_handler_disconnect (cli->manager, removed_id);
  g_signal_handler_disconnect (cli->connection, closed_id);
  if (wake_id != 0)
    g_source_remove (wake_id);
  g_clear_pointer (&watch.watched, g_ptr_array_unref);
  g_hash_table_unref (watch.held);
  return status;
}
