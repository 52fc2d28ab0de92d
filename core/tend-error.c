/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-error.h"

G_DEFINE_QUARK (tend-error-quark, tend_error)
