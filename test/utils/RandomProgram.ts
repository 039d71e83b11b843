/**
 * Random valid programs and compiled modules, built in memory with the library's API from a seeded PRNG,
 * for the write-read fidelity fuzzing: what trtx writes, it must read back equal.
 *
 * - {@link program}: an exported program with user inputs (random dtypes, devices, static and symbolic
 *   shapes over symbols with valid ranges), lifted parameters, buffers (persistent or not), constant tensors
 *   and custom objects of random layouts (strides, stride-0 and overlapping views, offsets, views ending at
 *   their storage's end, empty tensors, shared storages), a body of aten and symbolic ops (single, tuple
 *   and list returns read by getitems), random node metadata, buffer mutations, treespecs, verifiers,
 *   guards and program metadata.
 * - {@link module}: a compiled module tree (`.tgm`) with nested plain modules and a graph-module child,
 *   state of random layouts, and a graph of every node kind with arguments of every kind and metadata.
 *
 * Names are drawn from {@link names}: plain identifiers, JavaScript built-ins (`toString`, `__proto__`...),
 * unicode, names starting with the private-use character U+E000, integer-like names, long names and names
 * with large numeric suffixes. {@link describeModule} and {@link describeProgram} give a plain,
 * order-keeping description of what a reader gives back, by real names, for comparing two programs.
 */
import * as Argument from "../../src/graph/Argument.ts"
import { type Meta, tensorMeta, type TensorMeta, type Val } from "../../src/graph/Meta.ts"
import * as Module from "../../src/graph/Module.ts"
import type { Node } from "../../src/graph/Node.ts"
import * as Tensor from "../../src/graph/Tensor.ts"
import * as ExportedProgram from "../../src/program/ExportedProgram.ts"
import type * as Signature from "../../src/program/Signature.ts"
import type { Prng } from "./TgmCraft.ts"

// ===== Names =====

/** JavaScript built-in property names: as keys of a plain object they find `Object.prototype`. */
export const builtinNames = [
  "toString",
  "constructor",
  "__proto__",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__lookupSetter__",
  "prototype",
  "length",
  "then"
] as const

const plainNames = ["x", "y", "weight", "bias", "add", "mul_1", "getitem", "p_weight", "b_running_mean", "input", "output_0", "arg0_1"]
const unicodeNames = ["héllo", "名前", "straße", "Ωmega", "x\u0301", "emoji😀", "a b", "a-b", "tab\tname", "ℝ", "\u00a0nbsp"]
/** Names starting with U+E000, the character `Json.ts` marks integer-like keys with. */
export const markerNames = ["\uE000", "\uE0001", "\uE00042", "\uE000x", "\uE000\uE0007", "\uE0000", "\uE0009999999999"]
export const integerNames = ["0", "1", "7", "42", "007", "4294967295", "4294967296", "9999999999", "10000000000", "-1"]

export type NameClass = "plain" | "builtin" | "unicode" | "marker" | "integer" | "long" | "suffix"
const nameClasses: ReadonlyArray<NameClass> = ["plain", "builtin", "unicode", "marker", "integer", "long", "suffix"]

/** A name of a class, at random. */
export const nameOf = (r: Prng, cls: NameClass = r.pick(nameClasses)): string => {
  switch (cls) {
    case "plain":
      return r.pick(plainNames)
    case "builtin":
      return r.pick(builtinNames)
    case "unicode":
      return r.pick(unicodeNames)
    case "marker":
      return r.pick(markerNames)
    case "integer":
      return r.pick(integerNames)
    case "long":
      return `${r.pick(["n", "長", "\uE000"])}${"x".repeat(r.int(200, 3000))}`
    case "suffix":
      return `${r.pick(["x", "add", "toString", "getitem"])}_${r.pick([r.int(2, 100), r.int(1000, 5_000_000), 2 ** 31 - 1, 2 ** 32, r.int(0, 2 ** 30)])}`
  }
}

/** Unique names from the pool: a taken name gets a `_<k>` suffix. */
export class Names {
  readonly #used = new Set<string>()
  readonly #r: Prng
  readonly #avoid: RegExp | undefined
  readonly #identifiers: boolean
  constructor(r: Prng, options?: { readonly reserved?: Iterable<string>; readonly avoid?: RegExp; readonly identifiers?: boolean }) {
    this.#r = r
    this.#avoid = options?.avoid
    this.#identifiers = options?.identifiers === true
    for (const n of options?.reserved ?? []) this.#used.add(n)
  }
  /** A fresh name (of a class); with `identifiers`, a Python identifier as fx names nodes. */
  next(cls?: NameClass): string {
    let name = nameOf(this.#r, cls ?? (this.#identifiers ? this.#r.pick(["plain", "builtin", "suffix", "long"] as const) : undefined))
    if (this.#avoid !== undefined) name = name.replace(this.#avoid, "_")
    if (this.#identifiers) name = name.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=\d)/, "_")
    if (name === "") name = "_"
    let candidate = name
    for (let k = 1; this.#used.has(candidate); k++) candidate = `${name}_${k}`
    this.#used.add(candidate)
    return candidate
  }
  has(name: string): boolean {
    return this.#used.has(name)
  }
}

// ===== Tensors =====

const FLOATS = ["float32", "float16", "bfloat16", "float64"] as const
const DTYPES = [...FLOATS, "int64", "int32", "int16", "int8", "uint8", "bool", "complex64", "uint16", "float8_e4m3fn", "float8_e5m2"] as const
const isFloating = (dtype: string) => /^(float|bfloat|complex)/.test(dtype)

/** A random layout: shape, strides (contiguous, permuted, expanded, gapped or overlapping) and offset. */
export const layout = (r: Prng): { shape: Array<number>; stride: Array<number>; offset: number } => {
  const rank = r.pick([0, 1, 1, 2, 2, 3, 4])
  const shape = Array.from({ length: rank }, () => r.pick([0, 1, 1, 2, 3, 4, 5, 7]))
  if (shape.includes(0) && r.next() < 0.6) shape[shape.indexOf(0)] = 2 // fewer empty tensors
  let stride = [...Tensor.contiguousStride(shape)]
  switch (r.int(0, 6)) {
    case 0: { // permuted (a transposed view)
      const order = shape.map((_, i) => i).sort(() => r.next() - 0.5)
      const base = Tensor.contiguousStride(order.map((i) => shape[i]!))
      stride = shape.map((_, i) => base[order.indexOf(i)]!)
      break
    }
    case 1: // expanded: stride 0 on some dims
      stride = stride.map((s) => (r.next() < 0.5 ? 0 : s))
      break
    case 2: // gaps
      stride = stride.map((s) => s * r.int(1, 4))
      break
    case 3: // overlapping windows
      stride = stride.map((s, i) => (i === stride.length - 1 ? s : Math.max(1, Math.floor(s / 2))))
      break
    default:
      break
  }
  const offset = r.next() < 0.5 ? 0 : r.int(0, 9)
  return { shape, stride, offset }
}

/** Random bytes. */
export const bytes = (r: Prng, n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = r.int(0, 256)
  return out
}

/**
 * A random stored tensor: a view of a storage that ends exactly at the view's last element or a little
 * after; shares `shared` (same dtype) when given.
 */
export const tensor = (r: Prng, options?: { readonly dtype?: string; readonly shared?: Tensor.Tensor; readonly device?: string }): Tensor.Tensor => {
  const dtype = options?.shared?.dtype ?? options?.dtype ?? r.pick(DTYPES)
  const item = Tensor.itemSize(dtype)!
  const { shape, stride, offset } = layout(r)
  const view = { shape, stride, storageOffset: offset }
  const span = Tensor.elementsSpanned(view)
  if (options?.shared !== undefined) {
    // Another view of a storage: it must lie inside it.
    const storage = options.shared.storage
    const elements = storage.bytes.byteLength / item
    if (span > elements) return Tensor.make({ storage, dtype, shape: elements >= 1 ? [] : [0], storageOffset: Math.max(0, Math.floor(elements) - 1), device: options.shared.device })
    return Tensor.make({ storage, dtype, shape, stride, storageOffset: offset, device: options.shared.device })
  }
  const slack = r.next() < 0.5 ? 0 : r.int(0, 4)
  const storage = Tensor.storage(bytes(r, (span === 0 ? (r.next() < 0.5 ? 0 : offset) : span + slack) * item))
  return Tensor.make({
    storage,
    dtype,
    shape,
    stride,
    storageOffset: span === 0 ? 0 : offset,
    device: options?.device ?? r.pick(["cpu", "cpu", "cuda:0", "cuda", "cuda:1", "meta"]),
    requiresGrad: isFloating(dtype) && r.next() < 0.4
  })
}

// A maker of tensors where a quarter share the storage of one made before, as tied and viewed weights do.
const tensorMaker = (r: Prng) => {
  const stored: Array<Tensor.Tensor> = []
  return (): Tensor.Tensor => {
    const shared = stored.length > 0 && r.next() < 0.25 ? r.pick(stored) : undefined
    const t = tensor(r, shared === undefined ? undefined : { shared })
    stored.push(t)
    return t
  }
}

// ===== Metadata =====

/** Sets an own, enumerable key, whatever its name (`__proto__` included). */
export const own = <V>(o: Record<string, V>, k: string, v: V): void => {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

/** A string for metadata: anything but the delimiters of torch's metadata encoding. */
const metaText = (r: Prng): string => nameOf(r).replace(/[;,()[\]]/g, "_")

const jsonValue = (r: Prng, depth: number): unknown => {
  switch (r.int(0, depth > 3 ? 5 : 7)) {
    case 0:
      return null
    case 1:
      return r.next() < 0.5
    case 2:
      return r.pick([1, 7, -3, 2 ** 40, 0.5, -2.25, 1e300, 1e-7, 123456.789])
    case 3:
      return nameOf(r, r.pick(["plain", "builtin", "unicode", "marker", "integer"]))
    case 4:
      return r.pick(["", "line\nbreak", "quote\"s", "back\\slash", "\u0001ctrl", "\u2028sep"])
    case 5:
      return Array.from({ length: r.int(0, 4) }, () => jsonValue(r, depth + 1))
    default: {
      const o: Record<string, unknown> = {}
      for (let i = r.int(0, 4); i > 0; i--) own(o, nameOf(r, r.pick(["plain", "builtin", "marker", "integer", "unicode"])), jsonValue(r, depth + 1))
      return o
    }
  }
}

/** Metadata of the types torch writes: every value truthy, so that writing keeps it. */
export const metadata = (r: Prng): Meta => {
  const meta: Meta = {}
  if (r.next() < 0.5) meta.stack_trace = `File "${metaText(r)}.py", line ${r.int(1, 9999)}, in forward\n    ${r.pick(["x = self.conv(x)", "return 名前 + 1", "\u001b[31mred\u001b[0m"])}`
  if (r.next() < 0.5) {
    const stack: Record<string, [string, string]> = {}
    for (let i = r.int(1, 4); i > 0; i--) {
      own(stack, metaText(r), [`L['self'].${metaText(r)}`, `torch.nn.modules.${metaText(r)}.Mod`])
    }
    meta.nn_module_stack = stack as never
  }
  if (r.next() < 0.4) {
    meta.source_fn_stack = Array.from({ length: r.int(1, 3) }, () => [metaText(r), `torch.${metaText(r)}`]) as never
  }
  if (r.next() < 0.4) meta.torch_fn = [metaText(r), `builtin_function_or_method.${metaText(r)}`] as never
  if (r.next() < 0.3) {
    let custom: unknown
    do custom = jsonValue(r, 0)
    while (!(typeof custom === "object" && custom !== null && !Array.isArray(custom) && Object.keys(custom).length > 0))
    meta.custom = custom as never
  }
  return meta
}

// ===== Symbols =====

interface Sym {
  readonly name: string
  readonly hint: number | null
  readonly min: number | null
  readonly max: number | null
}

const symbols = (r: Prng): Array<Sym> => {
  const out: Array<Sym> = []
  for (let i = 0, n = r.pick([0, 0, 1, 1, 2, 3]); i < n; i++) {
    const min = r.pick([1, 2, 2, 3, 8])
    const max = r.next() < 0.2 ? null : min + r.int(0, 4096)
    const hint = max === null ? min + r.int(0, 100) : r.int(min, max + 1)
    out.push({ name: `s${i}`, hint, min, max })
  }
  if (r.next() < 0.15) out.push({ name: "u0", hint: null, min: 0, max: r.next() < 0.5 ? null : r.int(0, 1000) })
  return out
}

// A product of ints and symbols as sympy's str prints it: `3*s0*s1`, `s0**2`.
const product = (factors: ReadonlyArray<number | string>): number | string => {
  let c = 1
  const powers = new Map<string, number>()
  for (const f of factors) {
    if (typeof f === "number") c *= f
    else powers.set(f, (powers.get(f) ?? 0) + 1)
  }
  if (c === 0 || powers.size === 0) return c
  const syms = [...powers].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, p]) => (p === 1 ? s : `${s}**${p}`))
  return [...(c === 1 ? [] : [String(c)]), ...syms].join("*")
}

/** A symbolic tensor meta: the first dim may be derived (`2*s0`, `s0 + 1`), the others ints or symbols. */
const symbolicMeta = (r: Prng, syms: ReadonlyArray<Sym>, dtype: string, device: string): TensorMeta => {
  const rank = r.int(1, 4)
  const shape: Array<number | string> = []
  for (let i = 0; i < rank; i++) {
    const s = syms.length > 0 && r.next() < 0.5 ? r.pick(syms).name : undefined
    if (s === undefined) shape.push(r.int(1, 6))
    else if (i === 0 && r.next() < 0.4) shape.push(r.pick([`2*${s}`, `${s} + 1`, `${s} - 1`].filter((e) => !e.includes("u0 -"))))
    else shape.push(s)
  }
  const stride = shape.map((_, i) => product(shape.slice(i + 1).map((d) => (typeof d === "number" ? Math.max(d, 1) : d))))
  return { shape, stride, storage_offset: 0, dtype, device, requires_grad: isFloating(dtype) && r.next() < 0.3 }
}

const staticMeta = (r: Prng, dtype: string, device: string): TensorMeta => {
  const shape = Array.from({ length: r.int(0, 4) }, () => r.int(0, 6))
  return { shape, stride: [...Tensor.contiguousStride(shape)], storage_offset: 0, dtype, device, requires_grad: false }
}

// ===== Programs =====

const LEAF = `{"type": null, "context": null, "children_spec": []}`
const tupleSpec = (children: ReadonlyArray<string>) => `{"type": "builtins.tuple", "context": "null", "children_spec": [${children.join(", ")}]}`
const dictSpec = (keys: ReadonlyArray<string>) =>
  `{"type": "builtins.dict", "context": ${JSON.stringify(JSON.stringify(keys).replace(/","/g, "\", \""))}, "children_spec": [${keys.map(() => LEAF).join(", ")}]}`

/** `treespec_dumps` of `((leaves...), {kwargs...})`: positional and keyword user inputs. */
export const inSpec = (positional: number, keywords: ReadonlyArray<string>): string =>
  `[1, ${tupleSpec([tupleSpec(Array(positional).fill(LEAF)), dictSpec(keywords)])}]`
/** `treespec_dumps` of an n-tuple of leaves, or a bare leaf. */
export const outSpec = (n: number, bare = false): string => (bare ? `[1, ${LEAF}]` : `[1, ${tupleSpec(Array(n).fill(LEAF))}]`)

const UNARY = ["torch.ops.aten.relu.default", "torch.ops.aten.neg.default", "torch.ops.aten.abs.default", "torch.ops.aten.sigmoid.default", "torch.ops.aten.clone.default"]
const BINARY = ["torch.ops.aten.add.Tensor", "torch.ops.aten.mul.Tensor", "torch.ops.aten.sub.Tensor", "torch.ops.aten.div.Tensor"]

const tensorOf = (n: Node): TensorMeta | undefined => {
  const v = n.meta.val
  return v !== undefined && v !== null && !Array.isArray(v) && "tensor" in v ? v.tensor : undefined
}

/** A random valid exported program. */
export const program = (r: Prng): ExportedProgram.ExportedProgram => {
  const gm = new Module.GraphModule()
  const g = gm.graph
  const names = new Names(r, { reserved: ["output"] })
  const syms = symbols(r)
  const inputSpecs: Array<Signature.InputSpec> = []
  const stateDict = new Map<string, Tensor.Tensor>()
  const constants = new Map<string, Tensor.Tensor | Tensor.ScriptObject>()
  const tensors: Array<Node> = []
  const fqns = new Set<string>()
  const fqn = () => {
    let f: string
    do f = Array.from({ length: r.int(1, 4) }, () => nameOf(r, r.pick(["plain", "builtin", "marker", "integer", "unicode", "suffix"]))).join(".")
    while (fqns.has(f))
    fqns.add(f)
    return f
  }
  const ph = (name: string, val: Val) => g.createNode("placeholder", name, [], {}, { name, exactName: true, meta: { val } })

  // Lifted state first, as torch orders it: parameters, buffers, constant tensors, custom objects.
  const newTensor = tensorMaker(r)
  const buffers: Array<string> = []
  for (let i = r.int(0, 3); i > 0; i--) {
    const t = newTensor()
    const target = fqn()
    const p = ph(names.next(), { tensor: { ...metaOf(t) } })
    inputSpecs.push({ _tag: "Parameter", arg: { _tag: "TensorArgument", name: p.name }, target })
    stateDict.set(target, t)
    tensors.push(p)
  }
  for (let i = r.int(0, 3); i > 0; i--) {
    const t = newTensor()
    const target = fqn()
    const persistent = r.next() < 0.7
    const p = ph(names.next(), { tensor: metaOf(t) })
    inputSpecs.push({ _tag: "Buffer", arg: { _tag: "TensorArgument", name: p.name }, target, persistent })
    if (persistent) stateDict.set(target, t)
    else constants.set(target, t)
    buffers.push(target)
    tensors.push(p)
  }
  for (let i = r.int(0, 2); i > 0; i--) {
    const t = newTensor()
    const target = fqn()
    const p = ph(names.next(), { tensor: metaOf(t) })
    inputSpecs.push({ _tag: "ConstantTensor", arg: { _tag: "TensorArgument", name: p.name }, target })
    constants.set(target, t)
    tensors.push(p)
  }
  if (r.next() < 0.2) {
    const target = fqn()
    const classFqn = `__torch__.torch.classes.${r.pick(["my_ns", "tensorrt_x"])}.${r.pick(["Obj", "Holder"])}`
    const p = ph(names.next(), { custom_obj: { name: target, class_fqn: classFqn } })
    inputSpecs.push({ _tag: "CustomObj", arg: { _tag: "CustomObjArgument", name: p.name, classFqn }, target })
    constants.set(target, { _tag: "ScriptObject", classFqn, state: Array.from({ length: r.int(0, 4) }, () => nameOf(r)) })
  }

  // User inputs.
  const userInputs: Array<string> = []
  const symInts: Array<Node> = []
  for (let i = r.int(1, 4); i > 0; i--) {
    const dtype = r.pick(DTYPES)
    const device = r.pick(["cpu", "cuda:0"])
    const meta = syms.length > 0 && r.next() < 0.7 ? symbolicMeta(r, syms, dtype, device) : staticMeta(r, dtype, device)
    const p = ph(names.next(), { tensor: meta })
    inputSpecs.push({ _tag: "UserInput", arg: { _tag: "TensorArgument", name: p.name } })
    userInputs.push(p.name)
    tensors.push(p)
  }
  if (syms.some((s) => s.name.startsWith("s")) && r.next() < 0.25) {
    const s = syms.find((x) => x.name.startsWith("s"))!
    const p = ph(names.next(), { sym_int: s.name })
    inputSpecs.push({ _tag: "UserInput", arg: { _tag: "SymIntArgument", name: p.name } })
    userInputs.push(p.name)
    symInts.push(p)
  }

  // The body.
  const call = (target: string, args: ReadonlyArray<Argument.Argument>, kwargs: Argument.Kwargs, val: Val) =>
    g.callFunction(target, args, kwargs, { name: names.next(), exactName: true, meta: { ...metadata(r), val } })
  // A getitem of a multi-output node: the format keeps one metadata record for both (torch's are the same).
  const getitem = (of: Node, k: number, val: Val) =>
    g.callFunction("_operator.getitem", [of, k], {}, { name: names.next(), exactName: true, meta: { ...of.meta, val } })
  const results: Array<Node> = []
  for (let i = r.int(1, 10); i > 0; i--) {
    const a = r.pick(tensors)
    const ta = tensorOf(a)!
    const out: TensorMeta = { ...ta, stride: ta.stride, requires_grad: false }
    switch (r.int(0, 7)) {
      case 0:
      case 1: {
        const n = call(r.pick(UNARY), [a], {}, { tensor: out })
        tensors.push(n)
        results.push(n)
        break
      }
      case 2:
      case 3: {
        const b = r.pick(tensors)
        const kwargs = r.next() < 0.3 && a !== b ? { alpha: r.pick<Argument.Argument>([2, Argument.float(0.5), -1]) } : {}
        const target = Object.keys(kwargs).length > 0 ? r.pick(["torch.ops.aten.add.Tensor", "torch.ops.aten.sub.Tensor"]) : r.pick(BINARY)
        const n = call(target, [a, b], kwargs, { tensor: out })
        tensors.push(n)
        results.push(n)
        break
      }
      case 4: {
        const b = r.pick(tensors)
        const n = call("torch.ops.aten.cat.default", [[a, b], r.int(-1, 1)], {}, { tensor: out })
        tensors.push(n)
        results.push(n)
        break
      }
      case 5: {
        // A symbolic size of a symbolic dim, and an int op on it.
        const dim = ta.shape.findIndex((d) => typeof d === "string" && /^[su]\d+$/.test(d))
        if (dim < 0) break
        const sym = ta.shape[dim] as string
        const size = call("torch.ops.aten.sym_size.int", [a, dim], {}, { sym_int: sym })
        symInts.push(size)
        results.push(size)
        if (sym.startsWith("s") && r.next() < 0.6) {
          const k = r.int(2, 5)
          const m = call("_operator.mul", [size, k], {}, { sym_int: `${k}*${sym}` })
          symInts.push(m)
          results.push(m)
        }
        break
      }
      default: {
        // A tuple return read by getitems (var_mean), or a list return (split).
        if (r.next() < 0.5) {
          const vm = call("torch.ops.aten.var_mean.correction", [a], { correction: r.int(0, 2), keepdim: r.next() < 0.5 }, [{ tensor: out }, { tensor: out }])
          for (const k of [0, 1]) {
            const gi = getitem(vm, k, { tensor: out })
            tensors.push(gi)
            results.push(gi)
          }
        } else {
          const parts = r.int(1, 4)
          const sp = call("torch.ops.aten.split.Tensor", [a, 1], {}, Array.from({ length: parts }, () => ({ tensor: out })))
          for (let k = 0; k < parts; k++) {
            const gi = getitem(sp, k, { tensor: out })
            tensors.push(gi)
            results.push(gi)
          }
        }
      }
    }
  }

  // Outputs: buffer mutations first, then user outputs (tensors and symbolic ints, inputs passed through).
  const outputSpecs: Array<Signature.OutputSpec> = []
  const outputs: Array<Node> = []
  const mutable = buffers.filter((b) => stateDict.has(b))
  if (mutable.length > 0 && r.next() < 0.3) {
    const target = r.pick(mutable)
    const src = r.pick(tensors)
    const n = call("torch.ops.aten.add.Tensor", [src, src], {}, { tensor: { ...tensorOf(src)!, requires_grad: false } })
    outputSpecs.push({ _tag: "BufferMutation", arg: { _tag: "TensorArgument", name: n.name }, target })
    outputs.push(n)
  }
  const pool = [...(results.length > 0 ? results : tensors), ...tensors.filter((t) => userInputs.includes(t.name))]
  const userOutputs = r.int(1, 4)
  for (let i = 0; i < userOutputs; i++) {
    const n = r.pick(pool)
    const isSym = n.meta.val !== undefined && n.meta.val !== null && !Array.isArray(n.meta.val) && "sym_int" in n.meta.val
    outputSpecs.push({ _tag: "UserOutput", arg: { _tag: isSym ? "SymIntArgument" : "TensorArgument", name: n.name } })
    outputs.push(n)
  }
  g.output(Argument.tuple(...outputs))

  const keywords = r.next() < 0.3 ? userInputs.slice(-1) : []
  gm.inSpec = inSpec(userInputs.length - keywords.length, keywords)
  gm.outSpec = outSpec(userOutputs)
  const used = new Set<string>()
  for (const n of g.nodes()) for (const s of symbolsIn(n.meta.val)) used.add(s)
  // The symbols a program holds are those its values use (a reader finds no others).
  gm.symbols = new Map(syms.filter((s) => used.has(s.name)).map((s) => [s.name, { hint: s.hint, min: s.min, max: s.max }]))
  const rangeConstraints = new Map(syms.filter((s) => used.has(s.name)).map((s) => [s.name, { min: s.min, max: s.max }] as const))
  return ExportedProgram.make({
    graphModule: gm,
    graphSignature: { inputSpecs, outputSpecs },
    stateDict,
    constants,
    rangeConstraints,
    moduleCallGraph: [{
      fqn: "",
      signature: {
        inputs: [],
        outputs: [],
        inSpec: gm.inSpec,
        outSpec: gm.outSpec,
        forwardArgNames: r.next() < 0.5 ? null : userInputs
      }
    }],
    verifiers: [r.pick(["ATEN", "TRAINING"])],
    guardsCode: r.next() < 0.3 ? [`# guard ${nameOf(r)}`] : [],
    metadata: r.next() < 0.3 ? Object.fromEntries([[nameOf(r, "plain"), nameOf(r)]]) : {}
  })
}

const metaOf = tensorMeta

const symbolsIn = (val: Val | undefined): Array<string> => {
  const out: Array<string> = []
  const texts = (v: Val | undefined): Array<string | number> => {
    if (v === undefined || v === null) return []
    if (Array.isArray(v)) return (v as ReadonlyArray<Val>).flatMap(texts)
    const t = v as Exclude<Val, ReadonlyArray<Val> | null>
    if ("tensor" in t) return [...t.tensor.shape, ...t.tensor.stride, t.tensor.storage_offset]
    if ("sym_int" in t) return [t.sym_int]
    return []
  }
  for (const x of texts(val)) if (typeof x === "string") for (const m of x.matchAll(/[su]\d+/g)) out.push(m[0])
  return out
}

// ===== Compiled modules =====

const TARGETS = [
  "torch.ops.aten.add.Tensor",
  "torch.ops.aten.relu.default",
  "_operator.getitem",
  "torch._assert",
  "builtins.getattr",
  "torch.ops.mylib.custom.default",
  "toString",
  "__proto__"
]

/** A random argument, of every kind the IR holds, referring to `pool`. */
export const argument = (r: Prng, pool: ReadonlyArray<Node>, depth = 0): Argument.Argument => {
  switch (r.int(0, depth > 1 ? 12 : 15)) {
    case 0:
      return pool.length > 0 ? r.pick(pool) : null
    case 1:
      return null
    case 2:
      return r.next() < 0.5
    case 3:
      return r.pick([0, -1, 7, 2 ** 53 - 1, -(2 ** 40)])
    case 4:
      return r.pick([2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n + 3n])
    case 5:
      return Argument.float(r.pick([0.5, -0, Infinity, -Infinity, NaN, 1e-300, 3]))
    case 6:
      return nameOf(r)
    case 7:
      return Argument.dtype(r.pick(DTYPES))
    case 8:
      return Argument.device(r.pick(["cpu", "cuda:0", "cuda", "meta"]))
    case 9:
      return r.next() < 0.5 ? Argument.layout("strided") : Argument.memoryFormat(r.pick(["contiguous_format", "channels_last"]))
    case 10:
      return Argument.slice(r.pick([null, 0, 1]), r.pick([null, 5, -1]), r.pick([null, 2]))
    case 11:
      return Argument.complex(r.pick([0, 1.5, -2]), r.pick([0, 2, NaN]))
    case 12:
      return Array.from({ length: r.int(0, 4) }, () => argument(r, pool, depth + 1))
    case 13:
      return Argument.tuple(...Array.from({ length: r.int(0, 4) }, () => argument(r, pool, depth + 1)))
    default:
      return Argument.dict(Array.from({ length: r.int(0, 3) }, () => [r.pick<Argument.Argument>([nameOf(r), r.int(0, 9)]), argument(r, pool, depth + 1)] as const))
  }
}

const randomVal = (r: Prng, syms: ReadonlyArray<Sym>, depth = 0): Val => {
  switch (r.int(0, depth > 0 ? 6 : 7)) {
    case 0:
    case 1:
      return { tensor: syms.length > 0 && r.next() < 0.5 ? symbolicMeta(r, syms, r.pick(DTYPES), "cuda:0") : staticMeta(r, r.pick(DTYPES), "cpu") }
    case 2:
      return r.pick<Val>([{ int: 3 }, { int: "123456789012345678901" }, { float: "nan" }, { float: 0.25 }, { bool: true }, null])
    case 3:
      return syms.length > 0 ? { sym_int: r.pick(syms).name } : { int: -7 }
    case 4:
      return { custom_obj: { name: nameOf(r), class_fqn: "__torch__.torch.classes.ns.Obj" } }
    case 5:
      return { sym_bool: "Eq(s0, 2)" }
    default:
      return Array.from({ length: r.int(0, 3) }, () => randomVal(r, syms, depth + 1))
  }
}

// A module or attribute name: never empty, never dotted (a dotted path walks children).
const attrName = (names: Names) => names.next()

/** A random compiled module: nested state-holding modules, a graph-module child, every node kind. */
export const module = (r: Prng): Module.GraphModule => {
  const root = new Module.GraphModule()
  const syms = symbols(r).filter((s) => s.name !== "u0" || r.next() < 0.5)
  const attrs: Array<string> = []
  const newTensor = tensorMaker(r)
  const fill = (mod: Module.Module, prefix: string, depth: number) => {
    const names = new Names(r, { avoid: /\./g })
    for (let i = r.int(0, 3); i > 0; i--) {
      const name = attrName(names)
      Module.registerParameter(mod, name, newTensor())
      attrs.push(prefix + name)
    }
    for (let i = r.int(0, 2); i > 0; i--) {
      const name = attrName(names)
      Module.registerBuffer(mod, name, newTensor(), r.next() < 0.7)
      attrs.push(prefix + name)
    }
    if (r.next() < 0.3) {
      const name = attrName(names)
      Module.setConstant(mod, name, r.next() < 0.7 ? newTensor() : { _tag: "ScriptObject", classFqn: "__torch__.torch.classes.ns.Obj", state: [nameOf(r), nameOf(r)] })
      attrs.push(prefix + name)
    }
    if (depth < 2) {
      for (let i = r.int(0, 3); i > 0; i--) {
        const name = attrName(names)
        const child = new Module.PlainModule(r.pick(["torch.nn.modules.linear.Linear", "torch.nn.modules.container.Sequential", "my.Mod"]))
        Module.addSubmodule(mod, name, child)
        fill(child, `${prefix}${name}.`, depth + 1)
      }
    }
  }
  fill(root, "", 0)

  // A graph-module child called by call_module.
  const subName = new Names(r, { avoid: /\./g, reserved: [...Module.namedChildren(root).map(([n]) => n), ...attrs] }).next()
  const sub = new Module.GraphModule()
  {
    const sg = sub.graph
    const names = new Names(r, { reserved: ["output"], identifiers: true })
    const an = names.next()
    const a = sg.createNode("placeholder", an, [], {}, { name: an, exactName: true })
    const b = sg.callMethod(r.pick(["view", "size", "toString", "__proto__", "contiguous"]), [a, argument(r, [a])], {}, { name: names.next(), exactName: true })
    sg.output(b)
  }
  Module.addSubmodule(root, subName, sub)

  const g = root.graph
  const names = new Names(r, { reserved: ["output"], identifiers: true })
  const pool: Array<Node> = []
  for (let i = r.int(1, 4); i > 0; i--) {
    const name = names.next()
    pool.push(g.createNode("placeholder", name, [], {}, { name, exactName: true, meta: { val: randomVal(r, syms) } }))
  }
  for (let i = r.int(1, 12); i > 0; i--) {
    const meta = { ...metadata(r), val: randomVal(r, syms) }
    const kwargs: Record<string, Argument.Argument> = {}
    for (let k = r.int(0, 3); k > 0; k--) own(kwargs, nameOf(r, r.pick(["plain", "builtin", "suffix"])), argument(r, pool))
    const args = Array.from({ length: r.int(0, 4) }, () => argument(r, pool))
    const options = { name: names.next(), exactName: true, meta }
    const kind = r.int(0, 5)
    switch (kind === 0 && attrs.length === 0 ? 1 : kind) {
      case 0:
        pool.push(g.getAttr(r.pick(attrs), options))
        break
      case 1:
        pool.push(g.callMethod(r.pick(["view", "size", "toString", "__proto__", "t"]), [pool.length > 0 ? r.pick(pool) : null, ...args], kwargs, options))
        break
      case 2:
        pool.push(g.callModule(subName, [pool.length > 0 ? r.pick(pool) : null, ...args.slice(0, 1)], {}, options))
        break
      default:
        pool.push(g.callFunction(r.pick(TARGETS), args, kwargs, options))
    }
  }
  g.output(r.next() < 0.5 ? r.pick(pool) : Argument.tuple(...pool.filter(() => r.next() < 0.5)))
  root.symbols = new Map(syms.map((s) => [s.name, { hint: s.hint, min: s.min, max: s.max }]))
  root.inSpec = r.next() < 0.3 ? null : inSpec(g.findNodes("placeholder").length, [])
  root.outSpec = r.next() < 0.3 ? null : outSpec(1, true)
  return root
}

// ===== Descriptions =====

// An argument as plain data: nodes by name, every tagged value by its fields, bigints and non-finite floats
// as text, -0 kept.
const describeArg = (a: Argument.Argument | undefined): unknown => {
  if (a === undefined) return ["undefined"]
  if (a === null || typeof a === "boolean" || typeof a === "string") return a
  if (typeof a === "number") return Object.is(a, -0) ? ["-0"] : a
  if (typeof a === "bigint") return ["bigint", String(a)]
  if (Argument.isNode(a)) return ["node", a.name]
  if (Array.isArray(a)) return ["list", ...a.map(describeArg)]
  const t = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string | Node>
  switch (t._tag) {
    case "Tuple":
      return ["tuple", ...t.items.map(describeArg)]
    case "Dict":
      return ["dict", ...t.entries.map(([k, v]) => [describeArg(k), describeArg(v)])]
    case "Float":
      return ["float", String(t.value), Object.is(t.value, -0)]
    case "Complex":
      return ["complex", String(t.real), String(t.imag)]
    case "Slice":
      return ["slice", describeArg(t.start), describeArg(t.stop), describeArg(t.step)]
    default:
      return [t._tag, JSON.stringify(t)]
  }
}

// Plain JSON with the object keys as ordered pairs, so that no key is marked or reordered.
const pairs = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(pairs)
  if (typeof v === "bigint") return ["bigint", String(v)]
  if (typeof v === "number" && Object.is(v, -0)) return ["-0"]
  if (typeof v !== "object" || v === null) return v
  return ["object", ...Object.entries(v).map(([k, x]) => [k, pairs(x)])]
}

// Torch writes only truthy metadata (`serialize_metadata`): a falsy value and no value are the same program.
const truthy = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== "" && v !== false && v !== 0 && !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0)

/**
 * A graph's nodes as plain data, by real names. `withVal` (a module's graph) includes `meta.val` and every
 * metadata value; without it (a program's graph) `meta.val` is left out and falsy metadata counts as none.
 */
export const describeGraph = (g: Module.GraphModule["graph"], withVal: boolean): unknown =>
  [...g.nodes()].map((n) => {
    const meta = Object.entries(n.meta)
      .filter(([k, v]) => v !== undefined && (withVal || (k !== "val" && truthy(v))))
      .sort(([a], [b]) => (a < b ? -1 : 1))
    return [
      n.name,
      n.op,
      n.target,
      n.args.map(describeArg),
      Object.entries(n.kwargs).map(([k, v]) => [k, describeArg(v)]),
      meta.map(([k, v]) => [k, pairs(v)])
    ]
  })

const describeTensor = (t: Tensor.Tensor | Tensor.ScriptObject): unknown =>
  t._tag === "ScriptObject"
    ? ["script", t.classFqn, t.state.map((s) => (typeof s === "string" ? s : ["bytes", Buffer.from(s).toString("base64")]))]
    : ["tensor", t.dtype, [...t.shape], [...t.stride], t.storageOffset, t.device, t.requiresGrad, Buffer.from(t.storage.bytes).toString("base64")]

/** A module tree as plain data: names, kinds, state (with bytes), graphs, symbols and specs. */
export const describeModule = (m: Module.Module): unknown => {
  const common = [
    Module.namedChildren(m).map(([k, c]) => [k, describeModule(c)]),
    [...m.parameters].map(([k, t]) => [k, describeTensor(t)]),
    [...m.buffers].map(([k, t]) => [k, describeTensor(t), !m.nonPersistent.has(k)]),
    [...m.constants].map(([k, t]) => [k, describeTensor(t)])
  ]
  if (m.kind === "graph_module") {
    return [
      "graph_module",
      ...common,
      describeGraph(m.graph, true),
      m.inSpec,
      m.outSpec,
      [...(m.symbols ?? [])].map(([k, s]) => [k, s.hint, s.min, s.max])
    ]
  }
  if (m.kind === "module") return ["module", m.type, ...common]
  return ["trt", m.name]
}

/** A program as plain data by real names (node values aside: compare the records for those). */
export const describeProgram = (ep: ExportedProgram.ExportedProgram): unknown => [
  describeGraph(ep.graphModule.graph, false),
  ep.graphSignature.inputSpecs.map((s) => pairs(s)),
  ep.graphSignature.outputSpecs.map((s) => pairs(s)),
  [...ep.stateDict].map(([k, t]) => [k, describeTensor(t)]),
  [...ep.constants].map(([k, t]) => [k, describeTensor(t)]),
  // Symbols by name: their order carries no meaning.
  [...ep.rangeConstraints].map(([k, r]) => [k, r.min, r.max]).sort(),
  [...(ep.graphModule.symbols ?? [])].map(([k, s]) => [k, s.hint, s.min, s.max]).sort(),
  ep.moduleCallGraph.map((e) => pairs(e)),
  ep.verifiers,
  ep.guardsCode,
  Object.entries(ep.metadata)
]
