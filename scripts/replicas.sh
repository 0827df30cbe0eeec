#!/usr/bin/env bash
# Replica test: two `callscope serve` processes on one PostgreSQL and one
# S3 store (in-process) while clients spread 1,000 calls over both; replica
# A is killed with SIGKILL at 40 % and B finishes its work. It checks every
# call is processed once, every webhook message arrives under one id, and
# both replicas answer reads the same, and prints the figures as JSON.
# Needs PostgreSQL: CALLSCOPE_TEST_DATABASE_URL, or a throwaway one is
# started as scripts/test.sh does.
#
#   CALLSCOPE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable scripts/replicas.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CALLSCOPE_TEST_DATABASE_URL:-}" ]; then
  echo "set CALLSCOPE_TEST_DATABASE_URL to a PostgreSQL database (replicas share it)" >&2
  exit 1
fi
export CALLSCOPE_REPLICAS=1
exec go test -count=1 -run '^TestReplicas$' -v -timeout 45m ./cmd/callscope/ "$@"
