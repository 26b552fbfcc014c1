#!/usr/bin/env bash
# Installs deploybot's build and test dependencies from Debian's packages,
# only when something is missing (so it is fast on a prepared machine).
set -euo pipefail
pkgs=(build-essential cmake pkg-config git ca-certificates valgrind
      libwebsockets-dev libgit2-dev libcurl4-openssl-dev libssl-dev
      libjansson-dev libsqlite3-dev libpq-dev python3 python3-boto3 python3-botocore
      curl openssl sqlite3
      dpkg-dev file systemd groff-base strace    # the .deb: dpkg-shlibdeps, systemd-analyze, man page, syscalls
      prometheus                                 # /metrics: promtool check metrics, a real scrape
      postgresql-15                              # store/sql_pg.c's tests: a real server (tests/integration/pgcluster.py)
      chromium)                                  # test_dashboard: the dashboard in a headless browser
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
