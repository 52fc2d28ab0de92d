/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tend-config-private.h"
#include "tend-daemon.h"
#include "tend-plugin-registry.h"
#include "tend-update.h"

/* How long the detaching parent waits for the daemon to say it is ready. */
#define DETACH_TIMEOUT_S 30

static int ready_fd = -1;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL;
  const char *domain = NULL;
  const char *label;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *stamp = NULL;

  if (g_log_writer_default_would_drop (level, NULL))
    return G_LOG_WRITER_HANDLED;
  for (gsize i = 0; i < n_fields; i++) {
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
    else if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;
  }
  switch (level & G_LOG_LEVEL_MASK) {
  case G_LOG_LEVEL_ERROR:
  case G_LOG_LEVEL_CRITICAL:
    label = "critical";
    break;
  case G_LOG_LEVEL_WARNING:
    label = "warning";
    break;
  case G_LOG_LEVEL_DEBUG:
    label = "debug";
    break;
  default:
    label = "info";
  }
  now = g_date_time_new_now_local ();
  stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%f");
  /* milliseconds are enough for an operator */
  stamp[23] = '\0';
  fprintf (stderr, "%s %s[%d] %s: %s\n", stamp, domain ? domain : "tend", (int) getpid (), label,
           message ? message : "");
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

static char *
default_home (void)
{
  const char *env = g_getenv ("TEND_HOME");

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_home_dir (), ".tend", NULL);
}

static void
ready_cb (gpointer user_data)
{
  if (ready_fd >= 0) {
    char ok = 0;
    if (write (ready_fd, &ok, 1) < 0)
      g_debug ("cannot tell the parent we are ready");
    close (ready_fd);
    ready_fd = -1;
  }
}

/* Detaches as a daemon does (fork, setsid, fork); the first process exits once
 * the daemon reports ready, with its status, so `tendd && tend status` works. */
static int
detach (const char *home)
{
  int fds[2];
  pid_t pid;
  g_autofree char *log_path = g_build_filename (home, "tendd.log", NULL);
  int log_fd, null_fd;

  if (g_mkdir_with_parents (home, 0700) < 0) {
    g_printerr (_("tendd: cannot create %s: %s\n"), home, g_strerror (errno));
    return 1;
  }
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return 1;
  pid = fork ();
  if (pid < 0)
    return 1;
  if (pid > 0) {
    char status = 1;
    ssize_t n;
    close (fds[1]);
    do
      n = read (fds[0], &status, 1);
    while (n < 0 && errno == EINTR);
    waitpid (pid, NULL, 0);
    /* _exit: this process only reports; what main() allocated is the daemon's, and atexit
     * handlers (a leak check under LeakSanitizer included) belong to the daemon too */
    if (n == 1 && status == 0)
      _exit (0);
    g_printerr (_("tendd: the daemon did not start; see %s\n"), log_path);
    _exit (1);
  }
  close (fds[0]);
  setsid ();
  pid = fork ();
  if (pid < 0)
    _exit (1);
  if (pid > 0)
    _exit (0);

  log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0)
    _exit (1);
  dup2 (null_fd, STDIN_FILENO);
  dup2 (log_fd, STDOUT_FILENO);
  dup2 (log_fd, STDERR_FILENO);
  close (log_fd);
  close (null_fd);
  if (chdir ("/") < 0)
    _exit (1);
  ready_fd = fds[1];
  return 0;
}

/* The program as it was started, for tend update: argv[0] resolved now, before detaching changes the
 * folder; /proc/self/exe would name the old, perhaps deleted, file after an upgrade. */
static char *
resolve_self (const char *argv0)
{
  if (strchr (argv0, '/') != NULL)
    return g_canonicalize_filename (argv0, NULL);
  return g_find_program_in_path (argv0);
}

/* tendd --check-config: what `tend check` and `tend update` run before trusting this binary. */
static int
run_check_config (const char *home, const char *config_path)
{
  g_autoptr(TendDaemon) daemon = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  /* warnings (a key of a plugin that is not enabled) look as they would in the daemon's log */
  g_log_set_writer_func (log_writer, NULL, NULL);
  daemon = tend_daemon_new (home, config_path);
  if (!tend_daemon_check_config (daemon, &path, &error)) {
    /* one FILE:LINE: [group] key: reason per line, as compilers print them */
    g_printerr ("%s\n", error->message);
    return 1;
  }
  if (path == NULL)
    g_print (_("no configuration file (%s/tend.conf does not exist): the daemon starts with no services\n"), home);
  else
    g_print (_("%s: configuration is valid\n"), path);
  return 0;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *home = NULL;
  gboolean foreground = FALSE;
  gboolean verbose = FALSE;
  gboolean version = FALSE;
  gboolean resurrect = FALSE;
  gboolean check_config = FALSE;
  int handover_fd = -1;
  g_auto(GStrv) original_argv = g_strdupv (argv);
  g_autofree char *self_path = resolve_self (argv[0]);
  g_autoptr(GVariant) handover = NULL;
  g_autoptr(GHashTable) handover_fds = NULL;
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TendDaemon) daemon = NULL;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("Configuration file (default: HOME/tend.conf)"), N_("FILE") },
    { "home", 0, 0, G_OPTION_ARG_FILENAME, &home, N_("Home folder (default: $TEND_HOME or ~/.tend)"), N_("DIR") },
    { "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, N_("Stay in the foreground, log to stderr"), NULL },
    { "resurrect", 0, 0, G_OPTION_ARG_NONE, &resurrect, N_("Restore the services of HOME/dump.conf (tend save) once started"), NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Log debug messages"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { "check-config", 0, 0, G_OPTION_ARG_NONE, &check_config,
      N_("Read the configuration as the daemon would, start nothing; exit 0, or 1 with every error"), NULL },
    /* tend update: the state the previous program left in this memfd */
    { "handover", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &handover_fd, NULL, N_("FD") },
    { NULL },
  };
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  option_context = g_option_context_new (NULL);
  g_option_context_set_summary (option_context, _("Tend process supervisor daemon"));
  g_option_context_set_translation_domain (option_context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (option_context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (option_context, &argc, &argv, &error)) {
    g_printerr ("tendd: %s\n", error->message);
    return 2;
  }
  if (argc > 1) {
    g_printerr (_("tendd: unexpected argument: %s\n"), argv[1]);
    return 2;
  }
  if (version) {
    g_print ("tendd %s\n", TEND_VERSION);
    return 0;
  }
  if (home == NULL)
    home = default_home ();
  if (check_config)
    return run_check_config (home, config_path);
  if (handover_fd >= 0) {
    handover = tend_update_read_state (handover_fd, &handover_fds, &error);
    if (handover == NULL) {
      /* the services are our children still, but nothing says what they are: better said loudly */
      g_printerr ("tendd: %s\n", error->message);
      return 1;
    }
  }
  if (config_path != NULL) {
    /* resolve before detaching changes the working directory */
    g_autofree char *absolute = g_canonicalize_filename (config_path, NULL);
    g_free (config_path);
    config_path = g_steal_pointer (&absolute);
  }
  {
    /* a relative plugin folder must survive the chdir of detaching */
    const char *plugin_dirs = g_getenv ("TEND_PLUGIN_DIR");
    if (plugin_dirs != NULL && plugin_dirs[0] != '\0') {
      g_auto(GStrv) dirs = g_strsplit (plugin_dirs, ":", -1);
      g_autofree char *joined = NULL;
      for (guint i = 0; dirs[i] != NULL; i++) {
        char *absolute = g_canonicalize_filename (dirs[i], NULL);
        g_free (dirs[i]);
        dirs[i] = absolute;
      }
      joined = g_strjoinv (":", dirs);
      g_setenv ("TEND_PLUGIN_DIR", joined, TRUE);
    }
  }
  /* after tend update this process is the daemon already: detaching again would orphan every service */
  if (!foreground && handover == NULL) {
    g_autofree char *absolute_home = g_canonicalize_filename (home, NULL);
    if (detach (absolute_home) != 0)
      return 1;
  }

  g_log_set_writer_func (log_writer, NULL, NULL);
  if (verbose)
    g_log_set_debug_enabled (TRUE);

  daemon = tend_daemon_new (home, config_path);
  tend_daemon_set_ready_callback (daemon, G_CALLBACK (ready_cb), NULL);
  tend_daemon_set_resurrect (daemon, resurrect);
  if (self_path != NULL)
    tend_daemon_set_exec_info (daemon, self_path, original_argv);
  if (handover != NULL)
    tend_daemon_set_handover (daemon, handover, handover_fds);
  if (!foreground) {
    g_autofree char *absolute_home = g_canonicalize_filename (home, NULL);
    g_autofree char *log_path = g_build_filename (absolute_home, "tendd.log", NULL);
    tend_daemon_set_log_path (daemon, log_path);
  }
  if (!tend_daemon_setup (daemon, &error)) {
    g_printerr ("tendd: %s\n", error->message);
    return 1;
  }
  status = tend_daemon_run (daemon);
  return status;
}
