#!/usr/bin/env bash
# Chromium for the web console's browser tests: Debian's own package, driven by Playwright for
# Python (the dev extra). Playwright never downloads a browser; the tests launch
# /usr/bin/chromium. Idempotent.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "==> installing chromium (browser tests of the web console)"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q chromium >/dev/null || {
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q chromium >/dev/null
}
/usr/bin/chromium --version
