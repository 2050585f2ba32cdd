#!/usr/bin/env bash
# The Microsoft 365 Agents Playground, a real Teams client written by others,
# against a bot: installs the pinned playground (npm ci from package-lock.json)
# and runs the Go harness's self-test (go test -tags e2e ./e2e/playground/),
# which clicks an Action.Execute card in headless Chromium. Screenshots land in
# $E2E_ARTIFACTS/playground (default: a temp dir the test prints).
#
#   bash e2e/playground/run.sh [go test flags]   # needs Go, Node >= 20 + npm, Chromium
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

command -v go >/dev/null || { echo "e2e/playground: go is not on PATH" >&2; exit 2; }
command -v node >/dev/null || { echo "e2e/playground: node is not on PATH" >&2; exit 2; }
command -v npm >/dev/null || { echo "e2e/playground: npm is not on PATH" >&2; exit 2; }
node -e 'const [M]=process.versions.node.split(".").map(Number); if (M<20) { console.error(`e2e/playground: node ${process.versions.node} is too old (need >= 20)`); process.exit(2) }'
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null || [ -n "${CHROME_PATH:-}" ] ||
  { echo "e2e/playground: no Chromium (apt-get install chromium, or set CHROME_PATH)" >&2; exit 2; }

echo "== npm ci (@microsoft/m365agentsplayground, pinned by package-lock.json)"
(cd "$here" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)

echo "== go test -tags e2e ./e2e/playground/"
(cd "$root" && go test -tags e2e -count=1 -v "$@" ./e2e/playground/)
