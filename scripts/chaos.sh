#!/usr/bin/env bash
# Chaos test: builds callscope and runs the real `callscope serve` while 300
# calls go through the post-call pipeline and their webhooks go out to a
# receiver in the test, killing it with SIGKILL at random moments five
# times. It checks that every call completes exactly once and every event is
# delivered, and prints how long after the last restart everything was done.
# SQLite always; PostgreSQL too when CALLSCOPE_TEST_DATABASE_URL is set.
#
#   scripts/chaos.sh
#   CALLSCOPE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable scripts/chaos.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CALLSCOPE_CHAOS=1
exec go test -count=1 -run '^TestChaos$' -v -timeout 45m ./cmd/callscope/ "$@"
