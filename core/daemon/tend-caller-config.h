/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "tend-config.h"
#include "tend-config-private.h"

G_BEGIN_DECLS

/*
 * A configuration a D-Bus caller hands tendd (StartConfig's file, AddService's
 * options), read with the caller's rights. tendd may be root and the caller
 * a member of admin-group: the file, and every file the reader opens for it
 * (env-file), are opened as the caller (tend_as_user_run()), so neither a
 * service nor an error message (which quotes the line it stumbled on) shows
 * what the caller could not read itself. Root and tendd's own user read as
 * tendd. A tendd that is not root cannot take another user's rights: it
 * reads as itself and does not show such a caller its errors. Its
 * depends-on may name services the daemon already has
 * (TEND_CONFIG_FLAGS_OPEN_DEPENDENCIES).
 */

TendConfig *tend_caller_config_from_file (const char *path,
                                          TendPluginRegistry *registry,
                                          uid_t caller,
                                          GError **error) G_GNUC_WARN_UNUSED_RESULT;
TendConfig *tend_caller_config_from_data (const char *text,
                                          const char *display_name,
                                          const char *base_dir,
                                          TendPluginRegistry *registry,
                                          uid_t caller,
                                          GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
