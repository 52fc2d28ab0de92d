/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "tend-dbus-generated.h"

G_BEGIN_DECLS

/* The exit statuses of SPEC's CLI section. */
enum {
  TEND_CLI_EXIT_OK = 0,
  TEND_CLI_EXIT_FAILED = 1,
  TEND_CLI_EXIT_USAGE = 2,
  TEND_CLI_EXIT_UNREACHABLE = 3,
};

#define TEND_CLI_OBJECT_PATH "/org/tend/Tend1"
#define TEND_CLI_MANAGER_INTERFACE "org.tend.Manager1"
/* How long `start` and `restart` wait for the services to settle, unless --wait says otherwise. */
#define TEND_CLI_DEFAULT_WAIT_S 15.0

/**
 * TendCli:
 * What every command needs: where the daemon lives and, once connected, the
 * peer-to-peer D-Bus connection to it.
 */
typedef struct {
  char *home;           /* absolute */
  char *socket_path;    /* HOME/tendd.sock */
  gboolean home_given;  /* from --home or $TEND_HOME, not looked up */
  gboolean system_home; /* the system daemon's home (/etc/tend/home): never autostarted */
  GDBusConnection *connection;
  TendDbusManager1 *manager; /* the typed proxy of org.tend.Manager1 on @connection */
} TendCli;

/* tend-cli.c */
/** tend_cli_fail: prints "tend: MESSAGE" on stderr; returns TEND_CLI_EXIT_FAILED */
int tend_cli_fail (const char *format, ...) G_GNUC_PRINTF (1, 2);
/** tend_cli_usage_error: prints the message and a hint on stderr; returns TEND_CLI_EXIT_USAGE */
int tend_cli_usage_error (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* Returned by tend_cli_parse_options when it printed the verb's help. */
#define TEND_CLI_HELP_SHOWN (-1)
/**
 * tend_cli_parse_options:
 * @verb: the command ("logs")
 * @params: what follows the options in the usage line ("[NAME]")
 * @summary: (nullable): translated
 * @entries: (nullable): the verb's options, NULL-terminated; --help is added
 * @user_data: for the entries' callbacks
 * @argv: the verb's arguments, argv[0] the verb
 * @out_positional: the arguments that are not options (argv's own strings)
 * Parses the verb's options with a GOptionContext. Returns TEND_CLI_EXIT_OK,
 * TEND_CLI_EXIT_USAGE (message printed) or TEND_CLI_HELP_SHOWN (usage printed
 * on stdout).
 */
int tend_cli_parse_options (const char *verb,
                            const char *params,
                            const char *summary,
                            const GOptionEntry *entries,
                            gpointer user_data,
                            int argc,
                            char **argv,
                            GPtrArray **out_positional);
/** tend_cli_parse_wait: a --wait value in seconds ("15", "2.5"); FALSE when it is not one */
gboolean tend_cli_parse_wait (const char *text, double *out_seconds);

/* tend-cli-home.c */
/* Where `tend startup` names the home of the system daemon; fixed, so that every tend finds it. */
#define TEND_CLI_ETC_DIR "/etc/tend"
/** tend_cli_etc_path: @name in /etc/tend ($TEND_ETC_DIR for tests and packagers) */
char *tend_cli_etc_path (const char *name);
/** tend_cli_system_home: the home /etc/tend/home names, else the shipped unit's (TEND_SYSTEM_HOME) */
char *tend_cli_system_home (void);
/**
 * tend_cli_resolve_home:
 * @option: (nullable): --home
 * Sets cli->home and cli->socket_path: --home, else $TEND_HOME, else ~/.tend
 * when a daemon answers there, else the system daemon's home when its socket
 * exists and we may use it (cli->system_home), else ~/.tend. May leave cli
 * connected (to the ~/.tend daemon it asked).
 */
void tend_cli_resolve_home (TendCli *cli, const char *option);

/* tend-cli-startup.c */
/** tend_cli_cmd_startup: tend startup [--user USER] [--config FILE] [--print] */
int tend_cli_cmd_startup (TendCli *cli, int argc, char **argv);
/** tend_cli_cmd_unstartup: tend unstartup [--user USER] */
int tend_cli_cmd_unstartup (TendCli *cli, int argc, char **argv);

/* tend-cli-client.c */
/** tend_cli_find_tendd: the tendd program: $TEND_TENDD, beside tend, the build tree, sbindir, PATH; or NULL */
char *tend_cli_find_tendd (void);
/**
 * tend_cli_connect:
 * @autostart: start tendd when nothing answers on the socket
 * Connects to the daemon of cli->home. Returns TEND_CLI_EXIT_OK, or prints
 * why it cannot and returns TEND_CLI_EXIT_UNREACHABLE (also when an
 * autostarted daemon refused to start: tendd's own message says why).
 */
int tend_cli_connect (TendCli *cli, gboolean autostart);
/**
 * tend_cli_find_tendd: the tendd an autostart runs: $TEND_TENDD, beside this
 * program, the build tree's, sbindir's, then PATH's; NULL when none
 */
char *tend_cli_find_tendd (void);
/** tend_cli_try_connect: one attempt, no message; FALSE with @error set */
gboolean tend_cli_try_connect (TendCli *cli, GError **error);
/**
 * tend_cli_reconnect_if_closed: @error (from a call) says the connection was
 * closed under it, as tend update's exec does; connects again. FALSE when it
 * was another error or the daemon does not answer again.
 */
gboolean tend_cli_reconnect_if_closed (TendCli *cli, const GError *error);
/** tend_cli_error_means_absent: @error (from connecting) says no daemon listens there */
gboolean tend_cli_error_means_absent (const GError *error);
/** tend_cli_disconnect: drops the proxy and the connection */
void tend_cli_disconnect (TendCli *cli);
/** tend_cli_get_property: a property of org.tend.Manager1, unboxed, asked now (properties are not cached) */
GVariant *tend_cli_get_property (TendCli *cli, const char *property, GError **error);
/** tend_cli_list_services: Manager1.ListServices, the aa{sv} itself */
GVariant *tend_cli_list_services (TendCli *cli, GError **error);
/** tend_cli_report_error: prints a failed call's error on stderr; returns the exit status it means */
int tend_cli_report_error (const GError *error);

/* tend-cli-wait.c */
typedef enum {
  TEND_CLI_WAIT_RUNNING, /* online, errored, or stopped */
  TEND_CLI_WAIT_STOPPED, /* stopped or errored */
  TEND_CLI_WAIT_GONE,    /* no longer listed */
} TendCliWaitGoal;

typedef enum {
  TEND_CLI_WAIT_FLAG_NONE = 0,
  TEND_CLI_WAIT_FLAG_NEW_PROCESS = 1 << 0, /* a restart: the process of @before is not the new run */
  TEND_CLI_WAIT_FLAG_JSON = 1 << 1,        /* print one JSON document instead of lines */
} TendCliWaitFlags;

/**
 * tend_cli_wait:
 * @names: (nullable): the services to watch; NULL: every service (for
 *   TEND_CLI_WAIT_RUNNING, every service that wants to run)
 * @before: (nullable): ListServices from before the call: how many processes
 *   of each instance had ended on their own (any more since is a failure),
 *   and with TEND_CLI_WAIT_FLAG_NEW_PROCESS the pids a restart replaces
 * Looks at ListServices, then again each time the daemon signals a state
 * change of one of @names (and when an instance will have been up its
 * min-uptime), until every instance of @names reached @goal or @timeout_s
 * (plus the longest min-uptime) passed, then prints one line per service.
 * TEND_CLI_WAIT_RUNNING is reached once an instance has been online for its
 * min-uptime (ready, with a ready rule); a process that ends on its own
 * before fails it. Returns the exit status: failed when one failed or the
 * wait timed out.
 */
int tend_cli_wait (TendCli *cli,
                   const char *const *names,
                   TendCliWaitGoal goal,
                   GVariant *before,
                   TendCliWaitFlags flags,
                   double timeout_s);
/** tend_cli_print_no_services: @text on stdout, or with TEND_CLI_WAIT_FLAG_JSON an empty result document */
void tend_cli_print_no_services (TendCliWaitFlags flags, const char *text);

/* tend-cli-start.c */
int tend_cli_cmd_start (TendCli *cli, int argc, char **argv);
/** tend_cli_cmd_keys: for the bash completion, the options of an ad hoc service: "--KEY TYPE", one a line */
int tend_cli_cmd_keys (TendCli *cli, int argc, char **argv);

/* tend-cli-logs.c */
/** tend_cli_cmd_logs: tend logs [NAME] [--lines N] [--follow] [--err|--out] [--timestamps] */
int tend_cli_cmd_logs (TendCli *cli, int argc, char **argv);
/** tend_cli_cmd_flush: tend flush [NAME] */
int tend_cli_cmd_flush (TendCli *cli, int argc, char **argv);

/* tend-cli-monit.c */
/** tend_cli_cmd_monit: tend monit: the live full-screen view; on no terminal, the status table once */
int tend_cli_cmd_monit (TendCli *cli, int argc, char **argv);

/* tend-cli-check.c */
/** tend_cli_cmd_check: tend check [FILE]: tendd --check-config on FILE or the daemon's configuration */
int tend_cli_cmd_check (TendCli *cli, int argc, char **argv);
/**
 * tend_cli_run_check:
 * @config: (nullable): the file; NULL: what a new daemon of cli->home reads
 * @out_stdout: (nullable): gets tendd's verdict instead of our stdout (then @out_stderr too)
 * @out_judged: (nullable): set when tendd gave a verdict (FALSE: it could not be run; the message is printed)
 * Runs `tendd --check-config` on @config. Returns the exit status: 0 valid, 1 not (or tendd missing).
 */
int tend_cli_run_check (TendCli *cli, const char *config, char **out_stdout, char **out_stderr,
                        gboolean *out_judged);

/* tend-cli-import.c */
/** tend_cli_cmd_import: tend import FILE [-o OUT] [--env NAME] [--keep-cloudflared] */
int tend_cli_cmd_import (TendCli *cli, int argc, char **argv);

/* tend-cli-export.c */
/** tend_cli_cmd_export: tend export --nohup [-o FILE] */
int tend_cli_cmd_export (TendCli *cli, int argc, char **argv);

/* tend-cli-migrate.c */
/** tend_cli_cmd_migrate: tend migrate NAME|all [--dry-run] [--wait SECONDS] */
int tend_cli_cmd_migrate (TendCli *cli, int argc, char **argv);

/* tend-cli-tunnel.c */
int tend_cli_cmd_tunnel (TendCli *cli, int argc, char **argv);
/* tend-cli-update.c */
int tend_cli_cmd_update (TendCli *cli, int argc, char **argv);

/* tend-cli-table.c */
/** tend_cli_state_color: the escape sequence of a state's colour, the same in every view (tend status, tend monit) */
const char *tend_cli_state_color (const char *state);
/** tend_cli_use_color: stdout is a terminal and NO_COLOR is not set */
gboolean tend_cli_use_color (void);
/** tend_cli_format_uptime: "12s", "5m", "3h", "2D" since @start_time_us (µs since the epoch); "-" when 0 */
char *tend_cli_format_uptime (gint64 start_time_us);
/** tend_cli_format_memory: "41.2mb", as pm2 shows it */
char *tend_cli_format_memory (guint64 bytes);
void tend_cli_print_status (GVariant *instances);
void tend_cli_print_describe (GVariant *service);
void tend_cli_print_plugins (GVariant *plugins);
/** tend_cli_print_json: one JSON document on stdout (pretty), then a newline */
void tend_cli_print_json (JsonNode *node);

G_END_DECLS
