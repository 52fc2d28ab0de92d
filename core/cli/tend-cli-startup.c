/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tend-cli.h"

/*
 * tend startup: a systemd unit of our own, tend-USER.service, for one user's
 * home (never the packaged tendd.service, which stays the package's). What
 * goes in it, and why, is in docs/lifecycle.md.
 */

/* The first line of every unit tend startup writes: unstartup removes only those, startup replaces only those. */
#define UNIT_MARK "# Written by `tend startup`"
#define UNIT_HOME_LINE "# home: "
/* Raised from the default 1024: Node.js programs open many sockets, and PM2's unit does the same. */
#define UNIT_NOFILE "65536"
/* Where the tests and packagers point these (docs/lifecycle.md). */
#define DEFAULT_UNIT_DIR "/etc/systemd/system"
#define DEFAULT_RUNTIME_DIR "/run/systemd/system"
/* What the daemon's services find when the invoking PATH lacks it. */
#define STANDARD_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct {
  char *user; /* NULL: the default */
  char *config;
  gboolean print;
} Options;

typedef struct {
  char *user;
  uid_t uid;
  char *home;
  char *config; /* absolute, or NULL */
  char *tendd;  /* absolute */
  char *path;   /* for Environment=PATH= */
  char *unit_name;
  char *unit_path;
} Unit;

static void
unit_clear (Unit *unit)
{
  g_free (unit->user);
  g_free (unit->home);
  g_free (unit->config);
  g_free (unit->tendd);
  g_free (unit->path);
  g_free (unit->unit_name);
  g_free (unit->unit_path);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Unit, unit_clear)

static const char *
env_or (const char *name, const char *fallback)
{
  const char *value = g_getenv (name);

  return value != NULL && value[0] != '\0' ? value : fallback;
}

static char *
unit_dir (void)
{
  return g_strdup (env_or ("TEND_SYSTEMD_DIR", DEFAULT_UNIT_DIR));
}

/* systemd runs here: the folder sd_booted() looks at, or a systemctl given for the tests */
static gboolean
systemd_running (void)
{
  if (g_getenv ("TEND_SYSTEMCTL") != NULL)
    return TRUE;
  return g_file_test (env_or ("TEND_SYSTEMD_RUNTIME_DIR", DEFAULT_RUNTIME_DIR), G_FILE_TEST_IS_DIR);
}

/* Letters, digits, '_', '.', '-': a user name that is also good in a unit's name. */
static gboolean
user_name_fits_unit (const char *name)
{
  if (name[0] == '\0' || name[0] == '-' || name[0] == '.')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '.' && *p != '-')
      return FALSE;
  }
  return TRUE;
}

/* Who the unit is for: --user, else the user sudo was run by, else ourselves. */
static gboolean
resolve_user (const char *option, Unit *unit, struct passwd **out_pw, GError **error)
{
  const char *sudo_user = g_getenv ("SUDO_USER");
  struct passwd *pw;

  if (option != NULL)
    pw = getpwnam (option);
  else if (geteuid () == 0 && sudo_user != NULL && sudo_user[0] != '\0')
    pw = getpwnam (sudo_user);
  else
    pw = getpwuid (geteuid ());
  if (pw == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _ ("unknown user %s"),
                 option != NULL ? option : (sudo_user != NULL ? sudo_user : "?"));
    return FALSE;
  }
  if (!user_name_fits_unit (pw->pw_name)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 _ ("the user name %s cannot be part of a unit's name (letters, digits, _ . - only)"), pw->pw_name);
    return FALSE;
  }
  unit->user = g_strdup (pw->pw_name);
  unit->uid = pw->pw_uid;
  unit->unit_name = g_strdup_printf ("tend-%s.service", pw->pw_name);
  {
    g_autofree char *dir = unit_dir ();
    unit->unit_path = g_build_filename (dir, unit->unit_name, NULL);
  }
  if (out_pw != NULL)
    *out_pw = pw;
  return TRUE;
}

/* A value put in a unit must not break its line: no control characters. */
static gboolean
check_unit_value (const char *what, const char *value, GError **error)
{
  for (const char *p = value; *p != '\0'; p++) {
    if ((guchar) *p < 0x20 || *p == 0x7f) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _ ("%s contains a control character: %s"), what,
                   value);
      return FALSE;
    }
  }
  return TRUE;
}

/*
 * The invoking shell's PATH (where nvm put node), absolute folders only, each
 * once, then the standard folders it lacks. Relative entries would be relative
 * to tendd's folder, /, which is not what the shell meant.
 */
static char *
service_path (void)
{
  g_auto (GStrv) given = g_strsplit (env_or ("PATH", ""), ":", -1);
  g_auto (GStrv) standard = g_strsplit (STANDARD_PATH, ":", -1);
  g_autoptr (GPtrArray) dirs = g_ptr_array_new ();

  for (guint i = 0; given[i] != NULL; i++) {
    if (g_path_is_absolute (given[i]) && !g_ptr_array_find_with_equal_func (dirs, given[i], g_str_equal, NULL))
      g_ptr_array_add (dirs, given[i]);
  }
  for (guint i = 0; standard[i] != NULL; i++) {
    if (!g_ptr_array_find_with_equal_func (dirs, standard[i], g_str_equal, NULL))
      g_ptr_array_add (dirs, standard[i]);
  }
  g_ptr_array_add (dirs, NULL);
  return g_strjoinv (":", (char **) dirs->pdata);
}

static gboolean
resolve_unit (TendCli *cli, const Options *options, Unit *unit, GError **error)
{
  struct passwd *pw = NULL;
  g_autofree char *tendd = NULL;

  if (!resolve_user (options->user, unit, &pw, error))
    return FALSE;
  /* --home or $TEND_HOME; else the user's own ~/.tend, where that user's tend looks first */
  if (cli->home_given)
    unit->home = g_strdup (cli->home);
  else
    unit->home = g_build_filename (pw->pw_dir, ".tend", NULL);
  if (options->config != NULL) {
    unit->config = g_canonicalize_filename (options->config, NULL);
    if (!g_file_test (unit->config, G_FILE_TEST_IS_REGULAR)) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _ ("no configuration file at %s"), unit->config);
      return FALSE;
    }
  }
  tendd = tend_cli_find_tendd ();
  if (tendd == NULL) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _ ("cannot find tendd (set TEND_TENDD to its path)"));
    return FALSE;
  }
  unit->tendd = g_canonicalize_filename (tendd, NULL);
  unit->path = service_path ();
  return check_unit_value (_ ("the home"), unit->home, error) &&
         (unit->config == NULL || check_unit_value (_ ("the configuration's path"), unit->config, error)) &&
         check_unit_value (_ ("tendd's path"), unit->tendd, error) && check_unit_value ("PATH", unit->path, error);
}

/* systemd reads '%' as a specifier everywhere, and '$' as a variable in a command line */
static void
append_escaped (GString *out, const char *text, gboolean command)
{
  for (const char *p = text; *p != '\0'; p++) {
    if (*p == '%')
      g_string_append (out, "%%");
    else if (*p == '$' && command)
      g_string_append (out, "$$");
    else if (*p == '"' || *p == '\\')
      g_string_append_printf (out, "\\%c", *p);
    else
      g_string_append_c (out, *p);
  }
}

/* One word of ExecStart=, quoted when it has more than the characters that need none. */
static void
append_word (GString *out, const char *word)
{
  gboolean plain = word[0] != '\0';

  for (const char *p = word; *p != '\0' && plain; p++)
    plain = g_ascii_isalnum (*p) || strchr ("/._+:,@=-", *p) != NULL;
  if (out->len > 0 && out->str[out->len - 1] != '=')
    g_string_append_c (out, ' ');
  if (plain) {
    g_string_append (out, word);
    return;
  }
  g_string_append_c (out, '"');
  append_escaped (out, word, TRUE);
  g_string_append_c (out, '"');
}

static void
append_environment (GString *out, const char *key, const char *value)
{
  g_string_append_printf (out, "Environment=\"%s=", key);
  append_escaped (out, value, FALSE);
  g_string_append (out, "\"\n");
}

static char *
unit_text (const Unit *unit)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, UNIT_MARK " (tend %s); `tend unstartup` removes it.\n", TEND_VERSION);
  g_string_append_printf (out, UNIT_HOME_LINE "%s\n", unit->home);
  g_string_append (out, "[Unit]\n");
  g_string_append_printf (out, "Description=Tend process supervisor of %s\n", unit->user);
  g_string_append (out, "After=network-online.target\nWants=network-online.target\n\n");
  g_string_append (out, "[Service]\n");
  g_string_append (out, "# READY=1 once the configuration is loaded and the home's state applied\nType=notify\n");
  if (unit->uid != 0)
    g_string_append_printf (out, "User=%s\n", unit->user);
  g_string_append (out, "ExecStart=");
  append_word (out, unit->tendd);
  g_string_append (out, " --foreground --home");
  append_word (out, unit->home);
  if (unit->config != NULL) {
    g_string_append (out, " --config");
    append_word (out, unit->config);
  }
  g_string_append (out, "\nExecReload=/bin/kill -HUP $MAINPID\n");
  g_string_append (out, "# the PATH of the shell that ran tend startup: the services find node where it found it\n");
  append_environment (out, "PATH", unit->path);
  append_environment (out, "TEND_HOME", unit->home);
  g_string_append (out, "# SIGTERM to tendd alone, which stops every service gracefully (their kill-signal and\n"
                        "# kill-timeout); SIGKILL only for what is left after TimeoutStopSec\n"
                        "KillMode=mixed\nTimeoutStopSec=30\n");
  g_string_append (out, "# tendd gives each service a cgroup of its own below its own\nDelegate=yes\n");
  g_string_append (out, "Restart=on-failure\nRestartSec=1\n");
  g_string_append (out, "# the OOM killer takes a service (tendd restarts it) before tendd; services start at 0\n"
                        "OOMScoreAdjust=-900\n");
  g_string_append (out, "LimitNOFILE=" UNIT_NOFILE "\n\n");
  g_string_append (out, "[Install]\nWantedBy=multi-user.target\n");
  return g_string_free (out, FALSE);
}

/* The file is one tend startup wrote; @out_home (nullable) gets the home it names. */
static gboolean
read_our_unit (const char *path, char **out_home, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  if (!g_str_has_prefix (contents, UNIT_MARK)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _ ("%s was not written by tend startup; it is left alone"),
                 path);
    return FALSE;
  }
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; out_home != NULL && lines[i] != NULL; i++) {
    if (g_str_has_prefix (lines[i], UNIT_HOME_LINE)) {
      *out_home = g_strdup (lines[i] + strlen (UNIT_HOME_LINE));
      break;
    }
  }
  return TRUE;
}

/* The command that would do it as root, for whoever may not write the unit folder. */
static char *
root_command (const Unit *unit, const char *verb)
{
  g_autoptr (GString) text = g_string_new ("sudo env ");
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *path = g_strconcat ("PATH=", env_or ("PATH", ""), NULL);
  g_autofree char *quoted_path = g_shell_quote (path);
  g_autofree char *quoted_self = g_shell_quote (self != NULL ? self : "tend");
  g_autofree char *quoted_user = g_shell_quote (unit->user);

  g_string_append_printf (text, "%s %s %s --user %s", quoted_path, quoted_self, verb, quoted_user);
  if (unit->home != NULL) {
    g_autofree char *quoted = g_shell_quote (unit->home);
    g_string_append_printf (text, " --home %s", quoted);
  }
  if (unit->config != NULL) {
    g_autofree char *quoted = g_shell_quote (unit->config);
    g_string_append_printf (text, " --config %s", quoted);
  }
  return g_strdup (text->str);
}

static gboolean
may_write_unit_dir (void)
{
  g_autofree char *dir = unit_dir ();

  return access (dir, W_OK) == 0;
}

/* systemctl ARGS...; its output is shown when it fails. */
static gboolean
run_systemctl (const char *arg1, const char *arg2, const char *arg3, GError **error)
{
  g_autofree char *program = g_strdup (g_getenv ("TEND_SYSTEMCTL"));
  g_autofree char *output = NULL;
  const char *argv[] = { NULL, arg1, arg2, arg3, NULL };
  int wait_status = 0;

  if (program == NULL)
    program = g_find_program_in_path ("systemctl");
  if (program == NULL) {
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                         _ ("systemd runs here, but systemctl is not in PATH"));
    return FALSE;
  }
  argv[0] = program;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL | G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                     &output, NULL, &wait_status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (wait_status, NULL)) {
    g_autofree char *joined = g_strjoinv (" ", (char **) argv + 1);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _ ("systemctl %s failed: %s"), joined, g_strstrip (output));
    return FALSE;
  }
  return TRUE;
}

/* The pid of the daemon answering on @home's socket, 0 when none does. */
static guint32
running_daemon (const char *home)
{
  TendCli probe = { 0 };
  g_autoptr (GVariant) pid = NULL;
  guint32 value = 0;

  probe.home = g_strdup (home);
  probe.socket_path = g_build_filename (home, "tendd.sock", NULL);
  if (tend_cli_try_connect (&probe, NULL)) {
    pid = tend_cli_get_property (&probe, "Pid", NULL);
    if (pid != NULL && g_variant_is_of_type (pid, G_VARIANT_TYPE_UINT32))
      value = g_variant_get_uint32 (pid);
  }
  tend_cli_disconnect (&probe);
  g_free (probe.home);
  g_free (probe.socket_path);
  return value;
}

/* The daemon @pid was started by systemd as @unit_name (its cgroup is the unit's). */
static gboolean
started_by_unit (guint32 pid, const char *unit_name)
{
  g_autofree char *path = g_strdup_printf ("/proc/%u/cgroup", pid);
  g_autofree char *contents = NULL;
  g_autofree char *needle = g_strconcat ("/", unit_name, NULL);

  return g_file_get_contents (path, &contents, NULL, NULL) && strstr (contents, needle) != NULL;
}

/* The home folder itself, the user's when we make it; its parent must exist (no /nonexistent/.tend). */
static gboolean
make_home (const Unit *unit, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (unit->home);
  struct passwd *pw;

  if (g_file_test (unit->home, G_FILE_TEST_IS_DIR))
    return TRUE;
  if (!g_file_test (parent, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _ ("the folder %s does not exist (give --home DIR)"), parent);
    return FALSE;
  }
  if (g_mkdir (unit->home, 0700) < 0) {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("cannot make the home %s: %s"), unit->home,
                 g_strerror (saved));
    return FALSE;
  }
  pw = getpwnam (unit->user);
  if (pw != NULL && geteuid () == 0 && chown (unit->home, pw->pw_uid, pw->pw_gid) < 0) {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("cannot give %s to %s: %s"), unit->home,
                 unit->user, g_strerror (saved));
    return FALSE;
  }
  return TRUE;
}

/* /etc/tend/home: where every tend finds this daemon (tend-cli-home.c). */
static gboolean
write_home_file (const char *home, GError **error)
{
  g_autofree char *path = tend_cli_etc_path ("home");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *old = NULL;
  g_autofree char *text = g_strconcat (home, "\n", NULL);

  if (g_file_get_contents (path, &old, NULL, NULL) && strcmp (g_strstrip (old), home) != 0)
    g_printerr (_ ("tend: %s named %s; it names %s now\n"), path, old, home);
  if (g_mkdir_with_parents (dir, 0755) < 0) {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("cannot make %s: %s"), dir, g_strerror (saved));
    return FALSE;
  }
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644,
                                   error);
}

/* A packaged tendd.service is the package's: said, never touched. */
static void
note_packaged_unit (void)
{
  g_autofree char *dir = unit_dir ();
  const char *const dirs[] = { dir, TEND_SYSTEMD_UNIT_DIR, "/usr/lib/systemd/system", "/lib/systemd/system", NULL };

  for (guint i = 0; dirs[i] != NULL; i++) {
    g_autofree char *path = g_build_filename (dirs[i], "tendd.service", NULL);
    if (g_file_test (path, G_FILE_TEST_EXISTS)) {
      g_printerr (_ ("tend: note: %s (the packaged unit, home %s) is left as it is; enable it or this unit, "
                     "not both on one home\n"),
                  path, TEND_SYSTEM_HOME);
      return;
    }
  }
}

static gboolean
parse_startup_options (const char *verb, gboolean startup, int argc, char **argv, Options *options, int *out_status)
{
  g_autoptr (GPtrArray) positional = NULL;
  const GOptionEntry startup_entries[] = {
    { "user", 'u', 0, G_OPTION_ARG_STRING, &options->user,
      N_ ("The user tendd runs as (default: who ran sudo, else you)"), N_ ("USER") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &options->config,
      N_ ("The configuration tendd reads (default: HOME/tend.conf)"), N_ ("FILE") },
    { "print", 0, 0, G_OPTION_ARG_NONE, &options->print, N_ ("Print the unit, install nothing"), NULL },
    { NULL },
  };
  const GOptionEntry unstartup_entries[] = {
    { "user", 'u', 0, G_OPTION_ARG_STRING, &options->user, N_ ("Whose unit (default: who ran sudo, else you)"),
      N_ ("USER") },
    { NULL },
  };
  const char *summary = startup ? _ ("Writes tend-USER.service, which starts tendd --home HOME at boot as USER, into "
                                     "/etc/systemd/system, and enables and starts it where systemd runs. The home is "
                                     "--home DIR, else $TEND_HOME, else USER's ~/.tend.")
                                : _ ("Stops and disables tend-USER.service and removes what tend startup wrote.");
  int status = tend_cli_parse_options (verb, "", summary, startup ? startup_entries : unstartup_entries, options, argc,
                                       argv, &positional);

  if (status == TEND_CLI_HELP_SHOWN) {
    *out_status = TEND_CLI_EXIT_OK;
    return FALSE;
  }
  if (status != TEND_CLI_EXIT_OK) {
    *out_status = status;
    return FALSE;
  }
  if (positional->len > 0) {
    *out_status =
        tend_cli_usage_error (_ ("unexpected argument: %s"), (const char *) g_ptr_array_index (positional, 0));
    return FALSE;
  }
  return TRUE;
}

int
tend_cli_cmd_startup (TendCli *cli, int argc, char **argv)
{
  Options options = { NULL, NULL, FALSE };
  g_auto (Unit) unit = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *existing_home = NULL;
  guint32 running_pid;
  int status;

  if (!parse_startup_options ("startup", TRUE, argc, argv, &options, &status)) {
    g_free (options.user);
    g_free (options.config);
    return status;
  }
  if (!resolve_unit (cli, &options, &unit, &error)) {
    g_free (options.user);
    g_free (options.config);
    return tend_cli_fail ("%s", error->message);
  }
  g_free (options.user);
  g_free (options.config);
  text = unit_text (&unit);
  if (options.print) {
    g_print ("%s", text);
    return TEND_CLI_EXIT_OK;
  }

  if (!may_write_unit_dir ()) {
    g_autofree char *dir = unit_dir ();
    g_autofree char *command = root_command (&unit, "startup");
    return tend_cli_fail (_ ("cannot write to %s: %s; as root, run:\n  %s"), dir, g_strerror (errno), command);
  }
  if (g_file_test (unit.unit_path, G_FILE_TEST_EXISTS) && !read_our_unit (unit.unit_path, &existing_home, &error))
    return tend_cli_fail ("%s", error->message);
  note_packaged_unit ();
  if (!make_home (&unit, &error) ||
      !g_file_set_contents_full (unit.unit_path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &error) ||
      !write_home_file (unit.home, &error))
    return tend_cli_fail ("%s", error->message);
  g_print (_ ("wrote %s (user %s, home %s)\n"), unit.unit_path, unit.user, unit.home);
  g_print (_ ("services will find programs in PATH=%s\n"), unit.path);

  if (!systemd_running ()) {
    g_print (_ ("systemd is not running here (no %s); where it runs, enable and start the unit with:\n"
                "  systemctl daemon-reload\n  systemctl enable --now %s\n"),
             DEFAULT_RUNTIME_DIR, unit.unit_name);
    return TEND_CLI_EXIT_OK;
  }
  if (!run_systemctl ("daemon-reload", NULL, NULL, &error))
    return tend_cli_fail ("%s", error->message);
  /* a tendd that runs on this home outside the unit would make the unit's own refuse to start */
  running_pid = running_daemon (unit.home);
  if (running_pid != 0 && !started_by_unit (running_pid, unit.unit_name)) {
    if (!run_systemctl ("enable", unit.unit_name, NULL, &error))
      return tend_cli_fail ("%s", error->message);
    g_print (_ ("enabled %s for the next boot; tendd (pid %u) already runs on %s outside it. To move it under "
                "systemd now (its state brings the services back):\n  tend --home %s kill && systemctl start %s\n"),
             unit.unit_name, running_pid, unit.home, unit.home, unit.unit_name);
    return TEND_CLI_EXIT_OK;
  }
  if (!run_systemctl ("enable", "--now", unit.unit_name, &error))
    return tend_cli_fail ("%s", error->message);
  if (running_pid != 0 && existing_home != NULL)
    g_print (_ ("%s already runs; a changed unit takes effect at its next start\n"), unit.unit_name);
  g_print (_ ("enabled and started %s\n"), unit.unit_name);
  return TEND_CLI_EXIT_OK;
}

/* unit_dir/multi-user.target.wants/UNIT: what `systemctl enable` made, dangling once the unit is gone */
static void
remove_wants_link (const Unit *unit)
{
  g_autofree char *dir = unit_dir ();
  g_autofree char *link = g_build_filename (dir, "multi-user.target.wants", unit->unit_name, NULL);
  struct stat st;

  if (lstat (link, &st) == 0 && S_ISLNK (st.st_mode))
    g_unlink (link);
}

int
tend_cli_cmd_unstartup (TendCli *cli, int argc, char **argv)
{
  Options options = { NULL, NULL, FALSE };
  g_auto (Unit) unit = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *home_file = tend_cli_etc_path ("home");
  g_autofree char *named = NULL;
  gboolean ok;
  int status;

  if (!parse_startup_options ("unstartup", FALSE, argc, argv, &options, &status)) {
    g_free (options.user);
    return status;
  }
  ok = resolve_user (options.user, &unit, NULL, &error);
  g_free (options.user);
  if (!ok)
    return tend_cli_fail ("%s", error->message);
  if (!g_file_test (unit.unit_path, G_FILE_TEST_EXISTS))
    return tend_cli_fail (_ ("no %s: nothing to remove"), unit.unit_path);
  if (!read_our_unit (unit.unit_path, &unit.home, &error))
    return tend_cli_fail ("%s", error->message);
  if (!may_write_unit_dir ()) {
    g_autofree char *dir = unit_dir ();
    g_autofree char *command = NULL;
    g_clear_pointer (&unit.home, g_free);
    command = root_command (&unit, "unstartup");
    return tend_cli_fail (_ ("cannot write to %s: %s; as root, run:\n  %s"), dir, g_strerror (errno), command);
  }

  if (systemd_running ()) {
    /* as `pm2 unstartup` does: the daemon of a unit that is gone would run on with no unit behind it */
    if (!run_systemctl ("disable", "--now", unit.unit_name, &error))
      return tend_cli_fail ("%s", error->message);
  } else {
    remove_wants_link (&unit);
  }
  if (g_unlink (unit.unit_path) < 0) {
    int saved = errno;
    return tend_cli_fail (_ ("cannot remove %s: %s"), unit.unit_path, g_strerror (saved));
  }
  /* /etc/tend/home goes with the unit that wrote it, not when it names another unit's home */
  if (unit.home != NULL && g_file_get_contents (home_file, &named, NULL, NULL) &&
      strcmp (g_strstrip (named), unit.home) == 0)
    g_unlink (home_file);
  g_print (_ ("removed %s\n"), unit.unit_path);
  if (systemd_running ()) {
    if (!run_systemctl ("daemon-reload", NULL, NULL, &error))
      return tend_cli_fail ("%s", error->message);
    g_print (_ ("stopped and disabled %s\n"), unit.unit_name);
  } else {
    g_print (_ ("systemd is not running here (no %s); where it runs, also run:\n  systemctl daemon-reload\n"),
             DEFAULT_RUNTIME_DIR);
  }
  return TEND_CLI_EXIT_OK;
}
