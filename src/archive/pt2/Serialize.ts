/**
 * From an exported program to the JSON records of a `.pt2` archive (schema (8, 17)): torch's
 * `ExportedProgramSerializer` (`torch/_export/serde/serialize.py`), as `shared/spec/pt2-format.md` §2 and
 * §5 describe it.
 *
 * Rules:
 * 1. Only `call_function` nodes are written; placeholders become `graph.inputs`, the output node
 *    `graph.outputs`. A `getitem` of a node that returns a list or tuple is folded into its producer, whose
 *    outputs are named after the getitems (`<node>_unused_<i>` where an element has none).
 * 2. Arguments are named and ordered by the operator's schema (`OpSchema.namedArguments`): positional
 *    `kind: 1`, keyword `kind: 2`, defaults omitted. Values are encoded by the schema's type and the
 *    value's own meta: a node is `as_tensor`, `as_custom_obj` or `as_sym_int` by its `meta.val`.
 * 3. Every tensor-valued name (inputs, node outputs, list elements) gets its `tensor_values` entry from its
 *    `meta.val`; every custom-object input its `custom_obj_values` entry.
 * 4. Metadata strings as torch writes them (`Metadata.serialize`).
 * 5. Symbolic sizes are not written yet: a symbolic dimension fails, naming the node (sympy's `srepr` form
 *    is still to be produced).
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import * as ArchiveError from "../ArchiveError.ts"
import * as Argument from "../../graph/Argument.ts"
import type { TensorMeta, Val } from "../../graph/Meta.ts"
import type { Node } from "../../graph/Node.ts"
import type { ExportedProgram } from "../../program/ExportedProgram.ts"
import * as OpSchema from "../../graph/OpSchema.ts"
import type * as Signature from "../../program/Signature.ts"
import * as Metadata from "./Metadata.ts"
import * as Records from "./Records.ts"

const GETITEM = "_operator.getitem"

/**
 * What torch 2.11 writes at the top of every program.
 *
 * @since 0.1.0
 * @category models
 */
export const PROGRAM_HEADER = {
  opset_version: { aten: 10 },
  schema_version: { major: 8, minor: 17 },
  verifiers: ["ATEN"],
  torch_version: "2.11.0",
  guards_code: []
} as const

// A failure of the writer, located at the node concerned.
class Refusal {
  readonly detail: string
  readonly node: string | undefined
  constructor(detail: string, node?: string) {
    this.detail = detail
    this.node = node
  }
}
const refuse = (detail: string, node?: string): never => {
  throw new Refusal(detail, node)
}

// ===== Values =====

const device = (name: string): Records.Device => {
  const m = /^([a-z_]+)(?::(\d+))?$/.exec(name)
  if (m === null) return refuse(`device ${JSON.stringify(name)} is not a torch device`)
  return { type: m[1]!, index: m[2] === undefined ? null : Number(m[2]) }
}

const dtype = (name: string): Records.ScalarTypeCode =>
  Records.dtypeCode(name) ?? refuse(`dtype ${name} has no torch ScalarType code`)

const symInt = (x: number | string, node: string): Records.SymInt =>
  typeof x === "number" ? { as_int: x } : refuse(`symbolic size ${x} cannot be written yet`, node)

const tensorMetaOf = (t: TensorMeta, node: string): Records.TensorMeta => ({
  dtype: dtype(t.dtype),
  sizes: t.shape.map((d) => symInt(d, node)),
  requires_grad: t.requires_grad,
  device: device(t.device),
  strides: t.stride.map((d) => symInt(d, node)),
  storage_offset: symInt(t.storage_offset, node),
  layout: Records.LAYOUT_CODES.strided
})

const tensorOf = (val: Val | undefined): TensorMeta | undefined =>
  val !== undefined && val !== null && !Array.isArray(val) && "tensor" in val ? val.tensor : undefined

/**
 * The `TensorMeta` record of a stored tensor (a weight or constant), or an `Unserializable` fault at
 * `location` (its payload config) when torch has no code for its dtype or device.
 *
 * @since 0.1.0
 * @category encoding
 */
export const tensorMeta = (
  t: TensorMeta,
  fqn: string,
  location: ArchiveError.Location
): Result.Result<Records.TensorMeta, ArchiveError.ArchiveError> => {
  try {
    return Result.succeed(tensorMetaOf(t, fqn))
  } catch (e) {
    if (e instanceof Refusal) return Result.fail(ArchiveError.at(location, "Unserializable", `${fqn}: ${e.detail}`))
    throw e
  }
}

// ===== Program =====

/**
 * Serializes a program. `schemas` holds the operator schemas of the program's `call_function` targets
 * (the builtins of `OpSchema` are always known).
 *
 * @since 0.1.0
 * @category encoding
 */
export const serialize = (
  ep: ExportedProgram,
  schemas: OpSchema.OpSchemas,
  location: { readonly archive: string }
): Result.Result<Records.ExportedProgram, ArchiveError.ArchiveError> => {
  try {
    return Result.succeed(program(ep, schemas))
  } catch (e) {
    if (e instanceof Refusal) {
      return Result.fail(
        ArchiveError.at(
          { ...location, entry: "models/model.json", ...(e.node === undefined ? {} : { node: e.node }) },
          "Unserializable",
          e.detail
        )
      )
    }
    throw e
  }
}

/**
 * The JSON of a program's records (encoded with the schema, so defaults and floats are as torch writes).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (records: Records.ExportedProgram): Records.ExportedProgramEncoded =>
  Schema.encodeSync(Records.ExportedProgram)(records)

const program = (ep: ExportedProgram, schemas: OpSchema.OpSchemas): Records.ExportedProgram => {
  const g = ep.graphModule.graph
  const tensorValues: Record<string, Records.TensorMeta> = {}
  const customObjValues: Record<string, Records.CustomObjArgument> = {}
  const symIntValues: Record<string, Records.SymInt> = {}
  const nodes: Array<Records.Node> = []
  const placeholders = g.findNodes("placeholder")
  const inputs: Array<Records.Argument> = placeholders.map((ph) => {
    const val = ph.meta.val
    const t = tensorOf(val)
    if (t !== undefined) {
      tensorValues[ph.name] = tensorMetaOf(t, ph.name)
      return { as_tensor: { name: ph.name } }
    }
    if (val !== undefined && val !== null && !Array.isArray(val) && "custom_obj" in val) {
      customObjValues[ph.name] = { name: val.custom_obj.name, class_fqn: val.custom_obj.class_fqn }
      return { as_custom_obj: { name: ph.name, class_fqn: val.custom_obj.class_fqn } }
    }
    if (val !== undefined && val !== null && !Array.isArray(val) && "sym_int" in val) {
      return refuse(`symbolic input ${ph.name} cannot be written yet`, ph.name)
    }
    return refuse(`placeholder ${ph.name} has no tensor, custom-object or symbolic meta.val`, ph.name)
  })
  for (const node of g.nodes()) {
    if (node.op !== "call_function") continue
    if (node.target === GETITEM && folded(node)) continue
    nodes.push(callFunction(node, schemas, tensorValues))
  }
  const output = g.outputNode ?? refuse("the graph has no output node")
  const result = output.args[0] ?? null
  const elements = Array.isArray(result)
    ? (result as ReadonlyArray<Argument.Argument>)
    : typeof result === "object" && result !== null && "_tag" in result && result._tag === "Tuple"
    ? result.items
    : [result]
  const outputs = elements.map((e) => graphOutput(e))
  return {
    graph_module: {
      graph: {
        inputs,
        outputs,
        nodes,
        tensor_values: tensorValues,
        sym_int_values: symIntValues,
        sym_bool_values: {},
        is_single_tensor_return: false,
        custom_obj_values: customObjValues,
        sym_float_values: {}
      },
      signature: {
        input_specs: ep.graphSignature.inputSpecs.map(inputSpec),
        output_specs: ep.graphSignature.outputSpecs.map(outputSpec)
      },
      module_call_graph: ep.moduleCallGraph.map((e) => ({
        fqn: e.fqn,
        signature: e.signature === null ? null : {
          inputs: e.signature.inputs.map(argumentSpec),
          outputs: e.signature.outputs.map(argumentSpec),
          in_spec: e.signature.inSpec,
          out_spec: e.signature.outSpec,
          forward_arg_names: e.signature.forwardArgNames
        }
      })),
      metadata: {},
      treespec_namedtuple_fields: {}
    },
    ...PROGRAM_HEADER,
    verifiers: [...PROGRAM_HEADER.verifiers],
    guards_code: [],
    range_constraints: Object.fromEntries(
      [...ep.rangeConstraints].map(([sym, r]) => [sym, { min_val: r.min, max_val: r.max }])
    )
  } as unknown as Records.ExportedProgram
}

// A getitem folded into its producer: one whose source returns a list or tuple (every call_function does).
const folded = (getitem: Node): boolean => {
  const source = getitem.args[0] ?? null
  return Argument.isNode(source) && source.op === "call_function"
}

const callFunction = (
  node: Node,
  schemas: OpSchema.OpSchemas,
  tensorValues: Record<string, Records.TensorMeta>
): Records.Node => {
  const schema = schemas.get(node.target) ?? OpSchema.builtin.get(node.target)
  if (schema === undefined) return refuse(`no operator schema is known for ${node.target}`, node.name)
  const named = OpSchema.namedArguments(schema, node.args, node.kwargs)
  if (Result.isFailure(named)) return refuse(named.failure.message, node.name)
  const types = new Map(schema.arguments.map((a) => [a.name, a.type]))
  const inputs = named.success.map((a) => ({
    name: a.name,
    arg: value(a.value ?? null, types.get(a.name)!, node),
    kind: a.kind
  }))
  return {
    target: node.target,
    inputs,
    outputs: outputs(node, schema, tensorValues),
    metadata: Metadata.serialize(node.meta),
    is_hop_single_tensor_return: null,
    name: node.name
  } as unknown as Records.Node
}

const outputs = (
  node: Node,
  schema: OpSchema.OpSchema,
  tensorValues: Record<string, Records.TensorMeta>
): Array<Records.Argument> => {
  const val = node.meta.val
  switch (OpSchema.returnShape(schema)) {
    case "none":
      return []
    case "single": {
      const t = tensorOf(val)
      if (t !== undefined) {
        tensorValues[node.name] = tensorMetaOf(t, node.name)
        return [{ as_tensor: { name: node.name } }]
      }
      if (val !== undefined && val !== null && !Array.isArray(val) && "sym_int" in val) {
        return refuse(`symbolic output of ${node.name} cannot be written yet`, node.name)
      }
      return refuse(`${node.name} returns one value, but its meta.val is not a tensor`, node.name)
    }
    case "list":
    case "tuple": {
      if (!Array.isArray(val)) return refuse(`${node.name} returns several values, but its meta.val is not a list`, node.name)
      const elements = val as ReadonlyArray<Val>
      // Element names come from the getitems that read them; the first getitem of an index wins.
      const names = new Map<number, string>()
      for (const user of node.userList) {
        if (user.target !== GETITEM || typeof user.args[1] !== "number") {
          return refuse(`${user.name} uses the multi-output node ${node.name} without a getitem`, user.name)
        }
        if (!names.has(user.args[1])) names.set(user.args[1], user.name)
      }
      const tensors = elements.map((v, i) => {
        const name = names.get(i) ?? `${node.name}_unused_${i}`
        const t = tensorOf(v) ?? refuse(`element ${i} of ${node.name} is not a tensor`, node.name)
        tensorValues[name] = tensorMetaOf(t, node.name)
        return { name }
      })
      if (OpSchema.returnShape(schema) === "list") {
        if (tensors.length === 0) return refuse(`${node.name} returns an empty list, which torch cannot load`, node.name)
        return [{ as_tensors: tensors }]
      }
      return tensors.map((t) => ({ as_tensor: t }))
    }
  }
}

// ===== Arguments =====

const nodeArgument = (n: Node, at: Node): Records.Argument => {
  const val = n.meta.val
  if (tensorOf(val) !== undefined || Array.isArray(val) || val === undefined) return { as_tensor: { name: n.name } }
  if (val !== null && "custom_obj" in val) return { as_custom_obj: { name: n.name, class_fqn: val.custom_obj.class_fqn } }
  if (val !== null && "sym_int" in val) return { as_sym_int: { as_name: n.name } }
  return refuse(`argument ${n.name} of ${at.name} has a meta.val that cannot be an argument`, at.name)
}

const items = (a: Argument.Argument): ReadonlyArray<Argument.Argument> | undefined =>
  Array.isArray(a)
    ? (a as ReadonlyArray<Argument.Argument>)
    : typeof a === "object" && a !== null && "_tag" in a && a._tag === "Tuple"
    ? a.items
    : undefined

const int = (a: Argument.Argument): Records.Int64 | undefined =>
  typeof a === "number" && Number.isInteger(a) ? a : typeof a === "bigint" ? a : undefined

const value = (a: Argument.Argument, type: OpSchema.SchemaType, at: Node): Records.Argument => {
  if (a === null) return { as_none: true }
  if (type._tag === "Optional") return value(a, type.element, at)
  if (Argument.isNode(a)) return nodeArgument(a, at)
  const list = items(a)
  if (type._tag === "List") {
    if (list === undefined) return refuse(`${at.name}: a list was expected`, at.name)
    const base = OpSchema.baseName(type.element)
    if (base === "Tensor") {
      if (type.element._tag === "Optional") {
        return { as_optional_tensors: list.map((x) => (x === null ? { as_none: true } : { as_tensor: { name: nodeName(x, at) } })) }
      }
      return { as_tensors: list.map((x) => ({ name: nodeName(x, at) })) }
    }
    if (base === "int" || base === "SymInt") {
      if (list.every((x) => int(x) !== undefined)) return { as_ints: list.map((x) => int(x)!) }
      return { as_sym_ints: list.map((x) => (Argument.isNode(x) ? { as_name: x.name } : { as_int: int(x) ?? refuse(`${at.name}: an int was expected`, at.name) })) }
    }
    if (base === "float") return { as_floats: list.map((x) => floatOf(x, at)) }
    if (base === "bool") return { as_bools: list.map((x) => (typeof x === "boolean" ? x : refuse(`${at.name}: a bool was expected`, at.name))) }
    if (base === "str") return { as_strings: list.map((x) => (typeof x === "string" ? x : refuse(`${at.name}: a string was expected`, at.name))) }
    return refuse(`${at.name}: lists of ${base} cannot be written`, at.name)
  }
  if (typeof a === "boolean") return { as_bool: a }
  if (typeof a === "string") return { as_string: a }
  const i = int(a)
  if (i !== undefined) return OpSchema.baseName(type) === "float" ? { as_float: Number(i) } : { as_int: i }
  if (typeof a === "object" && !Array.isArray(a)) {
    const t = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string>
    switch (t._tag) {
      case "Float":
        return { as_float: t.value }
      case "DType":
        return { as_scalar_type: dtype(t.name) }
      case "Device":
        return { as_device: device(t.name) }
      case "Layout":
        return { as_layout: Records.layoutCode(t.name) ?? refuse(`layout ${t.name} has no code`, at.name) }
      case "MemoryFormat":
        return { as_memory_format: Records.memoryFormatCode(t.name) ?? refuse(`memory format ${t.name} has no code`, at.name) }
      default:
        break
    }
  }
  return refuse(`${at.name}: an argument of type ${OpSchema.printType(type)} cannot be written from this value`, at.name)
}

const nodeName = (x: Argument.Argument, at: Node): string =>
  Argument.isNode(x) ? x.name : refuse(`${at.name}: a tensor was expected`, at.name)

const floatOf = (x: Argument.Argument, at: Node): number =>
  typeof x === "number" ? x : typeof x === "object" && x !== null && "_tag" in x && x._tag === "Float" ? x.value : refuse(`${at.name}: a float was expected`, at.name)

const graphOutput = (a: Argument.Argument): Records.Argument => {
  if (a === null) return { as_none: true }
  if (Argument.isNode(a)) return nodeArgument(a, a)
  if (typeof a === "boolean") return { as_bool: a }
  const i = int(a)
  if (i !== undefined) return { as_int: i }
  if (typeof a === "object" && !Array.isArray(a) && (a as { _tag?: string })._tag === "Float") {
    return { as_float: (a as Argument.Float).value }
  }
  return refuse("an output that is neither a value nor a graph node cannot be written")
}

// ===== Signature =====

const argumentSpec = (a: Signature.ArgumentSpec): Records.Argument => {
  switch (a._tag) {
    case "TensorArgument":
      return { as_tensor: { name: a.name } }
    case "SymIntArgument":
      return { as_sym_int: { as_name: a.name } }
    case "CustomObjArgument":
      return { as_custom_obj: { name: a.name, class_fqn: a.classFqn } }
    case "ConstantArgument":
      return a.value === null
        ? { as_none: true }
        : typeof a.value === "boolean"
        ? { as_bool: a.value }
        : typeof a.value === "string"
        ? { as_string: a.value }
        : Number.isInteger(a.value)
        ? { as_int: a.value }
        : { as_float: a.value }
  }
}

const inputSpec = (s: Signature.InputSpec): Records.InputSpec => {
  switch (s._tag) {
    case "UserInput":
      if (s.arg._tag === "ConstantArgument") {
        const v = argumentSpec(s.arg) as Record<string, unknown>
        return { constant_input: { name: s.arg.name, value: v } } as unknown as Records.InputSpec
      }
      return { user_input: { arg: argumentSpec(s.arg) } } as unknown as Records.InputSpec
    case "Parameter":
      return { parameter: { arg: { name: s.arg.name }, parameter_name: s.target } } as unknown as Records.InputSpec
    case "Buffer":
      return {
        buffer: { arg: { name: s.arg.name }, buffer_name: s.target, persistent: s.persistent }
      } as unknown as Records.InputSpec
    case "ConstantTensor":
      return { tensor_constant: { arg: { name: s.arg.name }, tensor_constant_name: s.target } } as unknown as Records.InputSpec
    case "CustomObj":
      return {
        custom_obj: { arg: { name: s.arg.name, class_fqn: s.arg.classFqn }, custom_obj_name: s.target }
      } as unknown as Records.InputSpec
  }
}

const outputSpec = (s: Signature.OutputSpec): Records.OutputSpec => {
  switch (s._tag) {
    case "UserOutput":
      return { user_output: { arg: argumentSpec(s.arg) } } as unknown as Records.OutputSpec
    case "BufferMutation":
      return { buffer_mutation: { arg: { name: s.arg.name }, buffer_name: s.target } } as unknown as Records.OutputSpec
  }
}
