#!/usr/bin/env bash
# Runs every test: a normal build, the same suite under AddressSanitizer +
# UBSan, and the unit tests under valgrind (leaks are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDEPLOYBOT_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j"$jobs")

# Release (-O2) sees warnings the Debug build does not (format truncation):
# the benchmarks build it, so it must compile under -Werror too.
cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-rel -j"$jobs" --target deploybot

# Both ctest runs stop the script on a failure (set -e), so every test they
# list passed once we get here.
passed=$(( $(cd build && ctest -N | sed -n 's/^Total Tests: //p') + $(cd build-asan && ctest -N | sed -n 's/^Total Tests: //p') ))
echo "== unit tests under valgrind"
fail=0
for t in build/test_*; do
  [ -x "$t" ] || continue
  if ! DEPLOYBOT_SOURCE_DIR="$PWD" DEPLOYBOT_FIXTURES="$PWD/../shared/fixtures" \
       valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
       --error-exitcode=99 "$t" >/dev/null 2>"build/$(basename "$t").valgrind"; then
    echo "valgrind: $(basename "$t") FAILED"; cat "build/$(basename "$t").valgrind"; fail=$((fail + 1))
  else
    echo "valgrind: $(basename "$t") clean"; passed=$((passed + 1))
  fi
done
echo "all: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
