/**
 * Tensors, storages, symbol ranges and signature targets in `.pt2` archives: the reader accepts every layout
 * torch's loader accepts (views ending at the storage's end, 0-d views at the last element, stride-0 views,
 * empty tensors on empty storages, a zero-byte weight file read as `torch.zeros`) and refuses, located at the
 * field and with torch's reason, what torch refuses; the writer holds an in-memory program to the same rules,
 * so that it never writes what the reader refuses. Two properties: random valid layouts of every dtype are
 * written and read back equal, and random broken ones are refused by the writer and the reader alike.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { ArchiveError } from "../../../src/archive/ArchiveError.ts"
import * as Limits from "../../../src/archive/Limits.ts"
import * as Reader from "../../../src/archive/pt2/Reader.ts"
import * as Records from "../../../src/archive/pt2/Records.ts"
import * as Writer from "../../../src/archive/pt2/Writer.ts"
import * as Zip from "../../../src/archive/zip/Zip.ts"
import * as ZipWriter from "../../../src/archive/zip/ZipWriter.ts"
import * as Argument from "../../../src/graph/Argument.ts"
import * as Meta from "../../../src/graph/Meta.ts"
import * as Module from "../../../src/graph/Module.ts"
import * as Tensor from "../../../src/graph/Tensor.ts"
import * as ExportedProgram from "../../../src/program/ExportedProgram.ts"
import type * as Signature from "../../../src/program/Signature.ts"

// ===== Programs =====

interface Weight {
  readonly fqn: string
  readonly tensor: Tensor.Tensor
  readonly kind?: "parameter" | "buffer" | "constant"
}

const placeholderName = (fqn: string) => `p_${fqn.replace(/\W/g, "_")}`

// A program that returns its weights: each is a lifted input (a parameter, a persistent buffer, or a constant
// tensor) and a user output.
const program = (
  weights: ReadonlyArray<Weight>,
  options?: {
    readonly outputSpecs?: (names: ReadonlyArray<string>) => Array<Signature.OutputSpec>
    readonly symbols?: Map<string, Module.SymbolInfo>
    readonly ranges?: Map<string, Signature.RangeConstraint>
  }
) => {
  const gm = new Module.GraphModule()
  const g = gm.graph
  const names = weights.map((w) => {
    const name = placeholderName(w.fqn)
    g.createNode("placeholder", name, [], {}, { name, exactName: true, meta: { val: Meta.tensorVal(w.tensor) } })
    return name
  })
  g.output(Argument.tuple(...names.map((n) => g.findNodes("placeholder").find((p) => p.name === n)!)))
  gm.symbols = options?.symbols
  const inputSpecs = weights.map((w, i): Signature.InputSpec => {
    const arg = { _tag: "TensorArgument" as const, name: names[i]! }
    if (w.kind === "parameter") return { _tag: "Parameter", arg, target: w.fqn }
    if (w.kind === "constant") return { _tag: "ConstantTensor", arg, target: w.fqn }
    return { _tag: "Buffer", arg, target: w.fqn, persistent: true }
  })
  return ExportedProgram.make({
    graphModule: gm,
    graphSignature: {
      inputSpecs,
      outputSpecs: options?.outputSpecs?.(names) ?? names.map((name) => ({ _tag: "UserOutput", arg: { _tag: "TensorArgument", name } }))
    },
    stateDict: new Map(weights.filter((w) => w.kind !== "constant").map((w) => [w.fqn, w.tensor])),
    constants: new Map(weights.filter((w) => w.kind === "constant").map((w) => [w.fqn, w.tensor])),
    rangeConstraints: options?.ranges ?? new Map(),
    moduleCallGraph: []
  })
}

const bytes = (n: number) => new Uint8Array(n).map((_, i) => (i * 37 + 11) & 0xff)

// ===== Archives =====

const ROOT = "archive"
const WEIGHTS = `${ROOT}/data/weights/model_weights_config.json`
const MODEL = `${ROOT}/models/model.json`

const unzip = (archive: Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open({ _tag: "Bytes", bytes: archive, label: "t" })
    const out = new Map<string, Uint8Array>()
    for (const name of zip.entries.keys()) out.set(name, yield* zip.read(name))
    return out
  }))
const rezip = (entries: ReadonlyMap<string, Uint8Array>) =>
  ZipWriter.toBytes([...entries].map(([name, data]) => ({ name, data, compress: false })))
const editJson = (entries: Map<string, Uint8Array>, name: string, f: (j: any) => void) => {
  const j = JSON.parse(new TextDecoder().decode(entries.get(name)))
  f(j)
  entries.set(name, new TextEncoder().encode(JSON.stringify(j)))
}

// The archive of a valid program, with edits, read back; the error it fails with.
const edited = (ep: ExportedProgram.ExportedProgram, edit: (entries: Map<string, Uint8Array>) => void) =>
  Effect.gen(function*() {
    const entries = yield* unzip(yield* Writer.toBytes(ep))
    edit(entries)
    return yield* rezip(entries)
  })
const refusal = (archive: Effect.Effect<Uint8Array, ArchiveError>) =>
  Effect.gen(function*() {
    const e = yield* Effect.flip(Effect.flatMap(archive, (b) => Reader.readBytes(b, "bad.pt2")))
    assert.instanceOf(e, ArchiveError)
    return e
  })
const writeRefusal = (ep: ExportedProgram.ExportedProgram) =>
  Effect.gen(function*() {
    const e = yield* Effect.flip(Writer.toBytes(ep))
    assert.instanceOf(e, ArchiveError)
    return e
  })

// The bytes a view reads, element by element.
const elements = (t: Tensor.Tensor): Array<number> => {
  const item = Tensor.itemSize(t.dtype)!
  const out: Array<number> = []
  const walk = (dim: number, at: number): void => {
    if (dim === t.shape.length) {
      for (let b = 0; b < item; b++) out.push(t.storage.bytes[at * item + b]!)
      return
    }
    for (let i = 0; i < t.shape[dim]!; i++) walk(dim + 1, at + i * t.stride[dim]!)
  }
  walk(0, t.storageOffset)
  return out
}

const assertSameTensors = (
  a: ReadonlyMap<string, Tensor.Tensor | Tensor.ScriptObject>,
  b: ReadonlyMap<string, Tensor.Tensor | Tensor.ScriptObject>
) => {
  assert.deepStrictEqual([...b.keys()], [...a.keys()])
  for (const [fqn, t] of a) {
    const u = b.get(fqn) as Tensor.Tensor
    const fields = (x: Tensor.Tensor) => [x.dtype, x.shape, x.stride, x.storageOffset, x.device, x.requiresGrad]
    assert.deepStrictEqual(fields(u), fields(t as Tensor.Tensor), fqn)
    assert.deepStrictEqual(elements(u), elements(t as Tensor.Tensor), `${fqn}: elements`)
  }
}

const f32 = (storage: Tensor.Storage, shape: Array<number>, extra?: Partial<Parameters<typeof Tensor.make>[0]>) =>
  Tensor.make({ storage, dtype: "float32", shape, ...extra })

// ===== Storage bounds =====

describe("pt2 storages: every layout torch accepts reads back", () => {
  it.effect("views that end at the storage's end, 0-d at the last element, stride 0, empty on an empty storage", () =>
    Effect.gen(function*() {
      const s = Tensor.storage(bytes(24))
      const ep = program([
        { fqn: "bn.weight", tensor: f32(s, [2], { storageOffset: 4 }), kind: "parameter" },
        { fqn: "bn.last", tensor: f32(s, [], { storageOffset: 5 }) },
        { fqn: "bn.rows", tensor: f32(s, [7, 3], { stride: [0, 1], storageOffset: 3 }) },
        { fqn: "bn.t", tensor: f32(s, [3, 2], { stride: [1, 3] }) },
        { fqn: "empty", tensor: f32(Tensor.storage(new Uint8Array(0)), [0, 3]) },
        { fqn: "empty_far", tensor: f32(Tensor.storage(new Uint8Array(0)), [4, 0], { stride: [1, 1], storageOffset: 9 }) }
      ])
      const back = (yield* Reader.readBytes(yield* Writer.toBytes(ep))).program
      assertSameTensors(ep.stateDict, back.stateDict)
      // The five views of one storage stay one storage.
      const storages = new Set([...back.stateDict.values()].slice(0, 4).map((t) => t.storage))
      assert.strictEqual(storages.size, 1)
    }))

  it.effect("a view one element past the end is refused by the writer and the reader, at the entry's meta, with torch's message", () =>
    Effect.gen(function*() {
      const s = Tensor.storage(bytes(24))
      const past = program([{ fqn: "bn.weight", tensor: f32(s, [2], { storageOffset: 5 }) }])
      const w = yield* writeRefusal(past)
      assert.strictEqual(w.fault, "StorageTooSmall")
      // The path is well formed: a dotted FQN is a quoted key, never `$.config$["bn.weight"]`.
      assert.strictEqual(w.path, '$.config["bn.weight"].tensor_meta')
      const ok = program([{ fqn: "bn.weight", tensor: f32(s, [2], { storageOffset: 4 }) }])
      const r = yield* refusal(edited(ok, (m) => editJson(m, WEIGHTS, (j) => void (j.config["bn.weight"].tensor_meta.storage_offset = { as_int: 5 }))))
      assert.deepStrictEqual([r.fault, r.entry, r.path], ["StorageTooSmall", WEIGHTS, '$.config["bn.weight"].tensor_meta'])
      const quote = "setStorage: sizes [2], strides [1], storage offset 5, and itemsize 4 requiring a storage size of 28 are out of bounds for storage of size 24"
      assert.include(r.detail, quote)
      assert.include(w.detail, quote)
      assert.include(r.detail, `${ROOT}/data/weights/weight_0`)
    }))

  it.effect("a storage shared by two dtypes: one file per dtype, each a whole number of its elements", () =>
    Effect.gen(function*() {
      // 7 bytes: a float32 view of the first 4, and uint8 views of all of them.
      const s = Tensor.storage(bytes(7))
      const ep = program([
        { fqn: "f", tensor: f32(s, [1]) },
        { fqn: "u", tensor: Tensor.make({ storage: s, dtype: "uint8", shape: [7] }) },
        { fqn: "g", tensor: f32(s, [1], { device: "cuda:0" }) }
      ])
      const entries = yield* unzip(yield* Writer.toBytes(ep))
      const config = JSON.parse(new TextDecoder().decode(entries.get(WEIGHTS))).config
      assert.deepStrictEqual([config.f.path_name, config.u.path_name, config.g.path_name], ["weight_0", "weight_1", "weight_2"])
      // torch's loader reads a file as whole elements: the trailing 3 bytes no float32 view reaches are left out.
      assert.deepStrictEqual(entries.get(`${ROOT}/data/weights/weight_0`), bytes(4))
      assert.deepStrictEqual(entries.get(`${ROOT}/data/weights/weight_1`), bytes(7))
      const back = (yield* Reader.readBytes(yield* rezip(entries))).program
      assertSameTensors(ep.stateDict, back.stateDict)
    }))
})

// ===== Weight files =====

describe("pt2 weight files, as torch's loader reads them", () => {
  const s = () => Tensor.storage(bytes(24))
  const ep = () =>
    program([
      { fqn: "a", tensor: f32(s(), [2, 3]), kind: "parameter" },
      { fqn: "b", tensor: Tensor.make({ storage: Tensor.storage(bytes(16)), dtype: "int64", shape: [2] }) }
    ])

  it.effect("a zero-byte file is torch.zeros of its first entry's sizes; the other entries are views of it", () =>
    Effect.gen(function*() {
      const base = ep()
      const r = yield* Reader.readBytes(yield* edited(base, (m) => m.set(`${ROOT}/data/weights/weight_0`, new Uint8Array(0))))
      const a = r.program.stateDict.get("a")!
      assert.deepStrictEqual(a.storage.bytes, new Uint8Array(24))
      assert.deepStrictEqual([a.shape, a.stride, a.requiresGrad], [[2, 3], [3, 1], false])
      // A second entry of the file that fits in the zeros reads; one that does not is refused as torch does.
      const shared = (storageOffset: number) =>
        program([
          { fqn: "a", tensor: f32(s(), [2, 3]) },
          { fqn: "tail", tensor: f32(s(), [1], { storageOffset }) }
        ])
      const share = (m: Map<string, Uint8Array>) => {
        m.set(`${ROOT}/data/weights/weight_0`, new Uint8Array(0))
        editJson(m, WEIGHTS, (j) => void (j.config.tail.path_name = "weight_0"))
      }
      const fits = yield* Reader.readBytes(yield* edited(shared(5), share))
      assert.strictEqual(fits.program.stateDict.get("tail")!.storage, fits.program.stateDict.get("a")!.storage)
      const past = yield* refusal(edited(shared(6), share))
      assert.deepStrictEqual([past.fault, past.path], ["StorageTooSmall", "$.config.tail.tensor_meta"])
    }))

  it.effect("zeros beyond the limits are refused before they are made", () =>
    Effect.gen(function*() {
      const big = program([{ fqn: "a", tensor: f32(Tensor.storage(new Uint8Array(0)), [0]) }])
      const archive = yield* edited(big, (m) => editJson(m, WEIGHTS, (j) => {
        j.config.a.tensor_meta.sizes = [{ as_int: 2 ** 20 }, { as_int: 2 ** 20 }]
        j.config.a.tensor_meta.strides = [{ as_int: 2 ** 20 }, { as_int: 1 }]
      }))
      const e = yield* Effect.flip(Reader.readBytes(archive).pipe(Effect.provideService(Limits.Limits, { ...Limits.defaults, entryBytes: 2 ** 30 })))
      assert.deepStrictEqual([e.fault, e.entry, e.path], ["EntryTooLarge", WEIGHTS, "$.config.a.tensor_meta.sizes"])
      assert.include(e.detail, "torch.zeros([1048576, 1048576])")
    }))

  it.effect("a file that is not a whole number of its dtype's elements (torch's frombuffer message)", () =>
    Effect.gen(function*() {
      const e = yield* refusal(edited(ep(), (m) => m.set(`${ROOT}/data/weights/weight_0`, bytes(26))))
      assert.deepStrictEqual([e.fault, e.entry, e.path], ["SchemaMismatch", WEIGHTS, "$.config.a.tensor_meta.dtype"])
      assert.include(e.detail, "buffer length (26 bytes) after offset (0 bytes) must be a multiple of element size (4)")
    }))

  it.effect("entries of one file with another dtype or device than its first (torch would silently convert them)", () =>
    Effect.gen(function*() {
      const two = program([{ fqn: "a", tensor: f32(s(), [2]) }, { fqn: "c", tensor: f32(s(), [2]) }])
      const dtype = yield* refusal(edited(two, (m) =>
        editJson(m, WEIGHTS, (j) => {
          j.config.c.path_name = "weight_0"
          j.config.c.tensor_meta.dtype = Records.dtypeCode("int32")
        })))
      assert.deepStrictEqual([dtype.fault, dtype.path], ["SchemaMismatch", "$.config.c.tensor_meta.dtype"])
      const device = yield* refusal(edited(two, (m) =>
        editJson(m, WEIGHTS, (j) => {
          j.config.c.path_name = "weight_0"
          j.config.c.tensor_meta.device = { type: "cuda", index: 0 }
        })))
      assert.deepStrictEqual([device.fault, device.path], ["SchemaMismatch", "$.config.c.tensor_meta.device"])
    }))

  it.effect("a parameter whose payload is not one (torch's verifier message)", () =>
    Effect.gen(function*() {
      const e = yield* refusal(edited(ep(), (m) => editJson(m, WEIGHTS, (j) => void (j.config.a.is_param = false))))
      assert.deepStrictEqual([e.fault, e.entry, e.path], ["SchemaMismatch", WEIGHTS, "$.config.a.is_param"])
      assert.include(e.detail, "State dict entry for parameter a is not an instance of torch.nn.Parameter.")
    }))
})

describe("pt2 constants, as torch's loader tells them apart", () => {
  const withConstant = () =>
    program([{ fqn: "c", tensor: f32(Tensor.storage(bytes(8)), [2]), kind: "constant" }])
  const CONSTANTS = `${ROOT}/data/constants/model_constants_config.json`

  it.effect("a constant tensor's file reads as a weight's does (an empty one as zeros)", () =>
    Effect.gen(function*() {
      const back = yield* Reader.readBytes(yield* edited(withConstant(), (m) => m.set(`${ROOT}/data/constants/tensor_0`, new Uint8Array(0))))
      assert.deepStrictEqual((back.program.constants.get("c") as Tensor.Tensor).storage.bytes, new Uint8Array(8))
    }))

  it.effect("the file's prefix selects the decoder: neither tensor_ nor custom_obj_ is refused (torch's message)", () =>
    Effect.gen(function*() {
      const e = yield* refusal(edited(withConstant(), (m) => {
        m.set(`${ROOT}/data/constants/weight_0`, m.get(`${ROOT}/data/constants/tensor_0`)!)
        editJson(m, CONSTANTS, (j) => void (j.config.c.path_name = "weight_0"))
      }))
      assert.deepStrictEqual([e.fault, e.entry, e.path], ["SchemaMismatch", CONSTANTS, "$.config.c.path_name"])
      assert.include(e.detail, "Unsupported constant type: weight_0")
      const none = yield* refusal(edited(withConstant(), (m) => editJson(m, CONSTANTS, (j) => void (j.config.c.tensor_meta = null))))
      assert.deepStrictEqual([none.fault, none.path], ["SchemaMismatch", "$.config.c.tensor_meta"])
    }))
})

describe("pt2 constant arguments", () => {
  it.effect("an int constant beyond 2^53 in a signature is refused as written, never rounded", () =>
    Effect.gen(function*() {
      const ep = program([{ fqn: "w", tensor: f32(Tensor.storage(bytes(8)), [2]) }])
      const e = yield* refusal(edited(ep, (m) => {
        const spec = '[1, {"type": "builtins.tuple", "context": "null", "children_spec": []}]'
        editJson(m, MODEL, (j) =>
          void (j.graph_module.module_call_graph = [{
            fqn: "",
            signature: { inputs: [{ as_int: 7 }], outputs: [], in_spec: spec, out_spec: spec, forward_arg_names: null }
          }]))
        const text = new TextDecoder().decode(m.get(MODEL)).replace('{"as_int":7}', '{"as_int":9007199254740993}')
        m.set(MODEL, new TextEncoder().encode(text))
      }))
      assert.deepStrictEqual([e.fault, e.path], ["SchemaMismatch", "$.graph_module.module_call_graph[0].signature.inputs[0].as_int"])
      assert.include(e.detail, "9007199254740993")
    }))
})

// ===== Tensor metas =====

describe("pt2 tensor metas: what torch refuses, refused on reading and on writing", () => {
  const s = () => Tensor.storage(bytes(64))
  const meta = (f: (t: any) => void) => (m: Map<string, Uint8Array>) => editJson(m, WEIGHTS, (j) => f(j.config.w.tensor_meta))
  const base = () => program([{ fqn: "w", tensor: f32(s(), [2, 3]) }])

  it.effect("negative sizes, strides and offsets", () =>
    Effect.gen(function*() {
      const cases: Array<readonly [(t: any) => void, string, string]> = [
        [(t) => void (t.sizes[1] = { as_int: -3 }), "$.config.w.tensor_meta.sizes[1]", "Trying to create tensor with negative dimension -3: [2, -3]"],
        [(t) => void (t.strides[0] = { as_int: -3 }), "$.config.w.tensor_meta.strides[0]", "Negative strides are not supported at the moment, got strides: [-3, 1]"],
        [(t) => void (t.storage_offset = { as_int: -1 }), "$.config.w.tensor_meta.storage_offset", "Tensor: invalid storage offset -1"]
      ]
      for (const [f, path, quote] of cases) {
        const e = yield* refusal(edited(base(), meta(f)))
        assert.deepStrictEqual([e.fault, e.entry, e.path], ["SchemaMismatch", WEIGHTS, path])
        assert.include(e.detail, quote)
      }
      // The same layouts built in memory are refused by the writer, at the same path.
      const w = yield* writeRefusal(program([{ fqn: "w", tensor: f32(s(), [2, 3], { stride: [-3, 1] }) }]))
      assert.deepStrictEqual([w.fault, w.path], ["Unserializable", "$.config.w.tensor_meta.strides[0]"])
      const o = yield* writeRefusal(program([{ fqn: "w", tensor: f32(s(), [2], { storageOffset: -1 }) }]))
      assert.deepStrictEqual([o.fault, o.path], ["Unserializable", "$.config.w.tensor_meta.storage_offset"])
    }))

  it.effect("requires_grad on an integer tensor: refused, never silently dropped", () =>
    Effect.gen(function*() {
      const int = Tensor.make({ storage: s(), dtype: "int64", shape: [2], requiresGrad: true })
      const w = yield* writeRefusal(program([{ fqn: "w", tensor: int }]))
      assert.deepStrictEqual([w.fault, w.path], ["Unserializable", "$.config.w.tensor_meta.requires_grad"])
      const intBase = program([{ fqn: "w", tensor: { ...int, requiresGrad: false } }])
      const r = yield* refusal(edited(intBase, meta((t) => void (t.requires_grad = true))))
      assert.deepStrictEqual([r.fault, r.path], ["SchemaMismatch", "$.config.w.tensor_meta.requires_grad"])
      for (const e of [w, r]) assert.include(e.detail, "Only Tensors of floating point and complex dtype can require gradients")
    }))

  it.effect("element counts of 2^78, in a weight and in a node's value, counted exactly", () =>
    Effect.gen(function*() {
      const huge = [{ as_int: 2 ** 39 }, { as_int: 2 ** 39 }]
      const r = yield* refusal(edited(base(), meta((t) => {
        t.sizes = huge
        t.strides = [{ as_int: 2 ** 39 }, { as_int: 1 }]
      })))
      assert.deepStrictEqual([r.fault, r.path], ["SchemaMismatch", "$.config.w.tensor_meta.sizes"])
      assert.include(r.detail, "Storage size calculation overflowed")
      const v = yield* refusal(edited(base(), (m) =>
        editJson(m, MODEL, (j) => {
          j.graph_module.graph.tensor_values.p_w.sizes = huge
          j.graph_module.graph.tensor_values.p_w.strides = [{ as_int: 2 ** 39 }, { as_int: 1 }]
        })))
      assert.deepStrictEqual([v.fault, v.entry, v.path], ["SchemaMismatch", MODEL, "$.graph_module.graph.tensor_values.p_w.sizes"])
      // A node value built in memory: refused by the writer, at the node.
      const ep = base()
      const ph = ep.graphModule.graph.findNodes("placeholder")[0]!
      ph.meta = { val: { tensor: { ...Meta.tensorMeta(ep.stateDict.get("w")!), shape: [2 ** 39, 2 ** 39], stride: [2 ** 39, 1] } } }
      const w = yield* writeRefusal(ep)
      assert.deepStrictEqual([w.fault, w.node], ["Unserializable", "p_w"])
      assert.include(w.detail, "Storage size calculation overflowed")
    }))

  it.effect("a negative size in a node's value", () =>
    Effect.gen(function*() {
      const v = yield* refusal(edited(base(), (m) =>
        editJson(m, MODEL, (j) => void (j.graph_module.graph.tensor_values.p_w.sizes[0] = { as_int: -1 }))))
      assert.deepStrictEqual([v.fault, v.path], ["SchemaMismatch", "$.graph_module.graph.tensor_values.p_w.sizes[0]"])
    }))
})

// ===== Ranges =====

describe("pt2 range_constraints", () => {
  const dynamic = (range: Signature.RangeConstraint, hint: number | null) => {
    const ep = program([{ fqn: "w", tensor: f32(Tensor.storage(bytes(8)), [2]) }], {
      symbols: new Map([["s0", { hint, min: range.min, max: range.max }]]),
      ranges: new Map([["s0", range]])
    })
    const ph = ep.graphModule.graph.createNode("placeholder", "x", [], {}, {
      name: "x",
      exactName: true,
      meta: { val: { tensor: { shape: ["s0"], stride: [1], storage_offset: 0, dtype: "float32", device: "cpu", requires_grad: false } } }
    })
    return ExportedProgram.make({
      ...ep,
      graphSignature: { ...ep.graphSignature, inputSpecs: [...ep.graphSignature.inputSpecs, { _tag: "UserInput", arg: { _tag: "TensorArgument", name: ph.name } }] }
    })
  }

  it.effect("a valid range reads back, unbounded ends included", () =>
    Effect.gen(function*() {
      const back = (yield* Reader.readBytes(yield* Writer.toBytes(dynamic({ min: 2, max: null }, 4)))).program
      assert.deepStrictEqual(back.rangeConstraints.get("s0"), { min: 2, max: null })
      assert.strictEqual(back.graphModule.symbols?.get("s0")?.hint, 4)
    }))

  it.effect("min above max, and a hint outside the range: refused on reading and on writing", () =>
    Effect.gen(function*() {
      const range = (f: (rc: any) => void) => (m: Map<string, Uint8Array>) => editJson(m, MODEL, (j) => f(j.range_constraints.s0))
      const inverted = yield* refusal(edited(dynamic({ min: 2, max: 64 }, 4), range((rc) => void (rc.min_val = 65))))
      assert.deepStrictEqual([inverted.fault, inverted.entry, inverted.path], ["SchemaMismatch", MODEL, "$.range_constraints.s0.min_val"])
      assert.include(inverted.detail, "Invalid ranges [65:64]")
      const outside = yield* refusal(edited(dynamic({ min: 2, max: 64 }, 4), range((rc) => void (rc.max_val = 3))))
      assert.deepStrictEqual([outside.fault, outside.path], ["SchemaMismatch", "$.range_constraints.s0"])
      assert.include(outside.detail, "hint 4 is not in the symbol's range [2, 3]")
      const w1 = yield* writeRefusal(dynamic({ min: 65, max: 64 }, 64))
      assert.deepStrictEqual([w1.fault, w1.path], ["Unserializable", "$.range_constraints.s0.min_val"])
      const w2 = yield* writeRefusal(dynamic({ min: 2, max: 3 }, 4))
      assert.deepStrictEqual([w2.fault, w2.path], ["Unserializable", "$.range_constraints.s0"])
    }))

  it.effect("a bound beyond 2^53 is refused as written, never rounded", () =>
    Effect.gen(function*() {
      const archive = yield* edited(dynamic({ min: 2, max: 64 }, 4), (m) => {
        const text = new TextDecoder().decode(m.get(MODEL)).replace('"max_val":64', '"max_val":9223372036854775806')
        m.set(MODEL, new TextEncoder().encode(text))
      })
      const e = yield* refusal(Effect.succeed(archive))
      assert.deepStrictEqual([e.fault, e.path], ["SchemaMismatch", "$.range_constraints.s0.max_val"])
      assert.include(e.detail, "9223372036854775806")
    }))
})

// ===== Signature targets =====

describe("pt2 signature targets", () => {
  const s = () => Tensor.storage(bytes(8))
  const mutating = (spec: (names: ReadonlyArray<string>) => Signature.OutputSpec) =>
    program([{ fqn: "buf", tensor: f32(s(), [2]) }, { fqn: "p", tensor: f32(s(), [2]), kind: "parameter" }], {
      outputSpecs: (names) => [spec(names), { _tag: "UserOutput", arg: { _tag: "TensorArgument", name: names[1]! } }]
    })
  const output = (j: any) => j.graph_module.signature.output_specs[0]

  it.effect("mutation targets that exist read back", () =>
    Effect.gen(function*() {
      const ep = mutating((names) => ({ _tag: "BufferMutation", arg: { _tag: "TensorArgument", name: names[0]! }, target: "buf" }))
      const back = (yield* Reader.readBytes(yield* Writer.toBytes(ep))).program
      assert.deepStrictEqual(back.graphSignature.outputSpecs, ep.graphSignature.outputSpecs)
    }))

  it.effect("a mutation naming no buffer, parameter or user input (torch's verifier messages)", () =>
    Effect.gen(function*() {
      const ep = mutating((names) => ({ _tag: "BufferMutation", arg: { _tag: "TensorArgument", name: names[0]! }, target: "buf" }))
      const buffer = yield* refusal(edited(ep, (m) => editJson(m, MODEL, (j) => void (output(j).buffer_mutation.buffer_name = "nope"))))
      assert.deepStrictEqual([buffer.fault, buffer.entry, buffer.path], [
        "SchemaMismatch",
        MODEL,
        "$.graph_module.signature.output_specs[0].buffer_mutation.buffer_name"
      ])
      assert.include(buffer.detail, "Buffer output p_buf does not point to a buffer that exists.")
      const user = yield* refusal(edited(ep, (m) =>
        editJson(m, MODEL, (j) => {
          j.graph_module.signature.output_specs[0] = { user_input_mutation: { arg: { name: "p_buf" }, user_input_name: "x" } }
        })))
      assert.deepStrictEqual([user.fault, user.path], ["SchemaMismatch", "$.graph_module.signature.output_specs[0].user_input_mutation.user_input_name"])
      assert.include(user.detail, "User input output p_buf does not point to a user input that exists.")
      // The writer refuses the same signature built in memory.
      const w = yield* writeRefusal(mutating((names) => ({ _tag: "ParameterMutation", arg: { _tag: "TensorArgument", name: names[0]! }, target: "buf" })))
      assert.deepStrictEqual([w.fault, w.path], ["Unserializable", "$.graph_module.signature.output_specs[0].parameter_mutation.parameter_name"])
      assert.include(w.detail, "Parameter output p_buf does not point to a parameter that exists.")
    }))

  it.effect("an empty target, and one naming state that does not exist", () =>
    Effect.gen(function*() {
      const w = yield* writeRefusal(program([{ fqn: "", tensor: f32(s(), [2]) }]))
      assert.deepStrictEqual([w.fault, w.path], ["Unserializable", "$.graph_module.signature.input_specs[0].buffer.buffer_name"])
      const dots = yield* writeRefusal(program([{ fqn: "a..b", tensor: f32(s(), [2]) }]))
      assert.include(dots.detail, "not an attribute path")
      const ep = program([{ fqn: "p", tensor: f32(s(), [2]), kind: "parameter" }])
      const missing = yield* refusal(edited(ep, (m) =>
        editJson(m, MODEL, (j) => void (j.graph_module.signature.input_specs[0].parameter.parameter_name = "q"))))
      assert.deepStrictEqual([missing.fault, missing.path], ["SchemaMismatch", "$.graph_module.signature.input_specs[0].parameter.parameter_name"])
      assert.include(missing.detail, "Parameter q is not in the state dict.")
      const empty = yield* refusal(edited(ep, (m) =>
        editJson(m, MODEL, (j) => void (j.graph_module.signature.input_specs[0].parameter.parameter_name = ""))))
      assert.include(empty.detail, "not an attribute path")
    }))
})

// ===== Properties =====

// Every dtype torch can write, and whether it can require grad.
const DTYPES = Object.keys(Records.DTYPE_CODES) as Array<Records.DTypeName>

const Dim = Schema.Struct({
  size: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 4 })),
  // How the stride departs from contiguous: kept, zero (overlapping), or padded (non-contiguous).
  stride: Schema.Literals(["contiguous", "zero", "padded"])
})
const View = Schema.Struct({
  dtype: Schema.Literals(DTYPES),
  dims: Schema.Array(Dim).check(Schema.isMaxLength(4)),
  transpose: Schema.Boolean,
  offset: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 5 })),
  // Bytes after the view's end: 0 puts the last element at the storage's last byte.
  slack: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 9 })),
  grad: Schema.Boolean,
  parameter: Schema.Boolean,
  cuda: Schema.Boolean,
  // Put this view on the previous view's storage (growing it to fit).
  share: Schema.Boolean
})
const Views = Schema.Array(View).check(Schema.isMinLength(1), Schema.isMaxLength(6))

// A valid layout of every view: strides derived from the shape, the storage sized to reach the furthest view.
const build = (views: typeof Views.Type): Array<Weight> => {
  const layouts = views.map((v) => {
    const shape = v.dims.map((d) => d.size)
    let stride = [...Tensor.contiguousStride(shape)].map((s, i) => (v.dims[i]!.stride === "zero" ? 0 : v.dims[i]!.stride === "padded" ? s * 2 + 1 : s))
    let dims = shape
    if (v.transpose && shape.length >= 2) {
      dims = [...shape].reverse()
      stride = [...stride].reverse()
    }
    const requiresGrad = v.grad && Tensor.isDifferentiable(v.dtype)
    return { v, layout: { dtype: v.dtype, shape: dims, stride, storageOffset: v.offset, requiresGrad } }
  })
  // Storage groups: a view shares the previous one's storage when it asks to.
  const groups: Array<Array<number>> = []
  layouts.forEach(({ v }, i) => (v.share && groups.length > 0 ? groups[groups.length - 1]!.push(i) : groups.push([i])))
  const out: Array<Weight> = []
  for (const group of groups) {
    const size = Math.max(...group.map((i) => Number(Tensor.bytesSpanned(layouts[i]!.layout)) + layouts[i]!.v.slack))
    const storage = Tensor.storage(bytes(size))
    for (const i of group) {
      const { v, layout } = layouts[i]!
      out.push({
        fqn: `m${i}.${v.parameter ? "weight" : "buf"}`,
        kind: v.parameter ? "parameter" : "buffer",
        tensor: Tensor.make({ storage, ...layout, device: v.cuda ? "cuda:0" : "cpu" })
      })
    }
  }
  return out
}

// How a valid view is broken, and what the rule then says.
const Break = Schema.Literals(["negativeSize", "negativeStride", "negativeOffset", "intGrad", "overflow", "pastEnd"])

const broken = (w: Weight, how: typeof Break.Type): Tensor.Tensor => {
  const t = w.tensor
  switch (how) {
    case "negativeSize":
      return { ...t, shape: [-2, ...t.shape], stride: [1, ...t.stride] }
    case "negativeStride":
      return { ...t, shape: [2, ...t.shape], stride: [-1, ...t.stride] }
    case "negativeOffset":
      return { ...t, storageOffset: -1 - t.storageOffset }
    case "intGrad":
      return { ...t, dtype: "int32", requiresGrad: true }
    case "overflow":
      return { ...t, shape: [2 ** 40, 2 ** 40], stride: [2 ** 40, 1] }
    case "pastEnd":
      return { ...t, shape: [2], stride: [1], storageOffset: t.storage.bytes.byteLength }
  }
}

// The same tensor meta as the writer would write it, for a reader-side edit.
const recordOf = (t: Tensor.Tensor) => ({
  dtype: Records.dtypeCode(t.dtype),
  sizes: t.shape.map((x) => ({ as_int: x })),
  requires_grad: t.requiresGrad,
  device: t.device === "cpu" ? { type: "cpu", index: null } : { type: "cuda", index: 0 },
  strides: t.stride.map((x) => ({ as_int: x })),
  storage_offset: { as_int: t.storageOffset },
  layout: Records.LAYOUT_CODES.strided
})

describe("pt2 tensor properties", () => {
  it.effect.prop("random valid layouts of every dtype are written and read back equal, sharing kept", { views: Views }, ({ views }) =>
    Effect.gen(function*() {
      const weights = build(views)
      const ep = program(weights)
      const back = (yield* Reader.readBytes(yield* Writer.toBytes(ep))).program
      assertSameTensors(ep.stateDict, back.stateDict)
      // Views of one storage with one dtype and device share one storage again.
      for (const a of weights) {
        for (const b of weights) {
          const same = a.tensor.storage === b.tensor.storage && a.tensor.dtype === b.tensor.dtype && a.tensor.device === b.tensor.device
          assert.strictEqual(back.stateDict.get(a.fqn)!.storage === back.stateDict.get(b.fqn)!.storage, same, `${a.fqn} ${b.fqn}`)
        }
      }
      // And the archive is a fixpoint.
      assert.deepStrictEqual(yield* Writer.toBytes(back), yield* Writer.toBytes(ep))
    }), { arbitrary: { runs: 150 } })

  it.effect.prop(
    "random broken layouts are refused by the writer and by the reader, with the same rule at the same path",
    { views: Views, how: Break, which: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 5 })) },
    ({ views, how, which }) =>
      Effect.gen(function*() {
        const weights = build(views)
        const i = which % weights.length
        const target = weights[i]!
        // A zero-byte file is read as zeros of its first entry's sizes (torch's loader), so a view past the end
        // of an empty storage is no fault there: break such a view another way.
        const item = Tensor.itemSize(target.tensor.dtype)!
        const empty = target.tensor.storage.bytes.byteLength < item
        const bad = broken(target, how === "pastEnd" && empty ? "negativeOffset" : how)
        const past = how === "pastEnd" && !empty
        const w = yield* writeRefusal(program(weights.map((x, j) => (j === i ? { ...x, tensor: bad } : x))))
        // The reader, given the valid program's archive with the same tensor meta written in.
        const r = yield* refusal(edited(program(weights), (m) =>
          editJson(m, WEIGHTS, (j) => {
            const entry = j.config[target.fqn]
            entry.tensor_meta = recordOf(bad)
          })))
        assert.strictEqual(w.entry, WEIGHTS)
        assert.strictEqual(r.entry, WEIGHTS)
        assert.strictEqual(w.path, r.path, `${how}: ${w.detail} / ${r.detail}`)
        assert.strictEqual(w.fault === "StorageTooSmall", past)
        assert.strictEqual(r.fault === "StorageTooSmall", past)
        // The rule's words are the same on both sides (the writer prefixes the FQN, the reader the file too).
        const rule = r.detail.slice(r.detail.indexOf(past ? "the view reaches" : ""))
        assert.include(w.detail, rule)
      }),
    { arbitrary: { runs: 150 } }
  )
})
