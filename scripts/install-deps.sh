#!/usr/bin/env bash
# Installs every Debian 12 package trawl needs to build, test and run its lab.
# Non-interactive and idempotent: packages already present are skipped by apt.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config meson ninja-build python3
  # dataplane
  libdpdk-dev dpdk dpdk-dev libnuma-dev libpcap-dev libhyperscan-dev liburing-dev
  # control plane
  libyaml-cpp-dev nlohmann-json3-dev prometheus-cpp-dev libcurl4-openssl-dev libssl-dev libtbb-dev
  # capture analysis: countries per address (old data, see docs/analysis.md)
  geoip-database libgeoip-dev
  # tests and tools that read what trawl writes
  libgtest-dev libgmock-dev libpcre2-dev tshark wireshark-common tcpdump prometheus curl jq procps fio
  # perf/: where the worker's cycles go
  linux-perf
)

bash "$(dirname "$0")/install-ui.sh"  # web console: Node.js, chromium, pinned npm packages, ui/dist
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Azurite (Azure Blob emulator, npm) for the storage test: into tools/azurite, pinned.
install_azurite() {
  bash "$(dirname "$0")/install-azurite.sh"
}

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  install_azurite
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
# wireshark-common asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_azurite
