#!/usr/bin/env bash
# Proves the README's first command on a fresh clone, exactly as a newcomer
# runs it: clone this repository into a temporary folder, run the first line
# of the README's first shell block as written, wait for the fake's JSON ready
# line, call `vdsm-client Host ping2` against it, stop it. A README change or
# an install-order bug (a bin linked only when dist/ already exists) fails
# here, as it would for the newcomer.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
limit_s=${README_CHECK_TIMEOUT_S:-600}

# The first line of the first ```sh block, its trailing comment dropped.
line=$(awk '/^```(sh|bash)/{inblock=1; next} inblock && /^```/{exit} inblock && NF {print; exit}' "$repo/README.md")
line=${line%%#*}
if [ -z "${line// }" ]; then
  echo "README check: no first command found in README.md's first shell block" >&2
  exit 1
fi

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
echo "README check: running \`$line\` in a fresh clone ($work/clone)"
# Its own process group, so that stopping it stops npx and the fake under it.
setsid bash -c "$line" >"$work/stdout" 2>"$work/stderr" &
pid=$!

ready=
for _ in $(seq 1 "$limit_s"); do
  ready=$(grep -m1 '"event":"ready"' "$work/stdout" || true)
  [ -n "$ready" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 1
done
if [ -z "$ready" ]; then
  echo "README check: no ready line from \`$line\` (within ${limit_s} s or before it exited); its stderr ends:" >&2
  tail -n 30 "$work/stderr" >&2
  exit 1
fi
port=$(node -e 'console.log(JSON.parse(process.argv[1]).stomp.port)' "$ready")
answer=$(npx --no-install vdsm-client --insecure -a 127.0.0.1 -p "$port" Host ping2)
if [ "$answer" != "true" ]; then
  echo "README check: vdsm-client Host ping2 answered '$answer', not true" >&2
  exit 1
fi
echo "README check: ready on port $port, Host ping2 answered true"
