#!/usr/bin/env bash
# Hand a NIC (or an SR-IOV VF) to DPDK for bare-metal capture.
#
#   scripts/lab-bind-nic.sh status                  what is bound to what
#   scripts/lab-bind-nic.sh bind 0000:3b:00.0       to vfio-pci (the kernel loses it)
#   scripts/lab-bind-nic.sh unbind 0000:3b:00.0 ice give it back to a kernel driver
#   scripts/lab-bind-nic.sh vfs ens1f0 2            create 2 VFs on a PF, list their addresses
#
# vfio-pci needs the IOMMU on (intel_iommu=on / amd_iommu=on iommu=pt on the kernel
# command line); without it, load vfio with enable_unsafe_noiommu_mode=1 (labs only).
# Mellanox/NVIDIA mlx5 NICs are NOT bound: their PMD works beside the kernel driver.
set -euo pipefail
devbind=$(command -v dpdk-devbind.py || echo /usr/bin/dpdk-devbind.py)
cmd=${1:-status}
case "$cmd" in
  status) exec "$devbind" --status-dev net ;;
  bind)
    addr=${2:?PCI address}
    modprobe vfio-pci
    if [ ! -e /sys/kernel/iommu_groups/0 ]; then
      echo "lab-bind-nic: no IOMMU groups: enabling vfio no-IOMMU mode (unsafe; labs only)" >&2
      echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode
    fi
    iface=$(ls "/sys/bus/pci/devices/$addr/net" 2>/dev/null || true)
    [ -n "$iface" ] && ip link set "$iface" down
    "$devbind" --bind=vfio-pci "$addr"
    "$devbind" --status-dev net | grep -F "$addr" ;;
  unbind)
    addr=${2:?PCI address}; driver=${3:?kernel driver, e.g. ice, i40e, ixgbe}
    "$devbind" --bind="$driver" "$addr" ;;
  vfs)
    pf=${2:?PF interface}; n=${3:?number of VFs}
    echo 0 > "/sys/class/net/$pf/device/sriov_numvfs"
    echo "$n" > "/sys/class/net/$pf/device/sriov_numvfs"
    # Let the VF see traffic not addressed to it (needs the PF driver's support).
    for i in $(seq 0 $((n - 1))); do ip link set "$pf" vf "$i" trust on spoofchk off 2>/dev/null || true; done
    for vf in /sys/class/net/"$pf"/device/virtfn*; do basename "$(readlink "$vf")"; done ;;
  *) echo "usage: lab-bind-nic.sh status|bind ADDR|unbind ADDR DRIVER|vfs PF N" >&2; exit 2 ;;
esac
