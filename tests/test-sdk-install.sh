#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The plugin SDK works for a third party: this source tree is configured,
# built and installed into a temporary prefix; the out-of-tree example
# (docs/examples/plugin-hello) is built against that install through
# pkg-config only and installed into its plugindir; the installed tendd
# loads it, and the installed tend shows it loaded with its status figures.
#
# usage: test-sdk-install.sh SOURCE_ROOT
set -eu

src=$(cd "$1" && pwd)
# mkdtemp: a folder of mode 0700, so tendd running as root accepts the
# plugin modules below it (no one else can write there)
tmp=$(mktemp -d /tmp/tend-sdk-test.XXXXXX)
prefix=$tmp/prefix
tendd_pid=

cleanup () {
  if [ -n "$tendd_pid" ] && kill -0 "$tendd_pid" 2>/dev/null; then
    kill "$tendd_pid" 2>/dev/null || true
    i=0
    while kill -0 "$tendd_pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$tendd_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail () {
  echo "FAIL: $*" >&2
  exit 1
}

# Only what the install gives: not the build tree's libraries or plugins
# (meson test sets both for the other tests).
unset LD_LIBRARY_PATH TEND_PLUGIN_DIR TEND_HOME PKG_CONFIG_PATH || true
LC_ALL=C
export LC_ALL

echo "# configuring and installing Tend into $prefix"
meson setup "$tmp/build" "$src" --prefix="$prefix" --libdir=lib --buildtype=plain \
  -Dtests=false -Dsystemd_unit=false >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; fail "meson setup of Tend"; }
meson compile -C "$tmp/build" >"$tmp/compile.log" 2>&1 || { cat "$tmp/compile.log"; fail "compiling Tend"; }
meson install -C "$tmp/build" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "installing Tend"; }

for h in tend-plugin-sdk.h tend-plugin.h tend-context.h; do
  [ -f "$prefix/include/tend-1/$h" ] || fail "$h is not installed"
done
for h in tend-context-private.h tend-config-private.h tend-service-private.h tend-plugin-registry.h tend-config-reader.h; do
  [ ! -e "$prefix/include/tend-1/$h" ] || fail "the private header $h is installed"
done

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
plugindir=$(pkg-config --variable=plugindir tend-plugin-1) || fail "no tend-plugin-1.pc in $PKG_CONFIG_PATH"
[ "$plugindir" = "$prefix/lib/tend/plugins" ] || fail "plugindir is $plugindir, not $prefix/lib/tend/plugins"

echo "# building the example plugin against the installed SDK"
meson setup "$tmp/hello" "$src/docs/examples/plugin-hello" --prefix="$prefix" --buildtype=plain -Dwerror=true \
  >"$tmp/hello-setup.log" 2>&1 || { cat "$tmp/hello-setup.log"; fail "meson setup of the example"; }
meson compile -C "$tmp/hello" >"$tmp/hello-compile.log" 2>&1 || { cat "$tmp/hello-compile.log"; fail "compiling the example"; }
meson install -C "$tmp/hello" >"$tmp/hello-install.log" 2>&1 || { cat "$tmp/hello-install.log"; fail "installing the example"; }
[ -f "$plugindir/tend-hello.so" ] || fail "the example is not in $plugindir"

echo "# starting the installed tendd with [plugin:hello]"
mkdir -m 0700 "$tmp/home"
cat >"$tmp/tend.conf" <<CONF
[plugin:hello]
enabled = true
greeting = bonjour

[service:sleeper]
exec = sleep 600
CONF
TEND_HOME=$tmp/home
export TEND_HOME
"$prefix/sbin/tendd" --foreground --home "$tmp/home" --config "$tmp/tend.conf" >"$tmp/tendd.log" 2>&1 &
tendd_pid=$!

# bounded poll: the daemon answers and the service reached online
tend=$prefix/bin/tend
i=0
until "$tend" plugins --json >"$tmp/plugins.json" 2>/dev/null &&
  python3 - "$tmp/plugins.json" <<'PY'
import json, sys
plugins = {p["name"]: p for p in json.load(open(sys.argv[1]))}
hello = plugins.get("hello")
sys.exit(0 if hello and hello.get("status", {}).get("state-changes", 0) >= 1 else 1)
PY
do
  kill -0 "$tendd_pid" 2>/dev/null || { cat "$tmp/tendd.log"; fail "tendd exited"; }
  i=$((i + 1))
  [ $i -lt 300 ] || { cat "$tmp/tendd.log"; cat "$tmp/plugins.json"; fail "hello did not count the service's state changes within 30 s"; }
  sleep 0.1
done

"$tend" plugins >"$tmp/plugins.txt" 2>&1 || { cat "$tmp/plugins.txt"; fail "tend plugins"; }
cat "$tmp/plugins.txt"
# columns: name, enabled, loaded, description
grep -E '^hello[[:space:]]+yes[[:space:]]+yes[[:space:]]' "$tmp/plugins.txt" >/dev/null || fail "tend plugins does not list hello as loaded"
python3 - "$tmp/plugins.json" <<'PY' || fail "tend plugins --json does not show hello's figures"
import json, sys
plugins = {p["name"]: p for p in json.load(open(sys.argv[1]))}
hello = plugins["hello"]
assert hello["loaded"] is True, hello
print("# hello:", json.dumps(hello))
assert hello["status"]["greeting"] == "bonjour", hello
assert hello["status"]["state-changes"] >= 1, hello
PY
grep -q 'bonjour from' "$tmp/tendd.log" || { cat "$tmp/tendd.log"; fail "the plugin's start did not greet"; }

kill "$tendd_pid"
i=0
while kill -0 "$tendd_pid" 2>/dev/null; do
  i=$((i + 1))
  [ $i -lt 300 ] || fail "tendd did not stop within 30 s of SIGTERM"
  sleep 0.1
done
wait "$tendd_pid" || fail "tendd exited with status $?"
tendd_pid=
echo "ok - an out-of-tree plugin builds against the installed SDK and runs in the installed tendd"
