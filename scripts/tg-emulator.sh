#!/usr/bin/env bash
# Runs qunbot against telegram-test-api, a third-party Telegram Bot API
# emulator from npm (README: Telegram, Errors), and measures a newcomer's
# way (challenge, welcome, how soon /checkin and /help are answered) and
# a burst (how long until every ad of a burst of messages is deleted, and
# that no ordinary message is). The emulator serves only a few methods
# and answers the others with HTTP 500 and a JSON body of its own, so
# this also checks that qunbot keeps working beside methods it cannot
# use. Polling only: the emulator's webhook calls carry no secret token,
# which qunbot requires.
#
#   scripts/tg-emulator.sh [MESSAGES]      (default 300; needs node, npm, Redis)
#
# Redis: QUNBOT_REDIS_URL (default redis://127.0.0.1:6379/0), under a key
# prefix of its own that is deleted afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-300}
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
prefix="qb-emulator-$$:"
redis_url=${QUNBOT_REDIS_URL:-redis://127.0.0.1:6379/0}
cleanup() {
	[[ -n ${qb:-} ]] && kill "$qb" 2>/dev/null || true
	redis-cli -u "$redis_url" --scan --pattern "$prefix*" 2>/dev/null | xargs -r redis-cli -u "$redis_url" del >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && npm install --silent --no-audit --no-fund telegram-test-api@4.2.1 >/dev/null)
go build -o "$work/qunbot" "$root/cmd/qunbot"
cat >"$work/qunbot.yaml" <<YAML
timezone: Asia/Shanghai
locale: zh-CN
redis:
  url: $redis_url
  prefix: "$prefix"
http:
  listen: 127.0.0.1:0
adapters:
  telegram:
    token: "123:EMULATOR"
    api_url: http://127.0.0.1:$port
    mode: polling
flows:
  verify: { method: button, timeout: 2m, on_fail: kick }
  welcome: { text: "欢迎 {{.Flow.Mentions}} 加入{{.Group.Title}}！" }
  checkin: {}
  help: {}
  adfilter:
    threshold: 1
    keywords: [{ words: [spamword], score: 1 }]
YAML
TTA_DIR=$work node "$root/scripts/tg-emulator/drive.js" "$port" "123:EMULATOR" "$count" "$work/ready" &
emu=$!
for _ in $(seq 1 100); do [[ -f $work/ready ]] && break; sleep 0.1; done
"$work/qunbot" run -c "$work/qunbot.yaml" >"$work/qunbot.log" 2>&1 &
qb=$!
status=0
wait "$emu" || status=$?
echo "qunbot's log: $(grep -c '"level":"warn"' "$work/qunbot.log" || true) warnings, $(grep -c '"level":"error"' "$work/qunbot.log" || true) errors; the distinct ones:"
sed -n 's/.*"msg":"\([^"]*\)".*"error":"\([^"]\{0,160\}\).*/  \1: \2/p' "$work/qunbot.log" | sort | uniq -c | sort -rn | head -5
exit $status
