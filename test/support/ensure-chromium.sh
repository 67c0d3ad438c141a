#!/usr/bin/env bash
# Part of `npm test`: the browser suites (admin console, sandbox cashier, Swagger UI) drive Debian's Chromium
# with playwright-core, whose own browser download does not work on these machines. When it is missing,
# install Debian's package if this user can; otherwise say what to do, and fail before anything else runs.
set -uo pipefail
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$chromium" ] && exit 0

say() { printf '[test] %s\n' "$*" >&2; }
if [ -n "${CHROMIUM_PATH:-}" ]; then
  say "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable Chromium"
  exit 1
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "Chromium is missing; installing Debian's chromium package (once)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; then
    [ -x "$chromium" ] && exit 0
  fi
  say "could not install chromium with apt-get"
  exit 1
fi
say "no Chromium at $chromium: install your system's chromium package (e.g. 'sudo apt-get install chromium'), or set CHROMIUM_PATH"
exit 1
