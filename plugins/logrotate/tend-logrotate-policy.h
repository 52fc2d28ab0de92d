/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Pure functions of log rotation: names of rotated files, period
 * boundaries, which rotated files to delete. No I/O, so they are tested
 * with fixed names and dates.
 *
 * For a log ".../NAME-out.log" the stem is "NAME-out" and a rotation is
 * ".../NAME-out__YYYY-MM-DD_HH-MM-SS.log" (local time of the rotation),
 * "...-N.log" when that name is taken, ".log.gz" once compressed. A
 * compression in progress writes ".NAME-out__STAMP.log.gz.XXXXXX".
 */

typedef enum {
  TEND_LOGROTATE_INTERVAL_NEVER,
  TEND_LOGROTATE_INTERVAL_HOURLY,
  TEND_LOGROTATE_INTERVAL_DAILY,
  TEND_LOGROTATE_INTERVAL_WEEKLY,
} TendLogrotateInterval;

/** tend_logrotate_interval_from_string: "never", "hourly", "daily", "weekly" */
gboolean tend_logrotate_interval_from_string (const char *text, TendLogrotateInterval *out);

/** tend_logrotate_stem: the base name of @path without a final ".log" */
char *tend_logrotate_stem (const char *path);

/** tend_logrotate_rotated_path: @path's folder / STEM__STAMP.log, or STEM__STAMP-@counter.log when @counter > 0 */
char *tend_logrotate_rotated_path (const char *path, GDateTime *when, guint counter);

/** TendLogrotateExistsFunc: whether a file @path exists (a callback, so the name picking stays testable) */
typedef gboolean (*TendLogrotateExistsFunc) (const char *path, gpointer user_data);

/**
 * tend_logrotate_pick_rotated_path:
 * The first free rotated name for @path at @when, trying counters from
 * @first_counter (0: the plain name first) up to @max_counter (excluded):
 * free means that neither the name nor its ".gz" exists. NULL when all are
 * taken. @out_counter (nullable) gets the counter used.
 */
char *tend_logrotate_pick_rotated_path (const char *path,
                                        GDateTime *when,
                                        guint first_counter,
                                        guint max_counter,
                                        TendLogrotateExistsFunc exists,
                                        gpointer user_data,
                                        guint *out_counter);

/**
 * tend_logrotate_parse_rotated:
 * Whether @name is a rotated file of @stem ("STEM__STAMP[-N].log[.gz]").
 * @out_key (nullable) gets a key that sorts rotations oldest first and is
 * the same for the .log and the .log.gz of one rotation; @out_compressed
 * (nullable) whether it ends in ".gz".
 */
gboolean tend_logrotate_parse_rotated (const char *stem, const char *name, char **out_key, gboolean *out_compressed);

/** tend_logrotate_temp_template: the template (for g_mkstemp) of a compression of @gz_path in progress */
char *tend_logrotate_temp_template (const char *gz_path);
/** tend_logrotate_is_temp_name: whether @name is a left-over temp file of a compression of a rotation of @stem */
gboolean tend_logrotate_is_temp_name (const char *stem, const char *name);

/**
 * tend_logrotate_period_end:
 * When the period that contains @opened ends, in @opened's time zone: the
 * next hour, the next midnight, the next Monday 00:00. NULL for never.
 */
GDateTime *tend_logrotate_period_end (TendLogrotateInterval interval, GDateTime *opened);

/**
 * tend_logrotate_select_expired:
 * Of the names in a folder (@names, any order, other files ignored), the
 * rotated files of @stem beyond the @retain newest rotations, oldest first.
 * Both files of a rotation (.log and .log.gz) count as one and go together.
 */
GPtrArray *tend_logrotate_select_expired (const char *stem, const char *const *names, guint retain);

G_END_DECLS
