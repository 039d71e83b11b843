/**
 * The partition picture of an exported program, as data: boxes for the user inputs, the weights, each
 * TensorRT engine, each PyTorch fallback segment and the outputs, the data flow between them, and for each
 * box its record (what the report's side panel shows: inputs, outputs, size, the engine's ABI and device, the
 * ops a segment runs). Each box also has its layer, the longest path to it from a source.
 *
 * A fallback segment is a connected group of the ops that run in PyTorch: torch.export flattens the
 * fallback submodules into the root graph, so they are found again as the components of the graph left when
 * the engine calls are taken out.
 *
 * @since 0.1.0
 */
import * as Argument from "../graph/Argument.ts"
import type { Val } from "../graph/Meta.ts"
import type { Node } from "../graph/Node.ts"
import * as EngineRecord from "../program/EngineRecord.ts"
import type { ExportedProgram } from "../program/ExportedProgram.ts"
import { EXECUTE_ENGINE, GETITEM, NO_OP_PLACEHOLDER } from "../program/Targets.ts"
import { Result } from "effect"
import * as Summary from "../program/Summary.ts"

// ===== Models =====

/**
 * A value that goes into or out of a box: its name (an engine's binding name, else the node's), the node
 * that holds it in the graph, and its type (`float32 [2, 3]`; empty where the graph records none).
 *
 * @since 0.1.0
 * @category models
 */
export interface Port {
  readonly name: string
  readonly node: string
  readonly type: string
}

/**
 * A list kept short: its first {@link LISTED} items, and how many there are in all.
 *
 * @since 0.1.0
 * @category models
 */
export interface Listed<A> {
  readonly items: ReadonlyArray<A>
  readonly total: number
}

/**
 * What the engine record of an engine box says.
 *
 * @since 0.1.0
 * @category models
 */
export interface Engine {
  readonly name: string
  /** Where the program holds it: the constant's name, or the no-op node's name (cross-compiled). */
  readonly where: string
  readonly abi: string
  readonly device: string
  readonly platform: string
  readonly hardwareCompatible: boolean
  readonly bytes: number
}

/**
 * The record of a box, as the side panel shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Record {
  /** One line: an engine's bytes, a segment's op count, the weights' count and bytes. */
  readonly size: string
  /** The decoded engine record, for an engine box whose record reads; else `null`. */
  readonly engine: Engine | null
  readonly inputs: Listed<Port>
  readonly outputs: Listed<Port>
  /** The ops a fallback segment runs, by target, most first (`native_layer_norm`, count). */
  readonly ops: ReadonlyArray<readonly [string, number]>
  /** A fallback segment's nodes in graph order: name and target. */
  readonly nodes: Listed<readonly [string, string]>
  /** What the record cannot say, or why it is missing (an unreadable engine record). */
  readonly note: string
}

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
  /** The longest path to the box from a box that reads nothing; every edge goes to a higher layer. */
  readonly layer: number
  readonly record: Record
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

/**
 * How many items of a record's list are kept (the page stays small for a module with thousands of weights).
 *
 * @since 0.1.0
 * @category models
 */
export const LISTED = 200

const ENGINE_TARGETS = new Set([EXECUTE_ENGINE, NO_OP_PLACEHOLDER])
const ENGINE_NOTE = "The TensorRT layers an engine runs are inside its serialized bytes; the program does not list them."

// ===== Helpers =====


const valText = (v: Val | undefined): string => {
  if (v === undefined || v === null) return ""
  if (Array.isArray(v)) return `(${v.map(valText).join(", ")})`
  if (typeof v !== "object") return ""
  if ("tensor" in v) return `${v.tensor.dtype} [${v.tensor.shape.join(", ")}]`
  if ("int" in v) return "int"
  if ("sym_int" in v) return `SymInt ${v.sym_int}`
  if ("sym_float" in v) return "SymFloat"
  if ("sym_bool" in v) return "SymBool"
  if ("float" in v) return "float"
  if ("bool" in v) return "bool"
  return "custom_obj" in v ? v.custom_obj.class_fqn : ""
}

const typeOf = (n: Node): string => valText(n.meta.val)

const listed = <A>(all: ReadonlyArray<A>): Listed<A> => ({ items: all.slice(0, LISTED), total: all.length })

const port = (n: Node, name = n.name): Port => ({ name, node: n.name, type: typeOf(n) })

const opName = (target: string): string => target.replace(/^torch\.ops\.aten\./, "").replace(/\.default$/, "")

const isNode = (a: unknown): a is Node => typeof a === "object" && a !== null && !Array.isArray(a) && "op" in a && "users" in a

const emptyRecord: Record = {
  size: "",
  engine: null,
  inputs: { items: [], total: 0 },
  outputs: { items: [], total: 0 },
  ops: [],
  nodes: { items: [], total: 0 },
  note: ""
}

// The title, lines and record of an engine call's box, from its record: a lifted constant (its placeholder
// names it) or a packed no-op. Inputs are the call's first argument; outputs its results, by the getitems
// that read them.
const engineBox = (ep: ExportedProgram, node: Node, constantOf: ReadonlyMap<string, string>): { title: string; lines: Array<string>; record: Record } => {
  let where = node.name
  const fields = node.target === EXECUTE_ENGINE
    ? (() => {
      const holder = node.args[1]
      const fqn = isNode(holder) ? constantOf.get(holder.name) : undefined
      if (fqn !== undefined) where = fqn
      const c = fqn === undefined ? undefined : ep.constants.get(fqn)
      return c?._tag === "ScriptObject" ? EngineRecord.decodeRaw(c.state, fqn) : undefined
    })()
    : EngineRecord.decodeBase64(node.args.slice(1), node.name)
  const r = fields !== undefined && Result.isSuccess(fields) ? fields.success : undefined
  const args: unknown = node.args[0]
  const list: ReadonlyArray<unknown> = Argument.elements(args) ?? []
  const inputs = list.flatMap((a, i) => isNode(a) ? [port(a, r?.inputBindingNames[i] ?? `input ${i}`)] : [])
  const vals = Array.isArray(node.meta.val) ? node.meta.val as ReadonlyArray<Val> : []
  const readers = new Map<number, Array<string>>()
  for (const u of node.users) {
    if (u.target === GETITEM && typeof u.args[1] === "number") readers.set(u.args[1], [...(readers.get(u.args[1]) ?? []), u.name])
  }
  const count = r?.outputBindingNames.length ?? vals.length
  const outputs = Array.from({ length: count }, (_, i): Port => ({
    name: r?.outputBindingNames[i] ?? `output ${i}`,
    node: (readers.get(i) ?? []).join(", "),
    type: valText(vals[i])
  }))
  if (r === undefined) {
    const why = fields !== undefined && Result.isFailure(fields) ? fields.failure.message : "no engine record found for the call"
    return {
      title: node.name,
      lines: ["record unreadable"],
      record: { ...emptyRecord, size: "unknown", inputs: listed(inputs), outputs: listed(outputs), note: `The engine record does not read: ${why}` }
    }
  }
  const device = `${r.device.deviceName} (gpu ${r.device.gpuId}, sm ${r.device.major}.${r.device.minor})`
  return {
    title: r.name,
    lines: [`${Summary.bytes(r.engine.byteLength)} engine, ABI ${r.abi}`, r.device.deviceName, `${r.inputBindingNames.length} in, ${r.outputBindingNames.length} out`],
    record: {
      ...emptyRecord,
      size: `${Summary.bytes(r.engine.byteLength)} (${r.engine.byteLength} bytes)`,
      engine: {
        name: r.name,
        where,
        abi: r.abi,
        device,
        platform: r.targetPlatform,
        hardwareCompatible: r.hardwareCompatible,
        bytes: r.engine.byteLength
      },
      inputs: listed(inputs),
      outputs: listed(outputs),
      note: ENGINE_NOTE
    }
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
  const byName = new Map(nodes.map((n) => [n.name, n]))
  const specOf = new Map(ep.graphSignature.inputSpecs.map((s) => [s.arg._tag === "ConstantArgument" ? "" : s.arg.name, s]))
  const constantOf = new Map<string, string>()
  for (const s of ep.graphSignature.inputSpecs) if ("target" in s) constantOf.set(s.arg.name, s.target)

  // Which box each node belongs to; engine getitems belong to their engine.
  const boxOf = new Map<Node, number>()
  const boxes: Array<Omit<Box, "layer">> = []
  const add = (kind: Box["kind"], title: string, lines: Array<string>, record: Record) => boxes.push({ id: boxes.length, kind, title, lines, record }) - 1

  let weights: number | undefined
  const weightStorages = new Set<{ readonly bytes: Uint8Array }>()
  const weightPorts: Array<Port> = []
  for (const n of nodes) {
    if (n.op !== "placeholder") continue
    const spec = specOf.get(n.name)
    if (spec === undefined || spec._tag === "UserInput" || spec._tag === "Token") {
      const type = typeOf(n)
      boxOf.set(n, add("input", n.name, [type], { ...emptyRecord, size: type, outputs: listed([port(n)]) }))
    } else if (spec._tag !== "CustomObj") {
      weights ??= add("weights", "weights", [], emptyRecord)
      weightPorts.push(port(n, spec.target))
      const t = ep.stateDict.get(spec.target) ?? ep.constants.get(spec.target)
      if (t?._tag === "Tensor") weightStorages.add(t.storage)
      boxOf.set(n, weights)
    }
  }
  if (weights !== undefined) {
    const bytes = [...weightStorages].reduce((a, s) => a + s.bytes.byteLength, 0)
    const count = `${weightPorts.length} tensor${weightPorts.length === 1 ? "" : "s"}`
    boxes[weights] = {
      ...boxes[weights]!,
      lines: [count, Summary.bytes(bytes)],
      record: { ...emptyRecord, size: `${count}, ${Summary.bytes(bytes)}`, outputs: listed(weightPorts), note: "Parameters, buffers and constant tensors, lifted to inputs of the program." }
    }
  }
  for (const n of nodes) {
    if (n.op === "call_function" && ENGINE_TARGETS.has(String(n.target))) {
      const { lines, record, title } = engineBox(ep, n, constantOf)
      boxOf.set(n, add("engine", title, lines, record))
    }
  }
  const isEngineGetitem = (n: Node) => {
    const src = n.args[0]
    return n.target === GETITEM && isNode(src) && ENGINE_TARGETS.has(String(src.target))
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
  const members = new Map<Node, Array<Node>>()
  for (const n of fallback) {
    const root = find(n)
    const m = members.get(root)
    if (m === undefined) members.set(root, [n])
    else m.push(n)
  }
  for (const group of members.values()) {
    const inside = new Set(group)
    const counts = new Map<string, number>()
    for (const n of group) counts.set(opName(String(n.target)), (counts.get(opName(String(n.target))) ?? 0) + 1)
    const ops = [...counts].sort((a, b) => b[1] - a[1])
    const inputs = new Set<Node>()
    for (const n of group) for (const i of n.inputNodes) if (!inside.has(i)) inputs.add(i)
    const outputs = group.filter((n) => [...n.users].some((u) => !inside.has(u)))
    const reads = new Set<{ readonly bytes: Uint8Array }>()
    for (const i of inputs) {
      const spec = specOf.get(i.name)
      const t = spec !== undefined && "target" in spec ? ep.stateDict.get(spec.target) ?? ep.constants.get(spec.target) : undefined
      if (t?._tag === "Tensor") reads.add(t.storage)
    }
    const total = group.length
    const opsText = `${total} op${total === 1 ? "" : "s"}`
    const id = add("fallback", `PyTorch: ${opsText}`, ops.slice(0, 3).map(([op, k]) => `${op} ×${k}`), {
      ...emptyRecord,
      size: reads.size === 0 ? opsText : `${opsText}; reads ${reads.size} weight${reads.size === 1 ? "" : "s"} (${Summary.bytes([...reads].reduce((a, s) => a + s.bytes.byteLength, 0))})`,
      inputs: listed([...inputs].map((n) => port(n))),
      outputs: listed(outputs.map((n) => port(n))),
      ops,
      nodes: listed(group.map((n) => [n.name, String(n.target)] as const))
    })
    for (const n of group) boxOf.set(n, id)
  }
  const output = nodes.find((n) => n.op === "output")
  const specs = ep.graphSignature.outputSpecs
  const outPorts = specs.map((s): Port => {
    const n = s.arg._tag === "ConstantArgument" ? undefined : byName.get(s.arg.name)
    return { name: s._tag === "UserOutput" ? s.arg.name : `${s.arg.name} (${s._tag})`, node: n?.name ?? "", type: n === undefined ? "" : typeOf(n) }
  })
  const outCount = `${specs.length} output${specs.length === 1 ? "" : "s"}`
  const outBox = add("output", "outputs", [outCount], { ...emptyRecord, size: outCount, inputs: listed(outPorts) })
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

  // Layers: longest path from the sources, over the edges in topological order of their targets.
  const layer = boxes.map(() => 0)
  const incoming = boxes.map((): Array<number> => [])
  const indegree = boxes.map(() => 0)
  const outgoing = boxes.map((): Array<number> => [])
  for (const [from, to] of edges) {
    outgoing[from]!.push(to)
    incoming[to]!.push(from)
    indegree[to]!++
  }
  const ready = boxes.flatMap((b) => (indegree[b.id] === 0 ? [b.id] : []))
  for (let i = 0; i < ready.length; i++) {
    const b = ready[i]!
    for (const to of outgoing[b]!) {
      layer[to] = Math.max(layer[to]!, layer[b]! + 1)
      if (--indegree[to]! === 0) ready.push(to)
    }
  }
  let last = 0
  for (let i = 0; i < layer.length; i++) if (i !== outBox) last = Math.max(last, layer[i]! + 1)
  layer[outBox] = Math.max(layer[outBox]!, last)
  return { boxes: boxes.map((b) => ({ ...b, layer: layer[b.id]! })), edges }
}
