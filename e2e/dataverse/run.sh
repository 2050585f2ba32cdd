#!/usr/bin/env bash
# The "real client" e2e: the npm library dynamics-web-api (written by others, the
# most used Dataverse client) runs against the crmbot Dataverse sandbox.
#
#   bash e2e/dataverse/run.sh            # from anywhere; needs Go and Node >= 20.10 + npm
#   bash e2e/dataverse/run.sh test/delta.test.mjs   # only some test files (relative to e2e/dataverse)
#
# It installs the pinned packages from package-lock.json (npm ci), builds
# ./cmd/crmbot, starts `crmbot sandbox` on a free loopback port, runs the suite
# with node's built-in test runner (TAP output, closing with "# pass N" / "# fail N"),
# stops the sandbox, and exits with the test runner's status.
# Environment: SANDBOX_LOG_LINES (sandbox log lines shown on failure, default 80).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/crmbot-e2e-dataverse.XXXXXX")"
sandbox_pid=""

cleanup() {
	if [[ -n "$sandbox_pid" ]] && kill -0 "$sandbox_pid" 2>/dev/null; then
		kill "$sandbox_pid" 2>/dev/null || true
		wait "$sandbox_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v go >/dev/null || { echo "e2e/dataverse: go is not on PATH" >&2; exit 2; }
command -v node >/dev/null || { echo "e2e/dataverse: node is not on PATH" >&2; exit 2; }
command -v npm >/dev/null || { echo "e2e/dataverse: npm is not on PATH" >&2; exit 2; }
node -e 'const [M,m]=process.versions.node.split(".").map(Number); if (M<20||(M===20&&m<10)) { console.error(`e2e/dataverse: node ${process.versions.node} is too old (need >= 20.10)`); process.exit(2) }'

echo "== npm ci (dynamics-web-api, pinned by package-lock.json)"
(cd "$here" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
node -e 'console.log("   dynamics-web-api " + require(process.argv[1]).version)' "$here/node_modules/dynamics-web-api/package.json"

echo "== go build ./cmd/crmbot"
(cd "$root" && go build -o "$tmp/crmbot" ./cmd/crmbot)

# A free loopback port: bind :0, read it back, release it.
port="$(node -e 'const s=require("net").createServer(); s.listen(0,"127.0.0.1",()=>{console.log(s.address().port); s.close()})')"
url="http://127.0.0.1:$port"

echo "== crmbot sandbox --addr 127.0.0.1:$port"
# A short change-tracking token lifetime, so the suite can watch a token expire
# (the delta tests read and renew theirs well within it).
delta_ttl=8
"$tmp/crmbot" sandbox --addr "127.0.0.1:$port" --records-per-type 50 --delta-token-ttl "${delta_ttl}s" \
	--log-level info >"$tmp/sandbox.log" 2>&1 &
sandbox_pid=$!

show_log() {
	echo "-- last sandbox log lines ($tmp/sandbox.log):"
	tail -n "${SANDBOX_LOG_LINES:-80}" "$tmp/sandbox.log" || true
}

# Wait (at most ~20 s) until the sandbox answers HTTP at all.
if ! node --input-type=module - "$url" "$sandbox_pid" <<'EOF'; then
const [url, pid] = process.argv.slice(2);
const deadline = Date.now() + 20000;
const alive = () => { try { process.kill(Number(pid), 0); return true; } catch { return false; } };
for (;;) {
  try {
    const res = await fetch(`${url}/common/v2.0/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    console.log(`   sandbox answers at ${url} (${res.status})`);
    process.exit(0);
  } catch {}
  if (!alive()) { console.error("e2e/dataverse: the sandbox exited before it answered"); process.exit(1); }
  if (Date.now() > deadline) { console.error(`e2e/dataverse: the sandbox did not answer at ${url} within 20 s`); process.exit(1); }
  await new Promise((r) => setTimeout(r, 200));
}
EOF
	show_log
	exit 1
fi

echo "== node --test (dynamics-web-api against $url)"
cd "$here"
if [[ $# -gt 0 ]]; then
	files=("$@")
else
	files=(test/*.test.mjs)
fi
set +e
# No proxy: the library would route http:// through $http_proxy.
env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u NODE_OPTIONS \
	SANDBOX_URL="$url" SANDBOX_DELTA_TOKEN_TTL="$delta_ttl" \
	node --test --test-reporter=tap --test-concurrency=1 --test-timeout=120000 "${files[@]}" | tee "$tmp/tap.txt"
rc=${PIPESTATUS[0]}
set -e
if [[ $rc -ne 0 ]]; then
	show_log
	# Keep the runner's summary as the closing lines of the output.
	echo "-- dynamics-web-api e2e summary:"
	grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$tmp/tap.txt" || true
fi
exit "$rc"
