#!/usr/bin/env bash
# Sets qunbot's ad filter beside umputun/tg-spam's detector on the same
# K folds of every labelled corpus (README: "Compared with tg-spam").
#
#   scripts/compare-tgspam.sh [--src DIR] [--presets DIR] [--folds K] [CORPORA]
#
# --src DIR      a tg-spam source tree (module github.com/umputun/tg-spam);
#                without it the Go module proxy must serve the module
# --presets DIR  a directory holding tg-spam's stop-words.txt and
#                exclude-tokens.txt (its data/): also score tg-spam with them
# CORPORA        default ../shared/corpora/adfilter (one dir per set, each
#                with spam.txt and ham.txt)
#
# tg-spam is built in a throwaway module: it never enters qunbot's go.mod.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="" presets="" folds=5 corpora="$root/../shared/corpora/adfilter"
while [[ $# -gt 0 ]]; do
	case $1 in
	--src) src=$(cd "$2" && pwd); shift 2 ;;
	--presets) presets=$(cd "$2" && pwd); shift 2 ;;
	--folds) folds=$2; shift 2 ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) corpora=$1; shift ;;
	esac
done
[[ -d $corpora ]] || { echo "compare-tgspam: no corpora at $corpora" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/qunbot" "$root/cmd/qunbot"
mkdir "$work/cmp"
# the build tag keeps the program out of qunbot's module; here it is the module
grep -v '^//go:build ignore$' "$root/scripts/tgspam-compare/main.go" >"$work/cmp/main.go"
(
	cd "$work/cmp"
	go mod init tgspamcompare >/dev/null 2>&1
	go mod edit -replace "github.com/qunbot/qunbot=$root" -require github.com/qunbot/qunbot@v0.0.0
	if [[ -n $src ]]; then
		go mod edit -replace "github.com/umputun/tg-spam=$src" -require github.com/umputun/tg-spam@v0.0.0
	else
		go get github.com/umputun/tg-spam@latest || {
			echo "compare-tgspam: the module proxy did not serve github.com/umputun/tg-spam; pass --src DIR with its source" >&2
			exit 1
		}
	fi
	go mod tidy >/dev/null
	go build -o "$work/tgspam-compare" .
)

field() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" | head -1; }
printf '%-9s %-26s %9s %7s %7s %8s\n' set detector precision recall F1 FP/1000
for dir in "$corpora"/*/; do
	set=$(basename "$dir")
	[[ -f $dir/spam.txt && -f $dir/ham.txt ]] || continue
	row() { # name, output
		local out=$2
		printf '%-9s %-26s %9s %7s %7s %8s\n' "$set" "$1" \
			"$(field precision <<<"$out")" "$(field recall <<<"$out")" \
			"$(field F1 <<<"$out")" "$(sed -n 's/.*per 1,000 ham \([0-9.]*\).*/\1/p' <<<"$out" | head -1)"
	}
	row qunbot "$("$work/qunbot" adfilter eval --folds "$folds" --spam "$dir/spam.txt" --ham "$dir/ham.txt")"
	row tg-spam "$("$work/tgspam-compare" --folds "$folds" --spam "$dir/spam.txt" --ham "$dir/ham.txt")"
	if [[ -n $presets ]]; then
		row "tg-spam + its presets" "$("$work/tgspam-compare" --folds "$folds" --spam "$dir/spam.txt" --ham "$dir/ham.txt" \
			--stop-words "$presets/stop-words.txt" --exclude-tokens "$presets/exclude-tokens.txt")"
	fi
done
