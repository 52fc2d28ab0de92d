/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _TendInstance TendInstance;

/**
 * TendProcessBackend:
 * The mechanism half of supervision, implemented by the `process` plugin: how
 * to spawn, signal and reap. The core (TendInstance) decides when.
 *
 * Contract: after a successful spawn() the backend calls
 * tend_instance_process_started() before returning, and later calls
 * tend_instance_process_exited() exactly once for that process, from the main
 * loop. After terminate(), the exit is reported only once every process of
 * the instance's tree is gone (or was SIGKILLed and could not be waited for).
 */
#define TEND_TYPE_PROCESS_BACKEND (tend_process_backend_get_type ())
TEND_API
G_DECLARE_INTERFACE (TendProcessBackend, tend_process_backend, TEND, PROCESS_BACKEND, GObject)

struct _TendProcessBackendInterface {
  GTypeInterface g_iface;

  gboolean (*spawn) (TendProcessBackend *self, TendInstance *instance, GError **error);
  gboolean (*send_signal) (TendProcessBackend *self, TendInstance *instance, int signum, GError **error);
  void (*terminate) (TendProcessBackend *self, TendInstance *instance);
};

/** tend_process_backend_spawn: starts @instance's program (see the contract above). */
TEND_API gboolean tend_process_backend_spawn (TendProcessBackend *self, TendInstance *instance, GError **error);
/** tend_process_backend_send_signal: sends @signum to the instance's main process. */
TEND_API gboolean tend_process_backend_send_signal (TendProcessBackend *self, TendInstance *instance, int signum, GError **error);
/** tend_process_backend_terminate: kill-signal to the whole tree, then SIGKILL after kill-timeout. */
TEND_API void tend_process_backend_terminate (TendProcessBackend *self, TendInstance *instance);

G_END_DECLS
