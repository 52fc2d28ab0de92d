/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The Tend plugin SDK in one include: what a plugin module may call. Found
 * through pkg-config (tend-plugin-1), installed in $includedir/tend-1.
 * See docs/plugins.md.
 */

#include "tend-api.h"
#include "tend-config.h"
#include "tend-context.h"
#include "tend-enums.h"
#include "tend-error.h"
#include "tend-fd-limit.h"
#include "tend-handover.h"
#include "tend-instance.h"
#include "tend-log-file.h"
#include "tend-log-path.h"
#include "tend-parse.h"
#include "tend-plugin-config.h"
#include "tend-plugin.h"
#include "tend-proc.h"
#include "tend-process-backend.h"
#include "tend-service-config.h"
#include "tend-service-info.h"
#include "tend-service-manager.h"
#include "tend-service.h"
#include "tend-system-info.h"
