/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * The entry points of a fuzz target (libFuzzer's names). Every target under
 * tests/fuzz/ defines LLVMFuzzerTestOneInput and may define
 * LLVMFuzzerInitialize; the same source is linked either with libFuzzer
 * (-Dfuzzing=true, clang) or with fuzz-main.c, which replays a corpus with any
 * compiler. A target returns 0 and must not keep state between inputs; it
 * reports a bug by crashing (an assertion, a sanitizer report).
 */
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);
