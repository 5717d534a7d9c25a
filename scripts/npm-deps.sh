#!/bin/sh
# npm-deps.sh — the browser test's one npm package (playwright-core, pinned
# by package-lock.json) into node_modules/, when it is missing.
#
# No browser is downloaded: the test drives Debian's chromium package
# (scripts/install-deps.sh installs it). Idempotent: a second run costs a
# directory check.
set -eu
cd "$(dirname "$0")/.."
[ -d node_modules/playwright-core ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
	echo "npm-deps: npm is missing; run scripts/install-deps.sh" >&2
	exit 1
fi
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
