#!/usr/bin/env bash
# Install dependencies, build and run every check CI runs; this is what .ci/run
# calls. Works on a fresh Debian 12 machine (as root, or with sudo) and from
# any cwd. The steps, in order, each in its own build folder:
#
#   gcc     build-tests/        gcc build (warnings are errors) + the whole suite
#   clang   build-clang-tests/  clang build (warnings are errors) + the libFuzzer targets
#   asan    build-asan-tests/   gcc with AddressSanitizer + UndefinedBehaviorSanitizer
#                               + the whole suite; any sanitizer report fails it
#   fuzz    each tests/fuzz target under libFuzzer for TEND_FUZZ_SECONDS (60)
#           on a copy of its seed corpus; any crash, leak or timeout fails it
#
#   bash tools/run-tests.sh                 every step (about 10 minutes on 2 cores)
#   bash tools/run-tests.sh --quick         the gcc step only (about 2 minutes)
#   bash tools/run-tests.sh --only asan,fuzz  some steps (fuzz needs the clang build)
#
# Every test of a suite counts once; a build, the sanitizer report check and
# each fuzz target count as one check each. The very last line printed is
# always the total over all steps, "N passed, N failed[, N skipped]"; the exit
# status is non-zero when anything failed or nothing ran.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
top="$(pwd)"

usage() {
  echo "usage: bash tools/run-tests.sh [--quick | --only gcc,clang,asan,fuzz]" >&2
  echo "0 passed, 1 failed"
  exit 2
}

steps=gcc,clang,asan,fuzz
case "${1:-}" in
  "") ;;
  --quick) steps=gcc ;;
  --only)
    [ -n "${2:-}" ] || usage
    steps="$2"
    ;;
  --only=*) steps="${1#--only=}" ;;
  *) usage ;;
esac
for s in ${steps//,/ }; do
  case "$s" in
    gcc | clang | asan | fuzz) ;;
    *) usage ;;
  esac
done

# $1: a step; true when it is to run
wanted() {
  [[ ",$steps," == *",$1,"* ]]
}

fuzz_seconds="${TEND_FUZZ_SECONDS:-60}"
passed=0
failed=0
skipped=0

note() {
  echo "run-tests: $*"
}

# $1: step, $2: what; one check that passed or failed
check_passed() {
  passed=$((passed + 1))
  note "[$1] ok: $2"
}
check_failed() {
  failed=$((failed + 1))
  note "[$1] FAILED: $2"
}

summary() {
  local s="$passed passed, $failed failed"
  if [ "$skipped" -gt 0 ]; then
    s="$s, $skipped skipped"
  fi
  echo "$s"
}

# $1: build folder, the rest: meson setup options. Reuses a configured folder.
setup_build() {
  local dir="$1"
  shift
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$dir" "$@" \
      || meson setup --wipe "$dir" "$@" \
      || { rm -rf "$dir" && meson setup "$dir" "$@"; }
  else
    rm -rf "$dir"
    meson setup "$dir" "$@"
  fi
}

# $1: step, $2: build folder, the rest: meson test options. Adds the suite's
# results to the totals.
run_suite() {
  local step="$1" dir="$2"
  shift 2
  local testlog="$dir/meson-logs/testlog.json"
  local status counts

  rm -f "$testlog"
  meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" </dev/null
  status=$?
  if [ ! -f "$testlog" ]; then
    check_failed "$step" "meson test wrote no $testlog (exit status $status)"
    return
  fi
  counts="$(python3 - "$testlog" "$status" <<'PY'
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
            print(f"run-tests: unreadable line in {path}: {line[:80]}", file=sys.stderr)
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
    print("run-tests: no test ran" + (f" ({skipped} skipped)" if skipped else ""), file=sys.stderr)
    failed = 1
elif failed == 0 and status != 0:
    print(f"run-tests: meson test exited with status {status} although no test failed", file=sys.stderr)
    failed = 1
print(passed, failed, skipped)
PY
)"
  if [ -z "$counts" ]; then
    check_failed "$step" "cannot read $testlog"
    return
  fi
  read -r p f s <<<"$counts"
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
  note "[$step] suite: $p passed, $f failed, $s skipped"
}

# ---- gcc: the build and suite everyone runs ----
step_gcc() {
  local dir=build-tests
  if ! setup_build "$dir" --werror; then
    check_failed gcc "meson setup"
    return
  fi
  if ! meson compile -C "$dir"; then
    check_failed gcc "the build"
    return
  fi
  check_passed gcc "the build"
  run_suite gcc "$dir"
}

# ---- clang: warnings as errors, and the libFuzzer targets ----
step_clang() {
  local dir=build-clang-tests
  if ! command -v clang >/dev/null 2>&1; then
    check_failed clang "clang is not installed (tools/debian-packages.txt lists it)"
    return 1
  fi
  if ! CC=clang setup_build "$dir" --werror -Dfuzzing=true; then
    check_failed clang "meson setup"
    return 1
  fi
  if ! meson compile -C "$dir"; then
    check_failed clang "the build"
    return 1
  fi
  check_passed clang "the build"
}

# ---- asan: the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer ----
step_asan() {
  local dir=build-asan-tests
  local logs="$top/$dir/sanitizer-logs"
  local reports

  # gcc: its UBSan has no function-type check, which GLib's callback casts trip in clang >= 17
  if ! setup_build "$dir" --werror -Db_sanitize=address,undefined -Db_lundef=false; then
    check_failed asan "meson setup"
    return
  fi
  if ! meson compile -C "$dir"; then
    check_failed asan "the build"
    return
  fi
  check_passed asan "the build"

  rm -rf "$logs"
  mkdir -p "$logs"
  # every process writes here, tendd and the services' helpers included, whoever they run as
  chmod 1777 "$logs"
  # Reports go to files (the daemons' output is not the test's); any file is a
  # failure below, and a sanitized program also exits non-zero. GLib has no
  # frame pointers: without the slow unwinder its leak stacks stop at g_malloc.
  ASAN_OPTIONS="log_path=$logs/asan:halt_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=20:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1" \
    LSAN_OPTIONS="suppressions=$top/tools/sanitizers/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="log_path=$logs/ubsan:halt_on_error=1:print_stacktrace=1" \
    G_SLICE=always-malloc TEND_TEST_TIME_FACTOR=3 \
    run_suite asan "$dir" --timeout-multiplier 3

  reports="$(find "$logs" -type f | sort)"
  if [ -z "$reports" ]; then
    check_passed asan "no sanitizer report"
    return
  fi
  # the first few in full (one bug often reports from many processes), then the names
  local shown=0
  while IFS= read -r r; do
    shown=$((shown + 1))
    if [ "$shown" -le 5 ]; then
      echo "---- $r"
      head -c 20000 "$r"
    else
      echo "---- $r (not shown)"
    fi
  done <<<"$reports"
  check_failed asan "$(wc -l <<<"$reports") sanitizer report(s) in $logs"
}

# ---- fuzz: each libFuzzer target for a bounded time ----
step_fuzz() {
  local dir="$top/build-clang-tests/tests/fuzz"
  local work="$top/build-clang-tests/fuzz-runs"
  local corpus name fuzzer out status found=0

  rm -rf "$work"
  for corpus in "$top"/tests/fuzz/corpus/*/; do
    [ -d "$corpus" ] || continue
    name="$(basename "$corpus")"
    fuzzer="$dir/$name-fuzzer"
    found=$((found + 1))
    if [ ! -x "$fuzzer" ]; then
      check_failed fuzz "$name: no $fuzzer (is the target in tests/fuzz/meson.build?)"
      continue
    fi
    out="$work/$name"
    mkdir -p "$out/corpus" "$out/artifacts"
    # a copy: what the fuzzer adds stays out of the tree
    cp -R "$corpus"/. "$out/corpus/"
    note "[fuzz] $name for ${fuzz_seconds}s"
    ASAN_OPTIONS="halt_on_error=1:detect_leaks=1" \
      LSAN_OPTIONS="suppressions=$top/tools/sanitizers/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
      G_DEBUG=fatal-criticals G_SLICE=always-malloc \
      timeout --kill-after=30 $((fuzz_seconds + 300)) \
      "$fuzzer" -max_total_time="$fuzz_seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/artifacts/" "$out/corpus" >"$out/log" 2>&1 </dev/null
    status=$?
    if [ "$status" -eq 0 ] && [ -z "$(ls -A "$out/artifacts")" ]; then
      check_passed fuzz "$name: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$out/log" | grep -o '[0-9]*$') inputs, no crash"
      continue
    fi
    tail -n 60 "$out/log"
    for a in "$out"/artifacts/*; do
      [ -f "$a" ] || continue
      echo "---- $a (add it to tests/fuzz/corpus/$name/ with the fix)"
      od -A d -c "$a" | head -n 20
    done
    check_failed fuzz "$name: exit status $status; log and inputs in $out"
  done
  if [ "$found" -eq 0 ]; then
    check_failed fuzz "no corpus under tests/fuzz/corpus/"
  fi
}

if ! bash tools/install-deps.sh; then
  check_failed deps "installing the Debian packages"
  summary
  exit 1
fi

clang_ok=true
if wanted gcc; then
  step_gcc
fi
# the fuzzers are built by the clang step
if wanted clang || wanted fuzz; then
  step_clang || clang_ok=false
fi
if wanted asan; then
  step_asan
fi
if wanted fuzz; then
  if $clang_ok; then
    step_fuzz
  else
    check_failed fuzz "not run: the clang build failed"
  fi
fi

if [ $((passed + failed)) -eq 0 ]; then
  note "nothing ran"
  failed=1
fi
summary
[ "$failed" -eq 0 ]
