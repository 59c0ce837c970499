#!/usr/bin/env bash
# `npm test`: typecheck, lint, build, unit + integration tests (Node's runner) under this Node and
# again under Node 22 (Electron's line; scripts/fetch-node22.sh), end-to-end tests (Playwright in
# Debian's Chromium). Ends with one line totalling every test that ran.
set -uo pipefail
cd "$(dirname "$0")/.."
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

step() { echo; echo "=== $1"; }
step "typecheck" && npm run -s typecheck || exit 1
step "lint" && npm run -s lint || exit 1
step "build" && npm run -s build || exit 1

step "unit and integration tests"
bash scripts/run-tests.sh 2>&1 | tee "$log_dir/unit.txt"
unit_status=${PIPESTATUS[0]}

node22_status=0
if [ -x .node22/bin/node ]; then
  step "unit and integration tests under $(.node22/bin/node -v) (Electron's Node line)"
  PATH="$PWD/.node22/bin:$PATH" bash scripts/run-tests.sh 2>&1 | tee "$log_dir/node22.txt"
  node22_status=${PIPESTATUS[0]}
else
  echo; echo "=== skipping the Node 22 run: .node22/bin/node is missing (bash scripts/fetch-node22.sh fetches it)"
  : > "$log_dir/node22.txt"
fi

step "end-to-end tests"
npx playwright test -c e2e/playwright.config.ts 2>&1 | tee "$log_dir/e2e.txt"
e2e_status=${PIPESTATUS[0]}

count() { grep -E "$1" "$2" | tail -1 | grep -oE '[0-9]+' | head -1; }
u_pass=$(count '^# pass [0-9]+' "$log_dir/unit.txt"); u_fail=$(count '^# fail [0-9]+' "$log_dir/unit.txt")
u_skip=$(count '^# skipped [0-9]+' "$log_dir/unit.txt")
n_pass=$(count '^# pass [0-9]+' "$log_dir/node22.txt"); n_fail=$(count '^# fail [0-9]+' "$log_dir/node22.txt")
n_skip=$(count '^# skipped [0-9]+' "$log_dir/node22.txt")
e_pass=$(count '^ +[0-9]+ passed' "$log_dir/e2e.txt"); e_fail=$(count '^ +[0-9]+ failed' "$log_dir/e2e.txt")
e_skip=$(count '^ +[0-9]+ skipped' "$log_dir/e2e.txt")
passed=$(( ${u_pass:-0} + ${n_pass:-0} + ${e_pass:-0} )); failed=$(( ${u_fail:-0} + ${n_fail:-0} + ${e_fail:-0} ))
skipped=$(( ${u_skip:-0} + ${n_skip:-0} + ${e_skip:-0} ))
if [ "$unit_status" -ne 0 ] || [ "$node22_status" -ne 0 ] || [ "$e2e_status" -ne 0 ]; then [ "$failed" -gt 0 ] || failed=1; fi
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$unit_status" -eq 0 ] && [ "$node22_status" -eq 0 ] && [ "$e2e_status" -eq 0 ]
