/**
 * Whole-process benchmark inputs: a compiled module that is one long chain of aten ops, as a `.tgm` on disk.
 *
 * The module has one input `x`, an engine `_run_on_acc_0` (one input, one output) and a fallback module
 * `_run_on_gpu_1` whose graph is the chain: `add` / `mul` / `relu` / `neg` in turn, each reading the
 * previous node, with a parameter `blocks.<k>.weight` read (`get_attr`) and added every 64 nodes. Every
 * node carries a tensor `val` and a stack trace, as a traced graph does. "nodes" counts the root graph
 * and the fallback graph.
 *
 * Run as a script, it writes modules of the given sizes: `node bench/chain.ts DIR 10000 100000` writes
 * `DIR/chain_10000.tgm` and `DIR/chain_100000.tgm`; `node bench/chain.ts DIR --engine-mib 380` writes the
 * 200-node module with a stand-in engine of 380 MiB, `DIR/engine_380mib.tgm`.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as Tgm from "../src/archive/tgm/Tgm.ts"
import * as Argument from "../src/graph/Argument.ts"
import { Graph } from "../src/graph/Graph.ts"
import type { Val } from "../src/graph/Meta.ts"
import * as Module from "../src/graph/Module.ts"
import type { Node } from "../src/graph/Node.ts"
import * as Tensor from "../src/graph/Tensor.ts"
import * as EngineRecord from "../src/program/EngineRecord.ts"

const val: Val = {
  tensor: { shape: [8, 64], stride: [64, 1], storage_offset: 0, dtype: "float32", device: "cuda:0", requires_grad: false }
}
const HEADER = "TRTSTUB1 uid=chain outs=float32:8x64\n"
const engineBytes = new TextEncoder().encode(HEADER)

/**
 * A stand-in engine of `mib` MiB: the stand-in runtime's header (the reference tools run it), then filler
 * bytes, the same every time; for the large-engine figures of docs/benchmarks.md.
 */
export const largeEngine = (mib: number): Uint8Array => {
  const bytes = new Uint8Array(mib * 2 ** 20)
  bytes.set(engineBytes)
  for (let i = engineBytes.length; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24
  return bytes
}
const OPS = ["torch.ops.aten.add.Tensor", "torch.ops.aten.mul.Tensor", "torch.ops.aten.relu.default", "torch.ops.aten.neg.default"]
const WEIGHT_EVERY = 64

/** A compiled module of about `n` nodes whose fallback graph is one chain of aten ops, with `engine`. */
export const build = (n: number, engine: Uint8Array = engineBytes): Module.GraphModule => {
  const root = new Module.GraphModule(new Graph())
  const g = root.graph
  const x = g.placeholder("x", { meta: { val } })
  const record: EngineRecord.EngineRecord = {
    abi: "7",
    name: "_run_on_acc_0_engine",
    device: { gpuId: 0, major: 9, minor: 0, deviceType: 0, deviceName: "NVIDIA H100 80GB HBM3" },
    engine,
    inputBindingNames: ["x0"],
    outputBindingNames: ["y0"],
    hardwareCompatible: false,
    serializedMetadata: "gAJ9cQAu",
    targetPlatform: "linux_x86_64",
    requiresOutputAllocator: false
  }
  root.children.set("_run_on_acc_0", new Module.TrtModule({
    name: "_run_on_acc_0",
    packedEngineInfo: EngineRecord.encodeRaw(record),
    inputBindingNames: ["x0"],
    outputBindingNames: ["y0"]
  }))
  const call = g.callModule("_run_on_acc_0", [x], {}, { meta: { val } })

  const sub = new Module.GraphModule(new Graph())
  const blocks = new Module.PlainModule()
  sub.children.set("blocks", blocks)
  const s = sub.graph
  let prev: Node = s.placeholder("run_on_acc_0", { meta: { val } })
  // Root: x, the engine, the fallback call, output; the fallback graph: its placeholder and output.
  const chain = Math.max(1, n - 6)
  for (let i = 0; i < chain; i++) {
    const stack_trace = `File "model.py", line ${10 + (i % 200)}, in forward`
    if (i % WEIGHT_EVERY === WEIGHT_EVERY - 1) {
      const k = (i - WEIGHT_EVERY + 1) / WEIGHT_EVERY
      const block = new Module.PlainModule()
      Module.registerParameter(block, "weight", Tensor.make({
        storage: Tensor.storage(new Uint8Array(8 * 64 * 4)),
        dtype: "float32",
        shape: [8, 64],
        device: "cuda:0"
      }))
      blocks.children.set(String(k), block)
      const w = s.getAttr(`blocks.${k}.weight`, { meta: { val } })
      prev = s.callFunction("torch.ops.aten.add.Tensor", [prev, w], {}, { meta: { val, stack_trace } })
      i++
      continue
    }
    const op = OPS[i % OPS.length]!
    const args = op.endsWith(".Tensor") ? [prev, prev] : [prev]
    prev = s.callFunction(op, args, {}, { meta: { val, stack_trace } })
  }
  s.output(prev)
  root.children.set("_run_on_gpu_1", sub)
  const out = g.callModule("_run_on_gpu_1", [call], {}, { meta: { val } })
  g.output(Argument.tuple(out))
  return root
}

/** Writes the `n`-node chain to `dir/chain_<n>.tgm` and returns the path. */
export const write = (dir: string, n: number): Promise<string> => {
  const path = nodePath.join(dir, `chain_${n}.tgm`)
  return Effect.runPromise(Tgm.writeFile(path, build(n))).then(() => path)
}

/** Writes the 200-node chain with an engine of `mib` MiB to `dir/engine_<mib>mib.tgm` and returns the path. */
export const writeLargeEngine = (dir: string, mib: number): Promise<string> => {
  const path = nodePath.join(dir, `engine_${mib}mib.tgm`)
  return Effect.runPromise(Tgm.writeFile(path, build(200, largeEngine(mib)))).then(() => path)
}

if (import.meta.main) {
  const [dir, ...rest] = process.argv.slice(2)
  const mib = rest[0] === "--engine-mib" ? Number(rest[1]) : undefined
  if (dir === undefined || (mib === undefined ? rest.length === 0 : !(mib > 0))) {
    console.error("usage: node bench/chain.ts DIR N [N ...] | node bench/chain.ts DIR --engine-mib M")
    process.exit(2)
  }
  fs.mkdirSync(dir, { recursive: true })
  if (mib !== undefined) console.log(await writeLargeEngine(dir, mib))
  else for (const n of rest) console.log(await write(dir, Number(n)))
}
