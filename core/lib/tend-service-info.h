/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tend-api.h"

#include <glib.h>

#include "tend-service.h"

G_BEGIN_DECLS

/*
 * One description of a service for every interface: D-Bus returns these
 * a{sv} dictionaries as they are, HTTP turns them into JSON with
 * json_gvariant_serialize(). Keys are documented in data/org.tend.Tend1.xml.
 */

/** tend_service_info_instance: the ListServices row of one instance (floating) */
TEND_API GVariant *tend_service_info_instance (TendInstance *instance);
/** tend_service_info_describe: everything about a service, as Describe returns it (floating) */
TEND_API GVariant *tend_service_info_describe (TendService *service);
/** tend_service_info_config: the service's configuration as config keys and text values (floating a{ss}) */
TEND_API GVariant *tend_service_info_config (TendServiceConfig *config);
/** tend_service_info_describe_exit: "exited with code 1", "killed by signal SIGKILL" */
TEND_API char *tend_service_info_describe_exit (int wait_status);

G_END_DECLS
