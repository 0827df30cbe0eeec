#!/usr/bin/env bash
# Throughput figures of the real server, side by side in one run: SQLite,
# PostgreSQL with one replica and PostgreSQL with two (the last two when
# CALLSCOPE_TEST_DATABASE_URL is set): results-webhook ingestion,
# GET /api/v1/calls/active and the post-call pipeline. Run it on a quiet
# machine; it prints a table.
#
#   CALLSCOPE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable scripts/figures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CALLSCOPE_FIGURES=1
exec go test -count=1 -run '^TestFigures$' -v -timeout 45m ./cmd/callscope/ "$@"
