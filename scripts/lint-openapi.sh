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
# @redocly/cli 2.77 supports Node >= 20.19 (Debian 12's own nodejs is 18).
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 ? 0 : a === 20 && b >= 19 ? 0 : 1)' \
  || { echo "lint-openapi: Node $(node --version) is too old for @redocly/cli (needs >= 20.19)" >&2; exit 1; }
# npm writes node_modules/.package-lock.json last, so it is the stamp of the installed tree.
if [[ ! -x $tools/node_modules/.bin/redocly || $tools/package-lock.json -nt $tools/node_modules/.package-lock.json ]]; then
  npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error
fi
[[ -f $spec ]] || { echo "lint-openapi: $spec not found (generate it with: make openapi)" >&2; exit 1; }
exec "$tools/node_modules/.bin/redocly" lint --config "$root/redocly.yaml" "$spec"
