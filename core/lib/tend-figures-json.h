/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * The service and instance dicts of ListServices and Describe carry their
 * figures (cpu-percent, memory-rss, processes, open-fds, cpu-seconds) as
 * numbers, 0 when unknown, with "figures-known" beside them: D-Bus has no
 * null. Their JSON (tend --json, GET /api/components/NAME) says null instead.
 * Compiled into the client and the http plugin, which both link json-glib;
 * libtend-core does not.
 */

/**
 * tend_figures_json_null_unknown: in @node (an object or an array, nested),
 * null the figures of every object whose "figures-known" is false
 */
void tend_figures_json_null_unknown (JsonNode *node);

G_END_DECLS
