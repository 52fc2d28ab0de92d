/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gio.h>

#include "tend-error.h"

/* Every TendError crosses D-Bus under a name of its own, so clients can tell them apart. */
static const GDBusErrorEntry dbus_errors[] = {
  { TEND_ERROR_FAILED, "org.tend.Tend1.Error.Failed" },
  { TEND_ERROR_CONFIG, "org.tend.Tend1.Error.Config" },
  { TEND_ERROR_NOT_FOUND, "org.tend.Tend1.Error.NotFound" },
  { TEND_ERROR_INVALID_ARGUMENT, "org.tend.Tend1.Error.InvalidArgument" },
  { TEND_ERROR_ALREADY_RUNNING, "org.tend.Tend1.Error.AlreadyRunning" },
  { TEND_ERROR_SPAWN, "org.tend.Tend1.Error.Spawn" },
  { TEND_ERROR_PLUGIN, "org.tend.Tend1.Error.Plugin" },
  { TEND_ERROR_PERMISSION_DENIED, "org.tend.Tend1.Error.PermissionDenied" },
  { TEND_ERROR_BUSY, "org.tend.Tend1.Error.Busy" },
  { TEND_ERROR_RESOURCE, "org.tend.Tend1.Error.Resource" },
};

GQuark
tend_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("tend-error-quark", &quark, dbus_errors, G_N_ELEMENTS (dbus_errors));
  return (GQuark) quark;
}
