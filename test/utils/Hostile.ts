/**
 * Bases and edits for the hostile-input fuzzers: small valid archives of both formats, taken apart into
 * their entries and JSON, edited, and zipped again exactly as edited (`ZipForge`, stored entries), so that
 * each case costs little more than the read it tests.
 *
 * - {@link pt2Base}: trtx's archive of a hand-made program with everything a hostile edit can aim at: a
 *   parameter, a persistent buffer, a constant tensor, a symbolic input (`s0` in [2, 64]), aten and
 *   symbolic ops, a tuple return read by getitems, node metadata of every kind, a buffer mutation, and the
 *   treespecs of its call signature.
 * - {@link tgmBase}: the entries of a sample compiled module (`test/fixtures/samples`).
 *
 * JSON is parsed and written exactly: integers beyond 2^53 stay bigints, and keys are written as they are
 * (no key is marked or reordered).
 */
import { assert } from "@effect/vitest"
import { type Duration, Effect, Result } from "effect"
import type { ArchiveFault } from "../../src/archive/ArchiveError.ts"
import * as Limits from "../../src/archive/Limits.ts"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Serialize from "../../src/archive/pt2/Serialize.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import type { GraphModule } from "../../src/graph/Module.ts"
import * as Argument from "../../src/graph/Argument.ts"
import type { TensorMeta } from "../../src/graph/Meta.ts"
import * as Module from "../../src/graph/Module.ts"
import * as Tensor from "../../src/graph/Tensor.ts"
import * as ExportedProgram from "../../src/program/ExportedProgram.ts"
import * as C from "./TgmCraft.ts"
import { type ForgeEntry, forge } from "./ZipForge.ts"
import { assertSame, expectFault, expectOk, type Outcome, outcome, type Tally } from "./FuzzKit.ts"
import { describeModule, describeProgram, inSpec, outSpec } from "./RandomProgram.ts"

// ===== Exact JSON =====

/** JSON text to a value, integers beyond 2^53 as bigints. */
export const parse = (text: string): C.Json =>
  JSON.parse(text, (_k, v, ctx?: { readonly source?: string }) =>
    typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v) && ctx?.source !== undefined && /^-?\d+$/.test(ctx.source)
      ? BigInt(ctx.source)
      : v)

// A bigint is written as a string holding this mark and its digits, then the quotes and the mark go.
const BIG = "trtx-fuzz-bigint-0b1d"
/** A value to JSON text, bigints as their digits. */
export const stringify = (value: unknown): string =>
  JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${BIG}${v}` : v)).replace(new RegExp(`"${BIG}(-?\\d+)"`, "g"), "$1")

/** Sets an own key whatever its name (`__proto__` included). */
export const own = (o: C.Json, k: string, v: unknown): void => {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

/** Renames a key of an object in place, keeping its position. */
export const renameKey = (o: C.Json, from: string, to: string): void => {
  const entries = Object.entries(o)
  for (const k of Object.keys(o)) delete o[k]
  for (const [k, v] of entries) own(o, k === from ? to : k, v)
}

/** Replaces, everywhere in a JSON value, every string equal to `from` and every key equal to it. */
export const renameEverywhere = (json: C.Json, from: string, to: string): C.Json => {
  const walk = (x: C.Json): C.Json => {
    if (typeof x === "string") return x === from ? to : x
    if (Array.isArray(x)) return x.map(walk)
    if (x === null || typeof x !== "object") return x
    const out: C.Json = {}
    for (const [k, v] of Object.entries(x)) own(out, k === from ? to : k, walk(v))
    return out
  }
  return walk(json)
}

// ===== Archives as entries =====

/** An archive taken apart: its entries in order, by name. */
export interface Parts {
  readonly entries: ReadonlyArray<{ readonly name: string; readonly data: Uint8Array }>
}

/** The text of an entry. */
export const textOf = (parts: Parts, name: string): string => {
  const e = parts.entries.find((x) => x.name === name)
  if (e === undefined) throw new Error(`no entry ${name}`)
  return C.str(e.data)
}

/** The archive of `parts` with entries replaced (by name; `undefined` drops one) and added, stored. */
export const rebuild = (
  parts: Parts,
  replace: Readonly<Record<string, Uint8Array | string | undefined>> = {},
  add: ReadonlyArray<ForgeEntry> = []
): Uint8Array => {
  const out: Array<ForgeEntry> = []
  for (const e of parts.entries) {
    if (!Object.hasOwn(replace, e.name)) out.push({ name: e.name, data: e.data })
    else {
      const r = replace[e.name]
      if (r !== undefined) out.push({ name: e.name, data: typeof r === "string" ? C.text(r) : r })
    }
  }
  return forge([...out, ...add])
}

// ===== The .pt2 base =====

const meta = (shape: ReadonlyArray<number | string>, stride: ReadonlyArray<number | string>, dtype = "float32"): TensorMeta => ({
  shape,
  stride,
  storage_offset: 0,
  dtype,
  device: "cuda:0",
  requires_grad: false
})

/** The program of {@link pt2Base}. */
export const baseProgram = (): ExportedProgram.ExportedProgram => {
  const gm = new Module.GraphModule()
  const g = gm.graph
  const weight = Tensor.make({ storage: Tensor.storage(new Uint8Array(64).map((_, i) => i)), dtype: "float32", shape: [4, 4], requiresGrad: true })
  const running = Tensor.make({ storage: Tensor.storage(new Uint8Array(16).fill(1)), dtype: "float32", shape: [4] })
  const table = Tensor.make({ storage: Tensor.storage(new Uint8Array(16).fill(2)), dtype: "int64", shape: [2] })
  const ph = (name: string, m: TensorMeta | { sym_int: string }) =>
    g.createNode("placeholder", name, [], {}, { name, exactName: true, meta: { val: "sym_int" in m ? m : { tensor: m } } })
  const pw = ph("p_layer_weight", { ...meta([4, 4], [4, 1]), device: "cpu", requires_grad: true })
  const pb = ph("b_layer_running", { ...meta([4], [1]), device: "cpu" })
  const pc = ph("c_table", { ...meta([2], [1], "int64"), device: "cpu" })
  const x = ph("x", meta(["s0", 4], [4, 1]))
  const md = {
    stack_trace: "File \"model.py\", line 3, in forward\n    return self.layer(x)",
    nn_module_stack: { L__self___layer: ["L['self'].layer", "torch.nn.modules.linear.Linear"] },
    source_fn_stack: [["layer", "torch.nn.modules.linear.Linear"]],
    torch_fn: ["linear", "builtin_function_or_method.linear"],
    custom: { note: "a", n: 1 }
  } as never
  const mul = g.callFunction("torch.ops.aten.mul.Tensor", [x, pb], {}, { name: "mul", meta: { ...md as object, val: { tensor: meta(["s0", 4], [4, 1]) } } })
  const mm = g.callFunction("torch.ops.aten.mm.default", [mul, pw], {}, {
    name: "mm",
    meta: { ...md as object, val: { tensor: meta(["s0", 4], [4, 1]) } }
  })
  const relu = g.callFunction("torch.ops.aten.relu.default", [mm], {}, { name: "relu", meta: { ...md as object, val: { tensor: meta(["s0", 4], [4, 1]) } } })
  const size = g.callFunction("torch.ops.aten.sym_size.int", [x, 0], {}, { name: "sym_size_int", meta: { val: { sym_int: "s0" } } })
  const twice = g.callFunction("_operator.mul", [size, 2], {}, { name: "mul_1", meta: { val: { sym_int: "2*s0" } } })
  const vm = g.callFunction("torch.ops.aten.var_mean.correction", [relu], { correction: 0 }, {
    name: "var_mean",
    meta: { ...md as object, val: [{ tensor: meta([], []) }, { tensor: meta([], []) }] }
  })
  const v = g.callFunction("_operator.getitem", [vm, 0], {}, { name: "getitem", meta: { ...md as object, val: { tensor: meta([], []) } } })
  const m = g.callFunction("_operator.getitem", [vm, 1], {}, { name: "getitem_1", meta: { ...md as object, val: { tensor: meta([], []) } } })
  const upd = g.callFunction("torch.ops.aten.add.Tensor", [pb, pc], {}, { name: "add", meta: { val: { tensor: { ...meta([4], [1]), device: "cpu" } } } })
  g.output(Argument.tuple(upd, relu, v, m, twice))
  gm.symbols = new Map([["s0", { hint: 4, min: 2, max: 64 }]])
  gm.inSpec = inSpec(1, [])
  gm.outSpec = outSpec(4)
  return ExportedProgram.make({
    graphModule: gm,
    graphSignature: {
      inputSpecs: [
        { _tag: "Parameter", arg: { _tag: "TensorArgument", name: "p_layer_weight" }, target: "layer.weight" },
        { _tag: "Buffer", arg: { _tag: "TensorArgument", name: "b_layer_running" }, target: "layer.running", persistent: true },
        { _tag: "ConstantTensor", arg: { _tag: "TensorArgument", name: "c_table" }, target: "table" },
        { _tag: "UserInput", arg: { _tag: "TensorArgument", name: "x" } }
      ],
      outputSpecs: [
        { _tag: "BufferMutation", arg: { _tag: "TensorArgument", name: "add" }, target: "layer.running" },
        { _tag: "UserOutput", arg: { _tag: "TensorArgument", name: "relu" } },
        { _tag: "UserOutput", arg: { _tag: "TensorArgument", name: "getitem" } },
        { _tag: "UserOutput", arg: { _tag: "TensorArgument", name: "getitem_1" } },
        { _tag: "UserOutput", arg: { _tag: "SymIntArgument", name: "mul_1" } }
      ]
    },
    stateDict: new Map([["layer.weight", weight], ["layer.running", running]]),
    constants: new Map([["table", table]]),
    rangeConstraints: new Map([["s0", { min: 2, max: 64 }]]),
    moduleCallGraph: [{ fqn: "", signature: { inputs: [], outputs: [], inSpec: gm.inSpec, outSpec: gm.outSpec, forwardArgNames: ["x"] } }]
  })
}

/** The entries of a `.pt2` base and its parsed JSON records, by path under the root. */
export interface Pt2Base extends Parts {
  readonly root: string
  readonly model: string
  readonly weights: string
  readonly constants: string
}

const bases = new Map<string, Pt2Base>()

/** The entries of trtx's archive of {@link baseProgram}. */
export const pt2Base = (): Effect.Effect<Pt2Base, unknown> =>
  Effect.gen(function*() {
    const cached = bases.get("base")
    if (cached !== undefined) return cached
    const bytes = yield* Writer.toBytes(baseProgram())
    const entries = yield* C.unzip(bytes)
    const root = entries[0]!.name.slice(0, entries[0]!.name.indexOf("/") + 1)
    const parts: Pt2Base = {
      entries: entries.map((e) => ({ name: e.name, data: e.data })),
      root,
      model: `${root}models/model.json`,
      weights: `${root}data/weights/model_weights_config.json`,
      constants: `${root}data/constants/model_constants_config.json`
    }
    bases.set("base", parts)
    return parts
  })

/** The base with its three JSON records edited (each given its parsed record to change or replace). */
export const editPt2 = (
  base: Pt2Base,
  edit: (records: { model: C.Json; weights: C.Json; constants: C.Json }) => void,
  options?: { readonly replace?: Readonly<Record<string, Uint8Array | string | undefined>>; readonly add?: ReadonlyArray<ForgeEntry> }
): Uint8Array => {
  const records = { model: parse(textOf(base, base.model)), weights: parse(textOf(base, base.weights)), constants: parse(textOf(base, base.constants)) }
  edit(records)
  return rebuild(
    base,
    {
      [base.model]: stringify(records.model),
      [base.weights]: stringify(records.weights),
      [base.constants]: stringify(records.constants),
      ...options?.replace
    },
    options?.add
  )
}

// ===== The .tgm base =====

/** The entries of a sample compiled module and its parsed module.json. */
export const tgmBase = (name: C.SampleName): Effect.Effect<Parts, unknown> =>
  Effect.map(C.unzip(C.sampleBytes(name)), (entries) => ({ entries: entries.map((e) => ({ name: e.name, data: e.data })) }))

/** A sample with its module.json edited. */
export const editTgm = (
  base: Parts,
  edit: (module: C.Json) => C.Json | void,
  options?: { readonly replace?: Readonly<Record<string, Uint8Array | string | undefined>>; readonly add?: ReadonlyArray<ForgeEntry> }
): Uint8Array => {
  const module = parse(textOf(base, "module.json"))
  const out = edit(module)
  return rebuild(base, { "module.json": stringify(out === undefined ? module : out), ...options?.replace }, options?.add)
}

/** Every graph's node list of a `.tgm` module record, root first. */
export const tgmGraphs = (m: C.Json): Array<Array<C.Json>> => {
  const out: Array<Array<C.Json>> = []
  const walk = (x: C.Json) => {
    if (x?.kind === "graph_module" && Array.isArray(x.graph?.nodes)) out.push(x.graph.nodes)
    if (x?.children !== null && typeof x?.children === "object") for (const c of Object.values(x.children)) walk(c)
  }
  walk(m)
  return out
}

// ===== Cases =====

/** What a family knows of a case's outcome: a result, a located error (of these faults), or either. */
export type Expect = "ok" | "error" | "any" | ReadonlyArray<ArchiveFault>

/** Holds an outcome to what its family expects of it. */
export const expect = (o: Outcome<unknown>, label: string, e: Expect): void => {
  if (e === "any") return
  if (e === "ok") return void expectOk(o, label)
  expectFault(o, label, e === "error" ? undefined : e)
}

const records = (ep: ExportedProgram.ExportedProgram): string => {
  const r = Serialize.serialize(ep, { archive: "round trip" })
  if (Result.isFailure(r)) return `unserializable: ${r.failure.message}`
  return stringify(Result.getOrThrow(Serialize.encode(r.success, { archive: "<records>" })))
}

/**
 * What a read program must allow: written, it is the same program read back (same names, state, metadata
 * and records, same extra files), or the writer refuses it, located (`Unserializable`).
 */
export const roundTripPt2 = (read: Reader.Pt2, label: string) =>
  Effect.gen(function*() {
    const w = yield* outcome(Writer.toBytes(read.program, { extraFiles: read.extraFiles }), `${label}: write`)
    if (w._tag === "error") {
      expectFault(w, `${label}: what was read must be written, or refused as Unserializable`, ["Unserializable"])
      return "refused" as const
    }
    const again = expectOk(yield* outcome(Reader.readBytes(w.value, label), `${label}: read again`), `${label}: its own archive must read`)
    assertSame(describeProgram(again.program), describeProgram(read.program), `${label}: written and read again, the program changed`)
    assert.strictEqual(records(again.program), records(read.program), `${label}: written and read again, the records changed`)
    assertSame(Object.entries(again.extraFiles), Object.entries(read.extraFiles), `${label}: the extra files changed`)
    return "same" as const
  })

/** What a read module must allow: written, it is the same module read back. */
export const roundTripTgm = (module: GraphModule, label: string) =>
  Effect.gen(function*() {
    const bytes = expectOk(yield* outcome(Tgm.toBytes(module), `${label}: write`), `${label}: what was read must be written`)
    const again = expectOk(yield* outcome(Tgm.readBytes(bytes, label), `${label}: read again`), `${label}: its own archive must read`)
    assertSame(describeModule(again), describeModule(module), `${label}: written and read again, the module changed`)
  })

/** How a case is read: held to `e`, by default round-tripped, and bounded in time by `limit`. */
export interface CaseOptions {
  readonly limits?: Limits.Limits
  readonly limit?: Duration.Input
  readonly roundTrip?: boolean
}

// Reads a case with `read`, under the case's limits, tallies it, holds it to `e`, and round-trips what reads.
const archiveCase = <A>(
  read: Effect.Effect<A, unknown>,
  roundTrip: (value: A, label: string) => Effect.Effect<void>,
  tally: Tally,
  family: string,
  label: string,
  e: Expect,
  options?: CaseOptions
) =>
  Effect.gen(function*() {
    const o = yield* outcome(options?.limits === undefined ? read : Effect.provideService(read, Limits.Limits, options.limits), label, {
      archive: label,
      ...(options?.limit === undefined ? {} : { limit: options.limit })
    })
    tally.count(family, o)
    expect(o, label, e)
    if (o._tag === "ok" && options?.roundTrip !== false) yield* roundTrip(o.value, label)
    return o
  })

/** Reads a `.pt2` case, holds it to `e`, tallies it, and round-trips what reads (unless `roundTrip` is false). */
export const pt2Case = (tally: Tally, family: string, label: string, bytes: Uint8Array, e: Expect, options?: CaseOptions) =>
  archiveCase(Reader.readBytes(bytes, label), roundTripPt2, tally, family, label, e, options)

/** Reads a `.tgm` case, holds it to `e`, tallies it, and round-trips what reads (unless `roundTrip` is false). */
export const tgmCase = (tally: Tally, family: string, label: string, bytes: Uint8Array, e: Expect, options?: CaseOptions) =>
  archiveCase(Tgm.readBytes(bytes, label), roundTripTgm, tally, family, label, e, options)

/** Renames a node of a `.tgm` graph: its name, a placeholder's target, and every `{"node": ...}` naming it. */
export const renameTgmNode = (nodes: Array<C.Json>, from: string, to: string): void => {
  const refs = (x: C.Json): C.Json => {
    if (Array.isArray(x)) return x.map(refs)
    if (x === null || typeof x !== "object") return x
    if (Object.keys(x).length === 1 && x.node === from) return { node: to }
    const out: C.Json = {}
    for (const [k, v] of Object.entries(x)) own(out, k, refs(v))
    return out
  }
  for (const n of nodes) {
    if (n.name === from) {
      n.name = to
      if (n.op === "placeholder" && n.target === from) n.target = to
    }
    n.args = refs(n.args)
    n.kwargs = refs(n.kwargs)
  }
}
