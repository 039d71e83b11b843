#!/usr/bin/env node
// Build-time detection for binding.gyp (sharp's approach: the decision is made in JS, where it can be read
// and tested). Prints one include directory, or nothing when it is not found:
//
//   node native/detect.cjs tensorrt-include   $TENSORRT_ROOT/include with NvInferRuntime.h and NvInferVersion.h
//   node native/detect.cjs cuda-include       $CUDA_HOME|$CUDA_PATH|/usr/local/cuda + /include with
//                                             cuda_runtime_api.h (TensorRT's NvInferRuntimeBase.h includes it)
//   node native/detect.cjs bench              1 when $TRTX_BENCH=1: the benchmark's executables are built too
//
// The TensorRT backend is compiled only when both are found. The CUDA part of the addon needs neither.
"use strict"
const fs = require("node:fs")
const path = require("node:path")

const has = (dir, file) => fs.existsSync(path.join(dir, file))

const tensorrtInclude = () => {
  const root = process.env.TENSORRT_ROOT
  if (!root) return ""
  const found = [path.join(root, "include"), path.join(root, "include", "x86_64-linux-gnu")].find(
    (dir) => has(dir, "NvInferRuntime.h") && has(dir, "NvInferVersion.h")
  )
  // stderr reaches the person running the build; it does not change what binding.gyp reads.
  if (found === undefined) process.stderr.write(`trtx: TENSORRT_ROOT=${root} has no include/NvInferRuntime.h: TensorRT backend not built\n`)
  return found ?? ""
}

const cudaInclude = () => {
  const roots = [process.env.CUDA_HOME, process.env.CUDA_PATH, "/usr/local/cuda"].filter((r) => r !== undefined && r !== "")
  const found = roots.map((r) => path.join(r, "include")).find((dir) => has(dir, "cuda_runtime_api.h"))
  if (found === undefined && process.env.TENSORRT_ROOT) {
    process.stderr.write("trtx: no cuda_runtime_api.h under CUDA_HOME, CUDA_PATH or /usr/local/cuda: TensorRT backend not built\n")
  }
  return found ?? ""
}

const which = process.argv[2]
const bench = () => (process.env.TRTX_BENCH === "1" ? "1" : "0")
process.stdout.write(which === "tensorrt-include" ? tensorrtInclude() : which === "cuda-include" ? cudaInclude() : which === "bench" ? bench() : "")
