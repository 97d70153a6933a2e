#!/usr/bin/env bash
# Proves the README's first command on a fresh clone, exactly as a newcomer
# runs it: clone this repository into a temporary folder and run the first
# line of the README's first shell block as written (`npm ci && npm start`),
# with a PATH that has no qemu-img (the demo must not need it). It must exit
# 0, print the demo's last line, and leave the timeline SVG it names. A README
# change, an install-order bug (something built only by `npm run build`) or a
# demo that needs qemu-img fails here, as it would for the newcomer.
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

# Every program on PATH, but no qemu-img, qemu-io or qemu-nbd: a machine without qemu-utils.
mkdir "$work/bin"
IFS=: read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || continue
  for program in "$dir"/*; do
    name=${program##*/}
    case "$name" in qemu-*) continue ;; esac
    if [ -x "$program" ] && [ ! -e "$work/bin/$name" ]; then ln -s "$program" "$work/bin/$name"; fi
  done
done
if PATH="$work/bin" command -v qemu-img >/dev/null; then
  echo "README check: could not make a PATH without qemu-img" >&2
  exit 1
fi

git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
echo "README check: running \`$line\` in a fresh clone ($work/clone), without qemu-img on PATH"
started=$(date +%s)
# Its own process group, so that a timeout stops npm and everything under it.
PATH="$work/bin" setsid bash -c "$line" >"$work/stdout" 2>"$work/stderr" &
pid=$!
for _ in $(seq 1 "$limit_s"); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if kill -0 "$pid" 2>/dev/null; then
  echo "README check: \`$line\` still running after ${limit_s} s; its stderr ends:" >&2
  tail -n 30 "$work/stderr" >&2
  exit 1
fi
status=0
wait "$pid" || status=$?
pid=
took=$(( $(date +%s) - started ))
if [ "$status" != 0 ]; then
  echo "README check: \`$line\` exited $status after ${took} s; its output ends:" >&2
  tail -n 30 "$work/stdout" >&2
  tail -n 30 "$work/stderr" >&2
  exit 1
fi
if ! grep -q '^demo: both disks moved, checksums equal on the target, the new flow available first$' "$work/stdout"; then
  echo "README check: \`$line\` exited 0 without the demo's last line; its stdout ends:" >&2
  tail -n 30 "$work/stdout" >&2
  exit 1
fi
svg=$(sed -n 's/^timeline picture: //p' "$work/stdout")
if [ -z "$svg" ] || ! grep -q '<svg' "$svg"; then
  echo "README check: no timeline SVG at '$svg'" >&2
  exit 1
fi
echo "README check: \`$line\` exited 0 in ${took} s (install and build included), the demo's timeline:"
sed -n '/^timeline (/,/usable/p' "$work/stdout"
