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

const median = (xs: Array<number>): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Times `f` (median of `reps` runs after one warm-up), on a fresh input from `setup` each time. */
export const time = <A>(setup: () => A, f: (a: A) => void, reps: number): number => {
  f(setup())
  const samples: Array<number> = []
  for (let r = 0; r < reps; r++) {
    const a = setup()
    // Collect the garbage of earlier runs and of the setup first, so that each sample pays only for its own.
    collect()
    const t0 = performance.now()
    f(a)
    samples.push(performance.now() - t0)
  }
  return median(samples)
}

export interface Row {
  readonly operation: string
  readonly nodes: number
  readonly ms: number
}

export const run = (sizes: ReadonlyArray<number> = [10_000, 100_000]): Array<Row> => {
  const rows: Array<Row> = []
  for (const n of sizes) {
    const reps = n >= 100_000 ? 5 : 15
    const base = build(n)
    const nodes = base.graph.size
    rows.push({ operation: "build", nodes, ms: time(() => n, (k) => void build(k), reps) })
    rows.push({ operation: "deepCopy", nodes, ms: time(() => base, (gm) => void GraphModule.deepCopy(gm), reps) })
    rows.push({
      operation: "eliminateDeadCode",
      nodes,
      ms: time(() => GraphModule.deepCopy(base), (gm) => void DeadCode.eliminateDeadCode(gm.graph), reps)
    })
    rows.push({ operation: "lint", nodes, ms: time(() => base, (gm) => Lint.lint(gm.graph), reps) })
  }
  return rows
}
