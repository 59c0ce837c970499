#!/usr/bin/env bash
# Runs every compiled unit and integration test (dist/**/*.test.js) with Node's test runner.
# Loop-device tests skip themselves with a printed reason when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find dist -name '*.test.js' -not -path '*/node_modules/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no compiled tests found: run npm run build first" >&2; exit 1; fi
exec node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=300000 "$@" "${files[@]}"
