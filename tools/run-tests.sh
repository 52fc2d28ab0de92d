#!/usr/bin/env bash
# Install dependencies, build into build-tests/ and run the whole test suite.
# Works on a fresh Debian 12 machine (as root, or with sudo) and from any cwd.
# The very last line printed is always "N passed, N failed[, N skipped]";
# the exit status is non-zero when anything failed, the build failed, or no
# test ran. This is what .ci/run calls.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

builddir=build-tests

fail() {
  # $1: why. Keep the summary line last and honest: nothing passed, one failure.
  echo "run-tests: $1"
  echo "0 passed, 1 failed"
  exit 1
}

bash tools/install-deps.sh || fail "installing the Debian packages failed"

if [ -f "$builddir/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$builddir" \
    || meson setup --wipe "$builddir" \
    || { rm -rf "$builddir" && meson setup "$builddir"; } \
    || fail "meson setup failed"
else
  rm -rf "$builddir"
  meson setup "$builddir" || fail "meson setup failed"
fi

meson compile -C "$builddir" || fail "the build failed"

testlog="$builddir/meson-logs/testlog.json"
rm -f "$testlog"

meson test -C "$builddir" --print-errorlogs --num-processes 2 </dev/null
test_status=$?

if [ ! -f "$testlog" ]; then
  fail "meson test wrote no $testlog (exit status $test_status)"
fi

python3 - "$testlog" "$test_status" <<'PY'
import json
import sys

path, status = sys.argv[1], int(sys.argv[2])
passed = failed = skipped = 0
with open(path, encoding="utf-8") as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        try:
            result = json.loads(line).get("result")
        except ValueError:
            print(f"run-tests: unreadable line in {path}: {line[:80]}")
            failed += 1
            continue
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, anything unknown
            failed += 1

if passed + failed == 0:
    # nothing was tested: not a success, even if every test skipped itself
    print("run-tests: no test ran" + (f" ({skipped} skipped)" if skipped else ""))
    failed = 1
elif failed == 0 and status != 0:
    print(f"run-tests: meson test exited with status {status} although no test failed")
    failed = 1

summary = f"{passed} passed, {failed} failed"
if skipped:
    summary += f", {skipped} skipped"
print(summary, flush=True)
sys.exit(1 if failed else 0)
PY
