/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-service-config.h"
#include "tend-api.h"

G_BEGIN_DECLS

/**
 * tend_env_file_read:
 * @config's env-file as KEY=VALUE items (tend_parse_env_file()). When tendd
 * is root it is opened with the rights of user= when that is not tendd's
 * own user, else of the D-Bus caller that added the service (added_by_uid),
 * in a short-lived thread of their own (tend_as_user_run()): a link swapped
 * to a file that user cannot read fails with "cannot read: Permission
 * denied (read as USER)". Otherwise, with the calling thread's rights. A
 * user= that no longer exists is refused. Never quotes the file's lines.
 * @config must have an env_file.
 */
TEND_API gboolean tend_env_file_read (const TendServiceConfig *config, GStrv *out_env, GError **error);

G_END_DECLS
