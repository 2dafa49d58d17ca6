#!/usr/bin/env bash
# Reserve N 2 MiB hugepages (default 1024 = 2 GiB) and mount hugetlbfs at
# /dev/hugepages if nothing is mounted. Idempotent; needs root. Pages reserved at run
# time may come up short on a fragmented machine: reserve them at boot for production
# (kernel command line: default_hugepagesz=2M hugepagesz=2M hugepages=N, or 1G pages).
set -euo pipefail
pages=${1:-1024}
current=$(cat /proc/sys/vm/nr_hugepages)
if [ "$current" -lt "$pages" ]; then
  echo "$pages" > /proc/sys/vm/nr_hugepages
fi
got=$(cat /proc/sys/vm/nr_hugepages)
if ! grep -q " hugetlbfs " /proc/mounts; then
  mkdir -p /dev/hugepages
  mount -t hugetlbfs nodev /dev/hugepages
fi
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
echo "hugepages: $got reserved (asked for $pages), $free free, hugetlbfs on $(awk '$3 == "hugetlbfs" {print $2; exit}' /proc/mounts)"
[ "$got" -ge "$pages" ]
