#!/bin/bash
# Runs on the GPU host from the repository root (packed by native/tools/gpu-bundle.sh): unpacks Node 24 and
# node_modules, runs the GPU tests, the bandwidth bench and a few status probes on the committed sources.
set -u
A=$PWD/.device/addon
mkdir -p /tmp/n && xz -dc $A/node24.xz > /tmp/n/node && chmod +x /tmp/n/node
export PATH=/tmp/n:$PATH
cd $A/src && tar -xJf $A/nm.tar.xz
echo "== host"; uname -srm; grep PRETTY /etc/os-release; ldd --version | head -1; node --version
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv
echo "== abi check against the real CUDA headers"; g++ -std=c++17 -fsyntax-only -Wall -Wextra -I/usr/local/cuda/include native/tools/abi_check.cc && echo "abi_check: PASS ($(grep -m1 'define CUDART_VERSION' /usr/local/cuda/include/cuda_runtime_api.h))"
echo "== vitest"
node node_modules/vitest/vitest.mjs run test/engine test/cli/CheckGpu.test.ts --reporter=verbose 2>&1 | tee $OUT/vitest.log
echo "vitest rc=${PIPESTATUS[0]}"
echo "== bench (npm run bench's GPU part)"
node -e 'import("./bench/gpu.ts").then(async (m) => console.log(JSON.stringify(await m.run())))' 2>&1 | tee $OUT/bench.json
echo "== trtx load --check-gpu on this GPU (mlp sample: engines built on an H100)"
node src/cli/bin.ts export test/fixtures/samples/mlp/input.tgm -o /tmp/c.pt2 --cross-compile --schemas test/fixtures/pt2/sample-schemas.json --quiet
node src/cli/bin.ts load /tmp/c.pt2 -o /tmp/l.pt2 --schemas test/fixtures/pt2/sample-schemas.json --check-gpu; echo "rc=$?"
echo "== status probes"
P='const a=require(process.argv[1]); console.log(JSON.stringify({status:a.status(),tensorrt:a.tensorrt()}))'
node -e "$P" $PWD/build/Release/trtx_native.node
CUDA_VISIBLE_DEVICES= node -e "$P" $PWD/build/Release/trtx_native.node
CUDART_LIBRARY=/nonexistent node -e "$P" $PWD/build/Release/trtx_native.node
echo "== TensorRT backend build (TensorRT 10.16 headers), no libnvinfer here"
node -e "$P" $A/trt/trtx_native.node
TRTX_NATIVE_ADDON=$A/trt/trtx_native.node node --input-type=module -e '
import { Effect, Layer } from "effect"; import { Cuda } from "./src/engine/Cuda.ts"; import * as TrtEngine from "./src/engine/TrtEngine.ts"
const r = await Effect.runPromise(Effect.gen(function*() { const c = yield* Cuda; const [d] = yield* c.devices
  return yield* Effect.flip(Effect.scoped(TrtEngine.make({ abi: "7", name: "e", device: { gpuId: 0, major: d.major, minor: d.minor, deviceType: 0, deviceName: d.name }, engine: new Uint8Array(8), inputBindingNames: ["x"], outputBindingNames: ["y"], hardwareCompatible: false, serializedMetadata: "", targetPlatform: "linux_x86_64", requiresOutputAllocator: false }))) }).pipe(Effect.provide(Cuda.layer)))
console.log(r._tag, r.reason, r.message)'
