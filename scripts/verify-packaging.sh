#!/bin/sh
# Checks the deployment files on a machine that cannot run containers:
#  1. the systemd unit, with systemd-analyze verify and security (offline,
#     on a copy of the unit tree with the binary in place);
#  2. the image's install steps (packaging/install-runtime.sh) in a clean
#     Debian bookworm tree made with debootstrap, twice;
#  3. in that tree, as the callscope user: flite + callscope process (sox,
#     pocketsphinx), callscope serve answering /health as the image's
#     HEALTHCHECK asks it, callscope backup while serving, restore refused
#     while serving and done once stopped.
# Needs root, debootstrap, systemd-analyze and a Debian mirror; a few
# minutes. KEEP=1 keeps the tree (its path is printed).
set -eu

cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap, chroot)"; exit 1; }
for tool in debootstrap systemd-analyze go; do
	command -v "$tool" >/dev/null || { echo "missing: $tool"; exit 1; }
done
MIRROR=${MIRROR:-http://deb.debian.org/debian}
WORK=$(mktemp -d /tmp/callscope-packaging.XXXXXX)
ROOT=$WORK/rootfs
PORT=${PORT:-18923}
SERVE=
cleanup() {
	if [ -n "$SERVE" ]; then kill "$SERVE" 2>/dev/null || true; fi
	umount "$ROOT/proc" "$ROOT/dev" 2>/dev/null || true
	if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "== systemd unit"
V=$WORK/unitroot
mkdir -p "$V/usr/local/bin" "$V/etc/systemd/system" "$V/usr/lib/systemd"
CGO_ENABLED=0 go build -trimpath -o "$V/usr/local/bin/callscope" ./cmd/callscope
cp -a /lib/systemd/system "$V/usr/lib/systemd/"
cp packaging/callscope.service "$V/etc/systemd/system/"
systemd-analyze verify --root="$V" callscope.service
systemd-analyze security --offline=true --root="$V" callscope.service | tail -1

echo "== debootstrap bookworm (minbase)"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
	{ tail "$WORK/debootstrap.log"; exit 1; }
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"

echo "== packaging/install-runtime.sh, twice"
cp packaging/install-runtime.sh "$ROOT/tmp/"
chroot "$ROOT" sh /tmp/install-runtime.sh >"$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log"; exit 1; }
chroot "$ROOT" sh /tmp/install-runtime.sh >>"$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log"; exit 1; }
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=packaging-check" -o "$ROOT/usr/local/bin/callscope" ./cmd/callscope

as_user() {
	chroot --userspec=callscope:callscope "$ROOT" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin \
		HOME=/var/lib/callscope CALLSCOPE_DATA_DIR=/var/lib/callscope "$@"
}

echo "== flite + callscope process, as callscope"
as_user flite -voice slt -t "Hello, please call me back tomorrow." -o /tmp/greeting.wav
as_user callscope process /tmp/greeting.wav 2>/dev/null | grep -F "call me back tomorrow"

echo "== callscope serve, /health, backup while serving, restore"
# Started directly (not through as_user) so that $! is the server itself.
chroot --userspec=callscope:callscope "$ROOT" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin \
	HOME=/var/lib/callscope CALLSCOPE_DATA_DIR=/var/lib/callscope CALLSCOPE_ADDR=127.0.0.1:$PORT \
	CALLSCOPE_LOG_FORMAT=json callscope serve >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE=$!
i=0
until as_user curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$WORK/serve.err"; kill "$SERVE"; exit 1; }
	sleep 0.2
done
as_user curl -fsS "http://127.0.0.1:$PORT/health"
echo
KEY=$(grep '^cs_' "$WORK/serve.out")
curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" -d '{"call_id":"packaging-1"}' "http://127.0.0.1:$PORT/api/v1/calls"
as_user callscope backup /var/lib/callscope/backup.db
if as_user callscope restore /var/lib/callscope/backup.db 2>/dev/null; then
	echo "restore over a serving database was not refused"; kill "$SERVE"; exit 1
fi
kill -TERM "$SERVE"
wait "$SERVE"
SERVE=
as_user callscope restore /var/lib/callscope/backup.db
echo "== all checks passed"
