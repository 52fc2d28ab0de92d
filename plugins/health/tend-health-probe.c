/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libsoup/soup.h>

#include "tend-error.h"
#include "tend-health-probe.h"
#include "tend-parse.h"
#include "tend-port-owner.h"
#include "tend-proc.h"
#include "tend-spawn.h"

typedef enum {
  PROBE_HTTP,
  PROBE_TCP,
  PROBE_EXEC,
} ProbeKind;

typedef struct _ProbeTry ProbeTry;

struct _TendHealthProbe {
  ProbeKind kind;
  char *spec;
  GUri *uri;      /* http */
  char *host;     /* tcp */
  guint16 port;   /* tcp */
  char *command;  /* exec */
  char *cwd;      /* exec */
  GStrv env;      /* exec; NULL: the daemon's */
  TendContext *context; /* exec: where its child is claimed, or NULL */
  guint16 own_port;     /* the service's port: its listener must be the service's (0: none) */
  TendHealthProbeHoldsFunc holds;
  gpointer holds_data;
  ProbeTry *running;
};

/* Why a try ended early; the first cause wins. */
typedef enum {
  ABORT_NONE,
  ABORT_TIMEOUT,
  ABORT_CANCEL,
} AbortCause;

/* One try: owned by its GTask, so it outlives tend_health_probe_free (which only unlinks it). */
struct _ProbeTry {
  TendHealthProbe *probe; /* NULL once the probe is freed */
  GTask *task;            /* not a reference: the task owns this struct */
  GCancellable *cancellable;
  GCancellable *caller_cancellable;
  gulong caller_handler;
  guint timeout_ms;
  GSource *timeout;
  AbortCause abort_cause;
  GSource *child_watch;
  pid_t pgid;
};

static void
probe_try_free (ProbeTry *try)
{
  g_assert (try->timeout == NULL && try->caller_handler == 0 && try->child_watch == NULL);
  g_clear_object (&try->cancellable);
  g_clear_object (&try->caller_cancellable);
  g_free (try);
}

/* The whole group: the shell may have started children, which must not outlive the check. */
static void
probe_try_kill_group (ProbeTry *try)
{
  if (try->pgid > 1 && kill (-try->pgid, SIGKILL) < 0 && errno != ESRCH)
    g_debug ("cannot kill process group %d: %s", (int) try->pgid, g_strerror (errno));
}

static void
probe_try_abort (ProbeTry *try, AbortCause cause)
{
  if (try->abort_cause != ABORT_NONE)
    return;
  try->abort_cause = cause;
  /* an exec try ends when the shell is reaped, so the group goes first */
  probe_try_kill_group (try);
  g_cancellable_cancel (try->cancellable);
}

static gboolean
on_timeout (gpointer user_data)
{
  ProbeTry *try = user_data;

  g_clear_pointer (&try->timeout, g_source_unref);
  probe_try_abort (try, ABORT_TIMEOUT);
  return G_SOURCE_REMOVE;
}

/* Runs inside g_cancellable_cancel of the caller's cancellable: only forward, never finish the
 * try here (g_cancellable_disconnect from its own handler would deadlock). */
static void
on_caller_cancelled (GCancellable *cancellable, gpointer user_data)
{
  probe_try_abort (user_data, ABORT_CANCEL);
}

/* Makes a short, lower-case reason of a GLib message ("Connection refused" -> "connection refused"). */
static void
set_reason_from_error (GError **error, const GError *cause, const char *prefix)
{
  g_autofree char *message = NULL;

  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    message = g_strdup ("connection refused");
  else if (cause->message[0] != '\0' && g_ascii_isupper (cause->message[0]) && !g_ascii_isupper (cause->message[1]))
    message = g_strdup_printf ("%c%s", g_ascii_tolower (cause->message[0]), cause->message + 1);
  else
    message = g_strdup (cause->message);
  g_set_error (error, cause->domain, cause->code, "%s%s", prefix != NULL ? prefix : "", message);
}

/* Ends @try with @ok or @error (taken); an early abort replaces the operation's own error. */
static void
probe_try_complete (ProbeTry *try, gboolean ok, GError *error)
{
  GTask *task = try->task;

  if (try->timeout != NULL) {
    g_source_destroy (try->timeout);
    g_clear_pointer (&try->timeout, g_source_unref);
  }
  if (try->caller_handler != 0) {
    g_cancellable_disconnect (try->caller_cancellable, try->caller_handler);
    try->caller_handler = 0;
  }
  if (try->probe != NULL) {
    g_assert (try->probe->running == try);
    try->probe->running = NULL;
    try->probe = NULL;
  }

  /* an operation may still succeed in the same iteration its abort came: a success is a success */
  if (!ok && try->abort_cause == ABORT_TIMEOUT) {
    g_autofree char *after = tend_format_duration (try->timeout_ms);
    g_clear_error (&error);
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out after %s", after);
  } else if (!ok && try->abort_cause == ABORT_CANCEL) {
    g_clear_error (&error);
    error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  }

  if (ok) {
    g_clear_error (&error);
    g_task_return_boolean (task, TRUE);
  } else {
    g_assert (error != NULL);
    g_task_return_error (task, error);
  }
  g_object_unref (task);
}

#define HOLDER_COMMAND_MAX 120

/* Whose socket answered: a connection to the service's own port on this machine may have reached a
 * stranger (an old copy of the service that kept the port while the new one cannot bind it). Only
 * after a connection was made, and only for the service's port: /proc is read then, not before. */
static gboolean
check_listener (TendHealthProbe *probe, GSocketAddress *remote, GError **error)
{
  GInetSocketAddress *inet;
  GInetAddress *address;
  guint16 port;
  g_autoptr(GArray) inodes = NULL;
  g_autoptr(GArray) holders = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *comm = NULL;
  guint64 missing = 0;
  pid_t holder = 0;

  if (probe == NULL || probe->holds == NULL || probe->own_port == 0 || !G_IS_INET_SOCKET_ADDRESS (remote))
    return TRUE;
  inet = G_INET_SOCKET_ADDRESS (remote);
  port = g_inet_socket_address_get_port (inet);
  address = g_inet_socket_address_get_address (inet);
  if (port != probe->own_port || !tend_port_owner_is_local_address (address))
    return TRUE;
  inodes = tend_port_owner_list_listening (port, address, &local_error);
  if (inodes == NULL || inodes->len == 0) {
    /* another network namespace, a proxy in between: nothing to compare, the connection decides */
    g_debug ("%s: no listener of port %u seen: %s", probe->spec, port,
             local_error != NULL ? local_error->message : "none in /proc/net/tcp");
    return TRUE;
  }
  if (probe->holds (inodes, &missing, probe->holds_data))
    return TRUE;
  /* the stranger: whoever holds the socket the service does not */
  g_array_set_size (inodes, 1);
  g_array_index (inodes, guint64, 0) = missing;
  holders = tend_port_owner_find_holders (inodes);
  if (holders->len > 0) {
    g_autofree char *raw = tend_proc_read_cmdline (g_array_index (holders, pid_t, 0));
    holder = g_array_index (holders, pid_t, 0);
    /* the reason travels over D-Bus and JSON: valid UTF-8 only */
    comm = raw != NULL ? g_utf8_make_valid (raw, -1) : NULL;
  }
  /* enough to recognise it ("node ./gateway-3333.js"), not a whole environment's worth */
  if (comm != NULL && g_utf8_strlen (comm, -1) > HOLDER_COMMAND_MAX) {
    g_autofree char *whole = g_steal_pointer (&comm);
    g_autofree char *head = g_utf8_substring (whole, 0, HOLDER_COMMAND_MAX);
    comm = g_strconcat (head, "…", NULL);
  }
  if (comm != NULL)
    g_set_error (error, TEND_ERROR, TEND_ERROR_BUSY, "port %u is held by pid %d (%s), not by this service", port,
                 (int) holder, comm);
  else
    g_set_error (error, TEND_ERROR, TEND_ERROR_BUSY, "port %u is held by another process, not by this service", port);
  return FALSE;
}

/* http */

static SoupSession *
get_session (void)
{
  static SoupSession *session = NULL;

  /* shared by every probe, never freed: the daemon's whole life; all on the main context */
  if (session == NULL) {
    /* a check of a local service must not go through the user's proxy */
    session = soup_session_new_with_options ("proxy-resolver", NULL,
                                             "max-conns", 64,
                                             "max-conns-per-host", 4,
                                             "user-agent", "tend-health/" TEND_VERSION,
                                             NULL);
  }
  return session;
}

static void
on_http_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ProbeTry *try = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) local_error = NULL;
  GError *error = NULL;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &local_error);
  if (body == NULL) {
    set_reason_from_error (&error, local_error, NULL);
    probe_try_complete (try, FALSE, error);
    return;
  }
  /* whatever the answer, a stranger's answer says nothing of the service: that is the reason then */
  if (!check_listener (try->probe, soup_message_get_remote_address (msg), &error)) {
    probe_try_complete (try, FALSE, error);
    return;
  }
  status = soup_message_get_status (msg);
  if (status >= 200 && status < 400) {
    probe_try_complete (try, TRUE, NULL);
    return;
  }
  error = g_error_new (TEND_ERROR, TEND_ERROR_FAILED, "HTTP %u", status);
  probe_try_complete (try, FALSE, error);
}

static void
probe_try_start_http (ProbeTry *try, TendHealthProbe *probe)
{
  g_autoptr(SoupMessage) msg = soup_message_new_from_uri (SOUP_METHOD_GET, probe->uri);

  /* a redirect answers the check by itself; following it could test another server */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  /* no idle connection kept to the service: some servers wait for those before they can stop */
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Connection", "close");
  soup_session_send_and_read_async (get_session (), msg, G_PRIORITY_DEFAULT, try->cancellable, on_http_read, try);
}

/* tcp */

static void
on_tcp_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ProbeTry *try = user_data;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GError) local_error = NULL;
  GError *error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &local_error);
  if (connection == NULL) {
    set_reason_from_error (&error, local_error, NULL);
    probe_try_complete (try, FALSE, error);
    return;
  }
  remote = g_socket_connection_get_remote_address (connection, NULL);
  /* nothing was written: a plain close is enough, and cannot block on a socket */
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  if (!check_listener (try->probe, remote, &error)) {
    probe_try_complete (try, FALSE, error);
    return;
  }
  probe_try_complete (try, TRUE, NULL);
}

static void
probe_try_start_tcp (ProbeTry *try, TendHealthProbe *probe)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnectable) address = g_network_address_new (probe->host, probe->port);

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_async (client, address, try->cancellable, on_tcp_connected, try);
}

/* exec */

static void
on_exec_exited (GPid pid, int wait_status, gpointer user_data)
{
  ProbeTry *try = user_data;
  GError *error = NULL;

  g_clear_pointer (&try->child_watch, g_source_unref);
  /* what the shell left running in its group goes with it */
  probe_try_kill_group (try);
  if (WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0) {
    probe_try_complete (try, TRUE, NULL);
    return;
  }
  if (WIFEXITED (wait_status))
    error = g_error_new (TEND_ERROR, TEND_ERROR_FAILED, "exit status %d", WEXITSTATUS (wait_status));
  else if (WIFSIGNALED (wait_status))
    error = g_error_new (TEND_ERROR, TEND_ERROR_FAILED, "killed by signal %d", WTERMSIG (wait_status));
  else
    error = g_error_new (TEND_ERROR, TEND_ERROR_FAILED, "wait status %d", wait_status);
  probe_try_complete (try, FALSE, error);
}

static void
probe_try_start_exec (ProbeTry *try, TendHealthProbe *probe)
{
  g_autoptr(GError) local_error = NULL;
  const char *argv[] = { "/bin/sh", "-c", probe->command, NULL };
  TendSpawn spec = { 0 };
  GError *error = NULL;
  GPid pid;

  /* the caller's cancellable was already cancelled: nothing would kill what is spawned now */
  if (try->abort_cause != ABORT_NONE) {
    probe_try_complete (try, FALSE, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled"));
    return;
  }
  /* not GSubprocess: its pid is gone once GLib reaped it, which can be before spawn returns,
   * and the group's id is needed until the end; stdin is /dev/null, the output of no use */
  spec.argv = argv;
  spec.envp = (const char *const *) probe->env;
  spec.cwd = probe->cwd;
  /* its own group (and session), so a timeout can kill everything the command started */
  spec.group_mode = TEND_SPAWN_GROUP_NEW_SESSION;
  spec.parent_death_signal = SIGKILL;
  spec.stdout_mode = TEND_SPAWN_STDIO_DEV_NULL;
  spec.stderr_mode = TEND_SPAWN_STDIO_DEV_NULL;
  /* claimed: tendd is a subreaper that reaps unknown children, this one is ours to wait for */
  spec.context = probe->context;
  /* an abort kills the group; the try ends once the shell is reaped, so nothing overlaps the next */
  spec.exited = on_exec_exited;
  spec.exited_data = try;
  spec.main_context = g_task_get_context (try->task);
  if (!tend_spawn (&spec, &pid, NULL, NULL, &try->child_watch, &local_error)) {
    set_reason_from_error (&error, local_error, "cannot run the check: ");
    error->domain = TEND_ERROR;
    error->code = TEND_ERROR_SPAWN;
    probe_try_complete (try, FALSE, error);
    return;
  }
  /* setsid made the shell the leader of a group named by its pid */
  try->pgid = pid;
}

/* public */

static gboolean
parse_http (TendHealthProbe *probe, const char *spec, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *host;

  probe->uri = g_uri_parse (spec, SOUP_HTTP_URI_FLAGS, &local_error);
  if (probe->uri == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "invalid URL: %s", local_error->message);
    return FALSE;
  }
  host = g_uri_get_host (probe->uri);
  if (host == NULL || host[0] == '\0') {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "invalid URL: no host");
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_tcp (TendHealthProbe *probe, const char *spec, guint default_port, GError **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *host;
  const char *path;
  int port;

  uri = g_uri_parse (spec, G_URI_FLAGS_NONE, &local_error);
  if (uri == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "invalid address: %s", local_error->message);
    return FALSE;
  }
  host = g_uri_get_host (uri);
  path = g_uri_get_path (uri);
  if (host == NULL || host[0] == '\0') {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "invalid address: no host");
    return FALSE;
  }
  if ((path[0] != '\0' && strcmp (path, "/") != 0) || g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL || g_uri_get_userinfo (uri) != NULL) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "invalid address: expected tcp://HOST:PORT");
    return FALSE;
  }
  port = g_uri_get_port (uri);
  if (port <= 0 && default_port == 0) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "no port, and the service has none");
    return FALSE;
  }
  if (port <= 0)
    port = (int) default_port;
  if (port > G_MAXUINT16) {
    g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "invalid address: bad port");
    return FALSE;
  }
  probe->host = g_strdup (host);
  probe->port = (guint16) port;
  return TRUE;
}

TendHealthProbe *
tend_health_probe_new (TendContext *context,
                       const char *spec,
                       guint default_port,
                       const char *cwd,
                       const char *const *env,
                       GError **error)
{
  TendHealthProbe *probe;
  const char *scheme;
  gboolean ok;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  probe = g_new0 (TendHealthProbe, 1);
  probe->spec = g_strdup (spec);
  probe->own_port = (guint16) MIN (default_port, G_MAXUINT16);

  if (g_str_has_prefix (spec, "exec:")) {
    g_autofree char *stripped = g_strstrip (g_strdup (spec + strlen ("exec:")));
    probe->kind = PROBE_EXEC;
    probe->command = g_strdup (spec + strlen ("exec:"));
    probe->cwd = g_strdup (cwd);
    probe->env = g_strdupv ((char **) env);
    probe->context = context != NULL ? g_object_ref (context) : NULL;
    ok = stripped[0] != '\0';
    if (!ok)
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT, "no command after exec:");
  } else {
    scheme = g_uri_peek_scheme (spec);
    if (scheme != NULL && (strcmp (scheme, "http") == 0 || strcmp (scheme, "https") == 0)) {
      probe->kind = PROBE_HTTP;
      ok = parse_http (probe, spec, error);
    } else if (scheme != NULL && strcmp (scheme, "tcp") == 0) {
      probe->kind = PROBE_TCP;
      ok = parse_tcp (probe, spec, default_port, error);
    } else {
      ok = FALSE;
      g_set_error_literal (error, TEND_ERROR, TEND_ERROR_INVALID_ARGUMENT,
                           "expected http://HOST:PORT/PATH, tcp://HOST:PORT or exec:COMMAND");
    }
  }
  if (!ok) {
    tend_health_probe_free (probe);
    return NULL;
  }
  return probe;
}

void
tend_health_probe_free (TendHealthProbe *probe)
{
  if (probe == NULL)
    return;
  /* the try finishes on its own (its process killed and reaped) and reports "cancelled" */
  if (probe->running != NULL) {
    ProbeTry *try = g_steal_pointer (&probe->running);
    try->probe = NULL;
    probe_try_abort (try, ABORT_CANCEL);
  }
  g_free (probe->spec);
  g_clear_pointer (&probe->uri, g_uri_unref);
  g_free (probe->host);
  g_free (probe->command);
  g_free (probe->cwd);
  g_strfreev (probe->env);
  g_clear_object (&probe->context);
  g_free (probe);
}

void
tend_health_probe_set_holds_func (TendHealthProbe *probe, TendHealthProbeHoldsFunc holds, gpointer user_data)
{
  g_return_if_fail (probe != NULL);
  probe->holds = holds;
  probe->holds_data = user_data;
}

const char *
tend_health_probe_get_spec (TendHealthProbe *probe)
{
  g_return_val_if_fail (probe != NULL, NULL);
  return probe->spec;
}

void
tend_health_probe_run_async (TendHealthProbe *probe,
                             guint timeout_ms,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  ProbeTry *try;
  GTask *task;

  g_return_if_fail (probe != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (probe->running != NULL) {
    g_task_report_new_error (NULL, callback, user_data, tend_health_probe_run_async, G_IO_ERROR, G_IO_ERROR_PENDING,
                             "a check of %s is already running", probe->spec);
    return;
  }

  /* no cancellable on the task: GTask would then report its own "operation was cancelled" */
  task = g_task_new (NULL, NULL, callback, user_data);
  g_task_set_source_tag (task, tend_health_probe_run_async);
  try = g_new0 (ProbeTry, 1);
  try->probe = probe;
  try->task = task;
  try->cancellable = g_cancellable_new ();
  try->timeout_ms = timeout_ms;
  g_task_set_task_data (task, try, (GDestroyNotify) probe_try_free);
  probe->running = try;

  if (cancellable != NULL) {
    try->caller_cancellable = g_object_ref (cancellable);
    /* calls on_caller_cancelled at once if already cancelled: the operation then fails soon */
    try->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (on_caller_cancelled), try, NULL);
  }
  /* 0: no bound of our own; on the context the task reports to, as GTask, libsoup and GSubprocess do */
  if (timeout_ms > 0) {
    try->timeout = g_timeout_source_new (timeout_ms);
    g_source_set_callback (try->timeout, on_timeout, try, NULL);
    g_source_attach (try->timeout, g_task_get_context (task));
  }

  switch (probe->kind) {
  case PROBE_HTTP:
    probe_try_start_http (try, probe);
    break;
  case PROBE_TCP:
    probe_try_start_tcp (try, probe);
    break;
  case PROBE_EXEC:
    probe_try_start_exec (try, probe);
    break;
  default:
    g_assert_not_reached ();
  }
}

gboolean
tend_health_probe_run_finish (TendHealthProbe *probe, GAsyncResult *result, GError **error)
{
  /* @probe may be freed by now (a try outlives it), so it is not looked at */
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tend_health_probe_run_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
