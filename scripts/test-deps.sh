#!/usr/bin/env bash
# Installs the programs the tests run and this machine lacks: dig (Debian package
# bind9-dnsutils), which the end-to-end tests in test/ query the real server with, and dnsmasq
# (dnsmasq-base), the forwarder kube-dns runs for stub domains, which test/forwarding starts.
# Does nothing when everything is there; never runs apt-get update otherwise.
set -euo pipefail

declare -A need=([dig]=bind9-dnsutils [dnsmasq]=dnsmasq-base)

missing=()
for cmd in "${!need[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

install="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: missing ${missing[*]} and no apt-get here: install the package(s) that provide: ${!need[*]}" >&2
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "test-deps: missing Debian package(s) ${missing[*]}; install them as root:" >&2
	echo "    sudo sh -c '$install'" >&2
	exit 1
fi

echo "test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
