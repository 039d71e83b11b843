#!/usr/bin/env bash
# Bundles the step timings of bench/cli.ts (`bench/host/steps.ts`: each step of the work in one process, warm
# too, against the JSON floor) into DEST/steps.mjs, with the operator table beside it, so that a
# machine with Node but without the clone's dependencies can run them:
#
#   bench/host/make-steps.sh DEST
#   node DEST/steps.mjs --prepare WORK 10000 && node DEST/steps.mjs --steps WORK 10000
#
# `--steps` prints a JSON list of [step, ms]. From the working tree as it is (commit first for a clean one).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
mkdir -p "$1"
# No module's `import.meta.main` block runs in the bundle, where every module shares the entry's.
"$repo/node_modules/.bin/esbuild" "$repo/bench/host/steps.ts" --bundle --define:import.meta.main=false --platform=node --format=esm --target=node22 \
  --outfile="$1/steps.mjs" --log-level=warning \
  "--banner:js=import { createRequire as __trtxRequire } from \"node:module\"; const require = __trtxRequire(import.meta.url);"
rm -rf "$1/schemas"
cp -r "$repo/src/program/schemas" "$1/schemas"
git -C "$repo" rev-parse HEAD > "$1/COMMIT"
