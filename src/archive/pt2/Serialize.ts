/**
 * From an exported program to the JSON records of a `.pt2` archive (schema (8, 17)): torch's
 * `GraphModuleSerializer` and `ExportedProgramSerializer` (`torch/_export/serde/serialize.py`), as
 * `shared/spec/pt2-format.md` §2 and §5 describe them.
 *
 * Rules, in the serializer's order:
 * 1. Placeholders become `graph.inputs`: a tensor (`tensor_values`), a symbolic int (`sym_int_values`), a
 *    custom object (`custom_obj_values`) or a constant (`as_int`, `as_none`...); the output node becomes
 *    `graph.outputs` (a bare node: `is_single_tensor_return`). `get_attr` nodes are not written: a graph
 *    module they name is written where it is used, as an `as_graph` argument holding its own graph.
 * 2. Each other node is a `call_function`, written by its kind:
 *    - a `getitem` of a node that returns several values is folded into its producer, whose outputs are
 *      named after the getitems (`<node>_unused_<i>` where an element has none; a second getitem of an index
 *      is written as the first);
 *    - a symbolic op (`_operator.mul`, `torch.sym_max`, `math.trunc`..., or any op whose value is a symbolic
 *      int, float or bool, such as `aten.sym_size.int`): its arguments are positional, named by the op's
 *      parameters, and its one output is that symbolic value;
 *    - an operator (`torch.ops.<ns>.<op>.<overload>`): arguments named and ordered by its schema (the
 *      program's own, else trtx's built-in one): a kwarg is `kind: 2`, a positional one `kind: 1`, one not
 *      given is omitted; outputs by its returns (`-> Tensor[]` is one `as_tensors`, a tuple one argument
 *      per element);
 *    - a higher-order operator (`torch.ops.higher_order.cond`...): no schema, positional inputs named `""`,
 *      keyword inputs by name, outputs from its value.
 *    A node of any other kind (`call_module`, `call_method`, an unknown target) is a located error: nothing
 *    is dropped.
 * 3. An argument's form follows its value, as torch's `serialize_input` decides it: a list of ints is
 *    `as_ints`, of ints and symbolic ints `as_sym_ints`, of nodes `as_tensors`, of nodes and `None`
 *    `as_optional_tensors`; only an empty list takes its form from the schema's type.
 * 4. Symbolic sizes, strides, offsets and values are written as sympy `srepr` with their hints
 *    (`SymbolicValues.Printer`); `range_constraints` are the program's.
 * 5. Metadata strings as torch writes them (`Metadata.serialize`).
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as ArchiveError from "../ArchiveError.ts"
import * as Json from "../Json.ts"
import * as Argument from "../../graph/Argument.ts"
import type { TensorMeta, Val } from "../../graph/Meta.ts"
import * as Module from "../../graph/Module.ts"
import type { Node } from "../../graph/Node.ts"
import * as OpSchema from "../../graph/OpSchema.ts"
import * as Tensor from "../../graph/Tensor.ts"
import * as ValueRange from "../../graph/ValueRange.ts"
import type { ExportedProgram } from "../../program/ExportedProgram.ts"
import * as KnownSchemas from "../../program/KnownSchemas.ts"
import * as Signature from "../../program/Signature.ts"
import { GETITEM } from "../../program/Targets.ts"
import * as Metadata from "./Metadata.ts"
import * as Records from "./Records.ts"
import * as SymbolicValues from "./SymbolicValues.ts"


/**
 * What torch 2.11 writes at the top of every program.
 *
 * @since 0.1.0
 * @category models
 */
export const PROGRAM_HEADER = {
  opset_version: { aten: 10 },
  schema_version: { major: 8, minor: 17 },
  torch_version: "2.11.0"
} as const

/**
 * The Python functions torch's serializer writes as symbolic ops (`_SYM_OPS`), by the names torch.export
 * writes them, with their parameters (`inspect.signature`), which name the node's inputs.
 *
 * @since 0.1.0
 * @category models
 */
export const SYM_OPS: ReadonlyMap<string, ReadonlyArray<string>> = new Map<string, ReadonlyArray<string>>([
  ...["eq", "ne", "le", "ge", "lt", "gt", "and_", "or_", "mul", "add", "sub", "floordiv", "mod", "pow", "truediv", "lshift", "rshift"]
    .map((op) => [`_operator.${op}`, ["a", "b"]] as const),
  ["_operator.neg", ["a"]],
  ["_operator.pos", ["a"]],
  ["math.trunc", ["x"]],
  ["torch.sym_not", ["a"]],
  ["torch.sym_int", ["a"]],
  ["torch.sym_float", ["a"]],
  ["torch.sym_ite", ["b", "t", "f"]],
  ["torch.sym_max", ["a", "b"]],
  ["torch.sym_min", ["a", "b"]],
  ["torch._sym_sqrt", ["a"]]
])

// A failure of the writer, located at the node concerned (and at the JSON path of the records it would
// have written, where that is known).
class Refusal {
  readonly detail: string
  readonly node: string | undefined
  readonly path: string | undefined
  constructor(detail: string, node?: string, path?: string) {
    this.detail = detail
    this.node = node
    this.path = path
  }
}
const refuse = (detail: string, node?: string, path?: string): never => {
  throw new Refusal(detail, node, path)
}

// A node's metadata strings, or a refusal at the node where they would not read back (`Metadata.serialize`).
const metadataOf = (node: Node): Record<string, string> => {
  const r = Metadata.serialize(node.meta)
  return Result.isSuccess(r) ? r.success : refuse(`${node.name}'s metadata: ${r.failure}`, node.name)
}

// ===== Values =====

const device = (name: string): Records.Device => {
  const m = /^([a-z_]+)(?::(\d+))?$/.exec(name)
  if (m === null) return refuse(`device ${JSON.stringify(name)} is not a torch device`)
  return { type: m[1]!, index: m[2] === undefined ? null : Number(m[2]) }
}

const dtype = (name: string): Records.ScalarTypeCode =>
  Records.dtypeCode(name) ?? refuse(`dtype ${name} has no torch ScalarType code`)

type Tagged = Exclude<Val, ReadonlyArray<Val> | null>
const tagged = (val: Val | undefined): Tagged | undefined =>
  val === undefined || val === null || Array.isArray(val) ? undefined : (val as Tagged)

const tensorOf = (val: Val | undefined): TensorMeta | undefined => {
  const v = tagged(val)
  return v !== undefined && "tensor" in v ? v.tensor : undefined
}

// The symbolic kind of a value: what torch's `SymInt`/`SymFloat`/`SymBool` (or a plain number) is.
const symbolicKind = (val: Val | undefined): "int" | "float" | "bool" | undefined => {
  const v = tagged(val)
  if (v === undefined) return undefined
  if ("sym_int" in v) return "int"
  if ("sym_float" in v) return "float"
  if ("sym_bool" in v) return "bool"
  return undefined
}

// ===== Program =====

/**
 * Serializes a program. Operator schemas come from the program (`ExportedProgram.opSchemas`), then from
 * trtx's built-in table (`KnownSchemas`).
 *
 * @since 0.1.0
 * @category encoding
 */
export const serialize = (
  ep: ExportedProgram,
  location: { readonly archive: string }
): Result.Result<Records.ExportedProgram, ArchiveError.ArchiveError> => {
  try {
    return Result.succeed(program(ep))
  } catch (e) {
    if (e instanceof Refusal) {
      return Result.fail(
        ArchiveError.at(
          {
            ...location,
            entry: "models/model.json",
            ...(e.path === undefined ? {} : { path: e.path }),
            ...(e.node === undefined ? {} : { node: e.node })
          },
          "Unserializable",
          e.detail
        )
      )
    }
    throw e
  }
}

/**
 * The `TensorMeta` record of a stored tensor (a weight or constant), or an `Unserializable` fault at
 * `location` (its meta in the payload config; the path names the field) when torch has no code for its dtype
 * or device, or the tensor breaks a tensor rule (`Tensor.check`).
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
    return Result.succeed(new Values(new SymbolicValues.Printer(undefined)).tensorMeta(t, fqn, location.path))
  } catch (e) {
    if (e instanceof Refusal) {
      return Result.fail(ArchiveError.at({ ...location, ...(e.path === undefined ? {} : { path: e.path }) }, "Unserializable", `${fqn}: ${e.detail}`))
    }
    throw e
  }
}

/**
 * Where a tensor rule's field (`Tensor.Violation`) is in a `TensorMeta` record at `path`.
 *
 * @since 0.1.0
 * @category getters
 */
export const tensorMetaPath = (path: string, v: Tensor.Violation): string => {
  switch (v.field) {
    case "shape":
      return v.index === undefined ? `${path}.sizes` : `${path}.sizes[${v.index}]`
    case "stride":
      return v.index === undefined ? `${path}.strides` : `${path}.strides[${v.index}]`
    case "storageOffset":
      return `${path}.storage_offset`
    case "requiresGrad":
      return `${path}.requires_grad`
    case "dtype":
      return `${path}.dtype`
    case "storage":
      return path
  }
}

/**
 * The JSON of a program's records (encoded with the schema, so defaults and floats are as torch writes), or
 * an `Unserializable` fault at `models/model.json` and the JSON path of the first value that breaks a rule
 * of the records (a device type torch would refuse, an int beyond int64...): the writer writes nothing its
 * reader would refuse.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (
  records: Records.ExportedProgram,
  location: { readonly archive: string }
): Result.Result<Records.ExportedProgramEncoded, ArchiveError.ArchiveError> => {
  const r = Json.encodeValue(Records.ExportedProgram, records)
  if (Result.isSuccess(r)) return Result.succeed(r.success)
  return Result.fail(
    ArchiveError.at({ ...location, entry: "models/model.json", path: r.failure.path }, "Unserializable", r.failure.detail)
  )
}

// The record kind and target field of each spec that names a target.
const TARGET_FIELDS: Readonly<Record<string, readonly [string, string]>> = {
  Parameter: ["parameter", "parameter_name"],
  Buffer: ["buffer", "buffer_name"],
  ConstantTensor: ["tensor_constant", "tensor_constant_name"],
  CustomObj: ["custom_obj", "custom_obj_name"],
  BufferMutation: ["buffer_mutation", "buffer_name"],
  ParameterMutation: ["parameter_mutation", "parameter_name"],
  GradientToParameter: ["gradient_to_parameter", "parameter_name"],
  GradientToUserInput: ["gradient_to_user_input", "user_input_name"],
  UserInputMutation: ["user_input_mutation", "user_input_name"]
}

/**
 * Where a signature rule's spec (`Signature.Violation`) writes its target in the records.
 *
 * @since 0.1.0
 * @category getters
 */
export const signaturePath = (sig: Signature.GraphSignature, v: Signature.Violation): string => {
  const spec = v.spec === "input" ? sig.inputSpecs[v.index]! : sig.outputSpecs[v.index]!
  const at = `$.graph_module.signature.${v.spec}_specs[${v.index}]`
  const fields = TARGET_FIELDS[spec._tag]
  return fields === undefined ? at : `${at}.${fields[0]}.${fields[1]}`
}

/**
 * Where a range rule's field (`ValueRange.Violation`) is in the records' `range_constraints`.
 *
 * @since 0.1.0
 * @category getters
 */
export const rangePath = (symbol: string, v: ValueRange.Violation): string =>
  v.field === "hint" ? Json.child("$.range_constraints", symbol) : `${Json.child("$.range_constraints", symbol)}.${v.field}_val`

// What torch's loader would refuse of a program as a whole: its signature's targets, and its ranges with the
// symbols' hints. The readers hold what they read to the same rules.
const checkProgram = (ep: ExportedProgram): void => {
  const broken = Signature.check(ep.graphSignature, ep)
  if (broken !== undefined) refuse(broken.detail, undefined, signaturePath(ep.graphSignature, broken))
  for (const [symbol, range] of ep.rangeConstraints) {
    const v = ValueRange.check(range, ep.graphModule.symbols?.get(symbol)?.hint)
    if (v !== undefined) refuse(`${symbol}: ${v.detail}`, undefined, rangePath(symbol, v))
  }
}

const program = (ep: ExportedProgram): Records.ExportedProgram => {
  checkProgram(ep)
  const values = new Values(new SymbolicValues.Printer(ep.graphModule.symbols))
  const schemaOf = (target: string): OpSchema.OpSchema | undefined => ep.opSchemas.get(target) ?? KnownSchemas.get(target)
  const graph = new GraphWriter(ep.graphModule, values, schemaOf, new Map()).graph()
  const records = {
    graph_module: {
      graph,
      signature: {
        input_specs: ep.graphSignature.inputSpecs.map((s) => inputSpec(s, values)),
        output_specs: ep.graphSignature.outputSpecs.map((s) => outputSpec(s, values))
      },
      module_call_graph: ep.moduleCallGraph.map((e) => ({
        fqn: e.fqn,
        signature: e.signature === null ? null : {
          inputs: e.signature.inputs.map((a) => argumentSpec(a, values)),
          outputs: e.signature.outputs.map((a) => argumentSpec(a, values)),
          in_spec: e.signature.inSpec,
          out_spec: e.signature.outSpec,
          forward_arg_names: e.signature.forwardArgNames
        }
      })),
      metadata: { ...ep.metadata },
      treespec_namedtuple_fields: Object.fromEntries(
        [...(ep.graphModule.namedTupleFields ?? [])].map(([type, fields]) => [type, { field_names: fields }])
      )
    },
    opset_version: PROGRAM_HEADER.opset_version,
    range_constraints: Object.fromEntries(
      [...ep.rangeConstraints].map(([sym, r]) => [sym, { min_val: r.min, max_val: r.max }])
    ),
    schema_version: PROGRAM_HEADER.schema_version,
    verifiers: [...ep.verifiers],
    torch_version: PROGRAM_HEADER.torch_version,
    guards_code: [...ep.guardsCode]
  }
  return records as unknown as Records.ExportedProgram
}

// ===== Values of one program =====

// Tensor metas and symbolic values, with the program's symbols.
class Values {
  readonly symbolic: SymbolicValues.Printer
  constructor(symbolic: SymbolicValues.Printer) {
    this.symbolic = symbolic
  }

  symInt(x: number | string, at: string | undefined): Records.SymInt {
    if (typeof x === "number") return { as_int: x } as Records.SymInt
    return { as_expr: this.expr(x, "int", at) } as Records.SymInt
  }

  expr(text: string, kind: "int" | "float" | "bool", at: string | undefined): Records.SymExpr {
    const r = this.symbolic.expr(text, kind)
    return Result.isSuccess(r) ? r.success : refuse(r.failure, at)
  }

  // `path`: where the record goes, to locate a broken tensor rule at its field.
  tensorMeta(t: TensorMeta, at: string | undefined, path?: string): Records.TensorMeta {
    const broken = Tensor.check(Tensor.layoutOfMeta(t))
    if (broken !== undefined) refuse(broken.detail, at, path === undefined ? undefined : tensorMetaPath(path, broken))
    return {
      dtype: dtype(t.dtype),
      sizes: t.shape.map((d) => this.symInt(d, at)),
      requires_grad: t.requires_grad,
      device: device(t.device),
      strides: t.stride.map((d) => this.symInt(d, at)),
      storage_offset: this.symInt(t.storage_offset, at),
      layout: Records.LAYOUT_CODES.strided
    }
  }
}

// ===== Graphs =====

// The state of one graph being written (torch's `GraphState`); a graph module used as an argument is written
// by a writer of its own, sharing the program's values, schemas and getitem duplicates.
class GraphWriter {
  readonly inputs: Array<Records.Argument> = []
  outputs: Array<Records.Argument> = []
  readonly nodes: Array<Records.Node> = []
  readonly tensorValues: Record<string, Records.TensorMeta> = {}
  readonly symIntValues: Record<string, Records.SymInt> = {}
  readonly symBoolValues: Record<string, Records.SymBool> = {}
  readonly symFloatValues: Record<string, Records.SymFloat> = {}
  readonly customObjValues: Record<string, Records.CustomObjArgument> = {}
  isSingleTensorReturn = false

  readonly #module: Module.GraphModule
  readonly #values: Values
  readonly #schemaOf: (target: string) => OpSchema.OpSchema | undefined
  // A getitem that repeats an earlier one of the same element, and the name it is written as.
  readonly #duplicates: Map<string, string>

  constructor(
    module: Module.GraphModule,
    values: Values,
    schemaOf: (target: string) => OpSchema.OpSchema | undefined,
    duplicates: Map<string, string>
  ) {
    this.#module = module
    this.#values = values
    this.#schemaOf = schemaOf
    this.#duplicates = duplicates
  }

  graph(): Records.Graph {
    for (const node of this.#module.graph.nodes()) {
      switch (node.op) {
        case "placeholder":
          this.inputs.push(this.#placeholder(node))
          break
        case "get_attr":
          break
        case "call_function":
          this.#callFunction(node)
          break
        case "output":
          this.#output(node)
          break
        default:
          refuse(`${node.name} is a ${node.op} node, which an exported program cannot hold`, node.name)
      }
    }
    return {
      inputs: this.inputs,
      outputs: this.outputs,
      nodes: this.nodes,
      tensor_values: this.tensorValues,
      sym_int_values: this.symIntValues,
      sym_bool_values: this.symBoolValues,
      is_single_tensor_return: this.isSingleTensorReturn,
      custom_obj_values: this.customObjValues,
      sym_float_values: this.symFloatValues
    } as unknown as Records.Graph
  }

  #placeholder(ph: Node): Records.Argument {
    const val = ph.meta.val
    const t = tensorOf(val)
    if (t !== undefined) return { as_tensor: this.#tensorOutput(ph.name, t, ph.name) } as Records.Argument
    const v = tagged(val)
    if (v !== undefined && "custom_obj" in v) {
      Json.put(this.customObjValues, ph.name, { name: v.custom_obj.name, class_fqn: v.custom_obj.class_fqn })
      return { as_custom_obj: { name: ph.name, class_fqn: v.custom_obj.class_fqn } } as Records.Argument
    }
    if (v !== undefined && "sym_int" in v) return this.#output1(ph.name, val, ph.name)
    if (v !== undefined && ("sym_float" in v || "sym_bool" in v)) {
      return refuse(`placeholder ${ph.name} is a symbolic ${"sym_float" in v ? "float" : "bool"}, which torch cannot write as an input`, ph.name)
    }
    // A constant user input: written as the value itself.
    if (val === null) return { as_none: true } as Records.Argument
    if (v !== undefined && "int" in v) return { as_int: typeof v.int === "string" ? BigInt(v.int) : v.int } as Records.Argument
    if (v !== undefined && "bool" in v) return { as_bool: v.bool } as Records.Argument
    if (v !== undefined && "float" in v) return { as_float: jsonFloat(v.float) } as Records.Argument
    return refuse(`placeholder ${ph.name} has no tensor, custom-object, symbolic or constant meta.val`, ph.name)
  }

  #output(node: Node): void {
    const result = node.args[0] ?? null
    if (Argument.isNode(result)) {
      this.isSingleTensorReturn = true
      this.outputs = [this.#input(result, undefined, node)]
      return
    }
    const elements = items(result)
    if (elements === undefined) return refuse("the graph's output is neither a node nor a tuple or list", node.name)
    this.outputs = elements.map((e) => this.#input(e, undefined, node))
  }

  #callFunction(node: Node): void {
    if (node.target === GETITEM) {
      if (isFolded(node)) return foldable(node)
      return refuse(`${node.name} takes an element of ${describe(node.args[0])}, which an exported program cannot hold`, node.name)
    }
    const symParams = SYM_OPS.get(node.target)
    const kind = symbolicKind(node.meta.val)
    if (symParams !== undefined || kind !== undefined) return this.#symOp(node, symParams)
    if (node.target.startsWith("torch.ops.higher_order.")) return this.#higherOrder(node)
    if (KnownSchemas.needsSchema(node.target)) return this.#operator(node)
    refuse(`${node.name} calls ${node.target}, which is neither an operator nor a function torch can write`, node.name)
  }

  #symOp(node: Node, params: ReadonlyArray<string> | undefined): void {
    if (Object.keys(node.kwargs).length > 0) refuse(`the symbolic op ${node.name} has keyword arguments`, node.name)
    const names = params ?? this.#schema(node).arguments.map((a) => a.name)
    if (node.args.length > names.length) refuse(`${node.name} gives ${node.target} more arguments than it takes`, node.name)
    this.nodes.push({
      target: node.target,
      inputs: node.args.map((a, i) => ({ name: names[i]!, arg: this.#input(a, undefined, node), kind: 1 })),
      outputs: [this.#output1(node.name, node.meta.val, node.name)],
      metadata: metadataOf(node),
      is_hop_single_tensor_return: null,
      name: node.name
    } as unknown as Records.Node)
  }

  #schema(node: Node): OpSchema.OpSchema {
    return this.#schemaOf(node.target) ?? refuse(`no operator schema is known for ${node.target}`, node.name)
  }

  #operator(node: Node): void {
    const schema = this.#schema(node)
    const named = OpSchema.namedArguments(schema, node.args, node.kwargs)
    if (Result.isFailure(named)) return refuse(named.failure.message, node.name)
    const inputs = named.success.map((a) => ({
      name: a.name,
      arg: this.#input(a.value ?? null, OpSchema.argumentNamed(schema, a.name)?.type, node),
      kind: a.kind
    }))
    this.nodes.push({
      target: node.target,
      inputs,
      outputs: this.#operatorOutputs(node, schema),
      metadata: metadataOf(node),
      is_hop_single_tensor_return: null,
      name: node.name
    } as unknown as Records.Node)
  }

  #higherOrder(node: Node): void {
    const inputs = [
      ...node.args.map((a) => ({ name: "", arg: this.#input(a, undefined, node), kind: 1 })),
      ...Object.entries(node.kwargs).map(([k, a]) => ({ name: k, arg: this.#input(a, undefined, node), kind: 2 }))
    ]
    const val = node.meta.val
    this.nodes.push({
      target: node.target,
      inputs,
      outputs: this.#higherOrderOutputs(node),
      metadata: metadataOf(node),
      is_hop_single_tensor_return: tensorOf(val) !== undefined,
      name: node.name
    } as unknown as Records.Node)
  }

  // ----- outputs

  #tensorOutput(name: string, t: TensorMeta, at: string): Records.TensorArgument {
    if (Object.hasOwn(this.tensorValues, Json.key(name))) refuse(`the value ${name} is defined twice`, at)
    Json.put(this.tensorValues, name, this.#values.tensorMeta(t, at))
    return { name }
  }

  // torch's `serialize_output`: one value, by its kind.
  #output1(name: string, val: Val | undefined, at: string): Records.Argument {
    if (val === null) return { as_none: true } as Records.Argument
    const t = tensorOf(val)
    if (t !== undefined) return { as_tensor: this.#tensorOutput(name, t, at) } as Records.Argument
    const v = tagged(val) ?? refuse(`${at} has no meta.val to write its output from`, at)
    const fresh = <T>(values: Record<string, T>, value: T): void => {
      if (Object.hasOwn(values, Json.key(name))) refuse(`the value ${name} is defined twice`, at)
      Json.put(values, name, value)
    }
    if ("bool" in v || "sym_bool" in v) {
      fresh(this.symBoolValues, "bool" in v ? { as_bool: v.bool } : { as_expr: this.#values.expr(v.sym_bool, "bool", at) })
      return { as_sym_bool: { as_name: name } } as Records.Argument
    }
    if ("int" in v || "sym_int" in v) {
      const value = "int" in v ? { as_int: typeof v.int === "string" ? BigInt(v.int) : v.int } : { as_expr: this.#values.expr(v.sym_int, "int", at) }
      fresh(this.symIntValues, value as Records.SymInt)
      return { as_sym_int: { as_name: name } } as Records.Argument
    }
    if ("float" in v || "sym_float" in v) {
      fresh(this.symFloatValues, ("float" in v ? { as_float: jsonFloat(v.float) } : { as_expr: this.#values.expr(v.sym_float, "float", at) }) as Records.SymFloat)
      return { as_sym_float: { as_name: name } } as Records.Argument
    }
    return refuse(`the value of ${at} cannot be written as an output`, at)
  }

  // The name of element `index` of a multi-output node: its getitem's, the first where several read it.
  #elementName(node: Node, index: number): string {
    let first: Node | undefined
    for (const user of node.userList) {
      if (user.target !== GETITEM || typeof user.args[1] !== "number") {
        return refuse(`${user.name} uses the multi-output node ${node.name} without a getitem`, user.name)
      }
      if (user.args[1] !== index) continue
      if (first === undefined) first = user
      else this.#duplicates.set(user.name, first.name)
    }
    return first?.name ?? `${node.name}_unused_${index}`
  }

  #elementUser(node: Node, index: number): Node | undefined {
    for (const user of node.userList) if (user.target === GETITEM && user.args[1] === index) return user
    return undefined
  }

  #operatorOutputs(node: Node, schema: OpSchema.OpSchema): Array<Records.Argument> {
    const val = node.meta.val
    switch (OpSchema.returnShape(schema)) {
      case "none":
        return []
      case "list": {
        if (!Array.isArray(val)) return refuse(`${node.name} returns a list, but its meta.val is not one`, node.name)
        const tensors = (val as ReadonlyArray<Val>).map((v, i) => {
          const t = tensorOf(v) ?? refuse(`element ${i} of ${node.name} is not a tensor`, node.name)
          return this.#tensorOutput(this.#elementName(node, i), t, node.name)
        })
        if (tensors.length === 0) return refuse(`${node.name} returns an empty list, which torch cannot load`, node.name)
        return [{ as_tensors: tensors } as Records.Argument]
      }
      case "single":
        return [this.#output1(node.name, val, node.name)]
      case "tuple": {
        if (!Array.isArray(val)) return refuse(`${node.name} returns several values, but its meta.val is not a list`, node.name)
        return (val as ReadonlyArray<Val>).map((v, i) => this.#element(node, i, v))
      }
    }
  }

  // One element of a tuple return (torch's loop in `serialize_outputs`).
  #element(node: Node, i: number, v: Val): Records.Argument {
    if (v === null) return { as_none: true } as Records.Argument
    if (Array.isArray(v)) {
      // A `Tensor[]` element: its getitem's own getitems name the tensors.
      const user = this.#elementUser(node, i) ?? refuse(`element ${i} of ${node.name} is a list that no getitem reads`, node.name)
      const tensors: Array<Records.TensorArgument> = []
      ;(v as ReadonlyArray<Val>).forEach((m, j) => {
        if (m === null) return
        const t = tensorOf(m) ?? refuse(`element ${i}[${j}] of ${node.name} is not a tensor`, node.name)
        tensors.push(this.#tensorOutput(this.#elementName(user, j), t, node.name))
      })
      return { as_tensors: tensors } as Records.Argument
    }
    return this.#output1(this.#elementName(node, i), v, node.name)
  }

  #higherOrderOutputs(node: Node): Array<Records.Argument> {
    const val = node.meta.val
    if (!Array.isArray(val)) return [this.#output1(node.name, val, node.name)]
    return (val as ReadonlyArray<Val>).map((v, i) => {
      if (Array.isArray(v)) {
        const user = this.#elementUser(node, i) ?? refuse(`element ${i} of ${node.name} is a list that no getitem reads`, node.name)
        return {
          as_tensors: (v as ReadonlyArray<Val>).map((m, j) =>
            this.#tensorOutput(this.#elementName(user, j), tensorOf(m) ?? refuse(`element ${i}[${j}] of ${node.name} is not a tensor`, node.name), node.name)
          )
        } as Records.Argument
      }
      return this.#output1(this.#elementName(node, i), v, node.name)
    })
  }

  // ----- inputs

  // torch's `serialize_input`: the form follows the value; `type` matters only for an empty list.
  #input(a: Argument.Argument, type: OpSchema.SchemaType | undefined, at: Node): Records.Argument {
    if (a === null) return { as_none: true } as Records.Argument
    if (typeof a === "boolean") return { as_bool: a } as Records.Argument
    if (typeof a === "string") return { as_string: a } as Records.Argument
    if (typeof a === "number" || typeof a === "bigint") return { as_int: a } as Records.Argument
    if (Argument.isNode(a)) return this.#nodeInput(a, at)
    const list = items(a)
    if (list !== undefined) return this.#list(list, type, at)
    const t = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string>
    switch (t._tag) {
      case "Float":
        return { as_float: t.value } as Records.Argument
      case "Complex":
        return { as_complex: { real: t.real, imag: t.imag } } as Records.Argument
      case "DType":
        return { as_scalar_type: dtype(t.name) } as Records.Argument
      case "Device":
        return { as_device: device(t.name) } as Records.Argument
      case "Layout":
        return { as_layout: Records.layoutCode(t.name) ?? refuse(`layout ${t.name} has no code`, at.name) } as Records.Argument
      case "MemoryFormat":
        return { as_memory_format: Records.memoryFormatCode(t.name) ?? refuse(`memory format ${t.name} has no code`, at.name) } as Records.Argument
      case "SymInt":
        return refuse(`${at.name} holds the symbolic int ${t.expr} as a literal; an exported program reads it from a node`, at.name)
      default:
        return refuse(`${at.name}: a ${t._tag} argument cannot be written`, at.name)
    }
  }

  #nodeInput(n: Node, at: Node): Records.Argument {
    if (n.op === "get_attr") {
      const sub = Module.getSubmodule(this.#module, n.target)
      if (sub?.kind !== "graph_module") {
        return refuse(`${at.name} reads ${n.target} through a get_attr; only graph modules can be arguments`, at.name)
      }
      const graph = new GraphWriter(sub, this.#values, this.#schemaOf, this.#duplicates).graph()
      return { as_graph: { name: n.target, graph } } as Records.Argument
    }
    const kind = symbolicKind(n.meta.val)
    if (kind === "int") return { as_sym_int: { as_name: n.name } } as Records.Argument
    if (kind === "float") return { as_sym_float: { as_name: n.name } } as Records.Argument
    if (kind === "bool") return { as_sym_bool: { as_name: n.name } } as Records.Argument
    const v = tagged(n.meta.val)
    if (v !== undefined && "custom_obj" in v) return { as_custom_obj: { name: n.name, class_fqn: v.custom_obj.class_fqn } } as Records.Argument
    return { as_tensor: { name: this.#duplicates.get(n.name) ?? n.name } } as Records.Argument
  }

  #list(list: ReadonlyArray<Argument.Argument>, type: OpSchema.SchemaType | undefined, at: Node): Records.Argument {
    if (list.length === 0) return emptyList(type, at)
    const isInt = (x: Argument.Argument) => typeof x === "number" || typeof x === "bigint"
    const isFloat = (x: Argument.Argument) => typeof x === "object" && x !== null && !Array.isArray(x) && (x as { _tag?: string })._tag === "Float"
    const symOf = (x: Argument.Argument) => (Argument.isNode(x) ? symbolicKind(x.meta.val) : undefined)
    if (list.every((x) => typeof x === "boolean")) return { as_bools: list } as Records.Argument
    if (list.every(isInt)) return { as_ints: list } as Records.Argument
    if (list.every(isFloat)) return { as_floats: list.map((x) => (x as Argument.Float).value) } as Records.Argument
    if (list.every((x) => typeof x === "string")) return { as_strings: list } as Records.Argument
    if (list.every((x) => isInt(x) || symOf(x) === "int")) {
      return { as_sym_ints: list.map((x) => (Argument.isNode(x) ? { as_name: x.name } : { as_int: x })) } as Records.Argument
    }
    if (list.every((x) => isFloat(x) || symOf(x) === "float")) {
      return { as_sym_floats: list.map((x) => (Argument.isNode(x) ? { as_name: x.name } : { as_float: (x as Argument.Float).value })) } as Records.Argument
    }
    if (list.every((x) => typeof x === "boolean" || symOf(x) === "bool")) {
      return { as_sym_bools: list.map((x) => (Argument.isNode(x) ? { as_name: x.name } : { as_bool: x })) } as Records.Argument
    }
    if (list.every(Argument.isNode)) {
      return {
        as_tensors: list.map((x) => {
          const n = x as Node
          if (n.op === "get_attr") refuse(`${at.name} reads the tensor ${n.target} through a get_attr, which torch cannot write`, at.name)
          return { name: this.#duplicates.get(n.name) ?? n.name }
        })
      } as Records.Argument
    }
    if (list.every((x) => x === null || Argument.isNode(x))) {
      return {
        as_optional_tensors: list.map((x) => (x === null ? { as_none: true } : { as_tensor: { name: (x as Node).name } }))
      } as Records.Argument
    }
    return refuse(`${at.name}: a list mixing ${[...new Set(list.map(describe))].join(", ")} cannot be written`, at.name)
  }
}

// An empty list takes its form from the schema (torch's `serialize_input` with `arg_type`, the argument's
// "fake" type, in which a SymInt is an int); without one, torch writes a tensor list.
const emptyList = (type: OpSchema.SchemaType | undefined, at: Node): Records.Argument => {
  if (type === undefined) return { as_tensors: [] } as Records.Argument
  const list = type._tag === "Optional" ? type.element : type
  if (list._tag !== "List") return refuse(`${at.name}: an empty list where the schema wants ${OpSchema.printType(type)}`, at.name)
  const element = list.element._tag === "Optional" ? list.element.element : list.element
  switch (element._tag === "Named" ? element.name : "") {
    case "bool":
    case "SymBool":
      return { as_bools: [] } as Records.Argument
    case "int":
    case "SymInt":
      return { as_ints: [] } as Records.Argument
    case "float":
    case "SymFloat":
      return { as_floats: [] } as Records.Argument
    case "str":
      return { as_strings: [] } as Records.Argument
    case "Tensor":
      return { as_tensors: [] } as Records.Argument
    default:
      return refuse(`${at.name}: torch cannot write an empty ${OpSchema.printType(type)}`, at.name)
  }
}

// A getitem folded into its producer: one whose source is a call that returns several values.
const isFolded = (getitem: Node): boolean => {
  const source = getitem.args[0] ?? null
  return Argument.isNode(source) && source.op === "call_function"
}

// A folded getitem is written as the name of its producer's output: it must take an element the producer's
// value has, or its users would name a value the archive does not hold.
const foldable = (getitem: Node): void => {
  const source = getitem.args[0] as Node
  const index = getitem.args[1]
  const val = source.meta.val
  const count = Array.isArray(val) ? val.length : undefined
  if (count === undefined || typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count) {
    refuse(
      `${getitem.name} takes element ${describeIndex(index)} of ${source.name}, whose value has ` +
        `${count === undefined ? "no elements" : `${count} element${count === 1 ? "" : "s"}`}: it would name a value the archive does not hold`,
      getitem.name
    )
  }
}
const describeIndex = (a: Argument.Argument | undefined): string => (typeof a === "number" ? String(a) : describe(a))

const items = Argument.elements

const describe = (a: Argument.Argument | undefined): string => {
  if (a === undefined || a === null) return "None"
  if (Argument.isNode(a)) return `the ${a.op} node ${a.name}`
  if (Array.isArray(a)) return "a list"
  if (typeof a === "object") return (a as { _tag: string })._tag
  return typeof a
}

const jsonFloat = (f: number | "inf" | "-inf" | "nan"): number =>
  f === "inf" ? Infinity : f === "-inf" ? -Infinity : f === "nan" ? NaN : f

// ===== Signature =====

const argumentSpec = (a: Signature.ArgumentSpec, _values: Values): Records.Argument => {
  switch (a._tag) {
    case "TensorArgument":
      return { as_tensor: { name: a.name } } as Records.Argument
    case "SymIntArgument":
      return { as_sym_int: { as_name: a.name } } as Records.Argument
    case "SymFloatArgument":
      return { as_sym_float: { as_name: a.name } } as Records.Argument
    case "SymBoolArgument":
      return { as_sym_bool: { as_name: a.name } } as Records.Argument
    case "CustomObjArgument":
      return { as_custom_obj: { name: a.name, class_fqn: a.classFqn } } as Records.Argument
    case "TokenArgument":
      return refuse(`a token (${a.name}) is not an argument torch writes in this position`)
    case "ConstantArgument":
      return constantArgument(a.value)
  }
}

const constantArgument = (value: null | boolean | number | string): Records.Argument =>
  (value === null
    ? { as_none: true }
    : typeof value === "boolean"
    ? { as_bool: value }
    : typeof value === "string"
    ? { as_string: value }
    : Number.isInteger(value)
    ? { as_int: value }
    : { as_float: value }) as Records.Argument

const inputSpec = (s: Signature.InputSpec, values: Values): Records.InputSpec => {
  switch (s._tag) {
    case "UserInput":
      if (s.arg._tag === "ConstantArgument") {
        return { constant_input: { name: s.arg.name, value: constantArgument(s.arg.value) } } as unknown as Records.InputSpec
      }
      return { user_input: { arg: argumentSpec(s.arg, values) } } as unknown as Records.InputSpec
    case "Parameter":
      return { parameter: { arg: { name: s.arg.name }, parameter_name: s.target } } as unknown as Records.InputSpec
    case "Buffer":
      return { buffer: { arg: { name: s.arg.name }, buffer_name: s.target, persistent: s.persistent } } as unknown as Records.InputSpec
    case "ConstantTensor":
      return { tensor_constant: { arg: { name: s.arg.name }, tensor_constant_name: s.target } } as unknown as Records.InputSpec
    case "CustomObj":
      return { custom_obj: { arg: { name: s.arg.name, class_fqn: s.arg.classFqn }, custom_obj_name: s.target } } as unknown as Records.InputSpec
    case "Token":
      return { token: { arg: { name: s.arg.name } } } as unknown as Records.InputSpec
  }
}

const outputSpec = (s: Signature.OutputSpec, values: Values): Records.OutputSpec => {
  const t = (arg: { readonly name: string }) => ({ name: arg.name })
  switch (s._tag) {
    case "UserOutput":
      return { user_output: { arg: argumentSpec(s.arg, values) } } as unknown as Records.OutputSpec
    case "LossOutput":
      return { loss_output: { arg: t(s.arg) } } as unknown as Records.OutputSpec
    case "BufferMutation":
      return { buffer_mutation: { arg: t(s.arg), buffer_name: s.target } } as unknown as Records.OutputSpec
    case "ParameterMutation":
      return { parameter_mutation: { arg: t(s.arg), parameter_name: s.target } } as unknown as Records.OutputSpec
    case "GradientToParameter":
      return { gradient_to_parameter: { arg: t(s.arg), parameter_name: s.target } } as unknown as Records.OutputSpec
    case "GradientToUserInput":
      return { gradient_to_user_input: { arg: t(s.arg), user_input_name: s.target } } as unknown as Records.OutputSpec
    case "UserInputMutation":
      return { user_input_mutation: { arg: t(s.arg), user_input_name: s.target } } as unknown as Records.OutputSpec
    case "Token":
      return { token: { arg: t(s.arg) } } as unknown as Records.OutputSpec
  }
}
