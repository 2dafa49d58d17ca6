#!/usr/bin/env bash
# Installs what the web console needs and builds it (docs/console.md):
#   - Node.js and npm (Debian's nodejs/npm when no node is installed), and Debian's
#     chromium for the console's end-to-end test;
#   - the pinned npm packages of ui/package-lock.json (esbuild, uPlot, playwright-core)
#     into ui/node_modules with `npm ci`, from the npm registry;
#   - the console itself, built into ui/dist, which trawld serves at /ui.
# Called by scripts/install-deps.sh; safe to run again (npm ci is skipped while
# ui/node_modules matches the lock file). Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/../ui"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

apt_install() {
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

# A machine may already have Node.js from elsewhere (with its own npm); Debian's npm
# conflicts with such packages, so apt is asked only when a tool is missing.
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  echo "install-ui: installing ${need[*]}"
  apt_install "${need[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "install-ui: Node.js $(node --version) is too old; the console's tools need 18 or later" >&2
  exit 1
fi

# npm ci removes and reinstalls node_modules; skip it while the installed tree was made
# from this very lock file.
stamp=node_modules/.trawl-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-ui: npm ci (ui/package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

npm run --silent build
