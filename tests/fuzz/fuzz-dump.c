/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reader of `tend resurrect` (tend_dump_load()) on arbitrary bytes, given
 * as a file in memory. Besides crashes: a refusal is a TEND_ERROR of one
 * printable UTF-8 line, and a dump read gives at least one service and a
 * list of names to run.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "tend-dump.h"
#include "tend-error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static int fd = -1;
  static char path[64];
  g_autoptr(GError) error = NULL;
  g_autoptr(TendConfig) config = NULL;
  g_auto(GStrv) running = NULL;

  if (fuzz_reaches_outside (data, size))
    return 0;
  if (fd < 0) {
    fd = memfd_create ("dump.conf", MFD_CLOEXEC);
    if (fd < 0)
      g_error ("memfd_create: %s", g_strerror (errno));
    g_snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate (fd, 0) < 0 || pwrite (fd, data, size, 0) != (ssize_t) size)
    g_error ("cannot write the memory file: %s", g_strerror (errno));

  config = tend_dump_load (path, fuzz_registry (), &running, &error);
  if (config == NULL) {
    if (error == NULL || error->domain != TEND_ERROR)
      g_error ("a refusal without a TEND_ERROR");
    if (!g_utf8_validate (error->message, -1, NULL))
      g_error ("not UTF-8: %s", error->message);
    for (const char *p = error->message; *p != '\0'; p++) {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        g_error ("a control character in: %s", error->message);
    }
    return 0;
  }
  if (tend_config_get_services (config)->len == 0 || running == NULL)
    g_error ("a dump read with no service or no running list");
  return 0;
}
