#!/usr/bin/env bash
# Leak check of the Rust side (issue 6, scenario 11): builds the integration test tests/leak.rs (a
# short run of the core pool through the local DSQL endpoint against a throwaway PostgreSQL 15,
# then everything ended, dropped and the runtime shut down) and runs it under valgrind memcheck.
# Exits non-zero on a definite leak, an invalid memory access, or a failing test.
#
# Needs what `cargo test` needs (PostgreSQL 15 server binaries in /usr/lib/postgresql/15/bin, psql,
# runuser and a `postgres` user; see tests/common/mod.rs) plus valgrind (apt-get install valgrind).
# Usage: npm run leakcheck   (or bash scripts/leakcheck.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
  echo "leakcheck: valgrind not found (apt-get install valgrind)" >&2
  exit 2
fi

started=$SECONDS

# Build the test binary and take its path from cargo's JSON messages (build output stays on stderr).
bin=$(cargo test --test leak --no-run --message-format=json | node -e '
  let out = ""
  process.stdin.on("data", d => { out += d }).on("end", () => {
    for (const line of out.split("\n")) {
      let m
      try { m = JSON.parse(line) } catch { continue }
      if (m.reason === "compiler-artifact" && m.target && m.target.name === "leak" && m.executable) console.log(m.executable)
    }
  })')
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "leakcheck: could not find the test binary of tests/leak.rs in cargo's output" >&2
  exit 2
fi
built=$SECONDS

# --errors-for-leak-kinds=definite: only memory nothing points to any more counts (an Arc cycle
#   shows up here too, with one block of the cycle as "definitely lost").
# --undef-value-errors=no: ring's assembly (AES-GCM, used for every TLS record) makes memcheck
#   report "uninitialised" bytes in ciphertexts and tags that are false positives; definedness
#   tracking is not needed to find leaks. Invalid reads and writes are still errors.
# No suppressions: third-party one-time allocations do not reach "definite" (napi's class registry,
#   filled by static constructors at load, and std's thread handles end up "possibly lost" or
#   "still reachable", which do not count). Never suppress our own code here.
status=0
valgrind \
  --leak-check=full \
  --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite,indirect \
  --undef-value-errors=no \
  --error-exitcode=99 \
  --num-callers=40 \
  "$bin" --ignored --test-threads=1 || status=$?

echo "leakcheck: build $((built - started)) s, valgrind run $((SECONDS - built)) s" >&2
case $status in
  0) echo "leakcheck: no definite leaks" >&2 ;;
  99) echo "leakcheck: FAILED: valgrind reported a definite leak or a memory error (see above)" >&2 ;;
  *) echo "leakcheck: FAILED: the test itself failed (exit $status)" >&2 ;;
esac
exit "$status"
