/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-process-backend.h"

G_DEFINE_INTERFACE (TendProcessBackend, tend_process_backend, G_TYPE_OBJECT)

static void
tend_process_backend_default_init (TendProcessBackendInterface *iface)
{
}

gboolean
tend_process_backend_spawn (TendProcessBackend *self, TendInstance *instance, GError **error)
{
  g_return_val_if_fail (TEND_IS_PROCESS_BACKEND (self), FALSE);
  return TEND_PROCESS_BACKEND_GET_IFACE (self)->spawn (self, instance, error);
}

gboolean
tend_process_backend_send_signal (TendProcessBackend *self, TendInstance *instance, int signum, GError **error)
{
  g_return_val_if_fail (TEND_IS_PROCESS_BACKEND (self), FALSE);
  return TEND_PROCESS_BACKEND_GET_IFACE (self)->send_signal (self, instance, signum, error);
}

void
tend_process_backend_terminate (TendProcessBackend *self, TendInstance *instance)
{
  g_return_if_fail (TEND_IS_PROCESS_BACKEND (self));
  TEND_PROCESS_BACKEND_GET_IFACE (self)->terminate (self, instance);
}
