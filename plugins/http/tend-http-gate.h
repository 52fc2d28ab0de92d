/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "tend-http-head.h"

G_BEGIN_DECLS

/**
 * TendHttpGate:
 * The input side of one HTTP connection as libsoup reads it: a pollable
 * filter over the socket's input that hands libsoup one request head at a
 * time, and only once the whole head is in and has passed
 * tend_http_head_scan(). A head with a Content-Length is followed by exactly
 * that many bytes, then the gate waits for the next head; after a chunked
 * head everything passes, and the connection must close after its answer
 * (tend_http_gate_in_body). A refused head is never given to libsoup:
 * the gate calls @refused, from inside libsoup's read, and gives nothing
 * more, so whoever owns the connection answers and closes it.
 */
#define TEND_TYPE_HTTP_GATE (tend_http_gate_get_type ())
G_DECLARE_FINAL_TYPE (TendHttpGate, tend_http_gate, TEND, HTTP_GATE, GFilterInputStream)

/** TendHttpGateRefused: @head tells the status and message to answer */
typedef void (*TendHttpGateRefused) (TendHttpGate *gate, const TendHttpHead *head, gpointer user_data);

/** tend_http_gate_new: @base must be a GPollableInputStream */
TendHttpGate *tend_http_gate_new (GInputStream *base, TendHttpGateRefused refused, gpointer user_data);
/** tend_http_gate_forget: @refused is not called any more (its connection is gone) */
void tend_http_gate_forget (TendHttpGate *self);
/** tend_http_gate_get_n_heads: the heads checked and handed over whole so far */
guint64 tend_http_gate_get_n_heads (TendHttpGate *self);
/**
 * tend_http_gate_in_body:
 * The last head handed over announced a body that has not been handed over
 * whole yet (a chunked body is never known to be whole: the gate does not
 * parse chunks). @chunked: (out) (optional): it is chunked.
 */
gboolean tend_http_gate_in_body (TendHttpGate *self, gboolean *chunked);

G_END_DECLS
