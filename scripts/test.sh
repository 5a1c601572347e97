#!/usr/bin/env bash
# Runs qunbot's test suite (go test -race ./...) against a real Redis:
#  1. QUNBOT_TEST_REDIS_URL when set;
#  2. else the Redis on 127.0.0.1:6379 (database 15) when one answers;
#  3. else a throwaway redis-server on a free port, stopped afterwards.
# Extra arguments go to `go test` (e.g. scripts/test.sh -run TestTranscripts).
set -euo pipefail
cd "$(dirname "$0")/.."

answers() { # host port: does something accept TCP connections there?
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

if [[ -z "${QUNBOT_TEST_REDIS_URL:-}" ]]; then
	if answers 127.0.0.1 6379; then
		export QUNBOT_TEST_REDIS_URL="redis://127.0.0.1:6379/15"
	else
		if ! command -v redis-server >/dev/null 2>&1; then
			echo "scripts/test.sh: the tests need Redis, and none answers on 127.0.0.1:6379." >&2
			echo "Install it with:  sudo apt-get install -y redis-server   (or set QUNBOT_TEST_REDIS_URL)" >&2
			exit 1
		fi
		port=""
		for p in $(seq 16379 16479); do
			if ! answers 127.0.0.1 "$p"; then port=$p; break; fi
		done
		[[ -n "$port" ]] || { echo "scripts/test.sh: no free port in 16379-16479" >&2; exit 1; }
		dir=$(mktemp -d)
		redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
			--daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
		trap 'kill "$(cat "$dir/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$dir"' EXIT
		for _ in $(seq 1 50); do answers 127.0.0.1 "$port" && break; sleep 0.1; done
		echo "scripts/test.sh: started a throwaway redis-server on 127.0.0.1:$port" >&2
		export QUNBOT_TEST_REDIS_URL="redis://127.0.0.1:$port/15"
	fi
fi
# the dashboard's browser tests need Chromium (they fail, never skip,
# without it); install Debian's when we may
if [[ -z "${QUNBOT_CHROMIUM:-}" ]] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "scripts/test.sh: installing chromium for the dashboard's browser tests" >&2
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null
	else
		echo "scripts/test.sh: the dashboard's browser tests need Chromium: sudo apt-get install -y chromium (or set QUNBOT_CHROMIUM)" >&2
	fi
fi
echo "scripts/test.sh: testing against $QUNBOT_TEST_REDIS_URL" >&2
go test -race -count=1 "$@" ./...
