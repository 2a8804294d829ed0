#!/usr/bin/env bash
# Runs every fuzz target of the module for a while each: scripts/fuzz.sh [DURATION] (default 30s).
# The seed corpora already run in every `go test`; this searches for new failing inputs, which
# `go test -fuzz` writes to the package's testdata/fuzz folder.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}

# Only packages with a fuzz function in a test file are asked for their list.
mapfile -t dirs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -r -n1 dirname | sort -u)
for dir in "${dirs[@]}"; do
	for target in $(go test -list '^Fuzz' "$dir" | grep '^Fuzz' || true); do
		echo "== $dir $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir"
	done
done
