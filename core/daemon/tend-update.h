/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "tend-handover-private.h"

G_BEGIN_DECLS

/*
 * tend update, the mechanism: the self-check of the new program, the
 * handover state written to a memfd, the exec, and reading it back.
 */

/**
 * tend_update_check_async:
 * Runs `@binary --version` (must print "tendd VERSION" and exit 0), then
 * `@binary --check-config --home @home [--config @config_path]` (exit 0).
 * Each gets 15 s. The children are claimed in @context (the orphan reaper
 * leaves them to GSubprocess). The result is the version (a string).
 */
void tend_update_check_async (GObject *source,
                              gpointer context,
                              const char *binary,
                              const char *home,
                              const char *config_path,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
char *tend_update_check_finish (GAsyncResult *result, GError **error);

/**
 * tend_update_exec:
 * Writes @state (a{sv}) with the descriptors of @handover (as "fds", a{si})
 * to a memfd and executes @binary with @argv and `--handover FD`, keeping
 * those descriptors open. Returns only on failure, with everything as it was.
 */
gboolean tend_update_exec (const char *binary, char *const *argv, GVariant *state, TendHandover *handover,
                           GError **error);

/**
 * tend_update_read_state:
 * The state the previous program wrote to @fd (closed here), and the
 * descriptors it handed over: key → fd in @out_fds (a new table).
 */
GVariant *tend_update_read_state (int fd, GHashTable **out_fds, GError **error);

G_END_DECLS
