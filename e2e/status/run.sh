#!/usr/bin/env bash
# The operator's status page in headless Chromium: the Go test (go test -tags
# e2e ./e2e/status/) serves the real handler over a seeded embedded store,
# signs in with the admin token through the form, reads the page, retries a
# dead letter, and saves full-page screenshots to $E2E_ARTIFACTS/status
# (default: a temp dir the test prints).
#
#   bash e2e/status/run.sh [go test flags]   # needs Go and Chromium
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

command -v go >/dev/null || { echo "e2e/status: go is not on PATH" >&2; exit 2; }
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null || [ -n "${CHROME_PATH:-}" ] ||
  { echo "e2e/status: no Chromium (apt-get install chromium, or set CHROME_PATH)" >&2; exit 2; }

echo "== go test -tags e2e ./e2e/status/"
(cd "$root" && go test -tags e2e -count=1 -v "$@" ./e2e/status/)
