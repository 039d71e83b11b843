/**
 * From the JSON records of a `.pt2` archive to an exported program: torch's `GraphModuleDeserializer`
 * (`torch/_export/serde/serialize.py`, `shared/spec/pt2-format.md` §2), without torch: the graph is rebuilt
 * in the IR, with the names the file gives.
 *
 * Rules:
 * 1. Every graph input becomes a placeholder named as the file names it (`as_tensor`, `as_custom_obj`,
 *    `as_sym_int`; a constant input by its input spec's name), with its `meta.val` from `tensor_values`,
 *    `custom_obj_values`, `sym_int_values` or the constant.
 * 2. Every node becomes a `call_function`: `kind: 1` inputs are its positional arguments in order, `kind: 2`
 *    its keyword arguments (an input without a kind is positional: without a live schema, that is the only
 *    reading that keeps the order; a higher-order op's input named `""` is positional, any other a
 *    keyword). An `as_graph` argument becomes a graph module of its own, registered under its name, read by
 *    a `get_attr` just before the node, as torch's loader does.
 * 3. Outputs, as torch names them: a single tensor or symbolic value names the node; a list or tuple names
 *    the node after the file's `name` and adds a `getitem` per element, named after it (a higher-order op
 *    that returns a one-tensor tuple too).
 * 4. Symbolic sizes and values are read from sympy `srepr` into the IR's texts, and what they say of each
 *    symbol (hint, assumptions) with `range_constraints` becomes the module's symbol table
 *    (`SymbolicValues.Reader`).
 * 5. The archive's nodes say how each operator's arguments are written: from them the reader builds the
 *    schema of every operator the program calls (its arguments' names and forms, its returns), which the
 *    program carries (`ExportedProgram.opSchemas`), so that writing it back needs no other table.
 * 6. Metadata strings are read back into the values the tgm records hold (`Metadata.deserialize`:
 *    `nn_module_stack` into its object, `torch_fn` and `source_fn_stack` into their pairs, `from_node` and
 *    `custom` as JSON, no deeper than `Json.MAX_DEPTH`), typed as the writers trust them.
 * 7. A reference to a name that is not defined earlier, an argument form trtx does not model, or an
 *    expression that is not sympy's fails, located at the JSON path of the node and the argument; a name
 *    defined twice in one graph (a node named as an input, two outputs of one name) is a `DuplicateName`.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as ArchiveError from "../ArchiveError.ts"
import * as Json from "../Json.ts"
import * as Argument from "../../graph/Argument.ts"
import { Graph } from "../../graph/Graph.ts"
import type { Meta, TensorMeta, Val } from "../../graph/Meta.ts"
import * as Module from "../../graph/Module.ts"
import type { Node } from "../../graph/Node.ts"
import type * as OpSchema from "../../graph/OpSchema.ts"
import * as Tensor from "../../graph/Tensor.ts"
import * as ValueRange from "../../graph/ValueRange.ts"
import * as ExportedProgram from "../../program/ExportedProgram.ts"
import * as KnownSchemas from "../../program/KnownSchemas.ts"
import * as Signature from "../../program/Signature.ts"
import { GETITEM } from "../../program/Targets.ts"
import * as Metadata from "./Metadata.ts"
import * as Records from "./Records.ts"
import { rangePath, signaturePath, SYM_OPS, tensorMetaPath } from "./Serialize.ts"
import * as SymbolicValues from "./SymbolicValues.ts"

// How the recursive reader stops at the first fault: thrown inside this module only, and turned into the
// failure of `program` (or `storedTensorMeta`) there.
class Located {
  readonly path: string
  readonly detail: string
  readonly node: string | undefined
  readonly fault: ArchiveError.ArchiveFault
  constructor(path: string, detail: string, node: string | undefined, fault: ArchiveError.ArchiveFault) {
    this.path = path
    this.detail = detail
    this.node = node
    this.fault = fault
  }
}
const fail = (path: string, detail: string, node?: string): never => {
  throw new Located(path, detail, node, "SchemaMismatch")
}
// A name given to a second value of one graph (torch's loader would silently rebind it).
const duplicate = (path: string, name: string): never => {
  throw new Located(path, `value ${name} is defined twice`, name, "DuplicateName")
}

// ===== Values =====

const int = (x: Records.Int64): number | bigint =>
  typeof x === "bigint" && x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x

const deviceName = (d: Records.Device): string => (d.index === null ? d.type : `${d.type}:${d.index}`)

const symbolicText = (symbolic: SymbolicValues.Reader, e: Records.SymExpr, path: string): string => {
  const r = symbolic.text(e)
  return Result.isSuccess(r) ? r.success : fail(`${path}.as_expr.expr_str`, r.failure)
}

const size = (symbolic: SymbolicValues.Reader, s: Records.SymInt, path: string): number | string => {
  if ("as_int" in s && s.as_int !== undefined) {
    const v = int(s.as_int)
    return typeof v === "bigint" ? fail(path, `size ${v} is beyond 2^53`) : v
  }
  return symbolicText(symbolic, (s as { readonly as_expr: Records.SymExpr }).as_expr, path)
}

// A `TensorMeta` record, held to the tensor rules (`Tensor.check`): torch builds every one it reads, a weight
// with `as_strided`, a node's value with `empty_strided`, and refuses what they refuse.
const tensorMetaWith = (symbolic: SymbolicValues.Reader, t: Records.TensorMeta, path: string): TensorMeta => {
  const meta: TensorMeta = {
    shape: t.sizes.map((s, i) => size(symbolic, s, `${path}.sizes[${i}]`)),
    stride: t.strides.map((s, i) => size(symbolic, s, `${path}.strides[${i}]`)),
    storage_offset: size(symbolic, t.storage_offset, `${path}.storage_offset`),
    dtype: dtypeNameOf(t.dtype, `${path}.dtype`),
    device: deviceName(t.device),
    requires_grad: t.requires_grad
  }
  const broken = Tensor.check(Tensor.layoutOfMeta(meta))
  if (broken !== undefined) fail(tensorMetaPath(path, broken), broken.detail)
  return meta
}

/**
 * A stored tensor's `TensorMeta` record (a weight's or a constant's, at `location`), held to the tensor rules
 * (`Tensor.check`), as the fields of a `Tensor` (a symbolic size is kept as its text, for the caller to
 * refuse). The failure is located at the field that breaks a rule.
 *
 * @since 0.1.0
 * @category decoding
 */
export const storedTensorMeta = (
  t: Records.TensorMeta,
  location: ArchiveError.Location
): Result.Result<Tensor.Layout & { readonly device: string }, ArchiveError.ArchiveError> => {
  try {
    const m = tensorMetaWith(new SymbolicValues.Reader(), t, location.path ?? "$")
    return Result.succeed({ ...Tensor.layoutOfMeta(m), device: m.device })
  } catch (e) {
    if (e instanceof Located) return Result.fail(ArchiveError.at({ ...location, path: e.path }, e.fault, e.detail))
    throw e
  }
}

// A node's metadata strings, read (`Metadata.deserialize`), located at the key.
const metadata = (m: { readonly [key: string]: string }, path: string, node: string | undefined): Meta => {
  const r = Metadata.deserialize(m)
  return Result.isSuccess(r) ? r.success : fail(Json.child(path, r.failure.key), r.failure.detail, node)
}

// ===== Program =====

/**
 * What the records of an archive hold besides `model.json`: the weights and constants, already read.
 *
 * @since 0.1.0
 * @category models
 */
export interface Payloads {
  readonly stateDict: ReadonlyMap<string, Tensor.Tensor>
  readonly constants: ReadonlyMap<string, Tensor.Tensor | Tensor.ScriptObject>
}

/**
 * Builds the exported program of a `model.json` record, or the first fault, located at the entry, the JSON
 * path and the node. Synchronous (a `Result`): the records and payloads are in memory.
 *
 * @since 0.1.0
 * @category decoding
 */
export const program = (
  records: Records.ExportedProgram,
  payloads: Payloads,
  location: ArchiveError.Location
): Result.Result<ExportedProgram.ExportedProgram, ArchiveError.ArchiveError> => {
  try {
    return Result.succeed(build(records, payloads))
  } catch (e) {
    if (!(e instanceof Located)) throw e // a bug, not bad input: let it surface as a defect
    return Result.fail(ArchiveError.at({ ...location, path: e.path, ...(e.node === undefined ? {} : { node: e.node }) }, e.fault, e.detail))
  }
}

const build = (records: Records.ExportedProgram, payloads: Payloads): ExportedProgram.ExportedProgram => {
  const rgm = records.graph_module
  const sig = rgm.signature
  const inputSpecs = sig.input_specs.map((s, i) => inputSpec(s, `$.graph_module.signature.input_specs[${i}]`))
  const outputSpecs = sig.output_specs.map((s, i) => outputSpec(s, `$.graph_module.signature.output_specs[${i}]`))
  const symbolic = new SymbolicValues.Reader()
  const schemas = new SchemaCollector()
  const gm = new Module.GraphModule()
  new GraphReader(gm, symbolic, schemas, inputSpecs).read(rgm.graph, "$.graph_module.graph")

  const root = rgm.module_call_graph.find((e) => e.fqn === "")?.signature
  gm.inSpec = root?.in_spec ?? null
  gm.outSpec = root?.out_spec ?? null
  // Each range is held to the range rules (`ValueRange.check`), its bounds exactly as parsed, then with the
  // hint the program's expressions give its symbol; the signature's targets to the signature rules.
  const rangeConstraints = new Map(
    Json.entries(records.range_constraints).map(([sym, rc]) => {
      const broken = ValueRange.check({ min: rc.min_val, max: rc.max_val })
      if (broken !== undefined) fail(rangePath(sym, broken), `${sym}: ${broken.detail}`)
      return [sym, { min: rc.min_val === null ? null : Number(rc.min_val), max: rc.max_val === null ? null : Number(rc.max_val) }] as const
    })
  )
  gm.symbols = symbolic.symbols(rangeConstraints)
  for (const [sym, info] of gm.symbols) {
    const broken = ValueRange.check(info, info.hint)
    if (broken !== undefined) fail(rangePath(sym, broken), `${sym}: ${broken.detail}`)
  }
  const signature = { inputSpecs, outputSpecs }
  const signatureFault = Signature.check(signature, payloads)
  if (signatureFault !== undefined) fail(signaturePath(signature, signatureFault), signatureFault.detail)
  const namedTuples = Json.entries(rgm.treespec_namedtuple_fields)
  if (namedTuples.length > 0) gm.namedTupleFields = new Map(namedTuples.map(([type, def]) => [type, def.field_names]))
  return ExportedProgram.make({
    graphModule: gm,
    graphSignature: { inputSpecs, outputSpecs },
    stateDict: payloads.stateDict,
    constants: payloads.constants,
    rangeConstraints,
    moduleCallGraph: rgm.module_call_graph.map((e, k) => ({
      fqn: e.fqn,
      signature: e.signature === null ? null : {
        inputs: e.signature.inputs.map((a, i) => argumentSpec(a, `$.graph_module.module_call_graph[${k}].signature.inputs[${i}]`)),
        outputs: e.signature.outputs.map((a, i) =>
          argumentSpec(a, `$.graph_module.module_call_graph[${k}].signature.outputs[${i}]`)
        ),
        inSpec: e.signature.in_spec,
        outSpec: e.signature.out_spec,
        forwardArgNames: e.signature.forward_arg_names
      }
    })),
    opSchemas: schemas.schemas(),
    verifiers: records.verifiers,
    guardsCode: records.guards_code,
    metadata: rgm.metadata
  })
}

// ===== Graphs =====

type Variants = Partial<Records.ArgumentVariants>

// One graph being rebuilt (a program's, or a graph argument's), with the names it has defined.
class GraphReader {
  readonly #module: Module.GraphModule
  readonly #graph: Graph
  readonly #symbolic: SymbolicValues.Reader
  readonly #schemas: SchemaCollector
  readonly #inputSpecs: ReadonlyArray<Signature.InputSpec>
  readonly #byName = new Map<string, Node>()
  #values: Records.Graph | undefined
  #path = ""

  constructor(
    module: Module.GraphModule,
    symbolic: SymbolicValues.Reader,
    schemas: SchemaCollector,
    inputSpecs: ReadonlyArray<Signature.InputSpec>
  ) {
    this.#module = module
    this.#graph = module.graph
    this.#symbolic = symbolic
    this.#schemas = schemas
    this.#inputSpecs = inputSpecs
  }

  read(r: Records.Graph, path: string): void {
    this.#values = r
    this.#path = path
    r.inputs.forEach((input, i) => this.#input(input as Variants, i, `${path}.inputs[${i}]`))
    r.nodes.forEach((n, i) => this.#node(n, `${path}.nodes[${i}]`))
    const outputs = r.outputs.map((o, i) => this.#graphOutput(o as Variants, `${path}.outputs[${i}]`))
    if (r.is_single_tensor_return) {
      if (outputs.length !== 1) fail(`${path}.outputs`, `is_single_tensor_return with ${outputs.length} outputs`)
      this.#graph.output(outputs[0]!)
    } else {
      this.#graph.output(Argument.tuple(...outputs))
    }
  }

  // ----- values

  #valOf(name: string, path: string): Val {
    const r = this.#values!
    const t = Json.get(r.tensor_values, name)
    if (t !== undefined) return { tensor: tensorMetaWith(this.#symbolic, t, Json.child(`${this.#path}.tensor_values`, name)) }
    const c = Json.get(r.custom_obj_values, name)
    if (c !== undefined) return { custom_obj: { name: c.name, class_fqn: c.class_fqn } }
    const si = Json.get(r.sym_int_values, name)
    if (si !== undefined) {
      if ("as_int" in si && si.as_int !== undefined) {
        const v = int(si.as_int)
        return { int: typeof v === "bigint" ? v.toString() : v }
      }
      return { sym_int: symbolicText(this.#symbolic, (si as { as_expr: Records.SymExpr }).as_expr, Json.child(`${this.#path}.sym_int_values`, name)) }
    }
    const sb = Json.get(r.sym_bool_values, name)
    if (sb !== undefined) {
      if ("as_bool" in sb && sb.as_bool !== undefined) return { bool: sb.as_bool }
      return { sym_bool: symbolicText(this.#symbolic, (sb as { as_expr: Records.SymExpr }).as_expr, Json.child(`${this.#path}.sym_bool_values`, name)) }
    }
    const sf = Json.get(r.sym_float_values, name)
    if (sf !== undefined) {
      if ("as_float" in sf && sf.as_float !== undefined) return { float: jsonFloat(sf.as_float) }
      return { sym_float: symbolicText(this.#symbolic, (sf as { as_expr: Records.SymExpr }).as_expr, Json.child(`${this.#path}.sym_float_values`, name)) }
    }
    return fail(path, `value ${name} has no entry in tensor_values, custom_obj_values or the symbolic values`)
  }

  #define(name: string, node: Node, path: string): void {
    if (this.#byName.has(name)) duplicate(path, name)
    this.#byName.set(name, node)
  }

  #ref(name: string, path: string, at?: string): Node {
    return this.#byName.get(name) ?? fail(path, `value ${name} is not defined before it is used`, at)
  }

  #create(target: string, args: ReadonlyArray<Argument.Argument>, kwargs: Argument.Kwargs, name: string | undefined, meta: Meta, path: string): Node {
    if (name !== undefined && (this.#byName.has(name) || this.#graph.isNameUsed(name))) duplicate(path, name)
    return this.#graph.createNode("call_function", target, args, kwargs, {
      ...(name === undefined ? {} : { name, exactName: true }),
      meta
    })
  }

  // ----- inputs and outputs of the graph

  #input(v: Variants, i: number, path: string): void {
    const name = v.as_tensor?.name ?? v.as_custom_obj?.name ??
      (v.as_sym_int !== undefined && "as_name" in v.as_sym_int ? (v.as_sym_int as { as_name: string }).as_name : undefined)
    if (name !== undefined) {
      if (this.#byName.has(name) || this.#graph.isNameUsed(name)) duplicate(path, name)
      const ph = this.#graph.createNode("placeholder", name, [], {}, { name, exactName: true, meta: { val: this.#valOf(name, path) } })
      this.#define(name, ph, path)
      return
    }
    // A constant input (torch's `as_int`, `as_none`...): a placeholder named by its input spec.
    const spec = this.#inputSpecs[i]
    const constantName = spec?._tag === "UserInput" && spec.arg._tag === "ConstantArgument" ? spec.arg.name : undefined
    const value = constantVal(v, path)
    const ph = this.#graph.createNode("placeholder", constantName || `arg${i}`, [], {}, { meta: { val: value } })
    this.#define(ph.name, ph, path)
  }

  #graphOutput(v: Variants, path: string): Argument.Argument {
    if (v.as_tensor !== undefined) return this.#ref(v.as_tensor.name, `${path}.as_tensor`)
    for (const key of ["as_sym_int", "as_sym_bool", "as_sym_float"] as const) {
      const s = v[key] as { readonly as_name?: string } | undefined
      if (s?.as_name !== undefined) return this.#ref(s.as_name, `${path}.${key}`)
    }
    if (v.as_int !== undefined) return int(v.as_int)
    if (v.as_float !== undefined) return Argument.float(v.as_float)
    if (v.as_bool !== undefined) return v.as_bool
    if (v.as_none !== undefined) return null
    return fail(path, `output form ${Object.keys(v)[0]} is not one torch loads`)
  }

  // ----- nodes

  #node(n: Records.Node, path: string): void {
    const at = n.name ?? undefined
    const meta = metadata(n.metadata, `${path}.metadata`, at)
    const hop = n.target.startsWith("torch.ops.higher_order.")
    const args: Array<Argument.Argument> = []
    const kwargs: Record<string, Argument.Argument> = {}
    n.inputs.forEach((input, j) => {
      const value = this.#argument(input.arg as Variants, `${path}.inputs[${j}].arg`, at)
      const keyword = hop ? input.name !== "" : input.kind === 2
      if (keyword) Object.defineProperty(kwargs, input.name, { value, enumerable: true, writable: true, configurable: true })
      else args.push(value)
    })
    const outputs = n.outputs as ReadonlyArray<Variants>
    const symName = (o: Variants | undefined) =>
      (o?.as_sym_int ?? o?.as_sym_bool ?? o?.as_sym_float) as { readonly as_name?: string } | undefined
    if (SYM_OPS.has(n.target) || n.target === "torch.ops.aten.item.default") {
      // A symbolic op: one output, its value by name.
      const name = symName(outputs[0])?.as_name ?? fail(`${path}.outputs[0]`, "a symbolic op's output must be a symbolic value", at)
      meta.val = this.#valOf(name, `${path}.outputs[0]`)
      this.#define(name, this.#create(n.target, args, kwargs, name, meta, path), path)
      if (KnownSchemas.needsSchema(n.target)) this.#schemas.note(n, path)
      return
    }
    if (!hop) {
      if (!KnownSchemas.needsSchema(n.target)) fail(`${path}.target`, `${n.target} is neither an operator nor a symbolic op`, at)
      this.#schemas.note(n, path)
    }
    const first = outputs[0]
    if (outputs.length === 0) {
      this.#create(n.target, args, kwargs, at, meta, path)
      return
    }
    if (outputs.length === 1 && first?.as_tensor !== undefined && (!hop || n.is_hop_single_tensor_return !== false)) {
      const name = first.as_tensor.name
      meta.val = this.#valOf(name, `${path}.outputs[0]`)
      this.#define(name, this.#create(n.target, args, kwargs, name, meta, path), path)
      return
    }
    if (outputs.length === 1 && symName(first)?.as_name !== undefined) {
      const name = symName(first)!.as_name!
      meta.val = this.#valOf(name, `${path}.outputs[0]`)
      this.#define(name, this.#create(n.target, args, kwargs, name, meta, path), path)
      return
    }
    if (outputs.length === 1 && first?.as_none !== undefined) {
      meta.val = null
      this.#create(n.target, args, kwargs, undefined, meta, path)
      return
    }
    // Several values: the node, then a getitem per element (a list element: a getitem, then one per tensor).
    const elements = outputs.length === 1 && first?.as_tensors !== undefined
      ? first.as_tensors.map((t) => ({ as_tensor: t }) as Variants)
      : outputs
    const node = this.#create(n.target, args, kwargs, at, meta, path)
    if (at !== undefined) this.#define(at, node, path)
    node.meta = { ...node.meta, val: this.#getitems(node, elements, meta, `${path}.outputs`) }
  }

  #getitems(source: Node, elements: ReadonlyArray<Variants>, meta: Meta, path: string): Array<Val> {
    const vals: Array<Val> = []
    elements.forEach((e, k) => {
      const p = `${path}[${k}]`
      const name = e.as_tensor?.name ?? ((e.as_sym_int ?? e.as_sym_float) as { readonly as_name?: string } | undefined)?.as_name
      if (name !== undefined) {
        const val = this.#valOf(name, p)
        const getitem = this.#create(GETITEM, [source, k], {}, name, { ...meta, val }, p)
        this.#define(name, getitem, p)
        vals.push(val)
        return
      }
      if (e.as_none !== undefined) {
        vals.push(null)
        return
      }
      if (e.as_tensors !== undefined) {
        // A `Tensor[]` element: an unnamed getitem for the list, then a getitem per tensor.
        const list = this.#create(GETITEM, [source, k], {}, undefined, { ...meta }, p)
        const inner = this.#getitems(list, e.as_tensors.map((t) => ({ as_tensor: t }) as Variants), meta, `${p}.as_tensors`)
        list.meta = { ...list.meta, val: inner }
        vals.push(inner)
        return
      }
      fail(p, `output form ${Object.keys(e)[0]} is not read by trtx`)
    })
    return vals
  }

  // ----- arguments

  #argument(v: Variants, path: string, at: string | undefined): Argument.Argument {
    const ref = (name: string, p: string) => this.#ref(name, p, at)
    if (v.as_none !== undefined) return null
    if (v.as_tensor !== undefined) return ref(v.as_tensor.name, `${path}.as_tensor`)
    if (v.as_tensors !== undefined) return v.as_tensors.map((t, i) => ref(t.name, `${path}.as_tensors[${i}]`))
    if (v.as_custom_obj !== undefined) return ref(v.as_custom_obj.name, `${path}.as_custom_obj`)
    if (v.as_int !== undefined) return int(v.as_int)
    if (v.as_ints !== undefined) return v.as_ints.map(int)
    if (v.as_float !== undefined) return Argument.float(v.as_float)
    if (v.as_floats !== undefined) return v.as_floats.map(Argument.float)
    if (v.as_complex !== undefined) return Argument.complex(v.as_complex.real, v.as_complex.imag)
    if (v.as_bool !== undefined) return v.as_bool
    if (v.as_bools !== undefined) return v.as_bools
    if (v.as_string !== undefined) return v.as_string
    if (v.as_strings !== undefined) return v.as_strings
    for (const [key, plain] of [["as_sym_int", "as_int"], ["as_sym_float", "as_float"], ["as_sym_bool", "as_bool"]] as const) {
      const s = v[key] as { readonly as_name?: string; readonly [k: string]: unknown } | undefined
      if (s !== undefined) return symArgument(s, plain, `${path}.${key}`, ref)
    }
    for (const [key, plain] of [["as_sym_ints", "as_int"], ["as_sym_floats", "as_float"], ["as_sym_bools", "as_bool"]] as const) {
      const list = v[key] as ReadonlyArray<{ readonly as_name?: string; readonly [k: string]: unknown }> | undefined
      if (list !== undefined) return list.map((s, i) => symArgument(s, plain, `${path}.${key}[${i}]`, ref))
    }
    if (v.as_optional_tensors !== undefined) {
      return v.as_optional_tensors.map((t, i) => {
        const x = t as { readonly as_tensor?: Records.TensorArgument; readonly as_none?: boolean }
        return x.as_tensor !== undefined ? ref(x.as_tensor.name, `${path}.as_optional_tensors[${i}]`) : null
      })
    }
    if (v.as_scalar_type !== undefined) return Argument.dtype(dtypeNameOf(v.as_scalar_type, path))
    if (v.as_device !== undefined) return Argument.device(deviceName(v.as_device))
    if (v.as_layout !== undefined) return Argument.layout(layoutNameOf(v.as_layout, path))
    if (v.as_memory_format !== undefined) return Argument.memoryFormat(memoryFormatNameOf(v.as_memory_format, path))
    if (v.as_graph !== undefined) return this.#graphArgument(v.as_graph, `${path}.as_graph`)
    return fail(path, `argument form ${Object.keys(v)[0]} is not read by trtx`, at)
  }

  // A graph argument: a graph module of its own under its name, and a get_attr of it (torch's loader).
  #graphArgument(g: Records.GraphArgument, path: string): Node {
    if (this.#module.children.has(g.name) || this.#graph.isNameUsed(g.name)) duplicate(`${path}.name`, g.name)
    const sub = new Module.GraphModule()
    new GraphReader(sub, this.#symbolic, this.#schemas, []).read(g.graph, `${path}.graph`)
    this.#module.children.set(g.name, sub)
    return this.#graph.createNode("get_attr", g.name, [], {}, { name: g.name, exactName: true })
  }
}

const symArgument = (
  s: { readonly as_name?: string; readonly [k: string]: unknown },
  plain: "as_int" | "as_float" | "as_bool",
  path: string,
  ref: (name: string, path: string) => Node
): Argument.Argument => {
  if (s.as_name !== undefined) return ref(s.as_name, path)
  const value = s[plain]
  if (plain === "as_int") return int(value as Records.Int64)
  if (plain === "as_float") return Argument.float(value as number)
  return value as boolean
}

const constantVal = (v: Variants, path: string): Val => {
  if (v.as_none !== undefined) return null
  if (v.as_int !== undefined) {
    const i = int(v.as_int)
    return { int: typeof i === "bigint" ? i.toString() : i }
  }
  if (v.as_float !== undefined) return { float: Number.isFinite(v.as_float) ? v.as_float : v.as_float > 0 ? "inf" : v.as_float < 0 ? "-inf" : "nan" }
  if (v.as_bool !== undefined) return { bool: v.as_bool }
  return fail(path, `a graph input must be a tensor, a custom object, a symbolic int or a constant, not ${Object.keys(v)[0]}`)
}

const jsonFloat = (f: number): number | "inf" | "-inf" | "nan" =>
  Number.isNaN(f) ? "nan" : f === Infinity ? "inf" : f === -Infinity ? "-inf" : f

const dtypeNameOf = (c: number, p: string): string => Records.dtypeName(c) ?? fail(p, `dtype code ${c} is unknown`)
const layoutNameOf = (c: number, p: string): string => Records.layoutName(c) ?? fail(p, `layout code ${c} is unknown`)
const memoryFormatNameOf = (c: number, p: string): string =>
  Records.memoryFormatName(c) ?? fail(p, `memory format code ${c} is unknown`)

// ===== Schemas =====

// What an argument's form says of its type: enough to write the same form again (only an empty list needs
// it; `Any` where the form says nothing).
const TYPE_OF_FORM: Readonly<Record<string, string>> = {
  as_tensor: "Tensor", as_tensors: "Tensor[]", as_optional_tensors: "Tensor?[]", as_int: "int", as_ints: "int[]",
  as_float: "float", as_floats: "float[]", as_bool: "bool", as_bools: "bool[]", as_string: "str", as_strings: "str[]",
  as_sym_int: "SymInt", as_sym_ints: "SymInt[]", as_sym_float: "SymFloat", as_sym_floats: "SymFloat[]",
  as_sym_bool: "SymBool", as_sym_bools: "SymBool[]", as_scalar_type: "ScalarType", as_memory_format: "MemoryFormat",
  as_layout: "Layout", as_device: "Device", as_custom_obj: "Any"
}

const named = (text: string): OpSchema.SchemaType => {
  const list = text.endsWith("[]")
  const base = list ? text.slice(0, -2) : text
  const optional = base.endsWith("?")
  const name = optional ? base.slice(0, -1) : base
  const element: OpSchema.SchemaType = { _tag: "Named", name, args: [] }
  const inner: OpSchema.SchemaType = optional ? { _tag: "Optional", element } : element
  return list ? { _tag: "List", element: inner } : inner
}

// The schema of each operator the archive calls, as its nodes spell it out: the arguments in the order the
// nodes name them (a node omits the ones it leaves at their default, so the order is merged over all the
// nodes of the operator), each typed by its form; the returns by the outputs' forms.
class SchemaCollector {
  readonly #arguments = new Map<string, Array<{ name: string; type: string }>>()
  readonly #returns = new Map<string, ReadonlyArray<OpSchema.SchemaReturn>>()

  note(n: Records.Node, path: string): void {
    let args = this.#arguments.get(n.target)
    if (args === undefined) this.#arguments.set(n.target, (args = []))
    let after = -1
    for (const input of n.inputs) {
      const form = Records.variant(input.arg as Records.Argument) as string
      const type = TYPE_OF_FORM[form] ?? "Any"
      const at = args.findIndex((a) => a.name === input.name)
      if (at < 0) {
        args.splice(after + 1, 0, { name: input.name, type })
        after++
      } else {
        if (at < after) fail(`${path}.inputs`, `the inputs of ${n.target} are in another order than in an earlier node`, n.name ?? undefined)
        if (args[at]!.type === "Any") args[at]!.type = type
        after = at
      }
    }
    if (!this.#returns.has(n.target)) {
      this.#returns.set(n.target, (n.outputs as ReadonlyArray<Variants>).map((o) => ({ type: named(returnType(o)) })))
    }
  }

  schemas(): Map<string, OpSchema.OpSchema> {
    const out = new Map<string, OpSchema.OpSchema>()
    for (const [target, args] of this.#arguments) {
      const [, , namespace, name, overload] = target.split(".") as [string, string, string, string, string]
      out.set(target, {
        namespace,
        name,
        overload: overload === "default" ? "" : overload,
        // Every argument may be omitted: a node of the archive that leaves one out left it at its default.
        arguments: args.map((a) => ({ name: a.name, type: named(a.type), kwargOnly: false, default: "None", mutable: false })),
        returns: this.#returns.get(target) ?? [],
        isVararg: false,
        isVarret: false
      })
    }
    return out
  }
}

const returnType = (o: Variants): string =>
  o.as_tensors !== undefined
    ? "Tensor[]"
    : o.as_sym_int !== undefined
    ? "SymInt"
    : o.as_sym_float !== undefined
    ? "SymFloat"
    : o.as_sym_bool !== undefined
    ? "SymBool"
    : o.as_none !== undefined
    ? "Tensor?"
    : "Tensor"

// ===== Signature =====

const argumentSpec = (a: Records.Argument, path: string): Signature.ArgumentSpec => {
  const v = a as Variants
  if (v.as_tensor !== undefined) return { _tag: "TensorArgument", name: v.as_tensor.name }
  if (v.as_custom_obj !== undefined) return { _tag: "CustomObjArgument", name: v.as_custom_obj.name, classFqn: v.as_custom_obj.class_fqn }
  for (const [key, tag] of [["as_sym_int", "SymIntArgument"], ["as_sym_float", "SymFloatArgument"], ["as_sym_bool", "SymBoolArgument"]] as const) {
    const s = v[key] as { readonly as_name?: string } | undefined
    if (s?.as_name !== undefined) return { _tag: tag, name: s.as_name }
  }
  if (v.as_none !== undefined) return { _tag: "ConstantArgument", name: "", value: null }
  if (v.as_int !== undefined) {
    // A constant is held as a number: one beyond 2^53 would be rounded, so it is refused as written.
    const i = int(v.as_int)
    return typeof i === "bigint" ? fail(`${path}.as_int`, `constant ${i} is beyond 2^53, which trtx holds exactly`) : { _tag: "ConstantArgument", name: "", value: i }
  }
  if (v.as_float !== undefined) return { _tag: "ConstantArgument", name: "", value: v.as_float }
  if (v.as_bool !== undefined) return { _tag: "ConstantArgument", name: "", value: v.as_bool }
  if (v.as_string !== undefined) return { _tag: "ConstantArgument", name: "", value: v.as_string }
  return fail(path, `argument form ${Object.keys(a)[0]} is not a signature argument trtx reads`)
}

const inputSpec = (s: Records.InputSpec, path: string): Signature.InputSpec => {
  const v = s
  if (v.user_input !== undefined) return { _tag: "UserInput", arg: argumentSpec(v.user_input.arg, `${path}.user_input.arg`) }
  if (v.parameter !== undefined) return { _tag: "Parameter", arg: { _tag: "TensorArgument", name: v.parameter.arg.name }, target: v.parameter.parameter_name }
  if (v.buffer !== undefined) {
    return { _tag: "Buffer", arg: { _tag: "TensorArgument", name: v.buffer.arg.name }, target: v.buffer.buffer_name, persistent: v.buffer.persistent }
  }
  if (v.tensor_constant !== undefined) {
    return { _tag: "ConstantTensor", arg: { _tag: "TensorArgument", name: v.tensor_constant.arg.name }, target: v.tensor_constant.tensor_constant_name }
  }
  if (v.custom_obj !== undefined) {
    return {
      _tag: "CustomObj",
      arg: { _tag: "CustomObjArgument", name: v.custom_obj.arg.name, classFqn: v.custom_obj.arg.class_fqn },
      target: v.custom_obj.custom_obj_name
    }
  }
  if (v.token !== undefined) return { _tag: "Token", arg: { _tag: "TokenArgument", name: v.token.arg.name } }
  if (v.constant_input !== undefined) {
    const c = argumentSpec(v.constant_input.value as Records.Argument, `${path}.constant_input.value`)
    return { _tag: "UserInput", arg: { ...c, name: v.constant_input.name } as Signature.ArgumentSpec }
  }
  return fail(path, `input spec ${Object.keys(v)[0]} is not read by trtx`)
}

const outputSpec = (s: Records.OutputSpec, path: string): Signature.OutputSpec => {
  const v = s
  const t = (arg: { readonly name: string }) => ({ _tag: "TensorArgument" as const, name: arg.name })
  if (v.user_output !== undefined) return { _tag: "UserOutput", arg: argumentSpec(v.user_output.arg, `${path}.user_output.arg`) }
  if (v.loss_output !== undefined) return { _tag: "LossOutput", arg: t(v.loss_output.arg) }
  if (v.buffer_mutation !== undefined) return { _tag: "BufferMutation", arg: t(v.buffer_mutation.arg), target: v.buffer_mutation.buffer_name }
  if (v.parameter_mutation !== undefined) {
    return { _tag: "ParameterMutation", arg: t(v.parameter_mutation.arg), target: v.parameter_mutation.parameter_name }
  }
  if (v.gradient_to_parameter !== undefined) {
    return { _tag: "GradientToParameter", arg: t(v.gradient_to_parameter.arg), target: v.gradient_to_parameter.parameter_name }
  }
  if (v.gradient_to_user_input !== undefined) {
    return { _tag: "GradientToUserInput", arg: t(v.gradient_to_user_input.arg), target: v.gradient_to_user_input.user_input_name }
  }
  if (v.user_input_mutation !== undefined) {
    return { _tag: "UserInputMutation", arg: t(v.user_input_mutation.arg), target: v.user_input_mutation.user_input_name }
  }
  if (v.token !== undefined) return { _tag: "Token", arg: { _tag: "TokenArgument", name: v.token.arg.name } }
  return fail(path, `output spec ${Object.keys(v)[0]} is not read by trtx`)
}
