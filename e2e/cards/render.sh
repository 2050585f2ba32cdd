#!/usr/bin/env bash
# Pictures of our golden cards for the README: headless Chromium (the system
# chromium, driven by the npm package puppeteer-core) draws
#   teams-<view>_<lang>.png  with the adaptivecards npm library (Microsoft's renderer)
#   slack-<view>_<lang>.png  with render/blockkit.js, our approximation of Slack's look
# into DIR (default docs/img). Offline: every file comes from node_modules and render/.
#
#   bash e2e/cards/render.sh [DIR [INDIR]]   # from the repo root; DIR relative to where you run it
#
# With INDIR, the views come from the conversation core driven through the demo org
# (go test ./bot -run TestShowcase -showcase=INDIR; `make pictures` does both into docs/img).
#
# Needs Node >= 20.10 + npm (packages pinned by package-lock.json), chromium, and for
# faithful pictures the Debian fonts fonts-lato (Slack's Lato), fonts-open-sans (stands
# in for Segoe UI) and fonts-noto-color-emoji.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-docs/img}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# INDIR: draw the core's showcase (go test ./bot -run TestShowcase -showcase=INDIR) instead of the goldens.
in="${2:-}"
[[ -z "$in" ]] || in="$(cd "$in" && pwd)"

command -v node >/dev/null || { echo "e2e/cards/render: node is not on PATH" >&2; exit 2; }
if [[ -z "${CHROMIUM:-}" ]] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then
  echo "e2e/cards/render: no chromium on PATH (apt-get install chromium, or set CHROMIUM)" >&2
  exit 2
fi
if command -v fc-list >/dev/null; then
  fonts="$(fc-list : family)"
  for font in Lato "Open Sans" "Noto Color Emoji"; do
    grep -q "$font" <<<"$fonts" || echo "e2e/cards/render: warning: font $font is missing, the pictures will use a fallback" >&2
  done
fi

# Same packages as run.sh; install them only when node_modules is missing or older than the lock.
if [[ ! -f "$here/node_modules/.package-lock.json" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  echo "== npm ci (adaptivecards, markdown-it, puppeteer-core, pinned by package-lock.json)"
  (cd "$here" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
fi

echo "== node render.mjs $out"
cd "$here"
env -u NODE_OPTIONS node render.mjs "$out" ${in:+"$in"}
