#!/usr/bin/env bash
# Installs the Debian 12 packages segstore needs to build and test. Does
# nothing (and needs no network) when they are all present already.
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config librocksdb-dev libabsl-dev libboost-dev
          libprotobuf-dev protobuf-compiler libgtest-dev libgmock-dev libbenchmark-dev
          libxxhash-dev libssl-dev libcli11-dev clang-14 libclang-rt-14-dev python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
