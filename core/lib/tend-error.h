/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib.h>

G_BEGIN_DECLS

#define TEND_ERROR (tend_error_quark ())

/**
 * TendError:
 * @TEND_ERROR_FAILED: generic failure
 * @TEND_ERROR_CONFIG: a configuration file is wrong (message names file, line, key)
 * @TEND_ERROR_NOT_FOUND: no such service or plugin
 * @TEND_ERROR_INVALID_ARGUMENT: a value given by a client is wrong
 * @TEND_ERROR_ALREADY_RUNNING: another daemon holds the home directory
 * @TEND_ERROR_SPAWN: a program could not be started
 * @TEND_ERROR_PLUGIN: a plugin could not be loaded or refused to start
 * @TEND_ERROR_PERMISSION_DENIED: the caller may not do this
 * @TEND_ERROR_BUSY: the operation conflicts with one in progress
 * @TEND_ERROR_RESOURCE: a limit of the system was reached (open files, processes, memory); worth retrying
 */
typedef enum {
  TEND_ERROR_FAILED,
  TEND_ERROR_CONFIG,
  TEND_ERROR_NOT_FOUND,
  TEND_ERROR_INVALID_ARGUMENT,
  TEND_ERROR_ALREADY_RUNNING,
  TEND_ERROR_SPAWN,
  TEND_ERROR_PLUGIN,
  TEND_ERROR_PERMISSION_DENIED,
  TEND_ERROR_BUSY,
  TEND_ERROR_RESOURCE,
} TendError;

TEND_API GQuark tend_error_quark (void);

G_END_DECLS
