/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-cloudflared-hook.h"
#include "tend-parse.h"
#include "tend-spawn.h"

struct _TendCloudflaredHook {
  char *command;
  guint64 timeout_ms;
  char *announced; /* the URL the last run was told about: the next run's TUNNEL_OLD_URL */
  char *latest;    /* the current URL */
  gboolean pending;
  gboolean closed;
  TendContext *context; /* where the shell is claimed, or NULL */
  GPid pid; /* the shell, leader of its own group; 0 when none runs */
  GSource *child_watch;
  guint timeout_source;
  gboolean timed_out;
  guint runs;
  GSourceOnceFunc done;
  gpointer done_data;
};

static void maybe_run (TendCloudflaredHook *hook);

TendCloudflaredHook *
tend_cloudflared_hook_new (TendContext *context)
{
  TendCloudflaredHook *hook = g_new0 (TendCloudflaredHook, 1);

  hook->context = context != NULL ? g_object_ref (context) : NULL;

  hook->announced = g_strdup ("");
  hook->latest = g_strdup ("");
  return hook;
}

/* The whole group: what the shell started in the background ends with it. */
static void
kill_group (TendCloudflaredHook *hook)
{
  if (hook->pid > 1 && kill (-hook->pid, SIGKILL) < 0 && errno != ESRCH)
    g_debug ("cannot kill process group %d: %s", (int) hook->pid, g_strerror (errno));
}

void
tend_cloudflared_hook_free (TendCloudflaredHook *hook)
{
  if (hook == NULL)
    return;
  if (hook->pid != 0) {
    /* normally closed first; here the shell must still not be left a zombie nobody reaps */
    kill_group (hook);
    /* given up by its watch (the claim goes with it), reaped here at once */
    g_source_destroy (hook->child_watch);
    g_clear_pointer (&hook->child_watch, g_source_unref);
    while (waitpid (hook->pid, NULL, 0) < 0 && errno == EINTR)
      ;
    hook->pid = 0;
  }
  g_clear_handle_id (&hook->timeout_source, g_source_remove);
  g_free (hook->command);
  g_free (hook->announced);
  g_free (hook->latest);
  g_clear_object (&hook->context);
  g_free (hook);
}

void
tend_cloudflared_hook_set_command (TendCloudflaredHook *hook, const char *command, guint64 timeout_ms)
{
  g_free (hook->command);
  hook->command = (command != NULL && command[0] != '\0') ? g_strdup (command) : NULL;
  hook->timeout_ms = timeout_ms;
}

void
tend_cloudflared_hook_url_changed (TendCloudflaredHook *hook, const char *url)
{
  g_return_if_fail (url != NULL && url[0] != '\0');

  if (hook->closed)
    return;
  g_free (hook->latest);
  hook->latest = g_strdup (url);
  if (hook->pid != 0) {
    hook->pending = TRUE;
    return;
  }
  maybe_run (hook);
}


guint
tend_cloudflared_hook_get_runs (TendCloudflaredHook *hook)
{
  return hook->runs;
}

static void
call_done (TendCloudflaredHook *hook)
{
  GSourceOnceFunc done = hook->done;

  hook->done = NULL;
  if (done != NULL)
    done (hook->done_data);
}

static void
on_exited (GPid pid, int wait_status, gpointer user_data)
{
  TendCloudflaredHook *hook = user_data;
  g_autofree char *timeout = NULL;

  g_clear_pointer (&hook->child_watch, g_source_unref);
  g_clear_handle_id (&hook->timeout_source, g_source_remove);
  /* what the shell left running in its group goes with it */
  kill_group (hook);
  hook->pid = 0;

  if (hook->timed_out) {
    timeout = tend_format_duration (hook->timeout_ms);
    g_warning ("on-url-change: killed after %s (hook-timeout)", timeout);
  } else if (WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0) {
    g_debug ("on-url-change: done");
  } else if (WIFEXITED (wait_status)) {
    g_warning ("on-url-change: exited with code %d", WEXITSTATUS (wait_status));
  } else if (WIFSIGNALED (wait_status) && !hook->closed) {
    g_warning ("on-url-change: killed by signal %s", tend_signal_to_string (WTERMSIG (wait_status)));
  }
  hook->timed_out = FALSE;

  if (hook->closed) {
    call_done (hook);
    return;
  }
  if (hook->pending) {
    hook->pending = FALSE;
    maybe_run (hook);
  }
}

static gboolean
on_timeout (gpointer user_data)
{
  TendCloudflaredHook *hook = user_data;

  hook->timeout_source = 0;
  hook->timed_out = TRUE;
  /* the run ends when the shell is reaped, so nothing overlaps the next one */
  kill_group (hook);
  return G_SOURCE_REMOVE;
}

static void
maybe_run (TendCloudflaredHook *hook)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = NULL;
  const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
  TendSpawn spec = {
    .argv = argv,
    /* its own session and group, so the timeout can end everything it started */
    .group_mode = TEND_SPAWN_GROUP_NEW_SESSION,
    .parent_death_signal = SIGKILL,
    /* its output goes where tendd's goes (its log when detached) */
    .stdin_mode = TEND_SPAWN_STDIO_DEV_NULL,
    .stdout_mode = TEND_SPAWN_STDIO_INHERIT,
    .stderr_mode = TEND_SPAWN_STDIO_INHERIT,
    /* claimed: tendd is a subreaper that reaps unknown children, this one is ours to wait for */
    .context = hook->context,
    .exited = on_exited,
    .exited_data = hook,
  };
  GPid pid;

  if (hook->closed || hook->pid != 0 || g_strcmp0 (hook->latest, hook->announced) == 0)
    return;
  if (hook->command == NULL) {
    /* no command: nothing to tell, but a command added by a reload starts from here */
    g_free (hook->announced);
    hook->announced = g_strdup (hook->latest);
    return;
  }
  env = g_get_environ ();
  env = g_environ_unsetenv (env, "NOTIFY_SOCKET");
  env = g_environ_setenv (env, "TUNNEL_URL", hook->latest, TRUE);
  env = g_environ_setenv (env, "TUNNEL_OLD_URL", hook->announced, TRUE);
  argv[2] = hook->command;
  g_free (hook->announced);
  hook->announced = g_strdup (hook->latest);
  spec.envp = (const char *const *) env;
  if (!tend_spawn (&spec, &pid, NULL, NULL, &hook->child_watch, &error)) {
    g_warning ("on-url-change: cannot run /bin/sh: %s", error->message);
    return;
  }
  hook->pid = pid;
  hook->runs++;
  g_message ("on-url-change: running with TUNNEL_URL=%s", hook->latest);
  if (hook->timeout_ms > 0)
    hook->timeout_source = g_timeout_add ((guint) MIN (hook->timeout_ms, G_MAXUINT), on_timeout, hook);
}

void
tend_cloudflared_hook_close (TendCloudflaredHook *hook, GSourceOnceFunc done, gpointer user_data)
{
  hook->closed = TRUE;
  hook->pending = FALSE;
  hook->done = done;
  hook->done_data = user_data;
  if (hook->pid == 0) {
    hook->done = NULL;
    if (done != NULL)
      g_idle_add_once (done, user_data);
    return;
  }
  g_clear_handle_id (&hook->timeout_source, g_source_remove);
  kill_group (hook);
}
