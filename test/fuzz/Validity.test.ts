/**
 * Valid input read, invalid input refused: the reader accepts every layout torch accepts and refuses,
 * located, what torch's loader or Python's `zipfile` refuse. Each family's right outcome is known, and each
 * case is held to it exactly.
 *
 * Valid (must read): random weight layouts that end exactly at their file's last byte (offsets, stride-0
 * and overlapping views, transposes, 0-d views at the last element, empty views of empty files, two views
 * sharing one file), zero-byte weight files of contiguous tensors (torch loads zeros), and output files
 * whose names are 200 to 255 bytes long.
 *
 * Invalid (must be refused): negative sizes, strides and offsets, files whose size is not a multiple of the
 * element size, `requires_grad` on integer weights, element counts past 2^63, in the weights and in the
 * graph's values of both formats; symbol ranges with `min > max` or a hint outside them; empty targets;
 * mutations of state or inputs that do not exist; and zip structures `zipfile` refuses: a local header whose
 * name, method or encryption bit disagrees with its directory record, an end record whose directory size
 * is 0, 0xffffffff or not the directory's, forged counts and offsets.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Pickle from "../../src/archive/pt2/Pickle.ts"
import * as Records from "../../src/archive/pt2/Records.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Tensor from "../../src/graph/Tensor.ts"
import { expectFault, expectOk, outcome, Plan, runCases, Tally, timeout } from "../utils/FuzzKit.ts"
import * as H from "../utils/Hostile.ts"
import { bytes as randomBytes, layout } from "../utils/RandomProgram.ts"
import * as C from "../utils/TgmCraft.ts"
import { type ForgeEntry, forge } from "../utils/ZipForge.ts"

const { baseProgram } = H

const tally = new Tally("validity fuzz")
const plan = new Plan()

const DTYPES = ["float32", "float16", "bfloat16", "float64", "int64", "int32", "int8", "uint8", "bool", "complex64", "float8_e5m2"]
const INTS = ["int64", "int32", "int16", "int8", "uint8", "bool"]

const ints = (xs: ReadonlyArray<number | bigint>) => xs.map((x) => ({ as_int: x }))

// A pt2 tensor_meta record.
const tensorMeta = (dtype: string, shape: ReadonlyArray<number | bigint>, stride: ReadonlyArray<number | bigint>, offset: number | bigint, requiresGrad = false) => ({
  dtype: Records.dtypeCode(dtype),
  sizes: ints(shape),
  requires_grad: requiresGrad,
  device: { type: "cpu", index: null },
  strides: ints(stride),
  storage_offset: { as_int: offset },
  layout: 7
})

// The weight `fqn` of the base given a new meta and file, its placeholder's value kept in step.
const setWeight = (rec: { model: C.Json; weights: C.Json }, fqn: string, meta: C.Json, file = "weight_0") => {
  rec.weights.config[fqn].tensor_meta = meta
  rec.weights.config[fqn].path_name = file
  const ph = fqn === "layer.weight" ? "p_layer_weight" : "b_layer_running"
  rec.model.graph_module.graph.tensor_values[ph] = meta
}

// ===== Valid layouts =====

describe("valid input read", () => {
  const n = plan.family("valid: weight layouts (.pt2)", 600)
  it.live(`${n} weights of random layouts ending at their file's last byte read back as written`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      yield* runCases(n, "layout-pt2", (label, r, i) => Effect.gen(function*() {
        const dtype = r.pick(DTYPES)
        const item = Tensor.itemSize(dtype)!
        const a = layout(r)
        const special = r.int(0, 6)
        if (special === 0) Object.assign(a, { shape: [], stride: [], offset: r.int(0, 9) }) // a 0-d view at the last element
        if (special === 1) Object.assign(a, { shape: [0, r.int(1, 4)], stride: [r.int(0, 4), 1], offset: 0 }) // empty on an empty file
        const span = Tensor.elementsSpanned({ shape: a.shape, stride: a.stride, storageOffset: a.offset })
        // A second view of the same file (stride 0, overlapping), inside it.
        const shared = r.next() < 0.4 && span > 0
        const stride = r.pick([0, 1])
        const b = shared ? { shape: [stride === 0 ? r.int(1, 5) : r.int(1, Math.min(span, 5) + 1)], stride: [stride], offset: 0 } : undefined
        if (b !== undefined) b.offset = span - 1 - (b.shape[0]! - 1) * b.stride[0]!
        const file = randomBytes(r, span * item)
        const grad = /^(float|bfloat|complex)/.test(dtype) && r.next() < 0.5
        const bytes = H.editPt2(base, (rec) => {
          setWeight(rec, "layer.weight", tensorMeta(dtype, a.shape, a.stride, a.offset, grad))
          if (b !== undefined) setWeight(rec, "layer.running", tensorMeta(dtype, b.shape, b.stride, b.offset))
        }, { replace: { [`${base.root}data/weights/weight_0`]: file, ...(b !== undefined ? { [`${base.root}data/weights/weight_1`]: undefined } : {}) } })
        const o = yield* H.pt2Case(tally, "valid: weight layouts (.pt2)", `${label} ${dtype} [${a.shape}] stride [${a.stride}] offset ${a.offset}${b ? " + a shared view" : ""}`, bytes, "ok", { roundTrip: i % 4 === 0 })
        if (o._tag === "ok") {
          const t = o.value.program.stateDict.get("layer.weight")!
          assert.deepStrictEqual([t.dtype, [...t.shape], [...t.stride], t.storageOffset, t.storage.bytes.byteLength], [dtype, a.shape, a.stride, a.offset, file.length], label)
          if (b !== undefined) assert.strictEqual(o.value.program.stateDict.get("layer.running")!.storage, t.storage, `${label}: the views no longer share their file`)
        }
      }))
    }), timeout(60_000))

  const t = plan.family("valid: weight layouts (.tgm)", 300)
  it.live(`${t} .tgm state of random layouts ending at their storage's last byte`, () =>
    Effect.gen(function*() {
      yield* runCases(t, "layout-tgm", (label, r, i) => Effect.gen(function*() {
        const dtype = r.pick(DTYPES)
        const item = Tensor.itemSize(dtype)!
        const a = layout(r)
        const span = Tensor.elementsSpanned({ shape: a.shape, stride: a.stride, storageOffset: a.offset })
        const entries = C.tinyEntries().map((e) => (e.name === "tensors/0" ? { ...e, data: randomBytes(r, span * item) } : e))
        const bytes = forge(C.mapJson(entries, "module.json", (m) => {
          Object.assign(m.children.lin.parameters.weight, { dtype, shape: a.shape, stride: a.stride, storage_offset: span === 0 ? 0 : a.offset, requires_grad: false })
        }).map((e) => ({ name: e.name, data: e.data })))
        yield* H.tgmCase(tally, "valid: weight layouts (.tgm)", `${label} ${dtype} [${a.shape}] stride [${a.stride}] offset ${a.offset}`, bytes, "ok", { roundTrip: i % 4 === 0 })
      }))
    }), timeout(60_000))

  const z = plan.family("valid: zero-byte weight files", 100)
  it.live(`${z} zero-byte weight files of contiguous tensors read (torch loads them as zeros)`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      yield* runCases(z, "zero-byte", (label, r, i) => Effect.gen(function*() {
        const dtype = r.pick(DTYPES)
        const shape = Array.from({ length: r.int(0, 4) }, () => r.int(1, 5))
        const bytes = H.editPt2(base, (rec) => setWeight(rec, "layer.weight", tensorMeta(dtype, shape, Tensor.contiguousStride(shape), 0)), {
          replace: { [`${base.root}data/weights/weight_0`]: new Uint8Array(0) }
        })
        yield* H.pt2Case(tally, "valid: zero-byte weight files", `${label} ${dtype} [${shape}]`, bytes, "ok", { roundTrip: i % 2 === 0 })
      }))
    }), timeout(60_000))

  const f = plan.family("valid: long output file names", 24)
  it.live(`${f} programs and modules written under file names of 200 to 255 bytes`, () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-fuzz-names-"))
      try {
        const program = baseProgram()
        const module = yield* Tgm.readBytes(C.sampleBytes("mlp"))
        yield* runCases(f, "long-name", (label, r, i) => Effect.gen(function*() {
          const isPt2 = i % 2 === 0
          const ext = isPt2 ? ".pt2" : ".tgm"
          const unit = r.pick(["a", "é", "名", "😀"])
          const target = r.int(200, 256)
          let stem = ""
          while (Buffer.byteLength(stem + unit + ext) <= target) stem += unit
          const file = path.join(dir, stem + ext)
          const write: Effect.Effect<void, unknown> = isPt2 ? Writer.writeFile(file, program) : Tgm.writeFile(file, module)
          const w = yield* outcome(write, `${label} (${Buffer.byteLength(stem + ext)} bytes)`)
          tally.count("valid: long output file names", w)
          expectOk(w, `${label}: a ${Buffer.byteLength(stem + ext)}-byte name`)
          const read: Effect.Effect<unknown, unknown> = isPt2 ? Reader.readFile(file) : Tgm.readFile(file)
          expectOk(yield* outcome(read, `${label}: read`, { archive: file }), `${label}: read back`)
          assert.deepStrictEqual(fs.readdirSync(dir), [stem + ext], `${label}: something was left beside the file`)
          fs.rmSync(file)
        }))
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }), timeout(60_000))
})

// ===== Invalid tensors =====

describe("invalid input refused", () => {
  const n = plan.family("invalid: tensors (.pt2)", 600)
  it.live(`${n} weights and values torch refuses: negative sizes, strides, offsets, ragged files, grad on ints, 2^63 elements`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      yield* runCases(n, "bad-tensor-pt2", (label, r) => Effect.gen(function*() {
        const rule = r.pick(["negative size", "negative stride", "negative offset", "ragged file", "grad on int", "2^63 elements", "value: negative size", "value: negative stride"] as const)
        // A dtype wider than a byte whose file is not a whole number of elements (the view fits).
        const ragged = { dtype: r.pick(["float32", "float64", "int64", "float16", "int32"]), elements: r.int(1, 6) }
        const item = Tensor.itemSize(ragged.dtype)!
        // torch's numel must fit an int64 ("numel: integer multiplication overflow"), whatever the strides.
        const huge = [r.pick([2 ** 31, 2 ** 40, 2 ** 53 - 1]), r.pick([2 ** 31, 2 ** 40]), r.int(2, 2 ** 20)]
        const replace = rule === "ragged file" ? { [`${base.root}data/weights/weight_0`]: randomBytes(r, ragged.elements * item + r.int(1, item)) } : {}
        const bytes = H.editPt2(base, (rec) => {
          const w = rec.weights.config["layer.weight"].tensor_meta
          switch (rule) {
            case "negative size":
              w.sizes[r.int(0, 2)] = { as_int: -r.int(1, 5) }
              break
            case "negative stride":
              w.strides[r.int(0, 2)] = { as_int: -r.int(1, 5) }
              break
            case "negative offset":
              w.storage_offset = { as_int: -r.int(1, 100) }
              break
            case "ragged file":
              setWeight(rec, "layer.weight", tensorMeta(ragged.dtype, [ragged.elements], [1], 0))
              break
            case "grad on int":
              setWeight(rec, "layer.weight", tensorMeta(r.pick(INTS), [2], [1], 0, true))
              break
            case "2^63 elements":
              setWeight(rec, "layer.weight", tensorMeta("float32", huge, [0, 0, 0], 0))
              break
            case "value: negative size":
              rec.model.graph_module.graph.tensor_values[r.pick(["mul", "relu", "mm"])].sizes[1] = { as_int: -r.int(1, 9) }
              break
            case "value: negative stride":
              rec.model.graph_module.graph.tensor_values[r.pick(["mul", "relu", "mm"])].strides[0] = { as_int: -r.int(1, 9) }
              break
          }
        }, { replace })
        yield* H.pt2Case(tally, "invalid: tensors (.pt2)", `${label} (${rule}${rule === "2^63 elements" ? ` [${huge}]` : ""})`, bytes, "error")
      }))
    }), timeout(60_000))

  const t = plan.family("invalid: tensors (.tgm)", 300)
  it.live(`${t} .tgm state and values torch refuses`, () =>
    Effect.gen(function*() {
      yield* runCases(t, "bad-tensor-tgm", (label, r) => Effect.gen(function*() {
        const rule = r.pick(["negative size", "negative stride", "negative offset", "grad on int", "2^63 elements", "value: negative size"] as const)
        const edit = (m: C.Json) => {
          const w = m.children.lin.parameters.weight
          switch (rule) {
            case "negative size":
              w.shape[r.int(0, 2)] = -r.int(1, 5)
              break
            case "negative stride":
              w.stride[r.int(0, 2)] = -r.int(1, 5)
              break
            case "negative offset":
              w.storage_offset = -r.int(1, 9)
              break
            case "grad on int":
              Object.assign(w, { dtype: r.pick(INTS), shape: [2], stride: [1], requires_grad: true })
              break
            case "2^63 elements":
              Object.assign(w, { shape: [2 ** 31, 2 ** 31, r.int(2, 2 ** 20)], stride: [0, 0, 0] })
              break
            case "value: negative size":
              m.graph.nodes[0].meta.val = { tensor: { shape: [2, -r.int(1, 9)], stride: [1, 1], storage_offset: 0, dtype: "float32", device: "cpu", requires_grad: false } }
              break
          }
        }
        yield* H.tgmCase(tally, "invalid: tensors (.tgm)", `${label} (${rule})`, forge(C.mapJson(C.tinyEntries(), "module.json", edit)), "error")
      }))
    }), timeout(60_000))

  const g = plan.family("invalid: ranges and mutations", 500)
  it.live(`${g} symbol ranges out of order or missing their hint, mutations of what does not exist`, () =>
    Effect.gen(function*() {
      const pt2 = yield* H.pt2Base()
      yield* runCases(g, "bad-graph", (label, r) => Effect.gen(function*() {
        const rule = r.pick(["min > max", "hint above max", "hint below min", "unknown buffer mutation", "unknown parameter mutation", "unknown input mutation", "tgm: min > max", "tgm: hint out of range"] as const)
        if (rule.startsWith("tgm")) {
          const entries = C.mapJson(C.tinyEntries(), "module.json", (m) => {
            const min = r.int(2, 100)
            m.graph.symbols = { s0: rule === "tgm: min > max" ? { hint: min, min, max: min - r.int(1, 10) } : { hint: r.pick([min - 1, min + 5000]), min, max: min + r.int(0, 4000) } }
            m.graph.nodes[0].meta.val = { tensor: { shape: ["s0", 2], stride: [2, 1], storage_offset: 0, dtype: "float32", device: "cpu", requires_grad: false } }
          })
          yield* H.tgmCase(tally, "invalid: ranges and mutations", `${label} (${rule})`, forge(entries), "error")
          return
        }
        const bytes = H.editPt2(pt2, (rec) => {
          const gm = rec.model.graph_module
          const x = gm.graph.tensor_values.x.sizes[0].as_expr
          switch (rule) {
            case "min > max":
              rec.model.range_constraints.s0 = { min_val: r.int(10, 100), max_val: r.int(2, 10) }
              break
            case "hint above max":
              x.hint = { as_int: 64 + r.int(1, 1000) }
              break
            case "hint below min":
              x.hint = { as_int: r.int(-5, 2) }
              break
            case "unknown buffer mutation":
              gm.signature.output_specs[0] = { buffer_mutation: { arg: { name: "add" }, buffer_name: r.pick(["nope", "layer.weight", "table", "", "layer"]) } }
              break
            case "unknown parameter mutation":
              gm.signature.output_specs[0] = { parameter_mutation: { arg: { name: "add" }, parameter_name: r.pick(["nope", "layer.running", ""]) } }
              break
            case "unknown input mutation":
              gm.signature.output_specs[0] = { user_input_mutation: { arg: { name: "add" }, user_input_name: r.pick(["nope", "p_layer_weight", ""]) } }
              break
          }
        })
        yield* H.pt2Case(tally, "invalid: ranges and mutations", `${label} (${rule})`, bytes, "error")
      }))
    }), timeout(60_000))
})

// ===== Empty targets =====

describe("invalid input refused: empty targets", () => {
  const n = plan.family("invalid: empty targets", 200)
  it.live(`${n} nodes of every kind, and signature targets, whose target is empty`, () =>
    Effect.gen(function*() {
      const pt2 = yield* H.pt2Base()
      const tgm = yield* H.tgmBase("mlp")
      yield* runCases(n, "empty-target", (label, r) =>
        Effect.gen(function*() {
          const where = r.pick(["pt2 node", "pt2 parameter", "pt2 buffer", "pt2 constant", "tgm node", "tgm tiny node"] as const)
          if (where.startsWith("pt2")) {
            const bytes = H.editPt2(pt2, (rec) => {
              const gm = rec.model.graph_module
              if (where === "pt2 node") r.pick(gm.graph.nodes as Array<C.Json>).target = ""
              else if (where === "pt2 parameter") gm.signature.input_specs[0].parameter.parameter_name = ""
              else if (where === "pt2 buffer") gm.signature.input_specs[1].buffer.buffer_name = ""
              else gm.signature.input_specs[2].tensor_constant.tensor_constant_name = ""
            })
            yield* H.pt2Case(tally, "invalid: empty targets", `${label} (${where})`, bytes, "error")
            return
          }
          // A node of every kind: placeholder, get_attr, call_function, call_module (and output, never).
          let op = ""
          const edit = (m: C.Json) => {
            const nodes = r.pick(H.tgmGraphs(m))
            const node = r.pick(nodes.filter((x) => x.op !== "output"))
            op = node.op
            node.target = ""
          }
          const bytes = where === "tgm node" ? H.editTgm(tgm, edit) : forge(C.mapJson(C.tinyEntries(), "module.json", edit))
          yield* H.tgmCase(tally, "invalid: empty targets", `${label} (${where}: ${op})`, bytes, "error")
        }))
    }), timeout(60_000))
})

// ===== Pickle streams =====

// Opcodes the decoder knows, with an argument of the right width, and some it refuses.
const pickleOp = (r: C.Prng): Array<number> => {
  const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]
  const text = (s: string) => [...C.text(s)]
  switch (r.int(0, 24)) {
    case 0:
      return [0x28] // MARK
    case 1:
      return [0x5d] // EMPTY_LIST
    case 2:
      return [0x7d] // EMPTY_DICT
    case 3:
      return [0x29] // EMPTY_TUPLE
    case 4:
      return [r.pick([0x85, 0x86, 0x87, 0x74])] // TUPLE1-3, TUPLE
    case 5:
      return [r.pick([0x61, 0x65])] // APPEND, APPENDS
    case 6:
      return [r.pick([0x73, 0x75])] // SETITEM, SETITEMS
    case 7:
      return [0x71, r.int(0, 256)] // BINPUT
    case 8:
      return [0x68, r.int(0, 256)] // BINGET
    case 9:
      return [0x72, ...u32(r.pick([0, 1, 2 ** 31, 2 ** 32 - 1]))] // LONG_BINPUT
    case 10:
      return [0x4b, r.int(0, 256)] // BININT1
    case 11:
      return [0x4a, ...u32(r.int(0, 2 ** 32))] // BININT
    case 12:
      return [0x8c, 3, ...text(r.pick(["abc", "é_", "\u0000ab"]).slice(0, 3))] // SHORT_BINUNICODE
    case 13:
      return [0x58, ...u32(r.pick([3, 0xffffffff, 2 ** 31])), ...text("xyz")] // BINUNICODE, possibly 4 GiB declared
    case 14:
      return [0x63, ...text(r.pick(["__torch__.torch.classes.ns\nObj\n", "os\nsystem\n", "builtins\neval\n", "torch.jit._pickle\nrestore_type_tag\n", "torch.jit._pickle\nbuild_intlist\n", "__torch__.torch.classes.tensorrt\nEngine\n", "x".repeat(600)]))] // GLOBAL
    case 15:
      return [0x81] // NEWOBJ
    case 16:
      return [0x62] // BUILD
    case 17:
      return [0x52] // REDUCE
    case 18:
      return [r.pick([0x4e, 0x88, 0x89])] // NONE, NEWTRUE, NEWFALSE
    case 19:
      return [0x47, ...Array.from({ length: 8 }, () => r.int(0, 256))] // BINFLOAT
    case 20:
      return [0x8a, 2, r.int(0, 256), r.int(0, 256)] // LONG1
    case 21:
      return [r.pick([0x32, 0x30, 0x31, 0x93, 0x94, 0x95, 0x8f, 0x90, 0x92, 0x69, 0x6f, 0x50, 0x51, 0x82, 0x96, 0x97, 0x98])] // refused
    case 22:
      return [0x2e] // STOP
    default:
      return [r.int(0, 256)]
  }
}

describe("invalid input refused: pickle streams", () => {
  const n = plan.family("invalid: pickle streams", 2000)
  it.live(`${n} random pickle streams (forbidden globals, refused opcodes, memo and mark floods, deep nesting, 4 GiB strings) decode or fail, located`, () =>
    Effect.gen(function*() {
      yield* runCases(n, "pickle", (label, r) =>
        Effect.gen(function*() {
          let bytes: Array<number>
          if (r.next() < 0.5) {
            // A valid torchbind pickle (what torch writes for an engine) with a few opcodes put in or bytes changed.
            bytes = [...Pickle.encodeTorchBind("__torch__.torch.classes.tensorrt.Engine", Array.from({ length: r.int(0, 12) }, (_, k) => `field${k}`))]
            for (let k = r.int(1, 4); k > 0; k--) {
              if (r.next() < 0.5) bytes.splice(r.int(2, bytes.length), 0, ...pickleOp(r))
              else bytes[r.int(0, bytes.length)] = r.int(0, 256)
            }
          } else {
            bytes = r.next() < 0.95 ? [0x80, r.next() < 0.9 ? 2 : r.int(0, 6)] : []
            const flood = r.next() < 0.2 ? r.pick([[0x28], [0x5d], [0x5d, 0x28], [0x71, 0], [0x29, 0x71, 1, 0x68, 1, 0x86]]) : undefined
            for (let k = r.int(0, 40); k > 0; k--) bytes.push(...pickleOp(r))
            if (flood !== undefined) for (let k = r.int(100, 20_000); k > 0; k--) bytes.push(...flood)
            if (r.next() < 0.7) bytes.push(0x2e)
          }
          const location = { archive: label, entry: "data/constants/custom_obj_0", path: "archive/data.pkl" }
          const o = yield* outcome(Effect.suspend(() => Effect.fromResult(Pickle.decode(Uint8Array.from(bytes), location))), label, { archive: label, limit: "2 seconds" })
          tally.count("invalid: pickle streams", o)
          if (o._tag === "error") expectFault(o, label, ["BadPickle"])
        }))
    }), timeout(60_000))
})

// ===== Zip structure =====

describe("invalid zip structures refused", () => {
  const n = plan.family("invalid: zip structure", 3000)
  it.live(`${n} archives whose local headers or end record disagree with their directory`, () =>
    Effect.gen(function*() {
      const pt2 = yield* H.pt2Base()
      const tgm = yield* H.tgmBase("mlp")
      // The entries every read of the base reads.
      const readPt2 = [pt2.model, pt2.weights, pt2.constants, `${pt2.root}archive_format`, `${pt2.root}archive_version`, `${pt2.root}.data/version`, `${pt2.root}data/weights/weight_0`]
      const readTgm = ["format.json", "module.json", ...tgm.entries.filter((e) => /^(tensors|engines)\//.test(e.name)).map((e) => e.name)]
      yield* runCases(n, "zip", (label, r) => Effect.gen(function*() {
        const isPt2 = r.next() < 0.5
        const base = isPt2 ? pt2 : tgm
        const target = r.pick(isPt2 ? readPt2 : readTgm)
        const entries: Array<ForgeEntry> = base.entries.map((e) => ({ name: e.name, data: e.data, method: r.next() < 0.3 ? 8 : 0 }))
        const at = entries.findIndex((e) => e.name === target)
        const rule = r.pick(["local name", "local method", "local encryption", "directory size", "directory offset", "entry count"] as const)
        let e: H.Expect = ["CorruptZip"]
        let bytes: Uint8Array
        const cdSize = (xs: ReadonlyArray<ForgeEntry>) => xs.reduce((s, x) => s + 46 + C.text(x.name).length, 0)
        switch (rule) {
          case "local name": {
            const name = entries[at]!.name
            const other = r.pick([name.toUpperCase(), name.slice(0, -1) + (name.endsWith("x") ? "y" : "x"), `${name}x`, name.slice(1), `../${name}`, "module.json", r.pick(base.entries).name])
            entries[at] = { ...entries[at]!, local: { name: other === name ? `${name}_` : other } }
            bytes = forge(entries)
            break
          }
          case "local method": {
            const method = entries[at]!.method ?? 0
            entries[at] = { ...entries[at]!, local: { method: r.pick(method === 8 ? [0, 12, 14] : [8, 12, 99]) } }
            bytes = forge(entries)
            break
          }
          case "local encryption":
            entries[at] = { ...entries[at]!, local: { flags: 0x1 | (r.next() < 0.5 ? 0x40 : 0) } }
            bytes = forge(entries)
            break
          case "directory size": {
            const real = cdSize(entries)
            const size = r.pick([0, 0xffffffff, real - 1, real + 1, real + 46, Math.max(1, real - 46), r.int(1, 2 ** 32 - 1)])
            bytes = forge(entries, { cdSize: size === real ? real + 1 : size })
            break
          }
          case "directory offset": {
            const plain = forge(entries)
            const real = new DataView(plain.buffer).getUint32(plain.length - 6, true)
            bytes = forge(entries, { cdOffset: r.pick([0, real - 1, real + 1, real + r.int(2, 1000), 0xffffffff]) })
            e = "error"
            break
          }
          case "entry count":
            bytes = forge(entries, { count: r.pick([0, entries.length - 1, entries.length + 1, 0xffff]) })
            e = "error"
            break
        }
        const shown = `${label} (${rule} of ${target})`
        if (isPt2) yield* H.pt2Case(tally, "invalid: zip structure", shown, bytes, e)
        else yield* H.tgmCase(tally, "invalid: zip structure", shown, bytes, e)
      }))
    }), timeout(60_000))
})

describe("validity: summary", () => {
  it("every family ran its plan", () => tally.assertPlanned(plan.counts))
})

afterAll(() => console.log(tally.lines().join("\n")))
