#!/usr/bin/env bash
# Builds and locates the binaries of the multi-cluster test bed (test/testbed):
# a real kube-apiserver and etcd, compiled from the Go module proxy through the
# wrapper module in test/testbed/tools, at the versions it pins.
#
#   scripts/testbed.sh build   build into the bin folder, unless it already holds
#                              binaries built from the same wrapper module
#   scripts/testbed.sh path    print the bin folder
#
# The bin folder is .cache/testbed/bin in the repo (git-ignored), or
# $PEERDNS_TESTBED_DIR/bin when that is set. A cold build takes about a quarter
# of an hour on two cores and 3 GB of memory; the Go build cache makes later
# ones take seconds, and a matching stamp makes them take none.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=$root/test/testbed/tools
dir=${PEERDNS_TESTBED_DIR:-$root/.cache/testbed}
bin=$dir/bin

k8s_version=v1.37.2
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"

usage() {
	echo "usage: $0 build|path" >&2
	exit 2
}

# stamp identifies what the binaries are built from: the wrapper module's
# files and the link flags.
stamp() {
	(
		cd "$tools"
		cat go.mod go.sum cmd/etcd/main.go
		echo "$ldflags"
	) | sha256sum | cut -d' ' -f1
}

up_to_date() {
	[[ -x $bin/kube-apiserver && -x $bin/etcd && -f $bin/stamp ]] &&
		[[ $(cat "$bin/stamp") == "$1" ]]
}

build() {
	local want tmp start
	want=$(stamp)
	mkdir -p "$dir"
	# One build at a time per folder; a second caller waits, then finds it done.
	exec 9>"$dir/build.lock"
	flock 9
	if up_to_date "$want"; then
		echo "testbed: kube-apiserver and etcd are up to date in $bin"
		return
	fi
	command -v go >/dev/null || { echo "testbed: go is not on PATH" >&2; exit 1; }
	echo "testbed: building kube-apiserver $k8s_version and etcd into $bin"
	echo "testbed: a cold build takes about 15 minutes on 2 cores; later builds reuse Go's build cache"
	tmp=$(mktemp -d "$dir/build.XXXXXX")
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	start=$SECONDS
	(
		cd "$tools"
		GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" nice -n 10 \
			go build -ldflags "$ldflags" -o "$tmp/" k8s.io/kubernetes/cmd/kube-apiserver ./cmd/etcd
	)
	echo "$want" >"$tmp/stamp"
	rm -rf "$bin"
	mv "$tmp" "$bin"
	trap - EXIT
	echo "testbed: built in $((SECONDS - start)) s: $("$bin/kube-apiserver" --version), etcd $("$bin/etcd" --version | sed -n 's/^etcd Version: //p')"
}

[[ $# -eq 1 ]] || usage
case $1 in
build) build ;;
path) echo "$bin" ;;
*) usage ;;
esac
