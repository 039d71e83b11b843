/**
 * From the JSON records of a `.pt2` archive to an exported program: torch's `ExportedProgramDeserializer`
 * (`torch/_export/serde/serialize.py`, `shared/spec/pt2-format.md` §2), without torch: the graph is rebuilt
 * in the IR, with the names the file gives.
 *
 * Rules:
 * 1. Every graph input becomes a placeholder named as the file names it (`as_tensor`, `as_custom_obj`,
 *    `as_sym_int`), with its `meta.val` from `tensor_values`, `custom_obj_values` or `sym_int_values`.
 * 2. Every node becomes a `call_function`: `kind: 1` inputs are its positional arguments in order, `kind: 2`
 *    its keyword arguments (an input without a kind is taken as positional: without the operator's schema,
 *    that is the only reading that keeps the order). A single tensor output names the node; a list or tuple
 *    output names the node after the file's `name` and adds a `getitem` per element, named after it, as
 *    torch's deserializer does.
 * 3. Metadata strings are read back into the values the tgm records hold (`nn_module_stack` into its object,
 *    `torch_fn` and `source_fn_stack` into their lists, `from_node` and `custom` as JSON).
 * 4. A reference to a name that is not defined earlier, an argument form trtx does not model, or a symbolic
 *    size it cannot read fails, located at the JSON path of the node and the argument.
 *
 * @since 0.1.0
 */
import * as ArchiveError from "../ArchiveError.ts"
import * as Argument from "../../graph/Argument.ts"
import { Graph } from "../../graph/Graph.ts"
import type { Meta, TensorMeta, Val } from "../../graph/Meta.ts"
import * as Module from "../../graph/Module.ts"
import type { Node } from "../../graph/Node.ts"
import type { ScriptObject, Tensor } from "../../graph/Tensor.ts"
import * as ExportedProgram from "../../program/ExportedProgram.ts"
import type * as Signature from "../../program/Signature.ts"
import * as Records from "./Records.ts"

const GETITEM = "_operator.getitem"

class Located {
  readonly path: string
  readonly detail: string
  readonly node: string | undefined
  constructor(path: string, detail: string, node?: string) {
    this.path = path
    this.detail = detail
    this.node = node
  }
}
const fail = (path: string, detail: string, node?: string): never => {
  throw new Located(path, detail, node)
}

// ===== Values =====

const int = (x: Records.Int64): number | bigint =>
  typeof x === "bigint" && x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x

// sympy's srepr of a plain symbol (`Symbol('s77', positive=True, integer=True)`) is read as its name;
// other expressions are kept as their text.
const symExpr = (e: Records.SymExpr): string => /^Symbol\('([^']+)'/.exec(e.expr_str)?.[1] ?? e.expr_str

const size = (s: Records.SymInt): number | string => {
  if ("as_int" in s && s.as_int !== undefined) {
    const v = int(s.as_int)
    return typeof v === "bigint" ? v.toString() : v
  }
  return symExpr((s as { readonly as_expr: Records.SymExpr }).as_expr)
}

const deviceName = (d: Records.Device): string => (d.index === null ? d.type : `${d.type}:${d.index}`)

/**
 * The tensor metadata of a `TensorMeta` record.
 *
 * @since 0.1.0
 * @category decoding
 */
export const tensorMeta = (t: Records.TensorMeta, path: string): TensorMeta => ({
  shape: t.sizes.map(size),
  stride: t.strides.map(size),
  storage_offset: size(t.storage_offset),
  dtype: dtypeNameOf(t.dtype, `${path}.dtype`),
  device: deviceName(t.device),
  requires_grad: t.requires_grad
})

// Splits `a,b[c,d],e` on top-level commas (commas inside brackets are kept), as torch's reader does.
const splitTopLevel = (s: string): Array<string> => {
  const out: Array<string> = []
  let depth = 0
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === "[" || c === "(") depth++
    else if (c === "]" || c === ")") depth--
    else if (c === "," && depth === 0) {
      out.push(s.slice(start, i))
      start = i + 1
    }
  }
  out.push(s.slice(start))
  return out
}

/**
 * Node metadata from its serialized strings (the inverse of `Metadata.serialize`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const metadata = (m: { readonly [key: string]: string }, path: string): Meta => {
  const meta: Meta = {}
  const json = (key: string): unknown => {
    try {
      return JSON.parse(m[key]!)
    } catch (e) {
      return fail(`${path}.${key}`, `not JSON: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  if (m["stack_trace"] !== undefined) meta.stack_trace = m["stack_trace"]
  if (m["nn_module_stack"] !== undefined) {
    meta.nn_module_stack = Object.fromEntries(
      m["nn_module_stack"].split(";").map((entry) => {
        const parts = splitTopLevel(entry)
        if (parts.length !== 3) fail(`${path}.nn_module_stack`, `entry ${JSON.stringify(entry)} does not have 3 parts`)
        return [parts[0]!, [parts[1]!, parts[2]!]]
      })
    )
  }
  if (m["source_fn_stack"] !== undefined) {
    meta.source_fn_stack = m["source_fn_stack"].split(";").map((e) => {
      const parts = e.split(",")
      if (parts.length !== 2) fail(`${path}.source_fn_stack`, `entry ${JSON.stringify(e)} does not have 2 parts`)
      return parts
    })
  }
  if (m["torch_fn"] !== undefined) meta.torch_fn = m["torch_fn"].split(";")
  if (m["custom"] !== undefined) meta.custom = json("custom") as never
  if (m["from_node"] !== undefined) meta.from_node = json("from_node") as never
  return meta
}

// ===== Program =====

/**
 * What the records of an archive hold besides `model.json`: the weights and constants, already read.
 *
 * @since 0.1.0
 * @category models
 */
export interface Payloads {
  readonly stateDict: ReadonlyMap<string, Tensor>
  readonly constants: ReadonlyMap<string, Tensor | ScriptObject>
}

/**
 * Builds the exported program of a `model.json` record.
 *
 * @since 0.1.0
 * @category decoding
 */
export const program = (
  records: Records.ExportedProgram,
  payloads: Payloads,
  location: ArchiveError.Location
): ExportedProgram.ExportedProgram => {
  try {
    return build(records, payloads)
  } catch (e) {
    if (e instanceof Located) {
      throw ArchiveError.at(
        { ...location, path: e.path, ...(e.node === undefined ? {} : { node: e.node }) },
        "SchemaMismatch",
        e.detail
      )
    }
    throw e
  }
}

const build = (records: Records.ExportedProgram, payloads: Payloads): ExportedProgram.ExportedProgram => {
  const r = records.graph_module.graph
  const g = new Graph()
  const byName = new Map<string, Node>()
  const valOf = (name: string, path: string): Val => {
    const t = r.tensor_values[name]
    if (t !== undefined) return { tensor: tensorMeta(t, `$.graph_module.graph.tensor_values.${name}`) }
    const c = r.custom_obj_values[name]
    if (c !== undefined) return { custom_obj: { name: c.name, class_fqn: c.class_fqn } }
    const s = r.sym_int_values[name]
    if (s !== undefined) return "as_int" in s && s.as_int !== undefined ? { int: size(s) as number | string } : { sym_int: size(s) as string }
    return fail(path, `value ${name} has no entry in tensor_values, custom_obj_values or sym_int_values`)
  }
  const define = (name: string, node: Node, path: string): void => {
    if (byName.has(name)) fail(path, `value ${name} is defined twice`)
    byName.set(name, node)
  }
  const ref = (name: string, path: string, at?: string): Node =>
    byName.get(name) ?? fail(path, `value ${name} is not defined before it is used`, at)

  r.inputs.forEach((input, i) => {
    const path = `$.graph_module.graph.inputs[${i}]`
    const name = "as_tensor" in input && input.as_tensor !== undefined
      ? input.as_tensor.name
      : "as_custom_obj" in input && input.as_custom_obj !== undefined
      ? input.as_custom_obj.name
      : "as_sym_int" in input && input.as_sym_int !== undefined && "as_name" in input.as_sym_int
      ? (input.as_sym_int as { as_name: string }).as_name
      : fail(path, "a graph input must be a tensor, a custom object or a symbolic int")
    const ph = g.createNode("placeholder", name, [], {}, { name, exactName: true, meta: { val: valOf(name, path) } })
    define(name, ph, path)
  })

  r.nodes.forEach((n, i) => {
    const path = `$.graph_module.graph.nodes[${i}]`
    const args: Array<Argument.Argument> = []
    const kwargs: Record<string, Argument.Argument> = {}
    n.inputs.forEach((input, j) => {
      const value = argument(input.arg, `${path}.inputs[${j}].arg`, (name, p) => ref(name, p, n.name ?? undefined))
      if (input.kind === 2) kwargs[input.name] = value
      else args.push(value)
    })
    const meta = metadata(n.metadata, `${path}.metadata`)
    const single = n.outputs.length === 1 && "as_tensor" in n.outputs[0]! && n.outputs[0]!.as_tensor !== undefined
    const elements: Array<string> = single
      ? []
      : n.outputs.flatMap((o, k) =>
        "as_tensors" in o && o.as_tensors !== undefined
          ? o.as_tensors.map((t) => t.name)
          : "as_tensor" in o && o.as_tensor !== undefined
          ? [o.as_tensor.name]
          : "as_none" in o
          ? [""]
          : fail(`${path}.outputs[${k}]`, "only tensor outputs are read", n.name ?? undefined)
      )
    const name = single ? (n.outputs[0] as { as_tensor: { name: string } }).as_tensor.name : n.name ?? undefined
    if (single) meta.val = valOf(name!, `${path}.outputs[0]`)
    else if (n.outputs.length > 0) meta.val = elements.map((e) => (e === "" ? null : valOf(e, `${path}.outputs`)))
    const node = g.createNode("call_function", n.target, args, kwargs, {
      ...(name === undefined ? {} : { name, exactName: true }),
      meta
    })
    if (single) define(name!, node, path)
    elements.forEach((e, k) => {
      if (e === "") return
      const getitem = g.createNode("call_function", GETITEM, [node, k], {}, {
        name: e,
        exactName: true,
        meta: { val: valOf(e, `${path}.outputs`) }
      })
      define(e, getitem, path)
    })
  })

  const outputs = r.outputs.map((o, i) =>
    argument(o, `$.graph_module.graph.outputs[${i}]`, (name, p) => ref(name, p))
  )
  g.output(Argument.tuple(...outputs))

  const sig = records.graph_module.signature
  const inputSpecs = sig.input_specs.map((s, i) => inputSpec(s, `$.graph_module.signature.input_specs[${i}]`))
  const outputSpecs = sig.output_specs.map((s, i) => outputSpec(s, `$.graph_module.signature.output_specs[${i}]`))
  const gm = new Module.GraphModule(g)
  const root = records.graph_module.module_call_graph.find((e) => e.fqn === "")?.signature
  gm.inSpec = root?.in_spec ?? null
  gm.outSpec = root?.out_spec ?? null
  return ExportedProgram.make({
    graphModule: gm,
    graphSignature: { inputSpecs, outputSpecs },
    stateDict: payloads.stateDict,
    constants: payloads.constants,
    rangeConstraints: new Map(
      Object.entries(records.range_constraints).map(([sym, rc]) => [
        sym,
        { min: Number(rc.min_val), max: rc.max_val === null ? null : Number(rc.max_val) }
      ])
    ),
    moduleCallGraph: records.graph_module.module_call_graph.map((e, k) => ({
      fqn: e.fqn,
      signature: e.signature === null ? null : {
        inputs: e.signature.inputs.map((a, i) =>
          argumentSpec(a, `$.graph_module.module_call_graph[${k}].signature.inputs[${i}]`)
        ),
        outputs: e.signature.outputs.map((a, i) =>
          argumentSpec(a, `$.graph_module.module_call_graph[${k}].signature.outputs[${i}]`)
        ),
        inSpec: e.signature.in_spec,
        outSpec: e.signature.out_spec,
        forwardArgNames: e.signature.forward_arg_names
      }
    }))
  })
}

// ===== Arguments =====

const argument = (a: Records.Argument, path: string, ref: (name: string, path: string) => Node): Argument.Argument => {
  const v = a as Partial<Records.ArgumentVariants>
  if (v.as_none !== undefined) return null
  if (v.as_tensor !== undefined) return ref(v.as_tensor.name, `${path}.as_tensor`)
  if (v.as_tensors !== undefined) return v.as_tensors.map((t, i) => ref(t.name, `${path}.as_tensors[${i}]`))
  if (v.as_custom_obj !== undefined) return ref(v.as_custom_obj.name, `${path}.as_custom_obj`)
  if (v.as_int !== undefined) return int(v.as_int)
  if (v.as_ints !== undefined) return v.as_ints.map(int)
  if (v.as_float !== undefined) return Argument.float(v.as_float)
  if (v.as_floats !== undefined) return v.as_floats.map(Argument.float)
  if (v.as_bool !== undefined) return v.as_bool
  if (v.as_bools !== undefined) return v.as_bools
  if (v.as_string !== undefined) return v.as_string
  if (v.as_strings !== undefined) return v.as_strings
  if (v.as_sym_int !== undefined) {
    const s = v.as_sym_int as { readonly as_name?: string; readonly as_int?: Records.Int64 }
    return s.as_name !== undefined ? ref(s.as_name, `${path}.as_sym_int`) : int(s.as_int!)
  }
  if (v.as_sym_ints !== undefined) {
    return v.as_sym_ints.map((s, i) => {
      const x = s as { readonly as_name?: string; readonly as_int?: Records.Int64 }
      return x.as_name !== undefined ? ref(x.as_name, `${path}.as_sym_ints[${i}]`) : int(x.as_int!)
    })
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
  return fail(path, `argument form ${Object.keys(a)[0]} is not read by trtx`)
}

const dtypeNameOf = (c: number, p: string): string => Records.dtypeName(c) ?? fail(p, `dtype code ${c} is unknown`)
const layoutNameOf = (c: number, p: string): string => Records.layoutName(c) ?? fail(p, `layout code ${c} is unknown`)
const memoryFormatNameOf = (c: number, p: string): string =>
  Records.memoryFormatName(c) ?? fail(p, `memory format code ${c} is unknown`)

// ===== Signature =====

const argumentSpec = (a: Records.Argument, path: string): Signature.ArgumentSpec => {
  const v = a as Partial<Records.ArgumentVariants>
  if (v.as_tensor !== undefined) return { _tag: "TensorArgument", name: v.as_tensor.name }
  if (v.as_custom_obj !== undefined) return { _tag: "CustomObjArgument", name: v.as_custom_obj.name, classFqn: v.as_custom_obj.class_fqn }
  if (v.as_sym_int !== undefined && "as_name" in v.as_sym_int) {
    return { _tag: "SymIntArgument", name: (v.as_sym_int as { as_name: string }).as_name }
  }
  if (v.as_none !== undefined) return { _tag: "ConstantArgument", name: "", value: null }
  if (v.as_int !== undefined) return { _tag: "ConstantArgument", name: "", value: Number(v.as_int) }
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
  if (v.constant_input !== undefined) {
    const c = argumentSpec(v.constant_input.value, `${path}.constant_input.value`)
    return { _tag: "UserInput", arg: { ...c, name: v.constant_input.name } as Signature.ArgumentSpec }
  }
  return fail(path, `input spec ${Object.keys(v)[0]} is not read by trtx`)
}

const outputSpec = (s: Records.OutputSpec, path: string): Signature.OutputSpec => {
  const v = s
  if (v.user_output !== undefined) return { _tag: "UserOutput", arg: argumentSpec(v.user_output.arg, `${path}.user_output.arg`) }
  if (v.buffer_mutation !== undefined) {
    return { _tag: "BufferMutation", arg: { _tag: "TensorArgument", name: v.buffer_mutation.arg.name }, target: v.buffer_mutation.buffer_name }
  }
  return fail(path, `output spec ${Object.keys(v)[0]} is not read by trtx`)
}
