/**
 * Random compiled, partitioned modules, described by a schema so that `it.effect.prop` derives (and shrinks)
 * them: a root graph of 1–3 user inputs (the first possibly of a dynamic batch), then 1–8 segments, each a TensorRT module call (`_run_on_acc_k`) or
 * a PyTorch fallback module call (`_run_on_gpu_k`), then a tuple output.
 * Everything refers to earlier values by index modulo how many exist, so every recipe builds a valid module.
 *
 * What the recipes cover:
 * - engines with 0–3 inputs drawn from earlier values (repeats allowed: shared inputs), literal scalar
 *   inputs, inputs passed by keyword (binding names, keys in reverse order), 1–3 outputs (tensors, dynamic
 *   tensors: `s0`, `2*s0`, `s0 + 1`, an unbacked `u0`; symbolic ints), `meta.val` a list or, for one output, a bare value, the partitioner's getitems
 *   in index order or in reverse, an optional `engine_state` next to `packed_engine_info`, and a TensorRT
 *   module called a second time;
 * - fallback modules with their own placeholders named generically, after the values passed (`x` when the
 *   root's `x` is passed: upstream's duplicate-placeholder path), or after the root's placeholders in the
 *   wrong order; the last input passed by keyword; a trailing placeholder with a default value, passed or
 *   not; aten ops (some returning a tuple or a symbolic int); `get_attr`s of state from a bank of FQNs where
 *   one FQN is always one tensor object (so state is shared between fallback modules at the same FQN, and a
 *   tied parameter sits at two FQNs), through plain modules (`sub.weight`, `bn.running_mean`) that are
 *   separate objects per fallback module or shared; a nested graph module called with `call_module`; a
 *   result that is the last value, a tuple (read by getitems in order or reversed; items may be state, a
 *   passed-through input, or `None`), or a parameter itself (a constant as an output); a fallback module
 *   called a second time;
 * - root `get_attr`s of the same bank state (0–2, anywhere among the segments), and a root output tuple of
 *   any earlier values.
 */
import { Schema } from "effect"
import * as Argument from "../../src/graph/Argument.ts"
import { Graph } from "../../src/graph/Graph.ts"
import * as Meta from "../../src/graph/Meta.ts"
import type { Val } from "../../src/graph/Meta.ts"
import * as Module from "../../src/graph/Module.ts"
import type { Node } from "../../src/graph/Node.ts"
import * as Tensor from "../../src/graph/Tensor.ts"
import * as EngineRecord from "../../src/program/EngineRecord.ts"

// ===== Schema =====

const Index = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1000 }))

/** The FQNs of the state bank; each FQN is always the same tensor object. */
export const StateName = Schema.Literals([
  "w0",
  "w1",
  "sub.weight",
  "tied.weight",
  "bn.running_mean",
  "bn.num_batches_tracked",
  "_frozen_param0"
])
export type StateName = typeof StateName.Type

const EngineInput = Schema.Union([
  Schema.Struct({ ref: Index }),
  Schema.Struct({ literal: Schema.Literals(["int", "float", "bool"]) })
])

const OutputKind = Schema.Literals(["tensor", "dynamic", "derived", "unbacked", "symint"])

export const EngineSegment = Schema.Struct({
  kind: Schema.Literal("engine"),
  inputs: Schema.Array(EngineInput).check(Schema.isMaxLength(3)),
  outputs: Schema.Array(OutputKind).check(Schema.isMinLength(1), Schema.isMaxLength(3)),
  /** The order the partitioner created the getitems in. */
  getitems: Schema.Literals(["forward", "reversed"]),
  /** One output: `meta.val` the bare value rather than a one-element list. */
  bareVal: Schema.Boolean,
  /** How many trailing inputs are passed by keyword. */
  keywords: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 })),
  engineState: Schema.Boolean,
  /** Call an earlier TensorRT module again instead of a new one. */
  reuse: Schema.NullOr(Index)
})

const OpKind = Schema.Literals(["add", "mul", "relu", "cat", "sym_size", "var_mean", "add_alpha"])

const Op = Schema.Struct({ op: OpKind, a: Index, b: Index })

const Inner = Schema.Struct({
  /** `inner` in every fallback module that has one (distinct objects under one name), or `inner_<k>`. */
  name: Schema.Literals(["inner", "unique"]),
  a: Index,
  b: Index,
  state: Schema.optionalKey(StateName),
  op: Schema.Literals(["add", "mul"])
})

const ResultItem = Schema.Union([
  Schema.Struct({ ref: Index }),
  Schema.Struct({ state: StateName }),
  Schema.Struct({ none: Schema.Literal(true) })
])

const Result = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("last") }),
  Schema.Struct({
    kind: Schema.Literal("tuple"),
    items: Schema.Array(ResultItem).check(Schema.isMinLength(2), Schema.isMaxLength(3)),
    getitems: Schema.Literals(["forward", "reversed"])
  }),
  Schema.Struct({ kind: Schema.Literal("state"), state: StateName })
])

export const FallbackSegment = Schema.Struct({
  kind: Schema.Literal("fallback"),
  inputs: Schema.Array(Index).check(Schema.isMaxLength(3)),
  names: Schema.Literals(["generic", "same", "rotated"]),
  /** Pass the last input by keyword. */
  keyword: Schema.Boolean,
  /** A trailing placeholder with a default value: absent, left to its default, or passed by keyword. */
  defaulted: Schema.Literals(["absent", "default", "passed"]),
  state: Schema.Array(StateName).check(Schema.isMaxLength(3)),
  /** Plain modules along state paths: new objects for this module, or the objects an earlier one used. */
  sharedPlain: Schema.Boolean,
  ops: Schema.Array(Op).check(Schema.isMinLength(1), Schema.isMaxLength(4)),
  inner: Schema.NullOr(Inner),
  result: Result,
  /** Call an earlier fallback module again instead of a new one. */
  reuse: Schema.NullOr(Index)
})

export const Segment = Schema.Union([EngineSegment, FallbackSegment])

/** A root `get_attr` of state, made just before segment `before` (modulo the number of segments). */
export const RootState = Schema.Struct({ before: Index, state: StateName })

export const PartitionedRecipe = Schema.Struct({
  inputs: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3 })),
  /**
   * The user inputs' names: `x`, `y`, `z`, or names that clash with what the exporter creates (a lifted
   * parameter's placeholder, an engine's attribute, an inlined node).
   */
  names: Schema.Literals(["xyz", "clashing"]),
  /** The last user input is a symbolic int rather than a tensor. */
  symIntInput: Schema.Boolean,
  /** The first user input has a dynamic batch (`s0`). */
  dynamicInput: Schema.Boolean,
  segments: Schema.Array(Segment).check(Schema.isMinLength(1), Schema.isMaxLength(8)),
  rootState: Schema.Array(RootState).check(Schema.isMaxLength(2)),
  outputs: Schema.Array(Index).check(Schema.isMinLength(1), Schema.isMaxLength(3))
})
export type PartitionedRecipe = typeof PartitionedRecipe.Type

// ===== Constants =====

export const GETITEM = "_operator.getitem"

/** The device every engine record names. */
export const DEVICE: EngineRecord.Device = {
  gpuId: 0,
  major: 9,
  minor: 0,
  deviceType: 0,
  deviceName: "NVIDIA H100 80GB HBM3"
}

const METADATA = "gAWVAAAAAAAAAAB9lC4="
const METADATA_UNOWNED = "gAWVFgAAAAAAAAB9lIwadW5vd25lZJSIcy4="

/** A tensor meta. */
export const tensorMeta = (shape: ReadonlyArray<number | string>): Val => ({
  tensor: {
    shape,
    stride: shape.length === 2 ? [shape[1]!, 1] : shape.map(() => 1),
    storage_offset: 0,
    dtype: "float32",
    device: "cuda:0",
    requires_grad: false
  }
})

const SYMINT: Val = { sym_int: "s0" }

/** The `meta.val` of a real tensor. */
export const valOf = (t: Tensor.Tensor): Val => Meta.tensorVal(t)

// ===== State bank =====

type Kind = "parameter" | "buffer" | "nonpersistent" | "constant"

/** One build's state: every FQN one tensor object (`tied.weight` is `w0`'s). */
export interface Bank {
  readonly tensors: ReadonlyMap<StateName, { readonly tensor: Tensor.Tensor; readonly kind: Kind }>
}

export const makeBank = (): Bank => {
  const s0 = Tensor.storage(new Uint8Array(64).map((_, i) => i))
  const s1 = Tensor.storage(new Uint8Array(16).fill(7))
  const s2 = Tensor.storage(new Uint8Array(24).fill(3))
  const w0 = Tensor.make({ storage: s0, dtype: "float32", shape: [4, 2], requiresGrad: true })
  return {
    tensors: new Map<StateName, { tensor: Tensor.Tensor; kind: Kind }>([
      ["w0", { tensor: w0, kind: "parameter" }],
      ["w1", { tensor: Tensor.make({ storage: s0, dtype: "float32", shape: [2], storageOffset: 8, requiresGrad: true }), kind: "parameter" }],
      ["sub.weight", { tensor: Tensor.make({ storage: s1, dtype: "float32", shape: [2, 2] }), kind: "parameter" }],
      ["tied.weight", { tensor: w0, kind: "parameter" }],
      ["bn.running_mean", { tensor: Tensor.make({ storage: s2, dtype: "float32", shape: [2] }), kind: "buffer" }],
      ["bn.num_batches_tracked", { tensor: Tensor.make({ storage: s2, dtype: "int64", shape: [], storageOffset: 1 }), kind: "nonpersistent" }],
      ["_frozen_param0", { tensor: Tensor.make({ storage: s2, dtype: "float32", shape: [2], storageOffset: 4 }), kind: "constant" }]
    ])
  }
}

/**
 * Registers bank state at its FQN under `mod`, creating plain modules along the path (taken from `shared`
 * when given, so that several modules hold the very same plain module objects).
 */
export const registerState = (
  mod: Module.Module,
  name: StateName,
  bank: Bank,
  shared?: Map<string, Module.PlainModule>
): Tensor.Tensor => {
  const { kind, tensor } = bank.tensors.get(name)!
  const atoms = name.split(".")
  const leaf = atoms.pop()!
  let at: Module.Module = mod
  let prefix = ""
  for (const atom of atoms) {
    prefix = prefix === "" ? atom : `${prefix}.${atom}`
    let next = at.children.get(atom)
    if (next === undefined) {
      next = shared?.get(prefix) ?? new Module.PlainModule()
      if (shared !== undefined && next.kind === "module") shared.set(prefix, next)
      at.children.set(atom, next)
    }
    at = next
  }
  if (Module.hasAttribute(at, leaf)) return tensor
  switch (kind) {
    case "parameter":
      Module.registerParameter(at, leaf, tensor)
      break
    case "buffer":
      Module.registerBuffer(at, leaf, tensor, true)
      break
    case "nonpersistent":
      Module.registerBuffer(at, leaf, tensor, false)
      break
    case "constant":
      Module.setConstant(at, leaf, tensor)
      break
  }
  return tensor
}

// ===== TensorRT modules =====

/** A TensorRT module with a valid ABI "7" record named `${name}_engine`. */
export const trtModule = (
  name: string,
  options: {
    readonly inputs: number
    readonly outputs: number
    readonly engine: Uint8Array
    readonly engineState?: boolean
  }
): Module.TrtModule => {
  const inputBindingNames = Array.from({ length: options.inputs }, (_, i) => `input_${i}`)
  const outputBindingNames = Array.from({ length: options.outputs }, (_, i) => `output_${i}`)
  const record: EngineRecord.Abi7Record = {
    abi: "7",
    name: EngineRecord.engineName(name),
    device: DEVICE,
    engine: options.engine,
    inputBindingNames,
    outputBindingNames,
    hardwareCompatible: false,
    serializedMetadata: METADATA,
    targetPlatform: "linux_x86_64",
    requiresOutputAllocator: false
  }
  return new Module.TrtModule({
    name,
    packedEngineInfo: EngineRecord.encodeRaw({ ...record, serializedMetadata: METADATA_UNOWNED }),
    // The live engine's state: the same engine (a copy of its bytes), the flag not set.
    engineState: options.engineState === true ? EngineRecord.encodeRaw({ ...record, engine: options.engine.slice() }) : undefined,
    inputBindingNames,
    outputBindingNames
  })
}

/** Engine bytes that differ per k. */
export const engineBytes = (k: number): Uint8Array => Uint8Array.of(0x54, 0x52, 0x54, k, (k * 37) & 0xff, 0xee, 0x01, k ^ 0x5a)

// ===== Building =====

interface Value {
  readonly node: Node
  readonly val: Val | undefined
}

interface FallbackInfo {
  readonly name: string
  readonly mod: Module.GraphModule
  /** Targets of the placeholders without default. */
  readonly required: ReadonlyArray<string>
  readonly resultVal: Val | undefined
  readonly tuple: number | undefined
}

interface TrtInfo {
  readonly name: string
  readonly mod: Module.TrtModule
  readonly outputVals: ReadonlyArray<Val>
}

const pick = <A>(xs: ReadonlyArray<A>, i: number): A => xs[i % xs.length]!

const ROOT_NAMES = {
  xyz: ["x", "y", "z"],
  clashing: ["w0", "_run_on_acc_1_engine", "relu"]
} as const

const outputVal = (kind: typeof OutputKind.Type, i: number): Val =>
  kind === "symint"
    ? SYMINT
    : kind === "dynamic"
    ? tensorMeta([i + 1, "s0"])
    : kind === "derived"
    ? tensorMeta([i + 1, i % 2 === 0 ? "2*s0" : "s0 + 1"])
    : kind === "unbacked"
    ? tensorMeta(["u0", i + 1])
    : tensorMeta([i + 1, 3])

const uniqueNames = (candidates: ReadonlyArray<string>): Array<string> => {
  const used = new Set<string>()
  return candidates.map((c) => {
    let name = c
    for (let k = 1; used.has(name); k++) name = `${c}_${k}`
    used.add(name)
    return name
  })
}

/** Options of {@link build}. */
export interface BuildOptions {
  /**
   * Whether a fallback module may return one of its own inputs (a placeholder) as (part of) its result;
   * with false, such a result is read through an `aten.clone` instead. Default true.
   */
  readonly passthrough?: boolean
  /**
   * Whether nested graph modules get a name of their own in every fallback module (`inner_<k>`), whatever
   * the recipe says; with false (the default) the recipe may give several fallback modules a different
   * nested module under the same name `inner`.
   */
  readonly distinctNested?: boolean
}

/** Builds the compiled root module of a recipe. */
export const build = (recipe: PartitionedRecipe, options?: BuildOptions): Module.GraphModule => {
  const root = new Module.GraphModule(new Graph())
  root.symbols = new Map([["s0", { hint: 4, min: 2, max: 64 }], ["u0", { hint: null, min: 0, max: null }]])
  const g = root.graph
  const bank = makeBank()
  const sharedPlain = new Map<string, Module.PlainModule>()
  const pool: Array<Value> = []
  const rootNames = ROOT_NAMES[recipe.names].slice(0, recipe.inputs)
  rootNames.forEach((name, i) => {
    const val = recipe.symIntInput && i === recipe.inputs - 1
      ? SYMINT
      : recipe.dynamicInput && i === 0
      ? tensorMeta(["s0", 3])
      : tensorMeta([2, 3])
    pool.push({ node: g.placeholder(name, { meta: { val } }), val })
  })
  const trts: Array<TrtInfo> = []
  const fallbacks: Array<FallbackInfo> = []

  recipe.segments.forEach((seg, k) => {
    for (const { before, state } of recipe.rootState) {
      if (before % recipe.segments.length !== k) continue
      const t = registerState(root, state, bank, sharedPlain)
      pool.push({ node: g.getAttr(state, { meta: { val: valOf(t) } }), val: valOf(t) })
    }
    switch (seg.kind) {
      case "engine": {
        let info: TrtInfo
        if (seg.reuse !== null && trts.length > 0) {
          info = pick(trts, seg.reuse)
        } else {
          const name = `_run_on_acc_${k}`
          const mod = trtModule(name, {
            inputs: seg.inputs.length,
            outputs: seg.outputs.length,
            engine: engineBytes(k),
            engineState: seg.engineState
          })
          Module.addSubmodule(root, name, mod)
          info = { name, mod, outputVals: seg.outputs.map(outputVal) }
          trts.push(info)
        }
        const n = info.mod.inputBindingNames.length
        const inputs = Array.from({ length: n }, (_, j): Argument.Argument => {
          const spec = seg.inputs[j] ?? { ref: j }
          if ("ref" in spec) return pick(pool, spec.ref).node
          return spec.literal === "int" ? 2 : spec.literal === "float" ? Argument.float(0.5) : true
        })
        const keywords = Math.min(seg.keywords, n)
        const kwargs: Record<string, Argument.Argument> = {}
        for (let j = n - 1; j >= n - keywords; j--) kwargs[info.mod.inputBindingNames[j]!] = inputs[j]!
        const outs = info.outputVals
        const val: Val = outs.length === 1 && seg.bareVal ? outs[0]! : outs
        const call = g.callModule(info.name, inputs.slice(0, n - keywords), kwargs, { meta: { val } })
        if (outs.length === 1) {
          pool.push({ node: call, val: outs[0] })
        } else {
          const order = outs.map((_, i) => i)
          if (seg.getitems === "reversed") order.reverse()
          for (const i of order) pool.push({ node: g.callFunction(GETITEM, [call, i], {}, { meta: { val: outs[i]! } }), val: outs[i] })
        }
        return
      }
      case "fallback": {
        let info: FallbackInfo
        let args: Array<Value>
        if (seg.reuse !== null && fallbacks.length > 0) {
          info = pick(fallbacks, seg.reuse)
          args = info.required.map((_, j) => pick(pool, seg.inputs[j] ?? j))
        } else {
          args = seg.inputs.map((i) => pick(pool, i))
          info = buildFallback(root, `_run_on_gpu_${k}`, k, seg, args, rootNames, bank, sharedPlain, {
            passthrough: options?.passthrough !== false,
            distinctNested: options?.distinctNested === true
          })
          fallbacks.push(info)
        }
        const positional: Array<Argument.Argument> = args.map((a) => a.node)
        const kwargs: Record<string, Argument.Argument> = {}
        if (seg.keyword && positional.length > 0) {
          positional.pop()
          kwargs[info.required[args.length - 1]!] = args[args.length - 1]!.node
        }
        if (seg.defaulted === "passed" && info.mod.graph.findNodes("placeholder").length > info.required.length) {
          kwargs["alpha"] = Argument.float(3)
        }
        const call = g.callModule(info.name, positional, kwargs, { meta: { val: info.resultVal! } })
        if (info.tuple === undefined) {
          pool.push({ node: call, val: info.resultVal })
        } else {
          const vals = info.resultVal as ReadonlyArray<Val>
          const order = vals.map((_, i) => i)
          if (seg.result.kind === "tuple" && seg.result.getitems === "reversed") order.reverse()
          for (const i of order) pool.push({ node: g.callFunction(GETITEM, [call, i], {}, { meta: { val: vals[i]! } }), val: vals[i] })
        }
        return
      }
    }
  })
  g.output(Argument.tuple(...recipe.outputs.map((i) => pick(pool, i).node)))
  return root
}

const buildFallback = (
  root: Module.GraphModule,
  name: string,
  k: number,
  seg: typeof FallbackSegment.Type,
  args: ReadonlyArray<Value>,
  rootNames: ReadonlyArray<string>,
  bank: Bank,
  sharedPlain: Map<string, Module.PlainModule>,
  { distinctNested, passthrough }: { readonly passthrough: boolean; readonly distinctNested: boolean }
): FallbackInfo => {
  const sub = new Module.GraphModule(new Graph())
  const g = sub.graph
  const shared = seg.sharedPlain ? sharedPlain : undefined
  const candidates = args.map((a, j) =>
    seg.names === "same"
      ? a.node.name
      : seg.names === "rotated" && j < rootNames.length
      ? rootNames[(j + 1) % rootNames.length]!
      : `arg${j}_1`
  )
  const names = uniqueNames(candidates)
  const local: Array<Value> = args.map((a, j) => ({ node: g.placeholder(names[j]!, { meta: a.val === undefined ? {} : { val: a.val } }), val: a.val }))
  if (seg.defaulted !== "absent") {
    const val: Val = { float: 2 }
    local.push({ node: g.placeholder("alpha", { defaultValue: Argument.float(2), meta: { val } }), val })
  }
  const readState = (graph: Graph, owner: Module.Module, state: StateName): Value => {
    const t = registerState(owner, state, bank, shared)
    return { node: graph.getAttr(state, { meta: { val: valOf(t) } }), val: valOf(t) }
  }
  for (const s of seg.state) local.push(readState(g, sub, s))
  if (local.length === 0) local.push(readState(g, sub, "_frozen_param0"))
  if (seg.inner !== null) {
    const spec = seg.inner
    const inner = new Module.GraphModule(new Graph())
    const ig = inner.graph
    const a = pick(local, spec.a)
    const b = pick(local, spec.b)
    const p0 = ig.placeholder("a", { meta: a.val === undefined ? {} : { val: a.val } })
    const p1 = spec.state === undefined ? ig.placeholder("b", { meta: b.val === undefined ? {} : { val: b.val } }) : readState(ig, inner, spec.state).node
    const r = ig.callFunction(`torch.ops.aten.${spec.op}.Tensor`, [p0, p1], {}, { meta: { val: tensorMeta([2, 3]) } })
    ig.output(r)
    const innerName = spec.name === "inner" && !distinctNested ? "inner" : `inner_${k}`
    Module.addSubmodule(sub, innerName, inner)
    const callArgs = spec.state === undefined ? [a.node, b.node] : [a.node]
    local.push({ node: g.callModule(innerName, callArgs, {}, { meta: { val: tensorMeta([2, 3]) } }), val: tensorMeta([2, 3]) })
  }
  for (const op of seg.ops) {
    const a = pick(local, op.a).node
    const b = pick(local, op.b).node
    const t = tensorMeta([2, 3])
    switch (op.op) {
      case "add":
      case "mul":
        local.push({ node: g.callFunction(`torch.ops.aten.${op.op}.Tensor`, [a, b], {}, { meta: { val: t } }), val: t })
        break
      case "add_alpha":
        local.push({ node: g.callFunction("torch.ops.aten.add.Tensor", [a, b], { alpha: Argument.float(0.5) }, { meta: { val: t } }), val: t })
        break
      case "relu":
        local.push({ node: g.callFunction("torch.ops.aten.relu.default", [a], {}, { meta: { val: t } }), val: t })
        break
      case "cat": {
        // `Tensor[] tensors`: only tensor-valued values (a fallback input may be wired to a literal scalar).
        const isTensor = (v: Value) => v.val !== undefined && v.val !== null && !Array.isArray(v.val) && "tensor" in v.val
        const [x, y] = [pick(local, op.a), pick(local, op.b)]
        const list = [x, y].filter(isTensor).map((v) => v.node)
        if (list.length === 0) break
        local.push({ node: g.callFunction("torch.ops.aten.cat.default", [list, 1], {}, { meta: { val: tensorMeta([2, 6]) } }), val: tensorMeta([2, 6]) })
        break
      }
      case "sym_size":
        local.push({ node: g.callFunction("torch.ops.aten.sym_size.int", [a, 1], {}, { meta: { val: SYMINT } }), val: SYMINT })
        break
      case "var_mean": {
        const vals = [tensorMeta([2]), tensorMeta([2])]
        const vm = g.callFunction("torch.ops.aten.var_mean.correction", [a, [1]], { correction: 0 }, { meta: { val: vals } })
        local.push({ node: g.callFunction(GETITEM, [vm, 0], {}, { meta: { val: vals[0]! } }), val: vals[0] })
        local.push({ node: g.callFunction(GETITEM, [vm, 1], {}, { meta: { val: vals[1]! } }), val: vals[1] })
        break
      }
    }
  }
  // A placeholder in the result, read through a clone where passthroughs are not wanted.
  const returned = (v: Value): Value =>
    passthrough || v.node.op !== "placeholder"
      ? v
      : { node: g.callFunction("torch.ops.aten.clone.default", [v.node], {}, { meta: v.val === undefined ? {} : { val: v.val } }), val: v.val }
  let resultVal: Val | undefined
  let tuple: number | undefined
  switch (seg.result.kind) {
    case "last": {
      const last = returned(local[local.length - 1]!)
      g.output(last.node)
      resultVal = last.val
      break
    }
    case "state": {
      const v = readState(g, sub, seg.result.state)
      g.output(v.node)
      resultVal = v.val
      break
    }
    case "tuple": {
      const items = seg.result.items.map((item): { arg: Argument.Argument; val: Val } => {
        if ("ref" in item) {
          const v = returned(pick(local, item.ref))
          return { arg: v.node, val: v.val ?? null }
        }
        if ("state" in item) {
          const v = readState(g, sub, item.state)
          return { arg: v.node, val: v.val! }
        }
        return { arg: null, val: null }
      })
      g.output(Argument.tuple(...items.map((i) => i.arg)))
      resultVal = items.map((i) => i.val)
      tuple = items.length
      break
    }
  }
  Module.addSubmodule(root, name, sub)
  const required = args.map((_, j) => names[j]!)
  return { name, mod: sub, required, resultVal, tuple }
}
