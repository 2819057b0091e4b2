#!/usr/bin/env bash
# Screenshot of the HTML report, for the README (docs/report.png) and for eyeballing the charts.
#
#   scripts/screenshot_report.sh [SNAPSHOT.json] [OUT.png]
#
# SNAPSHOT.json: a saved collect_report_data snapshot; default: the sample history of
#   tests/report/sample.py (moto, real AlpacaEval texts from ../shared/data), generated here.
# OUT.png: default docs/report.png.
#
# Installs Debian's chromium if it is missing (apt-get; needs root), renders the report with
# `driftgate report --data`, and screenshots it headless at 1280 px wide. The flags keep
# chromium off the network (the report has no external assets anyway) and away from the
# user's profile.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
SNAPSHOT="${1:-}"
OUT_PNG="${2:-$ROOT/docs/report.png}"
HEIGHT="${HEIGHT:-2400}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium not found; installing Debian's chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cd "$ROOT"
if [[ -z "$SNAPSHOT" ]]; then
  SNAPSHOT="$WORK/snapshot.json"
  "$PYTHON" -m tests.report.sample "$SNAPSHOT" >/dev/null
fi
HTML="$("$PYTHON" -m driftgate.cli report --data "$SNAPSHOT" --out "$WORK/html")"

mkdir -p "$(dirname "$OUT_PNG")"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$WORK/profile" --window-size="1280,$HEIGHT" \
  --screenshot="$OUT_PNG" "file://$HTML" 2>"$WORK/chromium.log" \
  || { cat "$WORK/chromium.log" >&2; exit 1; }
echo "$OUT_PNG"
