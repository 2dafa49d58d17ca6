#!/usr/bin/env bash
# Installs Azurite (the Azure Blob Storage emulator) into tools/azurite/node_modules for
# the storage integration test (tests/integration/test_storage.py). Pinned to 3.35.0:
# later releases need a newer Node than Debian 12's nodejs (18). Idempotent; nothing is
# downloaded when the pinned version is already there, and nothing at test run time.
set -euo pipefail
cd "$(dirname "$0")/.."

AZURITE_VERSION=3.35.0
DIR=tools/azurite

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  echo "install-azurite: installing Debian's nodejs and npm"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi

installed=$(node -p "try { require('./$DIR/node_modules/azurite/package.json').version } catch (e) { '' }")
if [ "$installed" = "$AZURITE_VERSION" ] && [ -x "$DIR/node_modules/.bin/azurite-blob" ]; then
  echo "install-azurite: azurite $AZURITE_VERSION present in $DIR"
  exit 0
fi

echo "install-azurite: installing azurite $AZURITE_VERSION into $DIR (node $(node --version))"
# package-lock.json pins every transitive version; `npm ci` installs exactly those.
if [ -f "$DIR/package-lock.json" ]; then
  npm ci --prefix "$DIR" --no-audit --no-fund --loglevel=error
else
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error --save-exact "azurite@$AZURITE_VERSION"
fi
"$DIR/node_modules/.bin/azurite-blob" --version
