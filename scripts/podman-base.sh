#!/usr/bin/env bash
# Build the offline base image the container tests use: Debian bookworm's Python 3.11 (with
# venv), made with debootstrap from the apt mirror this machine already uses, imported
# into a podman store kept under $MODELPORT_PODMAN_CACHE (default /var/tmp/modelport-podman).
# Idempotent: does nothing when the image is already there. Needs root, podman, debootstrap, runc;
# with --install it first installs them from Debian's packages when they are missing.
set -euo pipefail
if [ "${1:-}" = "--install" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
   && ! { command -v podman && command -v runc && command -v debootstrap; } >/dev/null; then
  install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc debootstrap >/dev/null; }
  install || { apt-get update -q >/dev/null && install; }
fi
CACHE="${MODELPORT_PODMAN_CACHE:-/var/tmp/modelport-podman}"
IMAGE="${MODELPORT_BASE_IMAGE:-localhost/modelport-base:bookworm}"
mkdir -p "$CACHE/root" "$CACHE/runroot" "$CACHE/tmp"
pod() {
  podman --root "$CACHE/root" --runroot "$CACHE/runroot" --tmpdir "$CACHE/tmp" \
    --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}
if pod image exists "$IMAGE"; then
  echo "base image $IMAGE already in $CACHE"
  exit 0
fi
mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
  | grep -oE 'https?://[^ ]+/debian/?( |$)' | sed -n '1s/ *$//p' || true)"
if [ -z "$mirror" ]; then echo "no Debian mirror found in /etc/apt sources" >&2; exit 1; fi
rootfs="$(mktemp -d "$CACHE/tmp/rootfs.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1
# Leave out what a runtime image never needs: apt lists, docs, man pages, caches.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
tar --numeric-owner -C "$rootfs" -c . | pod import --change 'CMD ["/bin/bash"]' - "$IMAGE"
echo "built base image $IMAGE in $CACHE"
