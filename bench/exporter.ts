/**
 * Exporter benchmark: synthetic partitioned modules like `test/fixtures/samples/synth_1k` (alternating
 * engine and fallback segments, one weight per fallback segment), generated here at 1k, 10k, 50k and 100k
 * nodes, exported plain and cross-compiled. Prints the time of each pass and the total.
 *
 * Targets (issue 3): t(100k) / t(10k) <= 11, and a 50k-node module exported (transform plus program
 * creation, no serialization) in <= 170 ms.
 */
import { Effect } from "effect"
import * as Argument from "../src/graph/Argument.ts"
import { Graph } from "../src/graph/Graph.ts"
import * as GraphModule from "../src/graph/GraphModule.ts"
import * as Lint from "../src/graph/Lint.ts"
import type { Val } from "../src/graph/Meta.ts"
import * as Module from "../src/graph/Module.ts"
import type { Node } from "../src/graph/Node.ts"
import * as Tensor from "../src/graph/Tensor.ts"
import * as EngineRecord from "../src/program/EngineRecord.ts"
import * as Exporter from "../src/passes/Exporter.ts"
import * as GraphBench from "./graph.ts"

const meta: Val = {
  tensor: { shape: [8, 64], stride: [64, 1], storage_offset: 0, dtype: "float32", device: "cuda:0", requires_grad: false }
}
const engineBytes = new TextEncoder().encode("TRTSTUB1 uid=bench outs=float32:8x64;float32:8x64\n")

/**
 * A compiled module whose graphs hold about `n` nodes in all (root plus fallback graphs): segments of an
 * engine with two inputs and two outputs, then a fallback module (`addcmul` with its weight
 * `blocks.<k>.scale`, then `sin` / `cos` / `mul` / `add`) returning two values.
 */
export const build = (n: number): Module.GraphModule => {
  const root = new Module.GraphModule(new Graph())
  const g = root.graph
  const x = g.placeholder("x", { meta: { val: meta } })
  let a: Node = x
  let b: Node = x
  const storage = Tensor.storage(new Uint8Array(8 * 64 * 4))
  let nodes = 2
  for (let k = 0; nodes < n; k++) {
    if (k % 2 === 0) {
      const name = `_run_on_acc_${k}`
      const record: EngineRecord.EngineRecord = {
        abi: "7",
        name: `${name}_engine`,
        device: { gpuId: 0, major: 9, minor: 0, deviceType: 0, deviceName: "NVIDIA H100 80GB HBM3" },
        engine: engineBytes,
        inputBindingNames: ["x0", "x1"],
        outputBindingNames: ["y0", "y1"],
        hardwareCompatible: false,
        serializedMetadata: "gAJ9cQAu",
        targetPlatform: "linux_x86_64",
        requiresOutputAllocator: false
      }
      root.children.set(name, new Module.TrtModule({
        name,
        packedEngineInfo: EngineRecord.encodeRaw(record),
        inputBindingNames: ["x0", "x1"],
        outputBindingNames: ["y0", "y1"]
      }))
      const call = g.callModule(name, [a, b], {}, { meta: { val: [meta, meta] } })
      a = g.callFunction("_operator.getitem", [call, 0], {}, { meta: { val: meta } })
      b = g.callFunction("_operator.getitem", [call, 1], {}, { meta: { val: meta } })
      nodes += 3
    } else {
      const name = `_run_on_gpu_${k}`
      const sub = new Module.GraphModule(new Graph())
      const blocks = new Module.PlainModule()
      const block = new Module.PlainModule()
      Module.registerParameter(block, "scale", Tensor.make({ storage, dtype: "float32", shape: [8, 64], device: "cuda:0" }))
      blocks.children.set(String(k), block)
      sub.children.set("blocks", blocks)
      const s = sub.graph
      const p0 = s.placeholder("getitem", { meta: { val: meta } })
      const p1 = s.placeholder("getitem_1", { meta: { val: meta } })
      const w = s.getAttr(`blocks.${k}.scale`, { meta: { val: meta } })
      const m = s.callFunction("torch.ops.aten.addcmul.default", [p0, p1, w], {}, { meta: { val: meta } })
      const sin = s.callFunction("torch.ops.aten.sin.default", [m], {}, { meta: { val: meta } })
      const cos = s.callFunction("torch.ops.aten.cos.default", [m], {}, { meta: { val: meta } })
      const mul = s.callFunction("torch.ops.aten.mul.Tensor", [sin, cos], {}, { meta: { val: meta } })
      const add = s.callFunction("torch.ops.aten.add.Tensor", [mul, p1], {}, { meta: { val: meta } })
      s.output(Argument.tuple(add, sin))
      root.children.set(name, sub)
      const call = g.callModule(name, [a, b])
      a = g.callFunction("_operator.getitem", [call, 0], {}, { meta: { val: meta } })
      b = g.callFunction("_operator.getitem", [call, 1], {}, { meta: { val: meta } })
      nodes += 3 + 9
    }
  }
  g.output(Argument.tuple(a, b))
  return root
}

/** Node count of a module's graphs, root and fallback. */
export const count = (root: Module.GraphModule): number =>
  Module.namedModules(root).reduce((acc, [, m]) => acc + (m.kind === "graph_module" ? m.graph.size : 0), 0)

export interface Row {
  readonly mode: "plain" | "cross"
  readonly nodes: number
  readonly exported: number
  readonly passes: ReadonlyArray<readonly [string, number]>
  /** The best sample's time per export, ms. */
  readonly total: number
  /** Every sample's time per export, ms, fastest first. */
  readonly samples: ReadonlyArray<number>
}

interface Sample {
  readonly total: number
  readonly passes: ReadonlyArray<readonly [string, number]>
  readonly exported: number
}

const collect: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {})

// The module is made a `CompiledModule` (checked) inside the timed call, as every export from a module does.
const once = (root: Module.GraphModule, crossCompile: boolean) =>
  Effect.runSync(Exporter.runWithReport(Exporter.exportProgram({ crossCompile }), root))

/**
 * A reference point: an operation with none of the exporter's logic, timed at each size.
 */
export interface Reference {
  readonly operation: string
  readonly note: string
  readonly rows: ReadonlyArray<{ readonly nodes: number; readonly ms: number }>
}

/**
 * Reference points for the exporter's ratio, at 10k and 100k nodes:
 * - `deepCopy` of the same modules reads every node of every graph and writes a node for each;
 * - a copy of the exported program's graph (`Graph.copy`) writes the graph the exporter writes, once;
 * - the same copy then linted reads it once more, as upstream's `transform` reads its result.
 *
 * Each size's inputs are made on their own, as {@link run} makes its modules (small sizes batched to the
 * largest), and timed by the IR benchmark's `time`. Where these are over 11, the memory traffic alone,
 * before any of the exporter's work, scales worse than the target (docs/benchmarks.md, "Why the ratio is
 * missed").
 */
export const references = (sizes: ReadonlyArray<number> = [10_000, 100_000], reps = 9): Array<Reference> => {
  const largest = Math.max(...sizes)
  const copied: Array<Reference["rows"][number]> = []
  const written: Array<Reference["rows"][number]> = []
  const linted: Array<Reference["rows"][number]> = []
  for (const n of sizes) {
    const batch = Math.max(1, Math.round(largest / n))
    const timed = <A>(inputs: ReadonlyArray<A>, f: (a: A) => void) => ({
      nodes: n,
      ms: GraphBench.time((i) => inputs[i]!, f, reps, batch)
    })
    const modules = Array.from({ length: batch }, () => build(n))
    copied.push(timed(modules, (root) => void GraphModule.deepCopy(root)))
    // Exported before the clock starts: the graphs the exporter writes, to be copied.
    const graphs = modules.map((root) => Effect.runSync(Exporter.exportModule(root)).graphModule.graph)
    written.push(timed(graphs, (graph) => void graph.copy()))
    linted.push(timed(graphs, (graph) => Lint.lint(graph.copy())))
  }
  return [
    { operation: "deepCopy of the module", note: "every node read and written once", rows: copied },
    { operation: "copy of the exported graph", note: "the exporter's output written once", rows: written },
    { operation: "copy of the exported graph, linted", note: "then read once more", rows: linted }
  ]
}

export const run = (sizes: ReadonlyArray<number> = [1_000, 10_000, 50_000, 100_000]): Array<Row> => {
  const rows: Array<Row> = []
  const largest = Math.max(...sizes)
  for (const n of sizes) {
    // Small sizes run in batches that add up to the largest size, each export on a module of its own, so
    // that every sample sees a comparable heap (see bench/graph.ts `time`); times are per export.
    const batch = Math.max(1, Math.round(largest / n))
    const roots = Array.from({ length: batch }, () => build(n))
    const root = roots[0]!
    const modes = ["plain", "cross"] as const
    for (const mode of modes) once(root, mode === "cross") // warm-up
    // The two modes' samples alternate, as the sizes' do in bench/graph.ts, so that a slow spell of the
    // machine or of its collector falls on both rather than on whichever mode runs first.
    const reps = 9
    const samples = { plain: [] as Array<Sample>, cross: [] as Array<Sample> }
    for (let r = 0; r < reps; r++) {
      for (const mode of modes) {
        collect()
        const t0 = performance.now()
        const runs = roots.map((r) => once(r, mode === "cross"))
        const total = (performance.now() - t0) / batch
        const passes = runs[0]!.reports.map((p, i) =>
          [p.pass, runs.reduce((acc, run) => acc + run.reports[i]!.millis, 0) / batch] as const
        )
        samples[mode].push({ total, passes, exported: runs[0]!.output.graphModule.graph.size })
      }
    }
    for (const mode of modes) {
      // The best sample, as in bench/graph.ts: on a shared two-core machine the others measure the neighbours.
      const sorted = samples[mode].sort((x, y) => x.total - y.total)
      const best = sorted[0]!
      rows.push({
        mode,
        nodes: count(root),
        exported: best.exported,
        passes: best.passes,
        total: best.total,
        samples: sorted.map((x) => x.total)
      })
    }
  }
  return rows
}
