/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libtend-core is built with hidden visibility: a function is exported from
 * the shared library only when its declaration carries TEND_API. Every
 * declaration in a header of core/lib carries it, whether the header is
 * installed (the plugin SDK) or private to the daemon (tendd links the same
 * library); helpers without it stay inside the library.
 */
#define TEND_API __attribute__ ((visibility ("default")))
