#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and run Niyanta.
# Reruns are fast: apt-get runs only when something is missing.
set -euo pipefail

PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	liblmdb-dev libsqlite3-dev libnng-dev libcivetweb-dev libmsgpack-dev
	libzstd-dev libraft-dev libuv1-dev libjansson-dev libsodium-dev
	libssl-dev libinih-dev libcurl4-openssl-dev
	curl jq ca-certificates iproute2
)

missing=()
for p in "${PACKAGES[@]}"; do
	# "install ok installed" only when the package is fully installed.
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

echo "deps: installing: ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		echo "deps: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${PACKAGES[@]}"
