#!/usr/bin/env bash
# Runs callscope's whole test suite on a fresh Debian/Ubuntu machine with Go:
#  1. installs the Debian packages the tests need (as root), or prints the
#     exact apt-get line to run (otherwise);
#  2. uses the PostgreSQL at $CALLSCOPE_TEST_DATABASE_URL, or starts a
#     throwaway one in a temporary directory and stops it afterwards;
#  3. checks formatting, vet and go.mod tidiness, then runs `go test ./...`.
# With --bench it runs the benchmarks instead of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=test
[ "${1:-}" = "--bench" ] && mode=bench

# Debian packages the tests use: PostgreSQL for the store suite; Apertium
# and its English-Spanish pair for offline translation; audio tools and
# recordings for the audio and speech tests.
packages=(postgresql sox flite ffmpeg asterisk-core-sounds-en-gsm pocketsphinx pocketsphinx-en-us apertium apertium-eng-spa chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "The tests need these Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

pgdir=""
cleanup() {
  if [ -n "$pgdir" ]; then
    run_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pgdir"
  fi
}
trap cleanup EXIT

# PostgreSQL refuses to run as root; as root, run it as the postgres user.
run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "${CALLSCOPE_TEST_DATABASE_URL:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
    echo "No PostgreSQL found: install the postgresql package or set CALLSCOPE_TEST_DATABASE_URL." >&2
    exit 1
  fi
  pgdir=$(mktemp -d /tmp/callscope-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$pgdir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
  echo "== starting a throwaway PostgreSQL ($("$pgbin/postgres" --version | awk '{print $3}')) on 127.0.0.1:$port"
  run_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  run_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-h 127.0.0.1 -p $port -k $pgdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
  export CALLSCOPE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
else
  echo "== using PostgreSQL at CALLSCOPE_TEST_DATABASE_URL"
fi

if [ "$mode" = bench ]; then
  go test -run '^$' -bench . -benchmem ./...
  exit 0
fi

echo "== gofmt, go vet, go mod tidy"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...
go mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy" >&2; go mod tidy -diff; exit 1; }

echo "== the store suite, per database"
go test -count=1 -v -run '^TestStore$' ./internal/sqlstore/ | grep -E '^    --- (PASS|FAIL): TestStore/' || { echo "store suite did not run" >&2; exit 1; }

echo "== go test"
go test -count=1 -timeout 20m ./...
