#!/usr/bin/env bash
# Install the Debian packages the real-component tests need (registry, Podman, the Docker Engine,
# static busybox, Chromium), once. Idempotent: when everything is present it says so and changes nothing.
set -euo pipefail

PACKAGES=(docker-registry apache2-utils podman runc docker.io busybox-static chromium)

missing=()
for command in podman runc dockerd docker-registry htpasswd chromium; do
    command -v "$command" >/dev/null 2>&1 || missing+=("$command")
done
# The test image copies /bin/busybox into an empty root, so it must be the static build
# (Debian's plain busybox package also installs /bin/busybox, dynamically linked).
if [[ ! -x /bin/busybox ]] \
    || ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed"; then
    missing+=("busybox (static)")
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-system-packages: all present (podman runc dockerd docker-registry htpasswd busybox-static chromium), nothing to do"
    exit 0
fi

echo "install-system-packages: missing: ${missing[*]}; installing ${PACKAGES[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-system-packages: need root or sudo" >&2; exit 1; }
    sudo=(sudo)
fi
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"

for command in podman runc dockerd docker-registry htpasswd chromium; do
    command -v "$command" >/dev/null 2>&1 || { echo "install-system-packages: $command still missing after install" >&2; exit 1; }
done
[[ -x /bin/busybox ]] || { echo "install-system-packages: /bin/busybox still missing after install" >&2; exit 1; }
echo "install-system-packages: installed"
