/**
 * From validated `.tgm` records to the graph IR: resolves `{"node": n}` references, archive entries
 * (storages, engines) and module targets, and reports every fault at its place: the entry, the JSON path,
 * and the node. Also the operator schemas of the optional `op_schemas.json`.
 *
 * It builds a fresh module tree and hands it out only when everything resolved, so a broken archive never
 * yields a half-built module.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as ArchiveError from "../ArchiveError.ts"
import * as Json from "../Json.ts"
import * as Argument from "../../graph/Argument.ts"
import { Graph } from "../../graph/Graph.ts"
import { GraphError } from "../../graph/GraphError.ts"
import * as Lint from "../../graph/Lint.ts"
import type * as Meta from "../../graph/Meta.ts"
import * as Module from "../../graph/Module.ts"
import type { Node } from "../../graph/Node.ts"
import * as Tensor from "../../graph/Tensor.ts"
import * as ValueRange from "../../graph/ValueRange.ts"
import * as OpSchema from "../../graph/OpSchema.ts"
import type * as Records from "./Records.ts"

// ===== Models =====

/**
 * The archive entries a module record points to, read beforehand.
 *
 * @since 0.1.0
 * @category models
 */
export type Entries = ReadonlyMap<string, Uint8Array>

// ===== Getters =====

/**
 * The names of the entries (`tensors/<k>`, `engines/<k>`) a module record refers to, so that a reader
 * loads exactly those.
 *
 * @since 0.1.0
 * @category getters
 */
export const entriesReferenced = (root: Records.ModuleRecord): Set<string> => {
  const out = new Set<string>()
  const fields = (xs: Records.TrtModuleRecord["packed_engine_info"] | undefined) => {
    for (const x of xs ?? []) if (typeof x !== "string") out.add(x.engine)
  }
  const walk = (m: Records.ModuleRecord): void => {
    if (m.kind === "trt_module") {
      fields(m.packed_engine_info)
      fields(m.engine_state)
      return
    }
    for (const [, t] of Json.entries(m.parameters)) out.add(t.storage)
    for (const [, t] of Json.entries(m.buffers)) out.add(t.storage)
    for (const [, c] of Json.entries(m.constants)) {
      if ("storage" in c) out.add(c.storage)
      else fields(c.script_object.state)
    }
    for (const [, child] of Json.entries(m.children)) walk(child)
  }
  walk(root)
  return out
}

// ===== Decoding =====

/**
 * Builds the module tree of a root record, or the first fault, located at `entry` (normally `module.json`)
 * and its JSON path. Synchronous (a `Result`): the records and entries are in memory.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeRoot = (
  record: Records.GraphModuleRecord,
  entries: Entries,
  location: { readonly archive: string; readonly entry: string }
): Result.Result<Module.GraphModule, ArchiveError.ArchiveError> => {
  try {
    return Result.succeed(new Decoder(entries, location).root(record))
  } catch (e) {
    if (e instanceof Abort) return Result.fail(e.error)
    throw e // a bug, not bad input: let it surface as a defect
  }
}

// How the recursive decoder stops at the first fault: thrown inside this module only, and turned into the
// failure of `decodeRoot` there.
class Abort {
  readonly error: ArchiveError.ArchiveError
  constructor(error: ArchiveError.ArchiveError) {
    this.error = error
  }
}

// Where a tensor rule's field is in a TensorRef or a tensor `meta.val` (the same spelling).
const tensorField = (path: string, v: Tensor.Violation): string =>
  v.field === "storage"
    ? path
    : `${path}.${({ shape: "shape", stride: "stride", storageOffset: "storage_offset", requiresGrad: "requires_grad", dtype: "dtype" } as const)[v.field]}${
      v.index === undefined ? "" : `[${v.index}]`
    }`

/**
 * A fault of the records, where the reader finds it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fault {
  readonly path: string
  readonly fault: ArchiveError.ArchiveFault
  readonly detail: string
  readonly node?: string
}

// A TensorRef's tensor rules (`Tensor.check`), and with its storage's byte count the bounds
// (`Tensor.checkInBounds`), as for a `.pt2` weight.
const tensorRefFault = (ref: Records.TensorRef, path: string, bytes?: number): Fault | undefined => {
  const layout = { dtype: ref.dtype, shape: ref.shape, stride: ref.stride, storageOffset: ref.storage_offset, requiresGrad: ref.requires_grad }
  const broken = Tensor.check(layout)
  if (broken !== undefined) return { path: tensorField(path, broken), fault: "SchemaMismatch", detail: broken.detail }
  const outside = bytes === undefined ? undefined : Tensor.checkInBounds(layout, bytes)
  return outside === undefined ? undefined : { path, fault: "StorageTooSmall", detail: `${ref.storage}: ${outside.detail}` }
}

// The tensors of a node's value are fake tensors torch made (`empty_strided`): they keep the tensor rules.
const valFault = (val: Meta.Val | undefined, path: string, node: string): Fault | undefined => {
  if (val === undefined || val === null) return undefined
  if (Array.isArray(val)) {
    const list = val as ReadonlyArray<Meta.Val>
    for (let i = 0; i < list.length; i++) {
      const f = valFault(list[i], `${path}[${i}]`, node)
      if (f !== undefined) return f
    }
    return undefined
  }
  if (typeof val !== "object" || !("tensor" in val)) return undefined
  const broken = Tensor.check(Tensor.layoutOfMeta(val.tensor))
  return broken === undefined ? undefined : { path: tensorField(`${path}.tensor`, broken), fault: "SchemaMismatch", detail: broken.detail, node }
}

// No node but the output has an empty target: fx cannot write code for one (a placeholder's target is its
// argument's name, a call's the callable, method or module it calls, a get_attr's the attribute it reads).
const targetFault = (n: Records.NodeRecord, path: string): Fault | undefined =>
  n.target !== "" || n.op === "output" ? undefined : {
    path,
    fault: n.op === "call_module" || n.op === "get_attr" ? "UnresolvedTarget" : "SchemaMismatch",
    detail: `${n.op} has an empty target`,
    node: n.name
  }

// A symbol's range rules, as for a `.pt2`'s `range_constraints` with the symbols' hints.
const symbolFault = (name: string, r: Records.SymbolRecord): Fault | undefined => {
  const broken = ValueRange.check(r, r.hint)
  return broken === undefined
    ? undefined
    : { path: `${Json.child("$.graph.symbols", name)}.${broken.field}`, fault: "SchemaMismatch", detail: `${name}: ${broken.detail}` }
}

/**
 * What the reader would refuse of the tensors, targets and symbols of a root record, with the bytes of its
 * entries: the tensor rules of every TensorRef (with its storage's bounds) and of every node value's tensors,
 * every node's target but the output's non-empty, and the range rules of the symbols. The `.tgm` writer holds
 * what it writes to it, so that it reads back.
 *
 * @since 0.1.0
 * @category getters
 */
export const stateFault = (root: Records.GraphModuleRecord, entries: Entries): Fault | undefined => {
  for (const [name, r] of Json.entries(root.graph.symbols ?? {})) {
    const f = symbolFault(name, r)
    if (f !== undefined) return f
  }
  const walk = (m: Records.ModuleRecord, path: string): Fault | undefined => {
    if (m.kind === "trt_module") return undefined
    if (m.kind === "graph_module") {
      for (let i = 0; i < m.graph.nodes.length; i++) {
        const n = m.graph.nodes[i]!
        const f = targetFault(n, `${path}.graph.nodes[${i}].target`) ?? valFault(n.meta.val, `${path}.graph.nodes[${i}].meta.val`, n.name)
        if (f !== undefined) return f
      }
    }
    for (const [kind, refs] of [["parameters", m.parameters], ["buffers", m.buffers], ["constants", m.constants]] as const) {
      for (const [name, ref] of Json.entries(refs as { readonly [k: string]: Records.TensorRef | Records.ScriptObjectRef })) {
        if (!("storage" in ref)) continue
        const f = tensorRefFault(ref, Json.child(`${path}.${kind}`, name), entries.get(ref.storage)?.byteLength)
        if (f !== undefined) return f
      }
    }
    for (const [name, child] of Json.entries(m.children)) {
      const f = walk(child, Json.child(`${path}.children`, name))
      if (f !== undefined) return f
    }
    return undefined
  }
  return walk(root, "$")
}

const jsonKey = Json.child
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

class Decoder {
  readonly #storages = new Map<string, Tensor.Storage>()
  readonly #tensors = new Map<string, Tensor.Tensor>()
  readonly #entries: Entries
  readonly #location: { readonly archive: string; readonly entry: string }

  constructor(entries: Entries, location: { readonly archive: string; readonly entry: string }) {
    this.#entries = entries
    this.#location = location
  }

  root(record: Records.GraphModuleRecord): Module.GraphModule {
    const graphModules: Array<readonly [Module.GraphModule, Records.GraphModuleRecord, string]> = []
    const root = this.module(record, "$", graphModules) as Module.GraphModule
    if (record.graph.namedtuple_fields !== undefined) root.namedTupleFields = new Map(Json.entries(record.graph.namedtuple_fields))
    if (record.graph.symbols !== undefined) {
      root.symbols = new Map(Json.entries(record.graph.symbols).map(([name, r]) => {
        this.raise(symbolFault(name, r))
        return [name, symbolInfo(r)]
      }))
    }
    // Targets resolve only once the whole tree exists.
    for (const [gm, rec, path] of graphModules) this.checkTargets(gm, rec, path)
    return root
  }

  fail(path: string, fault: ArchiveError.ArchiveFault, detail: string, node?: string): never {
    throw new Abort(ArchiveError.at({ ...this.#location, path, ...(node === undefined ? {} : { node }) }, fault, detail))
  }

  raise(f: Fault | undefined): void {
    if (f !== undefined) this.fail(f.path, f.fault, f.detail, f.node)
  }

  module(
    record: Records.ModuleRecord,
    path: string,
    graphModules: Array<readonly [Module.GraphModule, Records.GraphModuleRecord, string]>
  ): Module.Module {
    if (record.kind === "trt_module") {
      return new Module.TrtModule({
        name: record.name,
        packedEngineInfo: this.engineFields(record.packed_engine_info, `${path}.packed_engine_info`),
        engineState: record.engine_state === undefined
          ? undefined
          : this.engineFields(record.engine_state, `${path}.engine_state`),
        inputBindingNames: record.input_binding_names,
        outputBindingNames: record.output_binding_names
      })
    }
    let mod: Module.GraphModule | Module.PlainModule
    if (record.kind === "graph_module") {
      const gm = new Module.GraphModule(this.graph(record.graph, `${path}.graph`))
      gm.inSpec = record.graph.in_spec
      gm.outSpec = record.graph.out_spec
      graphModules.push([gm, record, path])
      mod = gm
    } else {
      mod = new Module.PlainModule(record.type)
    }
    const register = (p: string, f: () => void) => {
      try {
        f()
      } catch (e) {
        if (e instanceof GraphError) this.fail(p, "SchemaMismatch", e.detail)
        throw e
      }
    }
    const attributes = (map: object, kind: string) =>
      Json.entries(map as { readonly [k: string]: unknown }).map(([name]) => {
        const p = jsonKey(`${path}.${kind}`, name)
        if (name === "" || name.includes(".")) this.fail(p, "SchemaMismatch", `attribute name ${JSON.stringify(name)} is empty or contains "."`)
        return name
      })
    attributes(record.children, "children")
    attributes(record.parameters, "parameters")
    attributes(record.buffers, "buffers")
    attributes(record.constants, "constants")
    for (const [name, child] of Json.entries(record.children)) {
      const p = jsonKey(`${path}.children`, name)
      const childModule = this.module(child, p, graphModules)
      register(p, () => {
        if (Module.hasAttribute(mod, name)) throw new GraphError({ fault: "AttributeExists", detail: `attribute '${name}' already exists` })
        mod.children.set(name, childModule)
      })
    }
    for (const [name, ref] of Json.entries(record.parameters)) {
      const p = jsonKey(`${path}.parameters`, name)
      register(p, () => Module.registerParameter(mod, name, this.tensor(ref, p)))
    }
    for (const [name, ref] of Json.entries(record.buffers)) {
      const p = jsonKey(`${path}.buffers`, name)
      register(p, () => Module.registerBuffer(mod, name, this.tensor(ref, p), ref.persistent !== false))
    }
    for (const [name, ref] of Json.entries(record.constants)) {
      const p = jsonKey(`${path}.constants`, name)
      const value: Module.Constant = "storage" in ref
        ? this.tensor(ref, p)
        : {
          _tag: "ScriptObject",
          classFqn: ref.script_object.class_fqn,
          state: this.engineFields(ref.script_object.state, `${p}.script_object.state`)
        }
      register(p, () => Module.setConstant(mod, name, value))
    }
    return mod
  }

  graph(record: Records.GraphRecord, path: string): Graph {
    const graph = new Graph()
    const defined = new Map<string, Node>()
    const declared = new Map<string, number>()
    record.nodes.forEach((n, i) => {
      if (declared.has(n.name)) {
        this.fail(`${path}.nodes[${i}].name`, "DuplicateName", `node name ${n.name} is already used by nodes[${declared.get(n.name)}]`, n.name)
      }
      declared.set(n.name, i)
    })
    record.nodes.forEach((n, i) => {
      const nodePath = `${path}.nodes[${i}]`
      const arg = (a: Records.ArgRecord, p: string): Argument.Argument => this.argument(a, p, n.name, defined, declared, i)
      const args = n.args.map((a, j) => arg(a, `${nodePath}.args[${j}]`))
      const kwargs = Object.fromEntries(Json.entries(n.kwargs).map(([k, v]) => {
        const p = jsonKey(`${nodePath}.kwargs`, k)
        if (!IDENTIFIER.test(k)) this.fail(p, "SchemaMismatch", `keyword ${JSON.stringify(k)} is not a Python identifier`, n.name)
        return [k, arg(v, p)]
      }))
      this.raise(targetFault(n, `${nodePath}.target`))
      // Passed-through metas are plain JSON: give back the keys the parser marked to keep their order.
      const meta = Json.unmark(n.meta) as Records.NodeRecord["meta"]
      this.raise(valFault(meta.val, `${nodePath}.meta.val`, n.name))
      const node = graph.createNode(n.op, n.target, args, kwargs, { name: n.name, exactName: true, meta: { ...meta } })
      defined.set(n.name, node)
    })
    try {
      Lint.lint(graph)
    } catch (e) {
      if (e instanceof GraphError) {
        const at = e.node === undefined ? undefined : declared.get(e.node)
        this.fail(at === undefined ? `${path}.nodes` : `${path}.nodes[${at}]`, "SchemaMismatch", e.detail, e.node)
      }
      throw e
    }
    return graph
  }

  argument(
    a: Records.ArgRecord,
    path: string,
    node: string,
    defined: ReadonlyMap<string, Node>,
    declared: ReadonlyMap<string, number>,
    index: number
  ): Argument.Argument {
    const go = (x: Records.ArgRecord, p: string): Argument.Argument => {
      if (x === null || typeof x !== "object") return x
      if (Array.isArray(x)) return (x as ReadonlyArray<Records.ArgRecord>).map((y, i) => go(y, `${p}[${i}]`))
      const r = x as Exclude<Records.ArgRecord, ReadonlyArray<Records.ArgRecord> | null | boolean | number | string>
      if ("node" in r) {
        const target = defined.get(r.node)
        if (target !== undefined) return target
        const later = declared.get(r.node)
        return this.fail(
          p,
          "DanglingReference",
          later === undefined
            ? `node ${r.node} is not defined in this graph`
            : `node ${r.node} is defined later (nodes[${later}]), after its use by nodes[${index}]`,
          node
        )
      }
      if ("int" in r) {
        const big = BigInt(r.int)
        return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
      }
      if ("float" in r) return Argument.float(fromJsonFloat(r.float))
      if ("complex" in r) return Argument.complex(fromJsonFloat(r.complex[0]), fromJsonFloat(r.complex[1]))
      if ("tuple" in r) return Argument.tuple(...r.tuple.map((y, i) => go(y, `${p}.tuple[${i}]`)))
      if ("dict" in r) {
        return Argument.dict(r.dict.map(([k, v], i) => [go(k, `${p}.dict[${i}][0]`), go(v, `${p}.dict[${i}][1]`)] as const))
      }
      if ("dtype" in r) return Argument.dtype(r.dtype)
      if ("device" in r) return Argument.device(r.device)
      if ("layout" in r) return Argument.layout(r.layout)
      if ("memory_format" in r) return Argument.memoryFormat(r.memory_format)
      if ("slice" in r) {
        return Argument.slice(go(r.slice[0], `${p}.slice[0]`), go(r.slice[1], `${p}.slice[1]`), go(r.slice[2], `${p}.slice[2]`))
      }
      return Argument.symInt(r.sym_int)
    }
    return go(a, path)
  }

  checkTargets(gm: Module.GraphModule, record: Records.GraphModuleRecord, path: string): void {
    record.graph.nodes.forEach((n, i) => {
      if (n.op !== "call_module" && n.op !== "get_attr") return
      const found = Module.resolve(gm, n.target)
      const p = `${path}.graph.nodes[${i}].target`
      if (found === undefined) {
        this.fail(p, "UnresolvedTarget", `${n.op} target ${n.target} does not resolve in the module tree`, n.name)
      }
      if (n.op === "call_module" && found.kind !== "module") {
        this.fail(p, "UnresolvedTarget", `call_module target ${n.target} is a ${found.kind}, not a module`, n.name)
      }
    })
  }

  engineFields(fields: Records.TrtModuleRecord["packed_engine_info"], path: string): Module.EngineInfo {
    return fields.map((f, i) => (typeof f === "string" ? f : this.entry(f.engine, `${path}[${i}]`)))
  }

  entry(name: string, path: string): Uint8Array {
    const bytes = this.#entries.get(name)
    return bytes ?? this.fail(path, "MissingEntry", `entry ${name} is not in the archive`)
  }

  tensor(ref: Records.TensorRef, path: string): Tensor.Tensor {
    this.raise(tensorRefFault(ref, path))
    let storage = this.#storages.get(ref.storage)
    if (storage === undefined) {
      storage = Tensor.storage(this.entry(ref.storage, `${path}.storage`))
      this.#storages.set(ref.storage, storage)
    }
    this.raise(tensorRefFault(ref, path, storage.bytes.byteLength))
    // One object per distinct view of a storage: tied weights stay one tensor, as in torch.
    const key = JSON.stringify([ref.storage, ref.dtype, ref.shape, ref.stride, ref.storage_offset, ref.device, ref.requires_grad])
    let tensor = this.#tensors.get(key)
    if (tensor === undefined) {
      tensor = Tensor.make({
        storage,
        dtype: ref.dtype,
        shape: ref.shape,
        stride: ref.stride,
        storageOffset: ref.storage_offset,
        device: ref.device,
        requiresGrad: ref.requires_grad
      })
      this.#tensors.set(key, tensor)
    }
    return tensor
  }
}

/**
 * The operator schemas of `op_schemas.json`, by target. Each string must parse as a torch schema, and no
 * operator may be given twice with different schemas (which one the archive means would be a guess); the
 * fault is located at `entry` (`op_schemas.json`) and the index of the faulty string.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeOpSchemas = (
  record: Records.OpSchemasRecord,
  location: { readonly archive: string; readonly entry: string }
): Result.Result<OpSchema.OpSchemas, ArchiveError.ArchiveError> => {
  const out = new Map<string, OpSchema.OpSchema>()
  const first = new Map<string, number>()
  for (let i = 0; i < record.length; i++) {
    const parsed = OpSchema.parse(record[i]!)
    const at = { ...location, path: `$[${i}]` }
    if (Result.isFailure(parsed)) {
      const f = parsed.failure
      return Result.fail(ArchiveError.at(at, "SchemaMismatch", `not a torch schema: ${f.detail} (at offset ${f.offset})`))
    }
    const target = OpSchema.targetOf(parsed.success)
    const earlier = first.get(target)
    if (earlier !== undefined && OpSchema.print(out.get(target)!) !== OpSchema.print(parsed.success)) {
      return Result.fail(ArchiveError.at(at, "SchemaMismatch", `a second, different schema for ${target} (the first is $[${earlier}])`))
    }
    if (earlier === undefined) first.set(target, i)
    out.set(target, parsed.success)
  }
  return Result.succeed(out)
}

const symbolInfo = (r: Records.SymbolRecord): Module.SymbolInfo => ({
  hint: r.hint,
  min: r.min,
  max: r.max,
  ...(r.assumptions === undefined ? {} : { assumptions: Json.entries(r.assumptions) })
})

/**
 * A float from its archive form (`"inf"`, `"-inf"`, `"nan"` for the non-finite ones).
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromJsonFloat = (f: number | "inf" | "-inf" | "nan"): number =>
  f === "inf" ? Infinity : f === "-inf" ? -Infinity : f === "nan" ? NaN : f
