/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-api.h"

G_BEGIN_DECLS

/**
 * TendHandover:
 * What crosses `tend update`, when tendd executes its (new) binary in the
 * same process: descriptors kept open across the exec and values, each under
 * a key. A plugin fills it in its handler of the context's `save-handover`
 * signal; the plugin loaded anew from its module after the exec takes them
 * back in its `setup` or `start` with tend_context_take_handover_fd() and
 * tend_context_lookup_handover_value(). Keys are the plugin's business; use
 * its name as a prefix ("http-listen-0").
 */
typedef struct _TendHandover TendHandover;

/**
 * tend_handover_add_fd:
 * Keeps @fd open across the exec (its close-on-exec flag is cleared just
 * before it, and set again if the exec fails). @fd stays the caller's: do not
 * close it before the exec (the process is replaced anyway).
 */
TEND_API void tend_handover_add_fd (TendHandover *self, const char *key, int fd);
/** tend_handover_set_value: stores @value (floating references are sunk) under @key */
TEND_API void tend_handover_set_value (TendHandover *self, const char *key, GVariant *value);

G_END_DECLS
