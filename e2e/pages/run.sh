#!/usr/bin/env bash
# Headless Chromium renders our web pages and we check what a person would see.
# Today: the sandbox's sign-in page (the user picker of its Entra-like authorize
# endpoint). Screenshots land in $E2E_ARTIFACTS (default: a temp dir) to look at.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
out="${E2E_ARTIFACTS:-$tmp}"
mkdir -p "$out"
pass=0 fail=0
sandbox_pid=""
cleanup() { [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp/profile"; }
trap cleanup EXIT

chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then echo "pages e2e: no Chromium found (install Debian's chromium; .ci/run does)" >&2; exit 1; fi

(cd "$root" && go build -o "$tmp/crmbot" ./cmd/crmbot)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo 18089)
base="http://127.0.0.1:$port"
"$tmp/crmbot" sandbox --addr "127.0.0.1:$port" --records-per-type 1 >"$tmp/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$base/common/v2.0/.well-known/openid-configuration" 2>/dev/null && break; sleep 0.1; done

chromium() {
  "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$tmp/profile" --window-size=900,1000 "$@" 2>/dev/null
}

check() { # name, condition command...
  local name=$1; shift
  if "$@"; then pass=$((pass+1)); echo "ok - $name"; else fail=$((fail+1)); echo "not ok - $name"; fi
}

picker="$base/common/oauth2/v2.0/authorize?client_id=crmbot-demo&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%3A3978%2Flink%2Fcallback&scope=openid%20profile&state=e2e&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
chromium --dump-dom "$picker" >"$tmp/picker.html"
chromium --screenshot="$out/sandbox-sign-in.png" "$picker" >/dev/null
check "sign-in page lists every demo user" bash -c "grep -q 'Chloé Dubois' '$tmp/picker.html' && grep -q 'Seán O&#39;Brien\|Seán O.Brien' '$tmp/picker.html' && grep -q 'Mathilde Lefèvre' '$tmp/picker.html' && grep -q 'Jonas Müller' '$tmp/picker.html'"
check "sign-in page declares its language" grep -q '<html lang="en"' "$tmp/picker.html"
check "each user is a submit button in a form" bash -c "[ \$(grep -o '<button[^>]*type=\"submit\"' '$tmp/picker.html' | wc -l) -ge 4 ]"
check "screenshot rendered" test -s "$out/sandbox-sign-in.png"

bad="$base/common/oauth2/v2.0/authorize?client_id=crmbot-demo&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid&state=e2e&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
chromium --dump-dom "$bad" >"$tmp/bad.html"
chromium --screenshot="$out/sandbox-bad-redirect.png" "$bad" >/dev/null
check "unregistered redirect URI shows an error page, no redirect" bash -c "! grep -q 'evil.example/cb?' '$tmp/bad.html' && grep -qi 'redirect' '$tmp/bad.html'"

echo "screenshots: $out"
echo "pages: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
