/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-config-private.h"
#include "tend-service-manager.h"

G_BEGIN_DECLS

/*
 * The file of `tend save` / `tend resurrect`: the configuration syntax, one
 * [service:NAME] group per service (configured or ad hoc), then a last group
 * [tend-dump] with the format version and the names that should run.
 */

/**
 * tend_dump_save:
 * Writes every service of @manager to @path: a temporary file, fsync, rename,
 * so a crash leaves either the old or the new dump; the previous dump is kept
 * as @path.bak. Refuses (TEND_ERROR_INVALID_ARGUMENT) when there is no
 * service, so an empty daemon never overwrites a good dump.
 */
gboolean tend_dump_save (TendServiceManager *manager, const char *path, GError **error);

/**
 * tend_dump_load:
 * Reads @path as strictly as a configuration file. An empty, truncated or
 * damaged dump fails with TEND_ERROR_CONFIG and a message that says so.
 * @out_running: the names saved as running
 */
TendConfig *tend_dump_load (const char *path, TendPluginRegistry *registry, GStrv *out_running, GError **error);

/**
 * tend_dump_split:
 * Splits a file written by tendd (the dump, the state file) into its last
 * group [@group] (@out_group, for GKeyFile) and the rest (@out_services),
 * where the group's lines are left empty: the services are read from the
 * text as it is on disk, so an error names the file's real line. FALSE when
 * there is no such group. @out_line (nullable): the line of its header.
 */
gboolean tend_dump_split (const char *contents,
                          gsize length,
                          const char *group,
                          GString **out_services,
                          char **out_group,
                          guint *out_line);

/**
 * tend_dump_read_names:
 * The service names of the list @key of @group, read from the raw value: a
 * name needs no escape, and GLib 2.74's own list reader sets its GError twice
 * on a value with two bad escapes (the dump fuzzer found it). What is not a
 * service name is dropped; never NULL.
 */
GStrv tend_dump_read_names (GKeyFile *kf, const char *group, const char *key);

G_END_DECLS
