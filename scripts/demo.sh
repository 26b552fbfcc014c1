#!/usr/bin/env bash
# The local demo on embedded defaults: installs what is missing, builds, and
# runs the bot against a local config repo and local fakes (see scripts/demo.py).
#   scripts/demo.sh [--host github|gitea|gitlab]   the git host the bot is set up for
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target deploybot
DEPLOYBOT_BIN="$PWD/build/deploybot" exec /usr/bin/python3 scripts/demo.py "$@"
