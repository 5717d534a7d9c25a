#!/bin/sh
# install-deps.sh — install the Debian packages Seam builds and tests with.
#
# Idempotent: asks dpkg which packages are missing and installs only those, so
# a second run costs a few milliseconds. Called by every `make` target; on a
# fresh Debian 12 machine nothing else is needed. Needs root (or sudo) only
# when something is missing.
set -eu

PACKAGES="
build-essential meson ninja-build pkg-config
libjansson-dev libmicrohttpd-dev libcurl4-gnutls-dev libgnutls28-dev
libsqlite3-dev libpq-dev libarchive-dev libsodium-dev libcmocka-dev
python3 python3-pytest python3-pytest-timeout python3-pytest-xdist python3-requests python3-yaml
qemu-system-x86 busybox-static cpio xz-utils procps iproute2 hyperfine
chromium nodejs npm
tmux
"

# Node.js may come from elsewhere than Debian (a machine image's own
# nodejs, whose package conflicts with Debian's npm): a working `node` and
# `npm` on PATH satisfy those two.
satisfied_by_command() {
	case "$1" in
	nodejs) command -v node >/dev/null 2>&1 ;;
	npm) command -v npm >/dev/null 2>&1 ;;
	*) return 1 ;;
	esac
}

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = "installed" ] && continue
	satisfied_by_command "$p" && continue
	missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
