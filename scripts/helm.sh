#!/usr/bin/env bash
# Builds and locates the helm command line that the tests of the Helm chart
# (test/deploy) run: Helm's own code, compiled from the Go module proxy through
# the wrapper module in test/deploy/tools, at the version it pins.
#
#   scripts/helm.sh build   build into the bin folder, unless it already holds
#                           a helm built from the same wrapper module
#   scripts/helm.sh path    print the bin folder
#   scripts/helm.sh manifests [FILE]
#                           render the chart into the plain manifests,
#                           deploy/peerdns.yaml unless FILE is given
#
# The bin folder is .cache/helm/bin in the repo (git-ignored), or
# $PEERDNS_HELM_DIR/bin when that is set. A cold build takes a few minutes on
# two cores; the Go build cache makes later ones take seconds, and a matching
# stamp makes them take none.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=$root/test/deploy/tools
dir=${PEERDNS_HELM_DIR:-$root/.cache/helm}
bin=$dir/bin

usage() {
	echo "usage: $0 build|path|manifests [FILE]" >&2
	exit 2
}

# version prints the version of a module the wrapper module requires.
version() {
	sed -n "s|^[[:space:]]*$1 \(v[^ ]*\).*|\1|p" "$tools/go.mod"
}

# ldflags are those of Helm's own Makefile: its version, and the Kubernetes version
# that `helm lint` and `helm template` assume (the client-go minor, major 1).
ldflags() {
	local helm kube
	helm=$(version helm.sh/helm/v3)
	kube=$(version k8s.io/client-go)
	[[ -n $helm && -n $kube ]] || {
		echo "helm: no helm.sh/helm/v3 or k8s.io/client-go version in $tools/go.mod" >&2
		exit 1
	}
	kube=${kube#v0.}
	kube=${kube%%.*}
	local f="-s -w -X helm.sh/helm/v3/internal/version.version=$helm"
	f+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
	for pkg in pkg/lint/rules pkg/chartutil; do
		f+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$kube"
	done
	echo "$f"
}

# stamp identifies what the binary is built from: the wrapper module's files
# and the link flags.
stamp() {
	(
		cd "$tools"
		cat go.mod go.sum
		ldflags
	) | sha256sum | cut -d' ' -f1
}

up_to_date() {
	[[ -x $bin/helm && -f $bin/stamp ]] && [[ $(cat "$bin/stamp") == "$1" ]]
}

build() {
	local want tmp start
	want=$(stamp)
	mkdir -p "$dir"
	# One build at a time per folder; a second caller waits, then finds it done.
	exec 9>"$dir/build.lock"
	flock 9
	if up_to_date "$want"; then
		echo "helm: up to date in $bin"
		return
	fi
	command -v go >/dev/null || { echo "helm: go is not on PATH" >&2; exit 1; }
	echo "helm: building $(version helm.sh/helm/v3) into $bin (a few minutes cold; seconds with Go's build cache)"
	tmp=$(mktemp -d "$dir/build.XXXXXX")
	chmod 755 "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	start=$SECONDS
	(
		cd "$tools"
		CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" nice -n 10 \
			go build -trimpath -ldflags "$(ldflags)" -o "$tmp/" helm.sh/helm/v3/cmd/helm
	)
	echo "$want" >"$tmp/stamp"
	rm -rf "$bin"
	mv "$tmp" "$bin"
	trap - EXIT
	echo "helm: built in $((SECONDS - start)) s: $("$bin/helm" version --short)"
}

# manifests writes deploy/peerdns.yaml (or $1): the chart with its default values, as release
# peerdns in namespace peerdns, creating the namespace itself and without Helm's own labels.
manifests() {
	local out=${1:-$root/deploy/peerdns.yaml} body
	[[ -x $bin/helm ]] || { echo "helm: $bin/helm missing: run scripts/helm.sh build (make helm)" >&2; exit 1; }
	body=$("$bin/helm" template peerdns "$root/deploy/helm/peerdns" --namespace peerdns \
		--set namespace.create=true --set helmLabels=false)
	{
		cat <<-'HEADER'
			# peerdns in one file: kubectl apply --server-side -f deploy/peerdns.yaml (deploy/README.md).
			#
			# Generated from the Helm chart in deploy/helm/peerdns with its default values (release
			# peerdns in namespace peerdns, the namespace included, without Helm's labels) by
			# `make manifests`: edit the chart, not this file. test/deploy checks that it is current.
		HEADER
		echo "$body"
	} >"$out"
}

case ${1:-} in
build) [[ $# -eq 1 ]] || usage; build ;;
path) [[ $# -eq 1 ]] || usage; echo "$bin" ;;
manifests) [[ $# -le 2 ]] || usage; manifests "${2:-}" ;;
*) usage ;;
esac
