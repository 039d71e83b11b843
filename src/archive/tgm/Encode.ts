/**
 * From the graph IR to `.tgm` records: the inverse of `Decode.ts`. Storages and engine blobs become
 * entries (`tensors/<k>`, `engines/<k>`, numbered in order of first appearance, each object once), so
 * aliasing survives the round trip and the same module always gives the same archive.
 *
 * @since 0.1.0
 */
import type * as Argument from "../../graph/Argument.ts"
import * as Json from "../Json.ts"
import type { Graph } from "../../graph/Graph.ts"
import * as Meta from "../../graph/Meta.ts"
import type * as Module from "../../graph/Module.ts"
import type * as Tensor from "../../graph/Tensor.ts"
import * as OpSchema from "../../graph/OpSchema.ts"
import type * as Records from "./Records.ts"

// ===== Models =====

/**
 * A module tree as records, with the bytes its entries must hold.
 *
 * @since 0.1.0
 * @category models
 */
export interface Encoded {
  readonly root: Records.GraphModuleRecord
  /** Entry name to bytes, in the order they were first referenced. */
  readonly entries: ReadonlyMap<string, Uint8Array>
}

// ===== Encoding =====

/**
 * Encodes a root graph module.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeRoot = (root: Module.GraphModule): Encoded => {
  const entries = new Map<string, Uint8Array>()
  const storageIds = new Map<Tensor.Storage, string>()
  const engineIds = new Map<Uint8Array, string>()
  let nextStorage = 0
  let nextEngine = 0

  const storage = (s: Tensor.Storage): string => {
    let name = storageIds.get(s)
    if (name === undefined) {
      name = `tensors/${nextStorage++}`
      storageIds.set(s, name)
      entries.set(name, s.bytes)
    }
    return name
  }
  const engine = (bytes: Uint8Array): Records.TrtModuleRecord["packed_engine_info"][number] => {
    let name = engineIds.get(bytes)
    if (name === undefined) {
      name = `engines/${nextEngine++}`
      engineIds.set(bytes, name)
      entries.set(name, bytes)
    }
    return { engine: name }
  }
  const fields = (info: Module.EngineInfo) => info.map((f) => (typeof f === "string" ? f : engine(f)))
  const tensor = (t: Tensor.Tensor, persistent?: boolean): Records.TensorRef => ({
    storage: storage(t.storage),
    dtype: t.dtype,
    shape: t.shape,
    stride: t.stride,
    storage_offset: t.storageOffset,
    device: t.device,
    requires_grad: t.requiresGrad,
    ...(persistent === false ? { persistent: false } : {})
  })

  const module = (m: Module.Module, isRoot: boolean): Records.ModuleRecord => {
    if (m.kind === "trt_module") {
      return {
        kind: "trt_module",
        name: m.name,
        packed_engine_info: fields(m.packedEngineInfo),
        ...(m.engineState === undefined ? {} : { engine_state: fields(m.engineState) }),
        input_binding_names: m.inputBindingNames,
        output_binding_names: m.outputBindingNames
      }
    }
    // Entries are numbered in the order this walk meets them: children before the module's own state.
    const head = m.kind === "graph_module"
      ? { kind: "graph_module" as const, graph: graph(m.graph, m.inSpec, m.outSpec, isRoot ? m.symbols : undefined, isRoot ? m.namedTupleFields : undefined) }
      : { kind: "module" as const, type: m.type }
    // Keys go through Json.key so that integer-like names keep their place, and through Object.fromEntries
    // so that a name such as `__proto__` is an own key, not a prototype.
    const record = <V, W>(map: ReadonlyMap<string, V>, f: (name: string, v: V) => W): { [k: string]: W } =>
      Object.fromEntries([...map].map(([name, v]) => [Json.key(name), f(name, v)]))
    const children = record(m.children, (_, child) => module(child, false))
    const parameters = record(m.parameters, (_, t) => tensor(t))
    const buffers = record(m.buffers, (name, t) => tensor(t, !m.nonPersistent.has(name)))
    const constants = record(m.constants, (_, c): Records.TensorRef | Records.ScriptObjectRef =>
      c._tag === "Tensor" ? tensor(c) : { script_object: { class_fqn: c.classFqn, state: fields(c.state) } })
    return { ...head, children, parameters, buffers, constants }
  }

  return { root: module(root, true) as Records.GraphModuleRecord, entries }
}

const symbolRecord = (s: Module.SymbolInfo): Records.SymbolRecord => ({
  hint: s.hint,
  min: s.min,
  max: s.max,
  ...(s.assumptions === undefined ? {} : { assumptions: Object.fromEntries(s.assumptions.map(([k, v]) => [Json.key(k), v])) })
})

/**
 * Encodes a graph.
 *
 * @since 0.1.0
 * @category encoding
 */
export const graph = (
  g: Graph,
  inSpec: string | null,
  outSpec: string | null,
  symbols: ReadonlyMap<string, Module.SymbolInfo> | undefined,
  namedTupleFields?: ReadonlyMap<string, ReadonlyArray<string>> | undefined
): Records.GraphRecord => {
  const nodes: Array<Records.NodeRecord> = []
  for (const n of g.nodes()) {
    const kwargs = Object.fromEntries(Object.entries(n.kwargs).map(([k, v]) => [Json.key(k), argument(v)]))
    // Meta values hold names as they are (the reader unmarked them): marked again, so that `Json.stringify`
    // writes every key as it is, one that starts with its mark included.
    const meta: Record<string, unknown> = {}
    for (const key of Meta.keys) if (n.meta[key] !== undefined) meta[key] = key === "val" ? n.meta[key] : Json.mark(n.meta[key])
    nodes.push({
      name: n.name,
      op: n.op,
      target: n.target,
      args: n.args.map(argument),
      kwargs,
      meta: meta as Records.NodeRecord["meta"]
    })
  }
  return {
    nodes,
    in_spec: inSpec,
    out_spec: outSpec,
    ...(symbols === undefined ? {} : { symbols: Object.fromEntries([...symbols].map(([k, v]) => [Json.key(k), symbolRecord(v)])) }),
    ...(namedTupleFields === undefined ? {} : { namedtuple_fields: Object.fromEntries([...namedTupleFields].map(([k, v]) => [Json.key(k), v])) })
  }
}

/**
 * Encodes an argument.
 *
 * @since 0.1.0
 * @category encoding
 */
export const argument = (a: Argument.Argument): Records.ArgRecord => {
  if (a === null || typeof a === "boolean" || typeof a === "string") return a
  // An int's -0 is written 0: the JSON writer keeps -0 as -0.0, a float, for the floats that have one.
  if (typeof a === "number") return Number.isSafeInteger(a) ? (a === 0 ? 0 : a) : { int: BigInt(a).toString() }
  if (typeof a === "bigint") {
    return a >= BigInt(Number.MIN_SAFE_INTEGER) && a <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(a) : { int: a.toString() }
  }
  if (Array.isArray(a)) return (a as ReadonlyArray<Argument.Argument>).map(argument)
  const t = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string>
  switch (t._tag) {
    case "Node":
      return { node: t.name }
    case "Tuple":
      return { tuple: t.items.map(argument) }
    case "Dict":
      return { dict: t.entries.map(([k, v]) => [argument(k), argument(v)] as const) }
    case "Float":
      return { float: toJsonFloat(t.value) }
    case "Complex":
      return { complex: [toJsonFloat(t.real), toJsonFloat(t.imag)] }
    case "DType":
      return { dtype: t.name }
    case "Device":
      return { device: t.name }
    case "Layout":
      return { layout: t.name }
    case "MemoryFormat":
      return { memory_format: t.name }
    case "Slice":
      return { slice: [argument(t.start), argument(t.stop), argument(t.step)] }
    case "SymInt":
      return { sym_int: t.expr }
  }
}

/**
 * The `op_schemas.json` record of operator schemas: each printed as torch prints it, in the registry's order.
 *
 * @since 0.1.0
 * @category encoding
 */
export const opSchemas = (schemas: OpSchema.OpSchemas): Records.OpSchemasRecord => [...schemas.values()].map(OpSchema.print)

/**
 * A float in its archive form: non-finite values as `"inf"`, `"-inf"`, `"nan"`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toJsonFloat = (x: number): number | "inf" | "-inf" | "nan" =>
  Number.isNaN(x) ? "nan" : x === Infinity ? "inf" : x === -Infinity ? "-inf" : x
