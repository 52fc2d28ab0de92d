#!/usr/bin/env bash
# Install dependencies, build into build/ and run tendd in the foreground on
# data/examples/demo.conf. Ctrl-C stops tendd and every demo service.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/install-deps.sh

builddir=build
if [ -f "$builddir/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$builddir" --werror || meson setup --wipe "$builddir" --werror
else
  meson setup "$builddir" --werror
fi
meson compile -C "$builddir"

home="${TEND_HOME:-/tmp/tend-demo}"
mkdir -p "$home"
export TEND_HOME="$home"
export TEND_PLUGIN_DIR="$PWD/$builddir/plugins"

echo "tend demo: logs go to $home/logs/ (tail -f $home/logs/*.log), web on http://127.0.0.1:8090/; press Ctrl-C to stop."
exec "$builddir/core/daemon/tendd" --foreground --home "$home" --config data/examples/demo.conf
