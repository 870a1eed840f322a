#!/usr/bin/env bash
# Headless Chromium for the browser test: Debian's package (a browser download does not work
# offline). Installed when missing and we are root; otherwise says what to run.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser test"
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  exit 0
fi
echo "The browser test needs Chromium: run 'sudo apt-get install chromium' (Debian/Ubuntu), then 'make test' again." >&2
exit 1
