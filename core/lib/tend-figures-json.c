/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tend-figures-json.h"

static const char *const figure_keys[] = { "cpu-percent", "memory-rss", "processes", "open-fds", "cpu-seconds" };

static void
null_array (JsonArray *array, guint index, JsonNode *element, gpointer user_data)
{
  tend_figures_json_null_unknown (element);
}

static void
null_member (JsonObject *object, const char *name, JsonNode *member, gpointer user_data)
{
  tend_figures_json_null_unknown (member);
}

void
tend_figures_json_null_unknown (JsonNode *node)
{
  JsonObject *object;

  if (node == NULL)
    return;
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    json_array_foreach_element (json_node_get_array (node), null_array, NULL);
    return;
  }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return;
  object = json_node_get_object (node);
  /* the instance list of a describe */
  json_object_foreach_member (object, null_member, NULL);
  if (json_object_has_member (object, "figures-known") && !json_object_get_boolean_member (object, "figures-known")) {
    for (guint i = 0; i < G_N_ELEMENTS (figure_keys); i++) {
      if (json_object_has_member (object, figure_keys[i]))
        json_object_set_null_member (object, figure_keys[i]);
    }
  }
}
