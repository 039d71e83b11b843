#!/usr/bin/env bash
# Loads, runs and compares trtx's .pt2 programs against the reference exporter's with real torch 2.11 (on a
# machine with a CUDA GPU): every file must load and run, and each pair must give the same outputs.
#
#   scripts/conformance/check.sh REFERENCE_DIR OUT_DIR [REPORT.json]
#
# REFERENCE_DIR: the reference tools (check_pt2.py, shim/, trtstub/); OUT_DIR: what write-samples.ts wrote.
# Pairs: reference vs trtx plain, cross-compiled and loaded (what a caller sees: --pair-user, since trtx
# orders lifted inputs canonically), trtx plain vs trtx loaded (the whole signature: --pair), and each
# reference vs trtx's rewrite of it (write(read(f)): the whole signature) and trtx's load of its cross archive.
set -euo pipefail
ref=$(cd "$1" && pwd); out=$(cd "$2" && pwd); report=${3:-$out/report.json}
export PYTHONUNBUFFERED=1 TRTSTUB_SRC=$ref/trtstub/trtstub.cpp TRTSTUB_BUILD_DIR=${TRTSTUB_BUILD_DIR:-/tmp/trtstub}
pairs=()
for f in "$out"/*_ref.pt2; do
  s=$(basename "$f" _ref.pt2)
  pairs+=(--pair-user "$out/${s}_ref.pt2" "$out/$s.pt2")
  pairs+=(--pair-user "$out/${s}_ref_cross.pt2" "$out/${s}_cross.pt2")
  pairs+=(--pair-user "$out/${s}_ref.pt2" "$out/${s}_loaded.pt2")
  pairs+=(--pair "$out/$s.pt2" "$out/${s}_loaded.pt2")
  pairs+=(--pair "$out/${s}_ref.pt2" "$out/${s}_reread.pt2")
  pairs+=(--pair "$out/${s}_ref_cross.pt2" "$out/${s}_reread_cross.pt2")
  pairs+=(--pair-user "$out/${s}_ref.pt2" "$out/${s}_reread_loaded.pt2")
done
cd "$ref"
python3 check_pt2.py --each "$out"/*.pt2 "${pairs[@]}" --json "$report"
