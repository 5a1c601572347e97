#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 30s).
# Targets are found, not listed, so a new Fuzz function is fuzzed without
# touching this file. Targets that touch state use QUNBOT_TEST_REDIS_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
export QUNBOT_TEST_REDIS_URL=${QUNBOT_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
time=${FUZZTIME:-30s}
n=0
while IFS=: read -r file name; do
	pkg=./$(dirname "$file")
	echo "== $pkg $name ($time)"
	go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$time"
	n=$((n + 1))
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | sed -E 's#^\./##; s#:func #:#' | sort)
echo "fuzzed $n targets for $time each"
