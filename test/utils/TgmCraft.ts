/**
 * Test helpers for `.tgm` archives: the sample fixtures, unzip / edit / re-zip, a raw zip writer that
 * writes whatever it is given (hostile names, duplicates), a tiny hand-made module record, the byte layout of
 * a zip (where the central directory and each entry's data lie), and a seeded PRNG.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { crc32 } from "node:zlib"
import type { ArchiveError } from "../../src/archive/ArchiveError.ts"
import * as Zip from "../../src/archive/zip/Zip.ts"
import * as ZipWriter from "../../src/archive/zip/ZipWriter.ts"

// ===== Samples =====

export const sampleNames = [
  "cnn_bn",
  "first_gpu",
  "kwargs_pytree",
  "mlp",
  "multi_out",
  "single_engine",
  "synth_1k"
] as const
export type SampleName = (typeof sampleNames)[number]

const samplesDir = nodePath.join(import.meta.dirname, "..", "fixtures", "samples")

export const samplePath = (name: SampleName): string => nodePath.join(samplesDir, name, "input.tgm")

const cache = new Map<SampleName, Uint8Array>()
/** The bytes of a sample's `input.tgm` (a fresh copy each call, so callers may mutate it). */
export const sampleBytes = (name: SampleName): Uint8Array => {
  let bytes = cache.get(name)
  if (bytes === undefined) {
    bytes = new Uint8Array(fs.readFileSync(samplePath(name)))
    cache.set(name, bytes)
  }
  return bytes.slice()
}

// ===== Entries =====

export interface Entry {
  readonly name: string
  readonly data: Uint8Array
  readonly compress: boolean
}

/** Every entry of an archive, in central-directory order, with its data and whether it was deflated. */
export const unzip = (bytes: Uint8Array, label = "<unzip>"): Effect.Effect<Array<Entry>, ArchiveError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const zip = yield* Zip.open({ _tag: "Bytes", bytes, label })
      const out: Array<Entry> = []
      for (const [name, info] of zip.entries) out.push({ name, data: yield* zip.read(name), compress: !info.stored })
      return out
    })
  )

export const rezip = (entries: ReadonlyArray<Entry>): Effect.Effect<Uint8Array, ArchiveError> => ZipWriter.toBytes(entries)

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array): string => new TextDecoder().decode(b)

export const entryOf = (entries: ReadonlyArray<Entry>, name: string): Entry => {
  const e = entries.find((x) => x.name === name)
  if (e === undefined) throw new Error(`no entry ${name}`)
  return e
}

/** Replaces the data of one entry. */
export const replaceEntry = (entries: ReadonlyArray<Entry>, name: string, data: Uint8Array): Array<Entry> =>
  entries.map((e) => (e.name === name ? { ...e, data } : e))

/** Drops entries by name. */
export const dropEntries = (entries: ReadonlyArray<Entry>, ...names: ReadonlyArray<string>): Array<Entry> =>
  entries.filter((e) => !names.includes(e.name))

// Any JSON value, for mutation.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any

/** Parses a JSON entry, lets `mutate` change it in place (or return a replacement), writes it back. */
export const mapJson = (
  entries: ReadonlyArray<Entry>,
  name: string,
  mutate: (json: Json) => Json | void
): Array<Entry> => {
  const json = JSON.parse(str(entryOf(entries, name).data))
  const out = mutate(json)
  return replaceEntry(entries, name, text(JSON.stringify(out === undefined ? json : out)))
}

/** A sample's archive after `edit` changed its entries. */
export const editSample = (
  name: SampleName,
  edit: (entries: Array<Entry>) => Array<Entry>
): Effect.Effect<Uint8Array, ArchiveError> =>
  Effect.flatMap(unzip(sampleBytes(name)), (entries) => rezip(edit(entries)))

/** A sample's archive after `mutate` changed the parsed `module.json`. */
export const editModule = (name: SampleName, mutate: (json: Json) => Json | void) =>
  editSample(name, (entries) => mapJson(entries, "module.json", mutate))

/** A sample's archive after `mutate` changed the parsed `format.json`. */
export const editFormat = (name: SampleName, mutate: (json: Json) => Json | void) =>
  editSample(name, (entries) => mapJson(entries, "format.json", mutate))

// ===== A raw zip writer =====

/**
 * A stored-only zip of exactly the given entries, with no checks at all: hostile names, duplicates and empty
 * names are written as they are.
 */
export const rawZip = (entries: ReadonlyArray<{ readonly name: string; readonly data: Uint8Array }>): Uint8Array => {
  const parts: Array<Uint8Array> = []
  const central: Array<Uint8Array> = []
  let offset = 0
  for (const { name, data } of entries) {
    const nameBytes = text(name)
    const crc = crc32(data)
    const local = new Uint8Array(30 + nameBytes.length)
    const lv = new DataView(local.buffer)
    lv.setUint32(0, 0x04034b50, true)
    lv.setUint16(4, 20, true)
    lv.setUint16(6, 0x0800, true) // UTF-8 names
    lv.setUint16(8, 0, true) // stored
    lv.setUint16(10, 0, true)
    lv.setUint16(12, 0x21, true) // 1980-01-01
    lv.setUint32(14, crc, true)
    lv.setUint32(18, data.length, true)
    lv.setUint32(22, data.length, true)
    lv.setUint16(26, nameBytes.length, true)
    lv.setUint16(28, 0, true)
    local.set(nameBytes, 30)
    const cd = new Uint8Array(46 + nameBytes.length)
    const cv = new DataView(cd.buffer)
    cv.setUint32(0, 0x02014b50, true)
    cv.setUint16(4, 0x031e, true)
    cv.setUint16(6, 20, true)
    cv.setUint16(8, 0x0800, true)
    cv.setUint16(10, 0, true)
    cv.setUint16(12, 0, true)
    cv.setUint16(14, 0x21, true)
    cv.setUint32(16, crc, true)
    cv.setUint32(20, data.length, true)
    cv.setUint32(24, data.length, true)
    cv.setUint16(28, nameBytes.length, true)
    cv.setUint32(38, 0o100644 << 16, true)
    cv.setUint32(42, offset, true)
    cd.set(nameBytes, 46)
    central.push(cd)
    parts.push(local, data)
    offset += local.length + data.length
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0)
  const eocd = new Uint8Array(22)
  const ev = new DataView(eocd.buffer)
  ev.setUint32(0, 0x06054b50, true)
  ev.setUint16(8, entries.length, true)
  ev.setUint16(10, entries.length, true)
  ev.setUint32(12, cdSize, true)
  ev.setUint32(16, offset, true)
  const all = [...parts, ...central, eocd]
  const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0))
  all.reduce((at, c) => (out.set(c, at), at + c.length), 0)
  return out
}

// ===== Zip layout =====

export interface Layout {
  readonly eocd: number
  readonly centralStart: number
  readonly centralEnd: number
  readonly entries: ReadonlyArray<{
    readonly name: string
    readonly central: number
    readonly local: number
    readonly dataStart: number
    readonly dataEnd: number
  }>
}

/** Where the parts of a non-zip64 zip without a comment lie. */
export const layout = (b: Uint8Array): Layout => {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const eocd = b.length - 22
  if (v.getUint32(eocd, true) !== 0x06054b50) throw new Error("no end of central directory record at the end")
  const count = v.getUint16(eocd + 10, true)
  const centralStart = v.getUint32(eocd + 16, true)
  const entries: Array<Layout["entries"][number]> = []
  let p = centralStart
  for (let i = 0; i < count; i++) {
    const nameLength = v.getUint16(p + 28, true)
    const name = str(b.subarray(p + 46, p + 46 + nameLength))
    const local = v.getUint32(p + 42, true)
    const packed = v.getUint32(p + 20, true)
    const dataStart = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true)
    entries.push({ name, central: p, local, dataStart, dataEnd: dataStart + packed })
    p += 46 + nameLength + v.getUint16(p + 30, true) + v.getUint16(p + 32, true)
  }
  return { eocd, centralStart, centralEnd: p, entries }
}

// ===== PRNG =====

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
export const prng = (seed: number) => {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [lo, hi). */
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo))
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[int(0, xs.length)]!
  return { next, int, pick }
}
export type Prng = ReturnType<typeof prng>

// ===== A tiny module, from scratch =====

export const formatRecord = {
  format: "torch-tensorrt-compiled-module",
  version: 1,
  producer: { torch: "2.11.0", torch_tensorrt: null, tool: "TgmCraft" }
}

const tensorRef = (storage: string, shape: ReadonlyArray<number>, extra: object = {}) => ({
  storage,
  dtype: "float32",
  shape,
  stride: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)),
  storage_offset: 0,
  device: "cpu",
  requires_grad: false,
  ...extra
})

const node = (name: string, op: string, target: string, args: Array<Json> = [], kwargs: object = {}, meta: object = {}) => ({
  name,
  op,
  target,
  args,
  kwargs,
  meta
})

/**
 * A small root record: `x` → `lin.weight` (get_attr) → `mul` → `_run_on_acc_0` (trt) → `sub` (graph module
 * with a `get_attr` of `scale`) → `output`. Entries: `tensors/0` (2×2 float32), `tensors/1` (4 float32),
 * `engines/0`.
 */
export const tinyModule = (): Json => ({
  kind: "graph_module",
  graph: {
    nodes: [
      node("x", "placeholder", "x"),
      node("lin_weight", "get_attr", "lin.weight"),
      node("mul", "call_function", "torch.ops.aten.mul.Tensor", [{ node: "x" }, { node: "lin_weight" }]),
      node("_run_on_acc_0", "call_module", "_run_on_acc_0", [{ node: "mul" }]),
      node("getitem", "call_function", "_operator.getitem", [{ node: "_run_on_acc_0" }, 0]),
      node("sub", "call_module", "sub", [{ node: "getitem" }]),
      node("output", "output", "output", [{ tuple: [{ node: "sub" }] }])
    ],
    in_spec: null,
    out_spec: null
  },
  children: {
    lin: {
      kind: "module",
      type: "torch.nn.modules.linear.Linear",
      children: {},
      parameters: { weight: tensorRef("tensors/0", [2, 2]) },
      buffers: {},
      constants: {}
    },
    _run_on_acc_0: {
      kind: "trt_module",
      name: "_run_on_acc_0",
      packed_engine_info: ["7", "_run_on_acc_0_engine", "dev", { engine: "engines/0" }, "mul", "output0"],
      input_binding_names: ["mul"],
      output_binding_names: ["output0"]
    },
    sub: {
      kind: "graph_module",
      graph: {
        nodes: [
          node("getitem", "placeholder", "getitem"),
          node("scale", "get_attr", "scale"),
          node("mul", "call_function", "torch.ops.aten.mul.Tensor", [{ node: "getitem" }, { node: "scale" }]),
          node("output", "output", "output", [{ node: "mul" }])
        ],
        in_spec: null,
        out_spec: null
      },
      children: {},
      parameters: {},
      buffers: { scale: tensorRef("tensors/1", [4]) },
      constants: {}
    }
  },
  parameters: {},
  buffers: {},
  constants: {}
})

/** The entries of {@link tinyModule}'s archive. */
export const tinyEntries = (module: Json = tinyModule(), format: Json = formatRecord): Array<Entry> => [
  { name: "format.json", data: text(JSON.stringify(format)), compress: true },
  { name: "module.json", data: text(JSON.stringify(module)), compress: true },
  { name: "tensors/0", data: new Uint8Array(16).map((_, i) => i), compress: false },
  { name: "tensors/1", data: new Uint8Array(16).fill(7), compress: false },
  { name: "engines/0", data: text("engine bytes"), compress: false }
]

/** {@link tinyModule}'s archive, after `edit`. */
export const tiny = (edit: (entries: Array<Entry>) => Array<Entry> = (e) => e) => rezip(edit(tinyEntries()))
