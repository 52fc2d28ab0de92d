/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For tendd: building the handover and reading it back (not installed). */

#include "tend-handover.h"

G_BEGIN_DECLS

TEND_API TendHandover *tend_handover_new (void);
TEND_API void tend_handover_free (TendHandover *self);
/** tend_handover_get_fds: key → fd (GINT_TO_POINTER) */
TEND_API GHashTable *tend_handover_get_fds (TendHandover *self);
/** tend_handover_get_values: key → GVariant */
TEND_API GHashTable *tend_handover_get_values (TendHandover *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendHandover, tend_handover_free)

G_END_DECLS
