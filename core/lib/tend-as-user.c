/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tend-as-user.h"
#include "tend-error.h"

#define MAX_GROUPS 1024

typedef struct {
  uid_t uid;
  gid_t gid;
  gid_t groups[MAX_GROUPS];
  int n_groups;
  TendAsUserFunc func;
  gpointer data;
  gpointer result;
  GError *error;
} Job;

/*
 * Linux keeps credentials per thread; glibc's setgroups() and setfsuid()
 * wrappers would change them in every thread of tendd, the raw system calls
 * change them in this thread only. The thread ends with the job, and its
 * credentials with it. A filesystem uid other than 0 also drops the thread's
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so root's bypass goes too.
 */
static gboolean
become (Job *job)
{
  if (syscall (SYS_setgroups, (size_t) job->n_groups, job->groups) < 0)
    return FALSE;
  syscall (SYS_setfsgid, job->gid);
  syscall (SYS_setfsuid, job->uid);
  /* both calls answer with the previous id and fail silently: ask again */
  return (uid_t) syscall (SYS_setfsuid, (uid_t) -1) == job->uid &&
         (gid_t) syscall (SYS_setfsgid, (gid_t) -1) == job->gid;
}

static gpointer
job_thread (gpointer data)
{
  Job *job = data;

  if (!become (job)) {
    g_set_error (&job->error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "cannot act as uid %u",
                 (unsigned) job->uid);
    return NULL;
  }
  job->result = job->func (job->data, &job->error);
  return NULL;
}

gpointer
tend_as_user_run (uid_t uid, TendAsUserFunc func, gpointer data, GError **error)
{
  g_autofree Job *job = g_new0 (Job, 1);
  struct passwd *pw;
  GThread *thread;

  if (geteuid () != 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED,
                 "cannot act as uid %u: tendd does not run as root", (unsigned) uid);
    return NULL;
  }
  pw = getpwuid (uid);
  if (pw == NULL) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "uid %u has no user entry", (unsigned) uid);
    return NULL;
  }
  job->uid = uid;
  job->gid = pw->pw_gid;
  job->n_groups = MAX_GROUPS;
  if (getgrouplist (pw->pw_name, pw->pw_gid, job->groups, &job->n_groups) < 0) {
    g_set_error (error, TEND_ERROR, TEND_ERROR_PERMISSION_DENIED, "user %s is in too many groups", pw->pw_name);
    return NULL;
  }
  job->func = func;
  job->data = data;
  thread = g_thread_try_new ("tend-as-user", job_thread, job, error);
  if (thread == NULL)
    return NULL;
  g_thread_join (thread);
  if (job->error != NULL) {
    g_propagate_error (error, job->error);
    return NULL;
  }
  return job->result;
}
