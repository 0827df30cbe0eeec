#!/usr/bin/env bash
# Results-webhook ingestion against the real server: builds callscope, runs
# `callscope serve` on a fresh SQLite data directory with its default
# settings, and drives POST /api/v1/call-results with wrk (one thread,
# CONNS keep-alive connections, DURATION) using realistic payloads, each
# with its own session id. After the run it stops the server and checks in
# the database that every answered result is stored and its events were
# dispatched.
#
#   scripts/bench-results.sh            # 32 connections, 15 s
#   CONNS=64 DURATION=30s scripts/bench-results.sh
set -euo pipefail

CONNS=${CONNS:-32}
DURATION=${DURATION:-15s}
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y -qq wrk >/dev/null
	else
		echo "bench-results: wrk is not installed (apt-get install wrk)" >&2
		exit 1
	fi
fi

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/callscope" ./cmd/callscope
export CALLSCOPE_DATA_DIR="$work/data"
secret="bench-results-secret-0123456789"
"$work/callscope" migrate >/dev/null
"$work/callscope" tenant create --name bench --results-secret "$secret" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$work/callscope" serve --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
	sleep 0.1
done

# The payload of the results tests, without the stream id (each result is a
# new call).
sed -n '/^const firstResults = `/,/^}`/p' internal/http/results_test.go |
	sed '1s/.*/{/; $s/.*/}/' | grep -v '"stream_id"' >"$work/body.json"
cat >"$work/post.lua" <<EOF
local f = io.open("$work/body.json"); local body = f:read("*a"); f:close()
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/call-results",
    {["Content-Type"] = "application/json", ["X-CXBCore-Secret"] = "$secret"},
    (body:gsub("sess%-7f3a91", "bench-" .. n)))
end
EOF
wrk -t1 -c"$CONNS" -d"$DURATION" -s "$work/post.lua" "http://127.0.0.1:$port" | tee "$work/wrk.txt"
answered=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
if grep -q "Non-2xx" "$work/wrk.txt"; then
	echo "bench-results: some results were refused" >&2
	exit 1
fi

# Let the fan-out finish, then stop the server and count.
for _ in $(seq 600); do
	left=$(python3 - "$CALLSCOPE_DATA_DIR/callscope.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT count(*) FROM events WHERE dispatched_at IS NULL").fetchone()[0])
EOF
)
	[ "$left" = 0 ] && break
	sleep 0.1
done
kill -TERM "$server"
wait "$server" || true
python3 - "$CALLSCOPE_DATA_DIR/callscope.db" "$answered" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
calls = db.execute("SELECT count(*) FROM calls").fetchone()[0]
segments = db.execute("SELECT count(*) FROM segments").fetchone()[0]
left = db.execute("SELECT count(*) FROM events WHERE dispatched_at IS NULL").fetchone()[0]
answered = int(sys.argv[2])
print(f"answered {answered}, calls stored {calls}, segments {segments}, events not dispatched {left}")
if calls < answered or left:
    sys.exit("bench-results: results were lost or not dispatched")
EOF
