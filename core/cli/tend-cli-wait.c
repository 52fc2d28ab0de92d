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
} Instance;

static void
instance_free (gpointer data)
{
  Instance *inst = data;

  g_free (inst->name);
  g_free (inst->state);
  g_free (inst->status_message);
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

static Outcome
instance_outcome (const Instance *inst, TendCliWaitGoal goal, GPtrArray *before)
{
  const char *state = inst->state;

  if (goal == TEND_CLI_WAIT_STOPPED)
    return g_str_equal (state, "stopped") || g_str_equal (state, "errored") ? OUTCOME_GOOD : OUTCOME_PENDING;
  if (g_str_equal (state, "errored"))
    return OUTCOME_BAD;
  if (g_str_equal (state, "online")) {
    const Instance *old = find_instance (before, inst->name, inst->index);
    /* still the process from before the restart */
    if (old != NULL && old->pid > 0 && old->pid == inst->pid)
      return OUTCOME_PENDING;
    return OUTCOME_GOOD;
  }
  if (g_str_equal (state, "stopped"))
    /* a program that exited on purpose no longer wants to run; one that failed still does */
    return inst->wants_running ? OUTCOME_BAD : OUTCOME_GOOD;
  return OUTCOME_PENDING;
}

static char *
state_with_reason (const Instance *inst)
{
  if (inst->status_message[0] == '\0')
    return g_strdup (inst->state);
  return g_strdup_printf ("%s: %s", inst->state, inst->status_message);
}

/* Whether service @name reached @goal; if so (or when @pending_state is wanted) a line saying how. */
static Outcome
service_outcome (const char *name,
                 GPtrArray *instances,
                 TendCliWaitGoal goal,
                 GPtrArray *before,
                 char **out_line,
                 const char **out_pending_state)
{
  g_autoptr(GString) pids = g_string_new (NULL);
  const Instance *first_bad = NULL;
  const Instance *first_other = NULL;
  guint n = 0, n_online = 0;

  *out_line = NULL;
  for (guint i = 0; i < instances->len; i++) {
    const Instance *inst = g_ptr_array_index (instances, i);
    Outcome outcome;

    if (strcmp (inst->name, name) != 0)
      continue;
    n++;
    if (goal == TEND_CLI_WAIT_GONE) {
      *out_pending_state = inst->state;
      return OUTCOME_PENDING;
    }
    outcome = instance_outcome (inst, goal, before);
    if (outcome == OUTCOME_PENDING) {
      *out_pending_state = inst->state;
      return OUTCOME_PENDING;
    }
    if (outcome == OUTCOME_BAD && first_bad == NULL)
      first_bad = inst;
    if (g_str_equal (inst->state, "online")) {
      n_online++;
      g_string_append_printf (pids, "%s%d", pids->len > 0 ? ", " : "", inst->pid);
    } else if (first_other == NULL) {
      first_other = inst;
    }
  }

  if (goal == TEND_CLI_WAIT_GONE) {
    *out_line = g_strdup_printf (_("%s: deleted"), name);
    return OUTCOME_GOOD;
  }
  if (n == 0) {
    if (goal == TEND_CLI_WAIT_STOPPED) {
      *out_line = g_strdup_printf (_("%s: deleted"), name);
      return OUTCOME_GOOD;
    }
    *out_line = g_strdup_printf (_("%s: no longer exists"), name);
    return OUTCOME_BAD;
  }
  if (first_bad != NULL) {
    g_autofree char *how = state_with_reason (first_bad);
    *out_line = g_strdup_printf ("%s: %s", name, how);
    return OUTCOME_BAD;
  }
  if (first_other != NULL) {
    /* after a stop, "stopped" says it all; after a start, why it stopped matters */
    g_autofree char *how = goal == TEND_CLI_WAIT_STOPPED ? g_strdup (first_other->state)
                                                         : state_with_reason (first_other);
    *out_line = g_strdup_printf ("%s: %s", name, how);
    return OUTCOME_GOOD;
  }
  if (n_online == 1)
    *out_line = g_strdup_printf (_("%s: %s (pid %s)"), name, "online", pids->str);
  else
    *out_line = g_strdup_printf (_("%s: %s (pids %s)"), name, "online", pids->str);
  return OUTCOME_GOOD;
}

/* What the wait listens to: a signal about a watched service means "look again". */
typedef struct {
  GPtrArray *watched; /* NULL until the first answer: then every service counts */
  gboolean dirty;
} Watch;

static void
note_service (Watch *watch, const char *name)
{
  if (watch->watched == NULL || g_ptr_array_find_with_equal_func (watch->watched, name, g_str_equal, NULL))
    watch->dirty = TRUE;
}

static void
service_state_changed_cb (TendDbusManager1 *manager, const char *name, const char *state, gpointer user_data)
{
  note_service (user_data, name);
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
  note_service (user_data, name);
}

static void
service_removed_cb (TendDbusManager1 *manager, const char *name, gpointer user_data)
{
  note_service (user_data, name);
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
          Watch *watch,
          gboolean timed_out,
          double timeout_s)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) list = tend_cli_list_services (cli, &error);
  g_autoptr(GPtrArray) instances = NULL;
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) outcomes = g_array_new (FALSE, FALSE, sizeof (Outcome));
  g_autoptr(GString) pending = g_string_new (NULL);
  int status = TEND_CLI_EXIT_OK;

  if (list == NULL)
    return tend_cli_report_error (error);
  instances = parse_instances (list);
  if (watch->watched == NULL) {
    watch->watched = select_names (names, instances, goal);
    if (watch->watched->len == 0) {
      g_print (_("no services\n"));
      return TEND_CLI_EXIT_OK;
    }
  }

  for (guint i = 0; i < watch->watched->len; i++) {
    const char *name = g_ptr_array_index (watch->watched, i);
    const char *pending_state = NULL;
    char *line = NULL;
    Outcome outcome = service_outcome (name, instances, goal, before_instances, &line, &pending_state);

    g_ptr_array_add (lines, line);
    g_array_append_val (outcomes, outcome);
    if (outcome == OUTCOME_PENDING)
      g_string_append_printf (pending, "%s%s (%s)", pending->len > 0 ? ", " : "", name, pending_state);
  }
  if (pending->len > 0 && !timed_out)
    return -1;

  for (guint i = 0; i < lines->len; i++) {
    const char *line = g_ptr_array_index (lines, i);
    Outcome outcome = g_array_index (outcomes, Outcome, i);

    if (outcome == OUTCOME_GOOD) {
      g_print ("%s\n", line);
    } else if (outcome == OUTCOME_BAD) {
      g_printerr ("tend: %s\n", line);
      status = TEND_CLI_EXIT_FAILED;
    }
  }
  if (pending->len > 0) {
    g_printerr (_("tend: timed out after %g s; still waiting for %s\n"), timeout_s, pending->str);
    status = TEND_CLI_EXIT_FAILED;
  }
  return status;
}

int
tend_cli_wait (TendCli *cli, const char *const *names, TendCliWaitGoal goal, GVariant *before, double timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  g_autoptr(GPtrArray) before_instances = before != NULL ? parse_instances (before) : NULL;
  Watch watch = { NULL, TRUE };
  gulong service_id, instance_id, removed_id, closed_id;
  guint deadline_id;
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
  deadline_id = g_timeout_add ((guint) MIN (timeout_s * 1000.0 + 1, (double) G_MAXUINT), look_again_cb, &watch);

  for (;;) {
    if (!watch.dirty) {
      g_main_context_iteration (NULL, TRUE);
      continue;
    }
    watch.dirty = FALSE;
    status = evaluate (cli, names, goal, before_instances, &watch, g_get_monotonic_time () >= deadline, timeout_s);
    if (status >= 0)
      break;
  }

  g_signal_handler_disconnect (cli->manager, service_id);
  g_signal_handler_disconnect (cli->manager, instance_id);
  g_signal_handler_disconnect (cli->manager, removed_id);
  g_signal_handler_disconnect (cli->connection, closed_id);
  g_source_remove (deadline_id);
  g_clear_pointer (&watch.watched, g_ptr_array_unref);
  return status;
}
