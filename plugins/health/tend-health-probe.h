/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "tend-context.h"

G_BEGIN_DECLS

/**
 * TendHealthProbe:
 * One check of a service, as written in `health-check=` or `ready-check=`:
 * `http://HOST:PORT/PATH` (a GET; 2xx or 3xx is healthy), `tcp://HOST:PORT`
 * (a connection is accepted) or `exec:COMMAND` (run by /bin/sh -c in its own
 * process group; exit status 0 is healthy). Every try is bounded by a
 * timeout; an exec check that overruns is killed with its whole group.
 * Runs entirely on the main loop's context without blocking it.
 */
typedef struct _TendHealthProbe TendHealthProbe;

/**
 * tend_health_probe_new:
 * @context: where an exec check's child is claimed while it runs (see
 *   tend_context_claim_child()), or NULL outside tendd
 * @spec: the check as written in the configuration
 * @default_port: the service's `port`, used by `tcp://HOST` without a port (0: none)
 * @cwd: working directory of an exec check (the service's cwd), or NULL
 * @env: environment of an exec check (the service's), or NULL for the daemon's
 * Returns: NULL with TEND_ERROR_INVALID_ARGUMENT for a spec it cannot use.
 */
TendHealthProbe *tend_health_probe_new (TendContext *context,
                                        const char *spec,
                                        guint default_port,
                                        const char *cwd,
                                        const char *const *env,
                                        GError **error);
void tend_health_probe_free (TendHealthProbe *probe);

/**
 * TendHealthProbeHoldsFunc:
 * @inodes: the sockets (inodes, guint64) that listen where the check connected
 * @out_missing: (out): when not, one they do not hold
 * Returns: whether the service's own processes hold every one of them
 */
typedef gboolean (*TendHealthProbeHoldsFunc) (GArray *inodes, guint64 *out_missing, gpointer user_data);

/**
 * tend_health_probe_set_holds_func:
 * Makes a tcp or http check that connected to a local address (loopback,
 * wildcard, or an address of this machine) on @default_port, the service's
 * own port, pass only when @holds says the listening socket is the
 * service's own; otherwise it fails with "port P is held by pid N
 * (COMMAND), not by this service". Without it (or without a port), a
 * connection is enough. @user_data must outlive the probe.
 */
void tend_health_probe_set_holds_func (TendHealthProbe *probe, TendHealthProbeHoldsFunc holds, gpointer user_data);
const char *tend_health_probe_get_spec (TendHealthProbe *probe);

/**
 * tend_health_probe_run_async:
 * One try, bounded by @timeout_ms. Only one try runs at a time per probe: a
 * call while one is running fails at once with G_IO_ERROR_PENDING.
 */
void tend_health_probe_run_async (TendHealthProbe *probe,
                                  guint timeout_ms,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
/**
 * tend_health_probe_run_finish:
 * Returns: TRUE when healthy; FALSE with a short, lower-case reason in
 * @error ("HTTP 503", "connection refused", "exit status 1", "timed out
 * after 2s", "cancelled", "port 7777 is held by pid 42 (node), not by this
 * service").
 */
gboolean tend_health_probe_run_finish (TendHealthProbe *probe, GAsyncResult *result, GError **error);

G_END_DECLS
