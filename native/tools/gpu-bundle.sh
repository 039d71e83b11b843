#!/bin/bash
# Packs what the GPU tests need into .device/addon (git-ignored) for a GPU host without network or Node, as
# docs/gpu-tests.md describes: Node 24 (stripped, xz), node_modules without what the tests do not load,
# the committed sources (git archive HEAD) with the addon built here, the addon built with the TensorRT
# backend when TENSORRT_ROOT is set, and native/tools/gpu-run.sh as run.sh. Run from the repository root
# after `npm ci` and `npm run build:addon`; then, on the host: bash .device/addon/run.sh (with $OUT set).
set -euo pipefail
A=.device/addon
rm -rf "$A" && mkdir -p "$A/src/build/Release" "$A/trt"
strip -o /tmp/trtx-node24 node_modules/node/bin/node && xz -6 -T0 -c /tmp/trtx-node24 > "$A/node24.xz"
tar -cf - --exclude=node_modules/node --exclude=node_modules/typescript --exclude=node_modules/@typescript \
  --exclude=node_modules/@types --exclude=node_modules/pngjs --exclude='*.map' --exclude=node_modules/effect/src \
  node_modules | xz -6 -T0 > "$A/nm.tar.xz"
git archive HEAD | tar -x -C "$A/src"
cp build/Release/trtx_native.node build/Release/memcpy_baseline "$A/src/build/Release/"
if [ -n "${TENSORRT_ROOT:-}" ]; then
  T=$(mktemp -d) && git clone -q . "$T" && ln -s "$PWD/node_modules" "$T/node_modules"
  (cd "$T" && node native/build.cjs >/dev/null) && cp "$T/build/Release/trtx_native.node" "$A/trt/"
fi
cp native/tools/gpu-run.sh "$A/run.sh"
du -sh "$A"
