/**
 * The partition picture of an exported program, as data: boxes for the user inputs, the weights, each
 * TensorRT engine, each PyTorch fallback segment and the outputs, and the data flow between them, laid out
 * in layers (a box sits one layer right of the last box it reads from).
 *
 * A fallback segment is a connected group of the ops that run in PyTorch: torch.export flattens the
 * fallback submodules into the root graph, so they are found again as the components of the graph left when
 * the engine calls are taken out.
 *
 * @since 0.1.0
 */
import type { Node } from "../graph/Node.ts"
import * as EngineRecord from "../program/EngineRecord.ts"
import type { ExportedProgram } from "../program/ExportedProgram.ts"
import { Result } from "effect"

// ===== Models =====

/**
 * One box of the picture.
 *
 * @since 0.1.0
 * @category models
 */
export interface Box {
  readonly id: number
  readonly kind: "input" | "weights" | "engine" | "fallback" | "output"
  readonly title: string
  /** Lines under the title: sizes, counts, shapes. */
  readonly lines: ReadonlyArray<string>
  readonly layer: number
  readonly row: number
}

/**
 * The picture: boxes and the edges `[from, to]` between their ids, each edge once.
 *
 * @since 0.1.0
 * @category models
 */
export interface Flow {
  readonly boxes: ReadonlyArray<Box>
  readonly edges: ReadonlyArray<readonly [number, number]>
}

const ENGINE_TARGETS = new Set([
  "torch.ops.tensorrt.execute_engine.default",
  "torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default"
])
const GETITEM = "_operator.getitem"

const bytesText = (n: number): string =>
  n < 1024 ? `${n} B` : n < 2 ** 20 ? `${(n / 1024).toFixed(1)} KiB` : n < 2 ** 30 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 2 ** 30).toFixed(2)} GiB`

const shapeOf = (n: Node): string => {
  const v = n.meta.val
  return v !== undefined && v !== null && !Array.isArray(v) && typeof v === "object" && "tensor" in v
    ? `${v.tensor.dtype} [${v.tensor.shape.join(", ")}]`
    : ""
}

// The title and lines of an engine call's box, from its record: a lifted constant (its placeholder names it) or a packed no-op.
const engineBox = (ep: ExportedProgram, node: Node, constantOf: ReadonlyMap<string, string>): { title: string; lines: Array<string> } => {
  const fields = node.target === "torch.ops.tensorrt.execute_engine.default"
    ? (() => {
      const holder = node.args[1] as Node | undefined
      const fqn = holder === undefined ? undefined : constantOf.get(holder.name)
      const c = fqn === undefined ? undefined : ep.constants.get(fqn)
      return c?._tag === "ScriptObject" ? EngineRecord.decodeRawResult(c.state, fqn) : undefined
    })()
    : EngineRecord.decodeBase64Result(node.args.slice(1), node.name)
  if (fields === undefined || Result.isFailure(fields)) return { title: node.name, lines: ["record unreadable"] }
  const r = fields.success
  return {
    title: r.name,
    lines: [`${bytesText(r.engine.byteLength)} engine, ABI ${r.abi}`, r.device.deviceName, `${r.inputBindingNames.length} in, ${r.outputBindingNames.length} out`]
  }
}

// ===== Building =====

/**
 * The partition picture of a program.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ofProgram = (ep: ExportedProgram): Flow => {
  const g = ep.graphModule.graph
  const nodes = [...g.nodes()]
  const specOf = new Map(ep.graphSignature.inputSpecs.map((s) => [s.arg._tag === "ConstantArgument" ? "" : s.arg.name, s]))
  const constantOf = new Map<string, string>()
  for (const s of ep.graphSignature.inputSpecs) if ("target" in s) constantOf.set(s.arg.name, s.target)

  // Which box each node belongs to; engine getitems belong to their engine.
  const boxOf = new Map<Node, number>()
  const boxes: Array<Omit<Box, "layer" | "row">> = []
  const add = (kind: Box["kind"], title: string, lines: Array<string>) => boxes.push({ id: boxes.length, kind, title, lines }) - 1

  let weights: number | undefined
  const weightStorages = new Set<unknown>()
  let weightCount = 0
  for (const n of nodes) {
    if (n.op !== "placeholder") continue
    const spec = specOf.get(n.name)
    if (spec === undefined || spec._tag === "UserInput" || spec._tag === "Token") boxOf.set(n, add("input", n.name, [shapeOf(n)]))
    else if (spec._tag !== "CustomObj") {
      weights ??= add("weights", "weights", [])
      weightCount++
      const t = ep.stateDict.get(spec.target) ?? ep.constants.get(spec.target)
      if (t?._tag === "Tensor") weightStorages.add(t.storage)
      boxOf.set(n, weights)
    }
  }
  if (weights !== undefined) {
    const bytes = [...weightStorages].reduce((a: number, s) => a + (s as { bytes: Uint8Array }).bytes.byteLength, 0)
    boxes[weights] = { ...boxes[weights]!, lines: [`${weightCount} tensors`, bytesText(bytes)] }
  }
  for (const n of nodes) {
    if (n.op === "call_function" && ENGINE_TARGETS.has(String(n.target))) {
      const { lines, title } = engineBox(ep, n, constantOf)
      boxOf.set(n, add("engine", title, lines))
    }
  }
  const isEngineGetitem = (n: Node) => {
    const src = n.args[0]
    return n.target === GETITEM && typeof src === "object" && src !== null && !Array.isArray(src) &&
      "op" in src && ENGINE_TARGETS.has(String((src as Node).target))
  }
  for (const n of nodes) if (n.op === "call_function" && isEngineGetitem(n)) boxOf.set(n, boxOf.get(n.args[0] as Node)!)

  // Fallback segments: union-find over the remaining compute nodes, joined along their data edges.
  const parent = new Map<Node, Node>()
  // Full path compression: every node on the walk points at the root afterwards, so long chains of
  // fallback ops stay near-linear.
  const find = (n: Node): Node => {
    let r = n
    while (parent.get(r) !== r) r = parent.get(r)!
    for (let m = n; m !== r;) {
      const next = parent.get(m)!
      parent.set(m, r)
      m = next
    }
    return r
  }
  const fallback = nodes.filter((n) => (n.op === "call_function" || n.op === "call_method" || n.op === "get_attr") && !boxOf.has(n))
  for (const n of fallback) parent.set(n, n)
  for (const n of fallback) {
    for (const input of n.inputNodes) if (parent.has(input)) parent.set(find(input), find(n))
  }
  const segmentOf = new Map<Node, number>()
  const counts = new Map<Node, Map<string, number>>()
  for (const n of fallback) {
    const root = find(n)
    let c = counts.get(root)
    if (c === undefined) counts.set(root, (c = new Map()))
    const op = String(n.target).replace(/^torch\.ops\.aten\./, "").replace(/\.default$/, "")
    c.set(op, (c.get(op) ?? 0) + 1)
  }
  for (const n of fallback) {
    const root = find(n)
    let id = segmentOf.get(root)
    if (id === undefined) {
      const c = counts.get(root)!
      const total = [...c.values()].reduce((a, b) => a + b, 0)
      const top = [...c].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([op, k]) => `${op} ×${k}`)
      id = add("fallback", `PyTorch: ${total} op${total === 1 ? "" : "s"}`, top)
      segmentOf.set(root, id)
    }
    boxOf.set(n, id)
  }
  const output = nodes.find((n) => n.op === "output")
  const outBox = add("output", "outputs", [`${ep.graphSignature.outputSpecs.length} output${ep.graphSignature.outputSpecs.length === 1 ? "" : "s"}`])
  if (output !== undefined) boxOf.set(output, outBox)

  // Edges between boxes, each once, in node order.
  const seen = new Set<string>()
  const edges: Array<readonly [number, number]> = []
  for (const n of nodes) {
    const to = boxOf.get(n)
    if (to === undefined) continue
    for (const input of n.inputNodes) {
      const from = boxOf.get(input)
      if (from === undefined || from === to) continue
      const key = `${from}>${to}`
      if (!seen.has(key)) {
        seen.add(key)
        edges.push([from, to])
      }
    }
  }

  // Layers: longest path from the sources (boxes were added in an order where every edge goes from a box
  // whose layer is known; iterate to a fixpoint to be safe with any order).
  const layer = boxes.map(() => 0)
  for (let changed = true, rounds = 0; changed && rounds <= boxes.length; rounds++) {
    changed = false
    for (const [from, to] of edges) {
      if (layer[to]! < layer[from]! + 1) {
        layer[to] = layer[from]! + 1
        changed = true
      }
    }
  }
  layer[outBox] = Math.max(layer[outBox]!, ...layer.filter((_, i) => i !== outBox).map((l) => l + 1), 0)
  const rows = new Map<number, number>()
  return {
    boxes: boxes.map((b) => {
      const l = layer[b.id]!
      const row = rows.get(l) ?? 0
      rows.set(l, row + 1)
      return { ...b, layer: l, row }
    }),
    edges
  }
}
