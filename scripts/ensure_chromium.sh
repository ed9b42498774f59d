#!/bin/sh
# Map tests open the maps in a real headless Chromium (Debian's package; Playwright drives it
# without downloading a browser of its own), and check that no Chinese label renders as a
# missing-glyph box, so a CJK font must be installed too. Each is installed when it is missing
# and we are allowed to (root with apt-get); otherwise we say what to install.
set -e
have_chromium=no
for c in "${SXPLAN_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$c" ] && [ -x "$c" ]; then have_chromium=yes; break; fi
done
have_cjk_font=no
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]; then
  have_cjk_font=yes
fi
[ "$have_chromium" = yes ] && [ "$have_cjk_font" = yes ] && exit 0
packages=""
[ "$have_chromium" = no ] && packages="chromium"
[ "$have_cjk_font" = no ] && packages="$packages fonts-noto-cjk fontconfig"
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "sxplan: installing Debian's$packages for the map tests" >&2
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  exit 0
fi
if [ "$have_chromium" = no ]; then
  echo "sxplan: map tests need Chromium. Install it (Debian/Ubuntu: 'sudo apt-get install chromium')" >&2
  echo "        or point SXPLAN_CHROMIUM at a chromium binary, then run 'make test' again." >&2
fi
if [ "$have_cjk_font" = no ]; then
  echo "sxplan: no CJK font found ('fc-list :lang=zh' lists none): Chinese map labels would" >&2
  echo "        render as empty boxes. Install one (Debian/Ubuntu: 'sudo apt-get install" >&2
  echo "        fonts-noto-cjk'), then run 'make test' again." >&2
fi
exit 1
