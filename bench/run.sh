#!/usr/bin/env bash
# deploybot benchmarks (issue #6): installs what is missing (Debian packages),
# builds Release into build-bench/ (the bench binaries are EXCLUDE_FROM_ALL),
# then runs bench/bench.py, which prints the table and writes
# bench/results/latest.json. Extra arguments go to bench.py (see --help).
# Everything runs on 127.0.0.1; about a minute on 2 cores, plus the build.
# BENCH_CMAKE_ARGS adds CMake arguments (e.g. "-DCMAKE_C_FLAGS=...").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# shellcheck disable=SC2086
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS= ${BENCH_CMAKE_ARGS:-} >/dev/null
cmake --build build-bench -j"$(nproc)" --target deploybot fetch_bench plan_bench burst sqlite_baseline
exec /usr/bin/python3 bench/bench.py --build-dir build-bench "$@"
