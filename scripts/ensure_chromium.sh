#!/bin/sh
# Map tests open the maps in a real headless Chromium (Debian's package; Playwright drives it
# without downloading a browser of its own). Install it when it is missing and we are allowed to.
set -e
for c in "${SXPLAN_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  [ -n "$c" ] && [ -x "$c" ] && exit 0
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "sxplan: installing Debian's chromium for the map tests" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  exit 0
fi
echo "sxplan: map tests need Chromium. Install it (Debian/Ubuntu: 'sudo apt-get install chromium')" >&2
echo "        or point SXPLAN_CHROMIUM at a chromium binary, then run 'make test' again." >&2
exit 1
