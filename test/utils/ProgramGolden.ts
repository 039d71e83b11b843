/**
 * Golden-test helpers: our `ExportedProgram` and the reference exporter's torch JSON
 * (`shared/spec/pt2-format.md` §2), both brought to one plain form that `toEqual` can compare.
 *
 * - Argument values ({@link Value}): a node reference is `{ node: name }` (an `as_tensor`, an element of
 *   `as_tensors`, or an `as_custom_obj` on the reference side; a {@link Node} on ours); lists and tuples are
 *   arrays; ints are `{ int: "decimal" }` (the reference has int64 max in `slice.Tensor`, beyond 2^53);
 *   floats `{ float }`; strings as they are; dtypes, devices, layouts and memory formats by torch's name.
 * - Nodes ({@link NodeView}): the `call_function` nodes other than getitems, in graph order, with positional
 *   and keyword arguments, the names of their outputs, and their metadata as the serializer's strings.
 * - Tensor metas: ours in the reference's `TensorMeta` JSON form ({@link tensorMeta}).
 * - Input and output specs ({@link SpecView}), without `class_fqn` (a documented divergence, asserted on its
 *   own).
 *
 * The reference JSON is read with ints beyond 2^53 as bigints ({@link readReference}).
 */
import { Result } from "effect"
import * as Metadata from "../../src/archive/pt2/Metadata.ts"
import * as PT2 from "../../src/archive/pt2/Records.ts"
import * as fs from "node:fs"
import type * as Argument from "../../src/graph/Argument.ts"
import type { Meta, TensorMeta as OurTensorMeta, Val } from "../../src/graph/Meta.ts"
import type { GraphModule } from "../../src/graph/Module.ts"
import type { Node } from "../../src/graph/Node.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import type * as Signature from "../../src/program/Signature.ts"

// ===== The reference JSON =====

/** A parsed torch JSON value (ints beyond 2^53 as bigints). */
export type Json = null | boolean | number | bigint | string | ReadonlyArray<Json> | { readonly [k: string]: Json }
/** A torch JSON object. */
export type JsonObject = { readonly [k: string]: Json }

const INTEGER = /^-?\d+$/

/** Reads a reference program (`ep.json`), keeping ints beyond 2^53 exact, as bigints. */
export const readReference = (path: string): JsonObject =>
  JSON.parse(fs.readFileSync(path, "utf8"), bigIntReviver as (key: string, value: unknown) => unknown) as JsonObject

// `JSON.parse` passes the source text of each primitive as the reviver's third argument (ES2025).
const bigIntReviver = (_key: string, value: unknown, context?: { readonly source?: string }): unknown =>
  typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined && INTEGER.test(context.source)
    ? BigInt(context.source)
    : value

const obj = (j: Json | undefined): JsonObject => {
  if (j === null || j === undefined || typeof j !== "object" || Array.isArray(j)) throw new Error(`not an object: ${String(j)}`)
  return j as JsonObject
}
const arr = (j: Json | undefined): ReadonlyArray<Json> => {
  if (!Array.isArray(j)) throw new Error(`not an array: ${String(j)}`)
  return j
}
const str = (j: Json | undefined): string => {
  if (typeof j !== "string") throw new Error(`not a string: ${String(j)}`)
  return j
}
/** The only key of a torch union object and its value. */
const variant = (j: Json | undefined): readonly [string, Json] => {
  const entries = Object.entries(obj(j))
  if (entries.length !== 1) throw new Error(`not a union: ${JSON.stringify(j)}`)
  return entries[0]!
}

/** `graph_module.graph` of a reference program. */
export const referenceGraph = (ep: JsonObject): JsonObject => obj(obj(ep["graph_module"])["graph"])
/** `graph_module.signature` of a reference program. */
export const referenceSignature = (ep: JsonObject): JsonObject => obj(obj(ep["graph_module"])["signature"])

// ===== Enums =====

// The enum tables are the pt2 records' (src/archive/pt2/Records.ts).

/** The ScalarType code of a dtype name; throws for a dtype torch cannot serialize. */
export const scalarTypeCode = (dtype: string): number => {
  const code = PT2.dtypeCode(dtype)
  if (code === undefined) throw new Error(`dtype ${dtype} has no ScalarType code`)
  return code
}

/** A device string (`"cuda:0"`, `"cpu"`) as the torch JSON writes it. */
export const deviceJson = (device: string): { type: string; index: number | null } => {
  const m = /^([a-z_]+)(?::(\d+))?$/.exec(device)
  if (m === null) throw new Error(`bad device ${device}`)
  return { type: m[1]!, index: m[2] === undefined ? null : Number(m[2]) }
}

const deviceName = (j: Json): string => {
  const d = obj(j)
  return d["index"] === null || d["index"] === undefined ? str(d["type"]) : `${str(d["type"])}:${String(d["index"])}`
}

// ===== Argument values =====

/** An argument in the form both sides are compared in. */
export type Value =
  | null
  | boolean
  | string
  | { readonly node: string }
  | { readonly int: string }
  | { readonly float: number | "inf" | "-inf" | "nan" }
  | { readonly complex: readonly [number, number] }
  | { readonly symInt: string }
  | { readonly dtype: string }
  | { readonly device: string }
  | { readonly layout: string }
  | { readonly memoryFormat: string }
  | { readonly dict: ReadonlyArray<readonly [Value, Value]> }
  | ReadonlyArray<Value>

const intValue = (j: Json): Value => {
  if (typeof j !== "number" && typeof j !== "bigint") throw new Error(`not an int: ${String(j)}`)
  return { int: String(j) }
}
const floatValue = (j: Json): Value => {
  if (j === "Infinity") return { float: "inf" }
  if (j === "-Infinity") return { float: "-inf" }
  if (j === "NaN") return { float: "nan" }
  return { float: Number(j) }
}
const symValue = (j: Json, literal: (j: Json) => Value): Value => {
  const [k, v] = variant(j)
  return k === "as_name" ? { node: str(v) } : literal(v)
}

/** A reference `Argument` union (§2.4) as a {@link Value}. */
export const referenceValue = (arg: Json): Value => {
  const [k, v] = variant(arg)
  switch (k) {
    case "as_none":
      return null
    case "as_tensor":
    case "as_custom_obj":
      return { node: str(obj(v)["name"]) }
    case "as_tensors":
      return arr(v).map((t) => ({ node: str(obj(t)["name"]) }))
    case "as_optional_tensors":
      return arr(v).map((t) => {
        const [ok, ov] = variant(t)
        return ok === "as_none" ? null : { node: str(obj(ov)["name"]) }
      })
    case "as_int":
      return intValue(v)
    case "as_ints":
      return arr(v).map(intValue)
    case "as_float":
      return floatValue(v)
    case "as_floats":
      return arr(v).map(floatValue)
    case "as_string":
      return str(v)
    case "as_strings":
      return arr(v).map(str)
    case "as_bool":
      return v as boolean
    case "as_bools":
      return arr(v) as ReadonlyArray<boolean>
    case "as_sym_int":
      return symValue(v, intValue)
    case "as_sym_ints":
      return arr(v).map((x) => symValue(x, intValue))
    case "as_sym_float":
      return symValue(v, floatValue)
    case "as_sym_floats":
      return arr(v).map((x) => symValue(x, floatValue))
    case "as_sym_bool":
      return symValue(v, (b) => b as boolean)
    case "as_sym_bools":
      return arr(v).map((x) => symValue(x, (b) => b as boolean))
    case "as_scalar_type": {
      const name = PT2.dtypeName(Number(v))
      if (name === undefined) throw new Error(`unknown ScalarType ${String(v)}`)
      return { dtype: name }
    }
    case "as_device":
      return { device: deviceName(v) }
    case "as_layout":
      return { layout: PT2.layoutName(Number(v)) ?? `?${String(v)}` }
    case "as_memory_format":
      return { memoryFormat: PT2.memoryFormatName(Number(v)) ?? `?${String(v)}` }
    case "as_string_to_argument":
      return { dict: Object.entries(obj(v)).map(([key, a]) => [key, referenceValue(a)] as const) }
    default:
      throw new Error(`argument variant ${k} is not handled by the golden helper`)
  }
}

/** One of our arguments as a {@link Value}. */
export const ourValue = (a: Argument.Argument): Value => {
  if (a === null || typeof a === "boolean" || typeof a === "string") return a
  if (typeof a === "number" || typeof a === "bigint") return { int: String(a) }
  if (Array.isArray(a)) return (a as ReadonlyArray<Argument.Argument>).map(ourValue)
  const t = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string>
  switch (t._tag) {
    case "Node":
      return { node: t.name }
    case "Tuple":
      return t.items.map(ourValue)
    case "Dict":
      return { dict: t.entries.map(([k, v]) => [ourValue(k), ourValue(v)] as const) }
    case "Float":
        return {
        float: Number.isNaN(t.value) ? "nan" : t.value === Infinity ? "inf" : t.value === -Infinity ? "-inf" : t.value
      }
    case "DType":
      return { dtype: t.name }
    case "Device":
      return { device: t.name }
    case "Layout":
      return { layout: t.name }
    case "MemoryFormat":
      return { memoryFormat: t.name }
    case "SymInt":
      return { symInt: t.expr }
    case "Slice":
      throw new Error("a slice argument cannot be serialized")
    case "Complex":
      return { complex: [t.real, t.imag] }
  }
}

// Metadata and json.dumps come from the pt2 writer (src/archive/pt2/Metadata.ts).
export const pyJsonDumps = Metadata.pyJsonDumps
export const ourMetadata = (meta: Parameters<typeof Metadata.serialize>[0]): Record<string, string> =>
  Result.getOrThrowWith(Metadata.serialize(meta), (detail) => new Error(detail))

// ===== Tensor metas =====

const symInt = (x: number | string): JsonObject => {
  if (typeof x === "string") throw new Error(`symbolic dim ${x}: the golden helper handles static shapes only`)
  return { as_int: x }
}

/** One of our tensor metas in the reference's `TensorMeta` JSON form (dtype code, `{as_int}` sizes, device object, layout strided). */
export const tensorMeta = (t: OurTensorMeta): JsonObject => ({
  dtype: scalarTypeCode(t.dtype),
  sizes: t.shape.map(symInt),
  requires_grad: t.requires_grad,
  device: deviceJson(t.device),
  strides: t.stride.map(symInt),
  storage_offset: symInt(t.storage_offset),
  layout: PT2.LAYOUT_CODES.strided
})

/** The tensor of a `meta.val`, or undefined when it is not a single tensor. */
export const tensorOf = (val: Val | undefined): OurTensorMeta | undefined =>
  val !== undefined && val !== null && !Array.isArray(val) && "tensor" in val ? val.tensor : undefined

// ===== Nodes =====

/** The getitem target. */
export const GETITEM = "_operator.getitem"

/** A serialized node, reduced to what the golden tests compare. */
export interface NodeView {
  readonly name: string
  readonly target: string
  readonly args: ReadonlyArray<Value>
  readonly kwargs: Readonly<Record<string, Value>>
  /** The output names: one for a single-tensor return, one per element for a list or tuple return. */
  readonly outputs: { readonly list: boolean; readonly names: ReadonlyArray<string> }
  readonly metadata: Readonly<Record<string, string>>
}

const referenceOutputs = (outputs: ReadonlyArray<Json>): NodeView["outputs"] => {
  const names: Array<string> = []
  let list = outputs.length !== 1
  for (const o of outputs) {
    const [k, v] = variant(o)
    if (k === "as_tensor") names.push(str(obj(v)["name"]))
    else if (k === "as_tensors") {
      list = true
      for (const t of arr(v)) names.push(str(obj(t)["name"]))
    } else throw new Error(`output variant ${k} is not handled by the golden helper`)
  }
  return { list, names }
}

/** The nodes of a reference program, inputs decoded by `kind` (1 positional, 2 keyword). */
export const referenceNodes = (ep: JsonObject): Array<NodeView> =>
  arr(referenceGraph(ep)["nodes"]).map((n) => {
    const node = obj(n)
    const args: Array<Value> = []
    const kwargs: Record<string, Value> = {}
    for (const input of arr(node["inputs"])) {
      const named = obj(input)
      const value = referenceValue(named["arg"]!)
      if (named["kind"] === 2) kwargs[str(named["name"])] = value
      else if (named["kind"] === 1) args.push(value)
      else throw new Error(`input ${str(named["name"])} of ${str(node["name"])} has no kind`)
    }
    const metadata = Object.fromEntries(Object.entries(obj(node["metadata"])).map(([k, v]) => [k, str(v)]))
    return {
      name: str(node["name"]),
      target: str(node["target"]),
      args,
      kwargs,
      outputs: referenceOutputs(arr(node["outputs"])),
      metadata
    }
  })

/**
 * The getitem users of a multi-output node by index, first in graph order per index (the serializer
 * collapses duplicates onto the first).
 */
export const getitemsByIndex = (node: Node): Map<number, Node> => {
  const users = [...node.users]
    .filter((u) => u.target === GETITEM)
    .sort((a, b) => node.graph.positionOf(a) - node.graph.positionOf(b))
  const out = new Map<number, Node>()
  for (const u of users) {
    const i = u.args[1]
    if (typeof i === "number" && !out.has(i)) out.set(i, u)
  }
  return out
}

/** The output names of one of our nodes as the serializer names them (getitem names, `<name>_unused_<i>`). */
export const ourOutputs = (node: Node): NodeView["outputs"] => {
  const val = node.meta.val
  if (!Array.isArray(val)) return { list: false, names: [node.name] }
  const getitems = getitemsByIndex(node)
  return { list: true, names: val.map((_, i) => getitems.get(i)?.name ?? `${node.name}_unused_${i}`) }
}

/** The serialized nodes of our program: its `call_function` nodes other than getitems, in graph order. */
export const ourNodes = (ep: ExportedProgram): Array<NodeView> =>
  [...ep.graphModule.graph.nodes()]
    .filter((n) => n.op === "call_function" && n.target !== GETITEM)
    .map((n) => ({
      name: n.name,
      target: n.target,
      args: n.args.map(ourValue),
      kwargs: Object.fromEntries(Object.entries(n.kwargs).map(([k, v]) => [k, ourValue(v)])),
      outputs: ourOutputs(n),
      metadata: ourMetadata(n.meta)
    }))

// ===== Tensor values =====

/** The reference `tensor_values`. */
export const referenceTensorValues = (ep: JsonObject): Record<string, JsonObject> =>
  Object.fromEntries(Object.entries(obj(referenceGraph(ep)["tensor_values"])).map(([k, v]) => [k, obj(v)]))

/**
 * Our `tensor_values`, built as the serializer builds them: tensor placeholders, then each serialized node's
 * outputs (a multi-output node's elements named by {@link ourOutputs}, with the element metas of its `val`).
 */
export const ourTensorValues = (ep: ExportedProgram): Record<string, JsonObject> => {
  const out: Record<string, JsonObject> = {}
  const g = ep.graphModule.graph
  for (const ph of g.findNodes("placeholder")) {
    const t = tensorOf(ph.meta.val)
    if (t !== undefined) out[ph.name] = tensorMeta(t)
  }
  for (const n of g.nodes()) {
    if (n.op !== "call_function" || n.target === GETITEM) continue
    const val = n.meta.val
    if (Array.isArray(val)) {
      ourOutputs(n).names.forEach((name, i) => {
        const t = tensorOf(val[i])
        if (t !== undefined) out[name] = tensorMeta(t)
      })
    } else {
      const t = tensorOf(val)
      if (t !== undefined) out[n.name] = tensorMeta(t)
    }
  }
  return out
}

// ===== Graph inputs and outputs =====

/** A graph input or output: its name and whether it is a tensor or a custom object. */
export interface IoView {
  readonly kind: "tensor" | "custom_obj"
  readonly name: string
}

const referenceIo = (j: Json): IoView => {
  const [k, v] = variant(j)
  if (k === "as_tensor") return { kind: "tensor", name: str(obj(v)["name"]) }
  if (k === "as_custom_obj") return { kind: "custom_obj", name: str(obj(v)["name"]) }
  throw new Error(`graph input/output variant ${k} is not handled by the golden helper`)
}

/** The reference `graph.inputs` / `graph.outputs`. */
export const referenceGraphIo = (ep: JsonObject): { inputs: Array<IoView>; outputs: Array<IoView> } => {
  const g = referenceGraph(ep)
  return { inputs: arr(g["inputs"]).map(referenceIo), outputs: arr(g["outputs"]).map(referenceIo) }
}

const ourIo = (n: Node): IoView => {
  const val = n.meta.val
  const custom = val !== undefined && val !== null && !Array.isArray(val) && "custom_obj" in val
  return { kind: custom ? "custom_obj" : "tensor", name: n.name }
}

/** Our placeholders and the elements of our output tuple; throws unless the output is a tuple of nodes. */
export const ourGraphIo = (ep: ExportedProgram): { inputs: Array<IoView>; outputs: Array<IoView> } => {
  const g = ep.graphModule.graph
  const result = g.outputNode?.args[0]
  const tagged = (a: Argument.Argument | undefined) =>
    typeof a === "object" && a !== null && !Array.isArray(a) ? (a as { readonly _tag: string }) : undefined
  if (tagged(result)?._tag !== "Tuple") throw new Error("the output is not a tuple")
  const outputs = (result as Argument.Tuple).items.map((a) => {
    if (tagged(a)?._tag !== "Node") throw new Error("an output is not a node")
    return ourIo(a as Node)
  })
  return { inputs: g.findNodes("placeholder").map(ourIo), outputs }
}

// ===== Custom objects =====

/** A custom object as the JSON names it: `{ name, class_fqn }`. */
export interface CustomObjView {
  readonly name: string
  readonly class_fqn: string
}

/** The reference `custom_obj_values`. */
export const referenceCustomObjValues = (ep: JsonObject): Record<string, CustomObjView> =>
  Object.fromEntries(
    Object.entries(obj(referenceGraph(ep)["custom_obj_values"] ?? {})).map(([k, v]) => {
      const o = obj(v)
      return [k, { name: str(o["name"]), class_fqn: str(o["class_fqn"]) }]
    })
  )

/** Our `custom_obj_values`: each custom-object placeholder's `meta.val`. */
export const ourCustomObjValues = (ep: ExportedProgram): Record<string, CustomObjView> => {
  const out: Record<string, CustomObjView> = {}
  for (const ph of ep.graphModule.graph.findNodes("placeholder")) {
    const val = ph.meta.val
    if (val !== undefined && val !== null && !Array.isArray(val) && "custom_obj" in val) out[ph.name] = { ...val.custom_obj }
  }
  return out
}

/** Every `class_fqn` the reference writes: graph inputs, node arguments, `custom_obj_values`, input specs. */
export const referenceClassFqns = (ep: JsonObject): Array<string> => {
  const out: Array<string> = []
  const walk = (j: Json | undefined): void => {
    if (j === null || j === undefined || typeof j !== "object") return
    if (Array.isArray(j)) return j.forEach(walk)
    const o = j as JsonObject
    if ("class_fqn" in o) out.push(str(o["class_fqn"]))
    Object.values(o).forEach(walk)
  }
  walk(ep)
  return out
}

// ===== Signature =====

/** An input or output spec, without `class_fqn`. */
export interface SpecView {
  readonly kind: "user_input" | "parameter" | "buffer" | "tensor_constant" | "custom_obj" | "user_output"
  readonly name: string
  readonly target?: string
  readonly persistent?: boolean
}

const specArgName = (arg: Json): string => {
  const o = obj(arg)
  if ("name" in o) return str(o["name"])
  return (referenceIo(arg)).name
}

/** The reference `input_specs`. */
export const referenceInputSpecs = (ep: JsonObject): Array<SpecView> =>
  arr(referenceSignature(ep)["input_specs"]).map((s) => {
    const [k, v] = variant(s)
    const o = obj(v)
    switch (k) {
      case "user_input":
        return { kind: "user_input", name: specArgName(o["arg"]!) }
      case "parameter":
        return { kind: "parameter", name: specArgName(o["arg"]!), target: str(o["parameter_name"]) }
      case "buffer":
        return {
          kind: "buffer",
          name: specArgName(o["arg"]!),
          target: str(o["buffer_name"]),
          persistent: o["persistent"] as boolean
        }
      case "tensor_constant":
        return { kind: "tensor_constant", name: specArgName(o["arg"]!), target: str(o["tensor_constant_name"]) }
      case "custom_obj":
        return { kind: "custom_obj", name: specArgName(o["arg"]!), target: str(o["custom_obj_name"]) }
      default:
        throw new Error(`input spec ${k} is not handled by the golden helper`)
    }
  })

/** Our input specs. */
export const ourInputSpecs = (sig: Signature.GraphSignature): Array<SpecView> =>
  sig.inputSpecs.map((s) => {
    switch (s._tag) {
      case "UserInput":
        return { kind: "user_input", name: s.arg.name }
      case "Parameter":
        return { kind: "parameter", name: s.arg.name, target: s.target }
      case "Buffer":
        return { kind: "buffer", name: s.arg.name, target: s.target, persistent: s.persistent }
      case "ConstantTensor":
        return { kind: "tensor_constant", name: s.arg.name, target: s.target }
      case "CustomObj":
        return { kind: "custom_obj", name: s.arg.name, target: s.target }
      case "Token":
        throw new Error(`input spec Token (${s.arg.name}) is not handled by the golden helper`)
    }
  })

/** The reference `output_specs` (only user outputs occur in the samples). */
export const referenceOutputSpecs = (ep: JsonObject): Array<SpecView> =>
  arr(referenceSignature(ep)["output_specs"]).map((s) => {
    const [k, v] = variant(s)
    if (k !== "user_output") throw new Error(`output spec ${k} is not handled by the golden helper`)
    return { kind: "user_output", name: specArgName(obj(v)["arg"]!) }
  })

/** Our output specs. */
export const ourOutputSpecs = (sig: Signature.GraphSignature): Array<SpecView> =>
  sig.outputSpecs.map((s) => {
    if (s._tag !== "UserOutput") throw new Error(`output spec ${s._tag} is not handled by the golden helper`)
    return { kind: "user_output", name: s.arg.name }
  })

const RANK: Readonly<Record<SpecView["kind"], number>> = {
  parameter: 0,
  buffer: 1,
  tensor_constant: 2,
  custom_obj: 3,
  user_input: 4,
  user_output: 5
}

/** Specs stably sorted by kind: parameters, buffers, constant tensors, custom objects, user inputs. */
export const canonicalOrder = <S extends { readonly kind: SpecView["kind"] }>(specs: ReadonlyArray<S>): Array<S> =>
  specs.map((s, i) => [s, i] as const).sort(([a, i], [b, j]) => RANK[a.kind] - RANK[b.kind] || i - j).map(([s]) => s)

/** The state-dict keys a signature implies: parameter and persistent buffer targets, in spec order. */
export const stateDictKeys = (specs: ReadonlyArray<SpecView>): Array<string> =>
  specs.flatMap((s) => (s.kind === "parameter" || (s.kind === "buffer" && s.persistent === true) ? [s.target!] : []))

/** The constants keys a signature implies: custom objects, constant tensors, non-persistent buffers. */
export const constantKeys = (specs: ReadonlyArray<SpecView>): Array<string> =>
  specs.flatMap((s) =>
    s.kind === "custom_obj" || s.kind === "tensor_constant" || (s.kind === "buffer" && s.persistent === false)
      ? [s.target!]
      : []
  )

// ===== Module call graph =====

/** A module call entry with its spec strings. */
export interface CallEntryView {
  readonly fqn: string
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly in_spec: string
  readonly out_spec: string
  readonly forward_arg_names: ReadonlyArray<string> | null
}

/** The reference `module_call_graph`. */
export const referenceModuleCallGraph = (ep: JsonObject): Array<CallEntryView> =>
  arr(obj(ep["graph_module"])["module_call_graph"]).map((e) => {
    const entry = obj(e)
    const sig = obj(entry["signature"])
    return {
      fqn: str(entry["fqn"]),
      inputs: arr(sig["inputs"]).map((a) => referenceIo(a).name),
      outputs: arr(sig["outputs"]).map((a) => referenceIo(a).name),
      in_spec: str(sig["in_spec"]),
      out_spec: str(sig["out_spec"]),
      forward_arg_names: sig["forward_arg_names"] === null ? null : arr(sig["forward_arg_names"]).map(str)
    }
  })

/** Our module call graph. */
export const ourModuleCallGraph = (ep: ExportedProgram): Array<CallEntryView> =>
  ep.moduleCallGraph.map((e) => {
    if (e.signature === null) throw new Error(`module call entry ${e.fqn} has no signature`)
    return {
      fqn: e.fqn,
      inputs: e.signature.inputs.map((a) => a.name),
      outputs: e.signature.outputs.map((a) => a.name),
      in_spec: e.signature.inSpec,
      out_spec: e.signature.outSpec,
      forward_arg_names: e.signature.forwardArgNames
    }
  })

// ===== Whole graphs (load side) =====

/** A node of one of our graphs, with everything but its identity as plain data. */
export interface GraphNodeView {
  readonly op: string
  readonly name: string
  readonly target: string
  readonly args: ReadonlyArray<Value>
  readonly kwargs: Readonly<Record<string, Value>>
  readonly meta: Meta
}

/** Every node of a graph module, in graph order. */
export const graphNodes = (gm: GraphModule): Array<GraphNodeView> =>
  [...gm.graph.nodes()].map((n) => ({
    op: n.op,
    name: n.name,
    target: n.target,
    args: n.args.map(ourValue),
    kwargs: Object.fromEntries(Object.entries(n.kwargs).map(([k, v]) => [k, ourValue(v)])),
    meta: n.meta
  }))
