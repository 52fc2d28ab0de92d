/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tend monit, driven in a real terminal: a detached tmux session of a fixed
 * size on a tmux server of the test's own (its socket in the test's
 * folder), keys sent with send-keys, the screen read with capture-pane.
 */
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include "tend-test-daemon.h"

#define SESSION "tend-monit-test"
#define WIDTH "120"
#define HEIGHT "40"

typedef struct {
  TendTestDaemon *d;
  char *socket; /* the tmux server's, ours alone */
  gboolean session;
  pid_t server;
} Term;

static char *
tmux_path (void)
{
  char *path = g_find_program_in_path ("tmux");

  /* tools/debian-packages.txt installs it: in CI its absence is a failure, not a skip */
  if (path == NULL && g_getenv ("CI") != NULL)
    g_error ("tmux is missing (tools/install-deps.sh installs it)");
  return path;
}

/* Runs tmux -S SOCKET ARGS...; returns its exit status, @out (nullable) gets its stdout. */
static int
tmux (Term *t, char **out, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  const char *arg;
  va_list args;
  int status;

  g_ptr_array_add (argv, (gpointer) "tmux");
  /* the screen is UTF-8 (the pane's locale is C.UTF-8), whatever the test's own locale */
  g_ptr_array_add (argv, (gpointer) "-u");
  g_ptr_array_add (argv, (gpointer) "-S");
  g_ptr_array_add (argv, t->socket);
  va_start (args, first);
  for (arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  status = tend_test_run_program (t->d, NULL, (const char *const *) argv->pdata, out, &err);
  if (status != 0)
    g_test_message ("tmux %s: %d: %s", first, status, err);
  return status;
}

static char *
capture (Term *t)
{
  char *out = NULL;

  g_assert_cmpint (tmux (t, &out, "capture-pane", "-p", "-t", SESSION, NULL), ==, 0);
  return out;
}

static void
save_capture (Term *t, const char *text, const char *name)
{
  g_autofree char *path = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), name, NULL);

  g_file_set_contents (path, text, -1, NULL);
  g_test_message ("screen saved in %s", path);
}

/* The screen's line that shows @name's first instance (the table comes before the details). */
static char *
row_of (const char *screen, const char *name)
{
  g_auto (GStrv) lines = g_strsplit (screen, "\n", -1);
  g_autofree char *needle = g_strdup_printf (" %s ", name);

  for (guint i = 0; lines[i] != NULL; i++) {
    /* " ID   NAME ..." ("▶ ID" when selected): the id column first */
    if (lines[i][0] != '\0' && g_ascii_isdigit (*g_utf8_next_char (lines[i])) && strstr (lines[i], needle) != NULL)
      return g_strdup (lines[i]);
  }
  return NULL;
}

typedef struct {
  Term *t;
  const char *name;
  const char *state; /* NULL: the text alone */
  const char *text;
  const char *gone; /* a service whose row must not be there */
  char *last;
} ScreenWait;

static gboolean
screen_shows (gpointer data)
{
  ScreenWait *w = data;
  g_autofree char *row = NULL;

  g_free (w->last);
  w->last = capture (w->t);
  if (w->text != NULL && strstr (w->last, w->text) == NULL)
    return FALSE;
  if (w->gone != NULL) {
    g_autofree char *gone_row = row_of (w->last, w->gone);
    if (gone_row != NULL)
      return FALSE;
  }
  if (w->name == NULL)
    return TRUE;
  row = row_of (w->last, w->name);
  return row != NULL && (w->state == NULL || strstr (row, w->state) != NULL);
}

/* Polls the screen (every 10 ms, each look one tmux call) until @name's row shows @state and @text is on it. */
static char *
wait_screen (Term *t, const char *name, const char *state, const char *text, guint timeout_ms)
{
  ScreenWait w = { t, name, state, text, NULL, NULL };

  if (!tend_test_wait (screen_shows, &w, timeout_ms)) {
    save_capture (t, w.last, "test-monit-failed.txt");
    g_test_message ("screen:\n%s", w.last);
    g_free (w.last);
    return NULL;
  }
  return w.last;
}

static JsonObject *
instance_json (TendTestDaemon *d, const char *name, JsonNode **out_root)
{
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *array;

  g_assert_cmpint (tend_test_run_cli (d, &out, NULL, "status", "--json", NULL), ==, 0);
  *out_root = json_from_string (out, &error);
  g_assert_no_error (error);
  array = json_node_get_array (*out_root);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonObject *o = json_array_get_object_element (array, i);
    if (g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0)
      return o;
  }
  return NULL;
}

static gint64
pid_of (TendTestDaemon *d, const char *name)
{
  g_autoptr (JsonNode) root = NULL;
  JsonObject *o = instance_json (d, name, &root);

  g_assert_nonnull (o);
  return json_object_get_int_member (o, "pid");
}

typedef struct {
  TendTestDaemon *d;
  const char *name;
  gint64 old_pid;
} PidWait;

static gboolean
pid_changed (gpointer data)
{
  PidWait *w = data;
  gint64 pid = pid_of (w->d, w->name);

  return pid > 0 && pid != w->old_pid;
}

/*
 * Starts `tend --home H monit` in a new session, in a UTF-8 locale. The
 * shell around it keeps the terminal's settings before and says afterwards
 * whether monit gave them back, and with which status it ended; then it
 * waits to be killed with the session, so that the pane can be read.
 */
static void
term_start (Term *t)
{
  g_autofree char *tend = g_build_filename (g_getenv ("TEND_TEST_BUILDDIR"), "..", "core", "cli", "tend", NULL);
  g_autofree char *quoted_tend = g_shell_quote (tend);
  g_autofree char *quoted_home = g_shell_quote (t->d->home);
  g_autofree char *command =
      g_strdup_printf ("export LC_ALL=C.UTF-8; before=$(stty -g); %s --home %s monit; status=$?; "
                       "if [ \"$(stty -g)\" = \"$before\" ]; then echo \"monit ended $status, terminal restored\"; "
                       "else echo \"monit ended $status, terminal NOT restored\"; fi; exec sleep 600",
                       quoted_tend, quoted_home);
  g_autofree char *server = NULL;
  guint64 pid;

  g_assert_cmpint (tmux (t, NULL, "-f", "/dev/null", "new-session", "-d", "-s", SESSION, "-x", WIDTH, "-y", HEIGHT,
                         "sh", "-c", command, NULL),
                   ==, 0);
  t->session = TRUE;
  /* a test that fails half-way leaves no tmux server behind: the fixture ends it */
  g_assert_cmpint (tmux (t, &server, "display", "-p", "-t", SESSION, "#{pid}", NULL), ==, 0);
  g_assert_true (g_ascii_string_to_unsigned (g_strstrip (server), 10, 1, G_MAXINT, &pid, NULL));
  t->server = (pid_t) pid;
  tend_test_track_pid (t->server);
}

static void
term_stop (Term *t)
{
  /* by its name, on our own server: the last session gone, the server ends too */
  if (t->session)
    tmux (t, NULL, "kill-session", "-t", SESSION, NULL);
  t->session = FALSE;
  if (t->server > 0) {
    g_assert_true (tend_test_wait_pid_gone (t->server, 10000));
    tend_test_untrack_pid (t->server);
  }
}

/* After monit ended: the terminal as it was (off the alternate screen, the cursor shown, its settings back). */
static void
assert_ended_clean (Term *t, int status)
{
  g_autofree char *screen = wait_screen (t, NULL, NULL, "monit ended ", 10000);
  g_autofree char *flags = NULL;
  g_autofree char *expected = g_strdup_printf ("monit ended %d, terminal restored", status);

  g_assert_nonnull (screen);
  g_assert_nonnull (strstr (screen, expected));
  g_assert_cmpint (tmux (t, &flags, "display", "-p", "-t", SESSION, "#{alternate_on} #{cursor_flag}", NULL), ==, 0);
  g_assert_cmpstr (flags, ==, "0 1\n");
}

static const char config[] = "[plugin:health]\n"
                             "enabled=false\n"
                             "[service:alpha]\n"
                             "exec=@HELPERS@/ticker.sh\n"
                             "env=RECORD=@DIR@/alpha.rec\n"
                             "[service:beta]\n"
                             "exec=/bin/sleep 1000\n"
                             "[service:gamma]\n"
                             "exec=/bin/sleep 1000\n";

static void
test_monit_live (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *tmux_program = tmux_path ();
  Term t = { d, NULL, FALSE, 0 };
  g_autofree char *screen = NULL;
  g_autofree char *row = NULL;
  gint64 before_ms, took_ms, old_pid;
  PidWait pw;

  if (tmux_program == NULL) {
    g_test_skip ("tmux is not installed");
    return;
  }
  t.socket = tend_test_daemon_path (d, "tmux.sock");
  tend_test_daemon_write_config (d, config);
  tend_test_daemon_start (d);
  term_start (&t);

  /* every service with its state; the first one selected, its details and its log below */
  screen = wait_screen (&t, "gamma", "online", "tick ", 15000);
  g_assert_nonnull (screen);
  row = row_of (screen, "alpha");
  g_assert_nonnull (row);
  g_assert_nonnull (strstr (row, "online"));
  g_assert_true (g_str_has_prefix (row, "▶"));
  g_clear_pointer (&row, g_free);
  row = row_of (screen, "beta");
  g_assert_nonnull (row);
  g_assert_nonnull (strstr (row, "online"));
  g_assert_true (g_str_has_prefix (row, " "));
  g_assert_nonnull (strstr (screen, "── alpha "));
  g_assert_nonnull (strstr (screen, "alpha-out.log"));
  {
    /* with its colours too (ANSI), for tools/monit-screenshot.sh to turn into the PNG of docs/monitoring.md */
    g_autofree char *colored = NULL;
    g_assert_cmpint (tmux (&t, &colored, "capture-pane", "-e", "-p", "-t", SESSION, NULL), ==, 0);
    save_capture (&t, colored, "test-monit-start.ansi");
  }
  /* this daemon keeps no history of the figures it does not measure: no sparkline drawn */
  g_assert_null (strstr (screen, "▁"));
  /* the health plugin is off: no figure is made up (no 0.0%, no 0b) */
  g_assert_null (strstr (row, "0.0%"));
  g_assert_null (strstr (row, " 0b"));
  g_clear_pointer (&row, g_free);
  g_clear_pointer (&screen, g_free);

  /* a stop elsewhere shows at once: the state comes with the daemon's signal, not a timer */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "stop", "gamma", NULL), ==, 0);
  before_ms = g_get_monotonic_time () / 1000;
  screen = wait_screen (&t, "gamma", "stopped", NULL, 1000);
  took_ms = g_get_monotonic_time () / 1000 - before_ms;
  g_assert_nonnull (screen);
  g_test_message ("stopped shown %" G_GINT64_FORMAT " ms after tend stop returned", took_ms);
  g_clear_pointer (&screen, g_free);

  /* j selects beta; r restarts it */
  old_pid = pid_of (d, "beta");
  g_assert_cmpint (tmux (&t, NULL, "send-keys", "-t", SESSION, "j", NULL), ==, 0);
  screen = wait_screen (&t, NULL, NULL, "── beta ", 5000);
  g_assert_nonnull (screen);
  g_clear_pointer (&screen, g_free);
  g_assert_cmpint (tmux (&t, NULL, "send-keys", "-t", SESSION, "r", NULL), ==, 0);
  pw = (PidWait){ d, "beta", old_pid };
  g_assert_true (tend_test_wait (pid_changed, &pw, 10000));
  /* and the screen says so: the restart counted, the reason shown */
  screen = wait_screen (&t, "beta", "online", "restart requested", 5000);
  g_assert_nonnull (screen);
  g_clear_pointer (&screen, g_free);

  /* s on a stopped service starts it */
  g_assert_cmpint (tmux (&t, NULL, "send-keys", "-t", SESSION, "j", NULL), ==, 0);
  screen = wait_screen (&t, NULL, NULL, "── gamma ", 5000);
  g_assert_nonnull (screen);
  g_clear_pointer (&screen, g_free);
  g_assert_cmpint (tmux (&t, NULL, "send-keys", "-t", SESSION, "s", NULL), ==, 0);
  screen = wait_screen (&t, "gamma", "online", NULL, 10000);
  g_assert_nonnull (screen);
  g_clear_pointer (&screen, g_free);

  /* / filters as one types; Esc clears the filter */
  g_assert_cmpint (tmux (&t, NULL, "send-keys", "-t", SESSION, "/", "a", "l", "p", NULL), ==, 0);
  screen = wait_screen (&t, "alpha", NULL, "/alp", 5000);
  g_assert_nonnull (screen);
  g_assert_null (row_of (screen, "beta"));
  g_clear_pointer (&screen, g_free);
  g_assert_cmpint (tmux (&t, NULL, "send-keys", "-t", SESSION, "Escape", NULL), ==, 0);
  screen = wait_screen (&t, "beta", NULL, NULL, 5000);
  g_assert_nonnull (screen);
  g_clear_pointer (&screen, g_free);

  /* a service deleted elsewhere leaves the table (ServiceRemoved) */
  g_assert_cmpint (tend_test_run_cli (d, NULL, NULL, "delete", "beta", NULL), ==, 0);
  {
    ScreenWait w = { &t, "alpha", NULL, NULL, "beta", NULL };
    g_assert_true (tend_test_wait (screen_shows, &w, 2000));
    g_free (w.last);
  }

  /* l: the error log of the selected one */
  g_assert_cmpint (tmux (&t, NULL, "send-keys", "-t", SESSION, "l", NULL), ==, 0);
  screen = wait_screen (&t, NULL, NULL, "── error log", 5000);
  g_assert_nonnull (screen);
  save_capture (&t, screen, "test-monit-screen.txt");
  g_clear_pointer (&screen, g_free);

  /* a smaller terminal: drawn again to its size, nothing scrolled off the top */
  g_assert_cmpint (tmux (&t, NULL, "resize-window", "-t", SESSION, "-x", "70", "-y", "12", NULL), ==, 0);
  screen = wait_screen (&t, "alpha", NULL, "q quit", 5000);
  g_assert_nonnull (screen);
  g_assert_true (g_str_has_prefix (screen, " tend monit "));
  {
    g_auto (GStrv) lines = g_strsplit (screen, "\n", -1);
    /* 12 lines and the newline after the last */
    g_assert_cmpuint (g_strv_length (lines), <=, 13);
    for (guint i = 0; lines[i] != NULL; i++)
      g_assert_cmpuint (g_utf8_strlen (lines[i], -1), <=, 70);
  }
  g_clear_pointer (&screen, g_free);

  /* q: gone, and the terminal as it was */
  g_assert_cmpint (tmux (&t, NULL, "send-keys", "-t", SESSION, "q", NULL), ==, 0);
  assert_ended_clean (&t, 0);
  term_stop (&t);
  tend_test_daemon_stop (d);
  g_free (t.socket);
}

/* SIGTERM (and SIGINT) end it as q does: the terminal given back. */
static void
test_monit_signal (gconstpointer data)
{
  int signal_number = GPOINTER_TO_INT (data);
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *tmux_program = tmux_path ();
  Term t = { d, NULL, FALSE, 0 };
  g_autofree char *screen = NULL;
  g_autofree char *pane_pid = NULL;
  g_autoptr (GArray) found = NULL;
  guint64 shell;

  if (tmux_program == NULL) {
    g_test_skip ("tmux is not installed");
    return;
  }
  t.socket = tend_test_daemon_path (d, "tmux.sock");
  tend_test_daemon_write_config (d, config);
  tend_test_daemon_start (d);
  term_start (&t);
  screen = wait_screen (&t, "gamma", "online", NULL, 15000);
  g_assert_nonnull (screen);
  g_assert_cmpint (tmux (&t, &pane_pid, "display", "-p", "-t", SESSION, "#{pane_pid}", NULL), ==, 0);
  g_assert_true (g_ascii_string_to_unsigned (g_strstrip (pane_pid), 10, 1, G_MAXINT, &shell, NULL));
  /* the shell's child is our tend */
  found = tend_test_find_descendants ((pid_t) shell, NULL);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpint (kill (g_array_index (found, pid_t, 0), signal_number), ==, 0);
  assert_ended_clean (&t, 0);
  term_stop (&t);
  tend_test_daemon_stop (d);
  g_free (t.socket);
}

/*
 * A stand-in for tendd on the control socket, with the history a newer
 * daemon keeps (Service1.GetHistory, docs/dbus.md): one service, "web",
 * whose CPU rose one step a sample and whose memory was unknown in two
 * samples. In a thread of its own: the test blocks while tmux runs.
 */
static const char fake_xml[] =
    "<node>"
    " <interface name='org.tend.Manager1'>"
    "  <method name='ListServices'><arg name='instances' type='aa{sv}' direction='out'/></method>"
    "  <method name='Describe'><arg name='name' type='s' direction='in'/>"
    "   <arg name='service' type='a{sv}' direction='out'/></method>"
    "  <method name='ListPlugins'><arg name='plugins' type='aa{sv}' direction='out'/></method>"
    " </interface>"
    " <interface name='org.tend.Service1'>"
    "  <method name='GetHistory'><arg name='since' type='x' direction='in'/>"
    "   <arg name='samples' type='aa{sv}' direction='out'/></method>"
    " </interface>"
    "</node>";

typedef struct {
  char *socket_path;
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  GDBusNodeInfo *info;
  GDBusServer *server;
  GPtrArray *connections; /* GDBusConnection *, those of clients (in the thread) */
  GMutex lock;
  GCond ready_cond;
  gboolean ready;
  guint history_calls;
} FakeDaemon;

static GVariant *
fake_row (gboolean describe)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "name", "s", "web");
  g_variant_dict_insert (&dict, "index", "u", 0);
  g_variant_dict_insert (&dict, "id", "u", 0);
  g_variant_dict_insert (&dict, "instances", "u", 1);
  g_variant_dict_insert (&dict, "pid", "i", 4242);
  g_variant_dict_insert (&dict, "state", "s", "online");
  g_variant_dict_insert (&dict, "start-time", "x", g_get_real_time () - 90 * G_USEC_PER_SEC);
  g_variant_dict_insert (&dict, "restarts", "u", 2);
  g_variant_dict_insert (&dict, "cpu-percent", "d", 7.0);
  g_variant_dict_insert (&dict, "memory-rss", "t", (guint64) 41 * 1024 * 1024);
  g_variant_dict_insert (&dict, "figures-known", "b", TRUE);
  g_variant_dict_insert (&dict, "out-log", "s", "/nonexistent/web-out.log");
  g_variant_dict_insert (&dict, "error-log", "s", "/nonexistent/web-error.log");
  if (describe)
    g_variant_dict_insert (&dict, "last-restart-reason", "s", "health check failed: HTTP 503");
  return g_variant_dict_end (&dict);
}

static void
fake_method (GDBusConnection *connection,
             const char *sender,
             const char *path,
             const char *interface,
             const char *method,
             GVariant *parameters,
             GDBusMethodInvocation *invocation,
             gpointer user_data)
{
  FakeDaemon *fake = user_data;

  if (g_str_equal (method, "ListServices")) {
    GVariantBuilder rows;
    g_variant_builder_init (&rows, G_VARIANT_TYPE ("aa{sv}"));
    g_variant_builder_add_value (&rows, fake_row (FALSE));
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(aa{sv})", &rows));
  } else if (g_str_equal (method, "Describe")) {
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a{sv})", fake_row (TRUE)));
  } else if (g_str_equal (method, "ListPlugins")) {
    g_dbus_method_invocation_return_value (invocation, g_variant_new_parsed ("(@aa{sv} [],)"));
  } else if (g_str_equal (method, "GetHistory") && g_str_equal (path, "/org/tend/Tend1/service/web")) {
    GVariantBuilder samples;
    gint64 now = g_get_real_time ();

    g_atomic_int_inc (&fake->history_calls);
    g_variant_builder_init (&samples, G_VARIANT_TYPE ("aa{sv}"));
    for (guint i = 0; i < 8; i++) {
      GVariantDict dict;
      g_variant_dict_init (&dict, NULL);
      g_variant_dict_insert (&dict, "time", "x", now - (gint64) (8 - i) * 2 * G_USEC_PER_SEC);
      g_variant_dict_insert (&dict, "restarts", "u", 2);
      g_variant_dict_insert (&dict, "cpu-percent", "d", (double) i);
      g_variant_dict_insert (&dict, "processes", "u", 1);
      if (i != 2 && i != 3)
        g_variant_dict_insert (&dict, "memory-rss", "t", (guint64) 41 * 1024 * 1024);
      g_variant_builder_add_value (&samples, g_variant_dict_end (&dict));
    }
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(aa{sv})", &samples));
  } else {
    g_dbus_method_invocation_return_dbus_error (invocation, "org.freedesktop.DBus.Error.UnknownMethod", method);
  }
}

static const GDBusInterfaceVTable fake_vtable = { fake_method, NULL, NULL, { 0 } };

static gboolean
fake_new_connection (GDBusServer *server, GDBusConnection *connection, gpointer user_data)
{
  FakeDaemon *fake = user_data;

  g_assert_cmpuint (g_dbus_connection_register_object (connection, "/org/tend/Tend1", fake->info->interfaces[0],
                                                       &fake_vtable, fake, NULL, NULL),
                    !=, 0);
  g_assert_cmpuint (g_dbus_connection_register_object (connection, "/org/tend/Tend1/service/web",
                                                       fake->info->interfaces[1], &fake_vtable, fake, NULL, NULL),
                    !=, 0);
  g_ptr_array_add (fake->connections, g_object_ref (connection));
  return TRUE;
}

static gpointer
fake_thread (gpointer data)
{
  FakeDaemon *fake = data;
  g_autofree char *guid = g_dbus_generate_guid ();
  g_autofree char *address = g_strconcat ("unix:path=", fake->socket_path, NULL);
  g_autoptr (GError) error = NULL;

  g_main_context_push_thread_default (fake->context);
  fake->connections = g_ptr_array_new_with_free_func (g_object_unref);
  fake->server = g_dbus_server_new_sync (address, G_DBUS_SERVER_FLAGS_NONE, guid, NULL, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (fake->server, "new-connection", G_CALLBACK (fake_new_connection), fake);
  g_dbus_server_start (fake->server);
  g_mutex_lock (&fake->lock);
  fake->ready = TRUE;
  g_cond_signal (&fake->ready_cond);
  g_mutex_unlock (&fake->lock);
  g_main_loop_run (fake->loop);
  g_dbus_server_stop (fake->server);
  g_clear_object (&fake->server);
  g_ptr_array_unref (fake->connections);
  g_main_context_pop_thread_default (fake->context);
  return NULL;
}

/* The daemon going away: its connections closed. */
static gboolean
fake_close (gpointer data)
{
  FakeDaemon *fake = data;

  for (guint i = 0; i < fake->connections->len; i++)
    g_dbus_connection_close_sync (g_ptr_array_index (fake->connections, i), NULL, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
fake_quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* Sparklines from the history, the figures the stand-in gave, its restart reason. */
static void
test_monit_history (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *tmux_program = tmux_path ();
  Term t = { d, NULL, FALSE, 0 };
  FakeDaemon fake = { 0 };
  g_autofree char *screen = NULL;
  g_autofree char *row = NULL;
  g_autoptr (GError) error = NULL;

  if (tmux_program == NULL) {
    g_test_skip ("tmux is not installed");
    return;
  }
  /* no tendd: the stand-in answers on its socket */
  g_assert_cmpint (g_mkdir_with_parents (d->home, 0700), ==, 0);
  fake.socket_path = g_build_filename (d->home, "tendd.sock", NULL);
  fake.info = g_dbus_node_info_new_for_xml (fake_xml, &error);
  g_assert_no_error (error);
  fake.context = g_main_context_new ();
  fake.loop = g_main_loop_new (fake.context, FALSE);
  g_mutex_init (&fake.lock);
  g_cond_init (&fake.ready_cond);
  fake.thread = g_thread_new ("fake-tendd", fake_thread, &fake);
  g_mutex_lock (&fake.lock);
  while (!fake.ready)
    g_cond_wait (&fake.ready_cond, &fake.lock);
  g_mutex_unlock (&fake.lock);

  t.socket = tend_test_daemon_path (d, "tmux.sock");
  term_start (&t);
  /* CPU 0 to 7 %, scaled to the highest: every bar once; memory flat, with the two unknown samples blank */
  screen = wait_screen (&t, "web", "▁▂▃▄▅▆▇█", "health check failed: HTTP 503", 15000);
  g_assert_nonnull (screen);
  row = row_of (screen, "web");
  g_assert_nonnull (row);
  g_assert_nonnull (strstr (row, "7.0%"));
  g_assert_nonnull (strstr (row, "41.0mb"));
  g_assert_nonnull (strstr (row, "██  ████"));
  g_assert_cmpuint (g_atomic_int_get (&fake.history_calls), >=, 1);
  save_capture (&t, screen, "test-monit-history.txt");
  {
    g_autofree char *colored = NULL;
    g_assert_cmpint (tmux (&t, &colored, "capture-pane", "-e", "-p", "-t", SESSION, NULL), ==, 0);
    save_capture (&t, colored, "test-monit-history.ansi");
  }
  /* the daemon gone: monit ends (status 3, unreachable) and gives the terminal back */
  g_main_context_invoke (fake.context, fake_close, &fake);
  assert_ended_clean (&t, 3);
  term_stop (&t);

  g_main_context_invoke (fake.context, fake_quit, fake.loop);
  g_thread_join (fake.thread);
  g_main_loop_unref (fake.loop);
  g_main_context_unref (fake.context);
  g_dbus_node_info_unref (fake.info);
  g_mutex_clear (&fake.lock);
  g_cond_clear (&fake.ready_cond);
  g_free (fake.socket_path);
  g_free (t.socket);
}

/* Not on a terminal: the table once, no escape sequence, status 0. */
static void
test_monit_snapshot (void)
{
  g_autoptr (TendTestDaemon) d = tend_test_daemon_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  tend_test_daemon_write_config (d, config);
  tend_test_daemon_start (d);
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "monit", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "name"));
  g_assert_nonnull (strstr (out, "alpha"));
  g_assert_nonnull (strstr (out, "beta"));
  g_assert_nonnull (strstr (out, "gamma"));
  g_assert_null (strchr (out, '\033'));
  g_assert_cmpstr (err, ==, "");

  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "monit", "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "tend monit"));
  g_assert_cmpint (tend_test_run_cli (d, &out, &err, "monit", "extra", NULL), ==, 2);
  tend_test_daemon_stop (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/monit/snapshot", test_monit_snapshot);
  g_test_add_func ("/monit/live", test_monit_live);
  g_test_add_data_func ("/monit/sigterm", GINT_TO_POINTER (SIGTERM), test_monit_signal);
  g_test_add_func ("/monit/history", test_monit_history);
  g_test_add_data_func ("/monit/sigint", GINT_TO_POINTER (SIGINT), test_monit_signal);
  return g_test_run ();
}
