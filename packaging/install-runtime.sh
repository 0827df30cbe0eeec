#!/bin/sh
# Installs what callscope needs at run time on Debian bookworm: the tools
# of the offline engines (sox and ffmpeg for audio, pocketsphinx for
# speech, flite for synthesised test calls), CA certificates and time
# zones, curl for the container health check, and the callscope system
# user (uid 10001) with its state directory. The Dockerfile runs it; it
# works the same on a plain Debian host.
set -eu

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
	ca-certificates tzdata curl \
	sox ffmpeg flite pocketsphinx pocketsphinx-en-us
apt-get clean
rm -rf /var/lib/apt/lists/*

if ! getent group callscope >/dev/null; then
	groupadd --system --gid 10001 callscope
fi
if ! getent passwd callscope >/dev/null; then
	useradd --system --uid 10001 --gid callscope --home-dir /var/lib/callscope \
		--no-create-home --shell /usr/sbin/nologin callscope
fi
install -d -m 0750 -o callscope -g callscope /var/lib/callscope

# The engines are usable: each tool answers.
sox --version >/dev/null
ffmpeg -hide_banner -version >/dev/null
command -v flite >/dev/null
command -v pocketsphinx_continuous >/dev/null
test -d /usr/share/pocketsphinx/model/en-us/en-us
