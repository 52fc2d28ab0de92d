/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "tend-config-private.h"
#include "tend-context.h"
#include "tend-service-private.h"

G_BEGIN_DECLS

/**
 * TendStateFile:
 * `$TEND_HOME/state`, the desired state kept continuously: which services
 * should run, which are stopped on purpose, which configured ones were
 * deleted, and the full definition of every ad hoc service. tendd reads it
 * once when it starts and applies it over its configuration (the
 * configuration still wins for the definition of a service it defines);
 * from then on it rewrites it (temporary file, fsync, rename) after every
 * change of what should run, many changes of one main-loop iteration in one
 * write. The format is the dump's: [service:NAME] groups, then a last group
 * [tend-state] with version=1 and the lists running=, stopped=, deleted=,
 * errored=. See docs/lifecycle.md.
 */
#define TEND_TYPE_STATE_FILE (tend_state_file_get_type ())
G_DECLARE_FINAL_TYPE (TendStateFile, tend_state_file, TEND, STATE_FILE, GObject)

TendStateFile *tend_state_file_new (TendContext *context, const char *path);
const char *tend_state_file_get_path (TendStateFile *self);

/**
 * tend_state_file_load:
 * Reads the file. A missing file is no error (nothing is known yet). A
 * damaged one fails with TEND_ERROR_CONFIG and FILE:LINE: reason; it is then
 * moved aside as FILE.bad, so nothing is lost and the next write starts anew.
 */
gboolean tend_state_file_load (TendStateFile *self, TendPluginRegistry *registry, GError **error);

/**
 * tend_state_file_choose:
 * A TendApplyFilter (@data is the TendStateFile): deleted names are left out,
 * those recorded as running are started, those recorded as stopped are
 * added without starting, the others as the configuration says.
 */
TendApplyChoice tend_state_file_choose (const char *name, gpointer data);

/**
 * tend_state_file_restore_ad_hoc:
 * Adds the ad hoc services of the file that the daemon does not have (a
 * name the configuration now defines keeps its configured definition), and
 * starts those recorded as running.
 */
void tend_state_file_restore_ad_hoc (TendStateFile *self);

/** tend_state_file_watch: from now on, every change of what should run is written */
void tend_state_file_watch (TendStateFile *self);

/** tend_state_file_changed: something the signals do not tell changed (a definition): write soon */
void tend_state_file_changed (TendStateFile *self);

/** tend_state_file_flush: writes now what is pending (before a reply, before exit) */
void tend_state_file_flush (TendStateFile *self);

/**
 * tend_state_file_freeze:
 * Flushes, then stops recording: tendd is going away, and stopping every
 * service on its way out is not a change of what should run.
 */
void tend_state_file_freeze (TendStateFile *self);

G_END_DECLS
