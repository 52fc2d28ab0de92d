/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tend-cli.h"

#define POLL_INTERVAL_MS 50

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

int
tend_cli_wait (TendCli *cli, const char *const *names, TendCliWaitGoal goal, GVariant *before, double timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  g_autoptr(GPtrArray) before_instances = before != NULL ? parse_instances (before) : NULL;
  g_autoptr(GPtrArray) watched = NULL;

  for (;;) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) list = tend_cli_list_services (cli, &error);
    g_autoptr(GPtrArray) instances = NULL;
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GArray) outcomes = g_array_new (FALSE, FALSE, sizeof (Outcome));
    g_autoptr(GString) pending = g_string_new (NULL);
    gboolean timed_out;
    int status = TEND_CLI_EXIT_OK;

    if (list == NULL)
      return tend_cli_report_error (error);
    instances = parse_instances (list);
    if (watched == NULL) {
      watched = select_names (names, instances, goal);
      if (watched->len == 0) {
        g_print (_("no services\n"));
        return TEND_CLI_EXIT_OK;
      }
    }

    for (guint i = 0; i < watched->len; i++) {
      const char *name = g_ptr_array_index (watched, i);
      const char *pending_state = NULL;
      char *line = NULL;
      Outcome outcome = service_outcome (name, instances, goal, before_instances, &line, &pending_state);

      g_ptr_array_add (lines, line);
      g_array_append_val (outcomes, outcome);
      if (outcome == OUTCOME_PENDING)
        g_string_append_printf (pending, "%s%s (%s)", pending->len > 0 ? ", " : "", name, pending_state);
    }

    timed_out = g_get_monotonic_time () > deadline;
    if (pending->len > 0 && !timed_out) {
      g_usleep (POLL_INTERVAL_MS * 1000);
      continue;
    }
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
}
