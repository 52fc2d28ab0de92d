/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-instance.h"

G_BEGIN_DECLS

/**
 * TendLogCapture:
 * Reads one output pipe of a process on the main loop and appends it to a
 * log file, line by line: a partial line waits for its newline and is written
 * when the pipe closes. The pipe is drained to its end even after the process
 * exited (a grandchild may still hold it), so no output is ever cut off.
 * It frees itself at end of file; it keeps only a weak reference to @instance.
 */
typedef struct _TendLogCapture TendLogCapture;

/** tend_log_capture_start: takes ownership of @fd (made non-blocking). */
TendLogCapture *tend_log_capture_start (TendInstance *instance, int stream, int fd, const char *path);

G_END_DECLS
