/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-handover.h"
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

/*
 * tend update: every capture stops reading and hands over its pipe and the
 * unfinished line it holds (aa{sv}, floating); the next tendd adopts each.
 */
TEND_API GVariant *tend_log_capture_save_all (TendHandover *handover);
/** tend_log_capture_resume_all: the exec failed: read again */
TEND_API void tend_log_capture_resume_all (void);
/** tend_log_capture_adopt: takes @fd, with the state one capture saved; @instance may be NULL (its run ended) */
TEND_API gboolean tend_log_capture_adopt (TendContext *context, TendInstance *instance, GVariant *state, int fd);

G_END_DECLS
