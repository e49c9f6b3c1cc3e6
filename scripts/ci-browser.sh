#!/usr/bin/env bash
# CI stage: the browser playground in Debian's headless Chromium (issue #6).
#
#   1. installs Debian's `chromium` with apt-get when /usr/bin/chromium is missing (no browser download
#      by a test tool: playwright-core only drives the system binary);
#   2. runs `npm run test:browser` (test/browser/run.ts): builds the browser bundle and the page, serves
#      it on 127.0.0.1, trains with a fixed seed in the page on the cpu and gpu.js WebGL2 backends,
#      compares with the same run in Node, asserts the gpu.js kernel class, saves docs/playground.png.
# Any failure exits non-zero: an install that cannot happen is reported as such, not skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "[ci-browser] $CHROMIUM missing: installing Debian's chromium"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "[ci-browser] FAILED: no apt-get here; install Chromium and set CHROMIUM_PATH" >&2; exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else echo "[ci-browser] FAILED: need root (or sudo) for apt-get" >&2; exit 1; fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends chromium
fi
echo "[ci-browser] $("$CHROMIUM" --version 2>/dev/null || echo "chromium at $CHROMIUM")"
npm run test:browser
