#!/usr/bin/env bash
# The "real client" e2e for Teams cards: the npm library adaptivecards (written by
# others, Microsoft's renderer) parses and validates every golden Adaptive Card.
#
#   bash e2e/cards/run.sh        # from anywhere; needs Go and Node >= 20.10 + npm
#
# It installs the pinned packages from package-lock.json (npm ci), checks the
# golden files are what the renderer draws today (go test ./cards/adaptive), then
# runs validate.mjs on cards/adaptive/testdata: AdaptiveCard.parse +
# validateProperties(), and no property dropped on the way back. It exits with
# the validator's status and prints every error. Last, render.sh draws every card
# as a PNG (headless chromium, a few seconds) into $E2E_ARTIFACTS/cards
# (default /tmp/e2e-artifacts/cards) and fails if one is missing or empty.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

command -v go >/dev/null || { echo "e2e/cards: go is not on PATH" >&2; exit 2; }
command -v node >/dev/null || { echo "e2e/cards: node is not on PATH" >&2; exit 2; }
command -v npm >/dev/null || { echo "e2e/cards: npm is not on PATH" >&2; exit 2; }
node -e 'const [M,m]=process.versions.node.split(".").map(Number); if (M<20||(M===20&&m<10)) { console.error(`e2e/cards: node ${process.versions.node} is too old (need >= 20.10)`); process.exit(2) }'

echo "== npm ci (adaptivecards, markdown-it, puppeteer-core, pinned by package-lock.json)"
(cd "$here" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)

# Stale golden files would validate yesterday's cards.
echo "== go test ./cards/adaptive (golden files up to date)"
(cd "$root" && go test -count=1 ./cards/adaptive)

echo "== node validate.mjs cards/adaptive/testdata"
(cd "$here" && env -u NODE_OPTIONS node validate.mjs "$root/cards/adaptive/testdata")

echo "== render.sh (pictures of the cards)"
bash "$here/render.sh" "${E2E_ARTIFACTS:-/tmp/e2e-artifacts}/cards"
