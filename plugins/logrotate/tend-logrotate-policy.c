/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "tend-logrotate-policy.h"

#define STAMP_FORMAT "%Y-%m-%d_%H-%M-%S"
#define STAMP_LEN 19         /* YYYY-MM-DD_HH-MM-SS */
#define TEMP_SUFFIX_LEN 7    /* ".XXXXXX" of g_mkstemp */
#define MAX_COUNTER_DIGITS 9 /* fits a guint */

gboolean
tend_logrotate_interval_from_string (const char *text, TendLogrotateInterval *out)
{
  static const char *const names[] = { "never", "hourly", "daily", "weekly" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    if (g_strcmp0 (text, names[i]) == 0) {
      *out = (TendLogrotateInterval) i;
      return TRUE;
    }
  }
  return FALSE;
}

char *
tend_logrotate_stem (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  gsize len = strlen (base);

  /* a bare ".log" keeps its name, or the stem would be empty */
  if (len > 4 && g_str_has_suffix (base, ".log"))
    base[len - 4] = '\0';
  return g_steal_pointer (&base);
}

char *
tend_logrotate_rotated_path (const char *path, GDateTime *when, guint counter)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *stem = tend_logrotate_stem (path);
  g_autofree char *stamp = g_date_time_format (when, STAMP_FORMAT);
  g_autofree char *name = NULL;

  if (counter > 0)
    name = g_strdup_printf ("%s__%s-%u.log", stem, stamp, counter);
  else
    name = g_strdup_printf ("%s__%s.log", stem, stamp);
  return g_build_filename (dir, name, NULL);
}

char *
tend_logrotate_pick_rotated_path (const char *path,
                                  GDateTime *when,
                                  guint first_counter,
                                  guint max_counter,
                                  TendLogrotateExistsFunc exists,
                                  gpointer user_data,
                                  guint *out_counter)
{
  for (guint counter = first_counter; counter < max_counter; counter++) {
    g_autofree char *candidate = tend_logrotate_rotated_path (path, when, counter);
    g_autofree char *gz = g_strconcat (candidate, ".gz", NULL);

    /* a taken .gz counts too: compressing the new file would replace it */
    if (exists (candidate, user_data) || exists (gz, user_data))
      continue;
    if (out_counter != NULL)
      *out_counter = counter;
    return g_steal_pointer (&candidate);
  }
  return NULL;
}

static gboolean
is_stamp (const char *s)
{
  /* "DDDD-DD-DD_DD-DD-DD" */
  static const char pattern[] = "dddd-dd-dd_dd-dd-dd";

  for (guint i = 0; i < STAMP_LEN; i++) {
    if (pattern[i] == 'd' ? !g_ascii_isdigit (s[i]) : s[i] != pattern[i])
      return FALSE;
  }
  return TRUE;
}

gboolean
tend_logrotate_parse_rotated (const char *stem, const char *name, char **out_key, gboolean *out_compressed)
{
  gsize stem_len = strlen (stem);
  const char *p;
  guint64 counter = 0;
  gboolean compressed;

  if (strncmp (name, stem, stem_len) != 0 || strncmp (name + stem_len, "__", 2) != 0)
    return FALSE;
  p = name + stem_len + 2;
  if (strlen (p) < STAMP_LEN || !is_stamp (p))
    return FALSE;
  p += STAMP_LEN;
  if (*p == '-') {
    const char *digits = ++p;
    while (g_ascii_isdigit (*p))
      p++;
    if (p == digits || p - digits > MAX_COUNTER_DIGITS || *digits == '0')
      return FALSE;
    counter = g_ascii_strtoull (digits, NULL, 10);
  }
  if (strcmp (p, ".log") == 0)
    compressed = FALSE;
  else if (strcmp (p, ".log.gz") == 0)
    compressed = TRUE;
  else
    return FALSE;

  /* the counter is zero-padded so that "-10" sorts after "-9" and a plain name before "-1" */
  if (out_key != NULL)
    *out_key = g_strdup_printf ("%.*s-%010" G_GUINT64_FORMAT, STAMP_LEN, name + stem_len + 2, counter);
  if (out_compressed != NULL)
    *out_compressed = compressed;
  return TRUE;
}

char *
tend_logrotate_temp_template (const char *gz_path)
{
  g_autofree char *dir = g_path_get_dirname (gz_path);
  g_autofree char *base = g_path_get_basename (gz_path);
  g_autofree char *name = g_strdup_printf (".%s.XXXXXX", base);

  return g_build_filename (dir, name, NULL);
}

gboolean
tend_logrotate_is_temp_name (const char *stem, const char *name)
{
  gsize len = strlen (name);
  g_autofree char *inner = NULL;
  gboolean compressed = FALSE;

  if (len < 1 + TEMP_SUFFIX_LEN + 1 || name[0] != '.' || name[len - TEMP_SUFFIX_LEN] != '.')
    return FALSE;
  inner = g_strndup (name + 1, len - 1 - TEMP_SUFFIX_LEN);
  return tend_logrotate_parse_rotated (stem, inner, NULL, &compressed) && compressed;
}

GDateTime *
tend_logrotate_period_end (TendLogrotateInterval interval, GDateTime *opened)
{
  GTimeZone *tz = g_date_time_get_timezone (opened);
  g_autoptr(GDate) date = NULL;
  guint days = 0;
  int year, month, day;

  switch (interval) {
  case TEND_LOGROTATE_INTERVAL_NEVER:
    return NULL;
  case TEND_LOGROTATE_INTERVAL_HOURLY: {
    /* on the absolute time line, so a DST change inside the hour cannot shift the boundary */
    GTimeSpan into_hour = g_date_time_get_minute (opened) * G_TIME_SPAN_MINUTE +
                          g_date_time_get_second (opened) * G_TIME_SPAN_SECOND +
                          g_date_time_get_microsecond (opened);
    return g_date_time_add (opened, G_TIME_SPAN_HOUR - into_hour);
  }
  case TEND_LOGROTATE_INTERVAL_DAILY:
    days = 1;
    break;
  case TEND_LOGROTATE_INTERVAL_WEEKLY:
    /* Monday is 1: from a Monday the next Monday is 7 days on, from a Sunday 1 */
    days = 8 - g_date_time_get_day_of_week (opened);
    break;
  }

  /* midnight of a later calendar day, built as a local time so that days of 23 or 25 hours count right */
  g_date_time_get_ymd (opened, &year, &month, &day);
  date = g_date_new_dmy ((GDateDay) day, (GDateMonth) month, (GDateYear) year);
  g_date_add_days (date, days);
  return g_date_time_new (tz, g_date_get_year (date), g_date_get_month (date), g_date_get_day (date), 0, 0, 0);
}

typedef struct {
  char *key;
  char *name;
} Entry;

static void
entry_clear (gpointer data)
{
  Entry *e = data;

  g_free (e->key);
  g_free (e->name);
}

static int
entry_compare (gconstpointer a, gconstpointer b)
{
  const Entry *ea = a, *eb = b;
  int c = strcmp (ea->key, eb->key);

  return c != 0 ? c : strcmp (ea->name, eb->name);
}

GPtrArray *
tend_logrotate_select_expired (const char *stem, const char *const *names, guint retain)
{
  g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  GPtrArray *expired = g_ptr_array_new_with_free_func (g_free);
  guint rotations = 0, to_drop, dropped = 0;
  const char *last_key = NULL;

  g_array_set_clear_func (entries, entry_clear);
  for (guint i = 0; names != NULL && names[i] != NULL; i++) {
    Entry e = { NULL, NULL };
    if (!tend_logrotate_parse_rotated (stem, names[i], &e.key, NULL))
      continue;
    e.name = g_strdup (names[i]);
    g_array_append_val (entries, e);
  }
  g_array_sort (entries, entry_compare);

  for (guint i = 0; i < entries->len; i++) {
    Entry *e = &g_array_index (entries, Entry, i);
    if (last_key == NULL || strcmp (last_key, e->key) != 0)
      rotations++;
    last_key = e->key;
  }
  if (rotations <= retain)
    return expired;

  to_drop = rotations - retain;
  last_key = NULL;
  for (guint i = 0; i < entries->len; i++) {
    Entry *e = &g_array_index (entries, Entry, i);
    if (last_key == NULL || strcmp (last_key, e->key) != 0) {
      if (dropped == to_drop)
        break;
      dropped++;
    }
    last_key = e->key;
    g_ptr_array_add (expired, g_strdup (e->name));
  }
  return expired;
}
