/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "tend-instance.h"

G_BEGIN_DECLS

/**
 * TendHealthSampler:
 * Measures the whole process tree of every running instance in one pass
 * over /proc: CPU percent (over the time since the last pass), resident
 * memory, CPU seconds, number of processes and open fds. A tree is the
 * instance's session (its main process leads one), every descendant that
 * moved to another session, and every orphan handed to tendd (the child
 * subreaper) that carries the instance's TEND_SUPERVISOR_TAG.
 *
 * The stat files of processes that belong to a tree stay open between
 * passes and are read again with pread, which costs one syscall each.
 */
typedef struct _TendHealthSampler TendHealthSampler;

TendHealthSampler *tend_health_sampler_new (void);
void tend_health_sampler_free (TendHealthSampler *self);
/**
 * tend_health_sampler_sample:
 * @instances: the running TendInstance (pid != 0)
 * Sets each instance's usage (tend_instance_set_usage_full).
 */
void tend_health_sampler_sample (TendHealthSampler *self, GPtrArray *instances);
/** tend_health_sampler_get_open_files: stat files kept open (for the plugin's status) */
guint tend_health_sampler_get_open_files (TendHealthSampler *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TendHealthSampler, tend_health_sampler_free)

G_END_DECLS
