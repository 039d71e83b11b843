/**
 * Graph IR benchmark: build, deepCopy, eliminateDeadCode and lint on synthetic graphs of 10k and 100k
 * nodes. The per-node cost must not grow with size: t(100k) / t(10k) <= 11 for each operation.
 */
import * as DeadCode from "../src/graph/DeadCode.ts"
import { Graph } from "../src/graph/Graph.ts"
import * as GraphModule from "../src/graph/GraphModule.ts"
import * as Lint from "../src/graph/Lint.ts"
import * as Module from "../src/graph/Module.ts"
import type { Node } from "../src/graph/Node.ts"
import * as Tensor from "../src/graph/Tensor.ts"

/**
 * A partitioned-looking graph of about `n` nodes: one input, a chain of aten ops with skip connections,
 * a parameter read every 50 nodes, and every 10th node dead (no users), so dead-code elimination has work.
 */
export const build = (n: number): Module.GraphModule => {
  const gm = new Module.GraphModule(new Graph())
  const g = gm.graph
  const storage = Tensor.storage(new Uint8Array(64))
  for (let i = 0; i < n / 50; i++) {
    Module.registerParameter(gm, `w${i}`, Tensor.make({ storage, dtype: "float32", shape: [4, 4], requiresGrad: true }))
  }
  let prev: Node = g.placeholder("x", { meta: { val: { tensor: meta } } })
  const window: Array<Node> = [prev]
  for (let i = 1; i < n - 1; i++) {
    let node: Node
    if (i % 50 === 0) node = g.getAttr(`w${i / 50 - 1}`)
    else if (i % 10 === 0) node = g.callFunction("torch.ops.aten.neg.default", [prev]) // dead
    else {
      const skip = window[(i * 7) % window.length]!
      node = g.callFunction(i % 3 === 0 ? "torch.ops.aten.mul.Tensor" : "torch.ops.aten.add.Tensor", [prev, skip], {}, {
        meta: { val: { tensor: meta }, stack_trace: "File \"model.py\", line 1" }
      })
    }
    if (i % 10 !== 0 && i % 50 !== 0) {
      prev = node
      window.push(node)
      if (window.length > 16) window.shift()
    }
  }
  g.output([prev])
  return gm
}

const meta = { shape: [8, 64], stride: [64, 1], storage_offset: 0, dtype: "float32", device: "cuda:0", requires_grad: false }

const collect: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {})

// The best of the samples, as `timeit` advises: on a shared two-core machine every other figure measures the
// neighbours too. (Medians are printed by the exporter table, whose passes are summed.)
const best = (xs: Array<number>): number => Math.min(...xs)

/**
 * Times `f` on inputs from `setup`: the best of `reps` samples, after one warm-up, of the time per call.
 * A sample makes `batch` calls back to back (inputs prepared beforehand) and is divided by `batch`: small
 * sizes are batched so that every sample handles about the same number of nodes, and the garbage
 * collector and the caches see a comparable heap at every size (each input of a batch is a graph of its
 * own). Without it, a 10k-node run is timed on an almost empty heap with its graph in the CPU caches and a
 * 100k-node one is not, and the ratio measures the collector and the caches, not the code.
 */
export const time = <A>(setup: (i: number) => A, f: (a: A) => void, reps: number, batch = 1): number => {
  f(setup(0))
  const samples: Array<number> = []
  for (let r = 0; r < reps; r++) {
    const inputs = Array.from({ length: batch }, (_, i) => setup(i))
    // Collect the garbage of earlier runs and of the setup first, so that each sample pays only for its own.
    collect()
    const t0 = performance.now()
    for (const a of inputs) f(a)
    samples.push((performance.now() - t0) / batch)
  }
  return best(samples)
}

export interface Row {
  readonly operation: string
  readonly nodes: number
  readonly ms: number
}

export const run = (sizes: ReadonlyArray<number> = [10_000, 100_000]): Array<Row> => {
  const largest = Math.max(...sizes)
  // Every input of a batch is a graph of its own, so that a batch of ten 10k-node graphs touches as much
  // memory as one 100k-node graph: the caches favour neither size. Operations that only read reuse the
  // same graphs in every sample (graphs built in the sample's setup are timed with the collector still
  // moving them, which measures the collector); elimination works on fresh copies, as it mutates.
  const setups = sizes.map((n) => {
    const batch = Math.max(1, Math.round(largest / n))
    const pool = Array.from({ length: batch }, () => build(n))
    return { n, batch, pool, nodes: pool[0]!.graph.size }
  })
  const operations: ReadonlyArray<
    readonly [string, (s: (typeof setups)[number]) => (i: number) => unknown, (input: any) => void]
  > = [
    ["build", (s) => () => s.n, (k: number) => void build(k)],
    ["deepCopy", (s) => (i) => s.pool[i]!, (gm: Module.GraphModule) => void GraphModule.deepCopy(gm)],
    ["eliminateDeadCode", (s) => (i) => GraphModule.deepCopy(s.pool[i]!), (gm: Module.GraphModule) => void DeadCode.eliminateDeadCode(gm.graph)],
    ["lint", (s) => (i) => s.pool[i]!, (gm: Module.GraphModule) => Lint.lint(gm.graph)]
  ]
  const rows: Array<Row> = []
  for (const [operation, setup, f] of operations) {
    // The sizes' samples alternate, so that a slow spell of the machine falls on both.
    const best = setups.map(() => Infinity)
    for (let r = 0; r < 11; r++) {
      setups.forEach((s, k) => {
        best[k] = Math.min(best[k]!, time(setup(s), f, 1, s.batch))
      })
    }
    setups.forEach((s, k) => rows.push({ operation, nodes: s.nodes, ms: best[k]! }))
  }
  return rows.sort((x, y) => x.nodes - y.nodes)
}
