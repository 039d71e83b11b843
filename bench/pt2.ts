/**
 * `.pt2` archive benchmark: a program with 1 GiB of float32 parameters (16 storages of 64 MiB, one per
 * parameter) and a trivial graph (a placeholder per parameter, one user input returned as the output),
 * written with `Writer.writeFile` to a file under `os.tmpdir()` and read back with `Reader.readFile`.
 *
 * Targets (issue requirement): >= 1 GB/s both ways; while writing, memory stays under 1.2x the weights;
 * reading maps weights as views, without copying them.
 *
 * What is measured:
 * - Throughput: weight bytes / seconds of the whole call (writeFile includes the temporary file's fsync and
 *   rename; readFile includes opening, the central directory and model.json), best of three. The file was
 *   just written, so reads come from the page cache, not the disk.
 * - A raw baseline: the same buffers written by `fs.createWriteStream` with the writer's flags (`flush`,
 *   that is fsync at close), so that a slow disk can be told apart from a slow writer.
 * - Memory, sampled every 5 ms (and just before and after each call) with `process.memoryUsage()`:
 *   `arrayBuffers` is every ArrayBuffer and Buffer the process holds, the weights included; `rss` is the
 *   whole process, relative to its size before the weights were allocated. The write target compares peak
 *   `arrayBuffers` with the weight bytes: the weights count once, and anything above 1.0 is the writer's own.
 *   The sampler cannot run while the event loop is blocked (each buffer's CRC is computed synchronously when
 *   it is added to the zip, with zlib's crc32), but nothing is allocated then.
 * - Views: after a read, how many distinct ArrayBuffers back the weights and how many bytes they hold in
 *   all: one buffer per storage file, holding exactly the weight bytes, means tensors are views of their
 *   file's bytes, held once. (A stored entry of a file is read by the kernel straight into that buffer, 16 MiB
 *   per read; Node cannot map a file into memory, so that one read is the only copy.)
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Reader from "../src/archive/pt2/Reader.ts"
import * as Writer from "../src/archive/pt2/Writer.ts"
import * as Argument from "../src/graph/Argument.ts"
import { Graph } from "../src/graph/Graph.ts"
import * as Module from "../src/graph/Module.ts"
import * as Tensor from "../src/graph/Tensor.ts"
import * as ExportedProgram from "../src/program/ExportedProgram.ts"
import type { InputSpec } from "../src/program/Signature.ts"

export interface Options {
  /** Number of parameters, one storage each. */
  readonly tensors?: number
  /** Bytes of each parameter (a multiple of 4: float32). */
  readonly tensorBytes?: number
  readonly reps?: number
}

export interface Memory {
  /** Peak `arrayBuffers` during the call, bytes (weights included). */
  readonly peakArrayBuffers: number
  /** Peak `arrayBuffers` above its level just before the call, bytes: the call's own buffers. */
  readonly extraArrayBuffers: number
  /** Peak rss above the rss before the weights were allocated, bytes (weights, heap, everything). */
  readonly peakRssGrowth: number
}

export interface Row {
  readonly tensors: number
  readonly weightBytes: number
  readonly fileBytes: number
  /** Best times, ms. */
  readonly writeMs: number
  readonly readMs: number
  readonly rawWriteMs: number
  /** The file read whole with `fs.readFileSync`, alternating with the reads: the disk's (or cache's) ceiling. */
  readonly rawReadMs: number
  /** Worst peaks over the samples. */
  readonly writeMemory: Memory
  readonly readMemory: Memory
  /** Distinct ArrayBuffers backing the read weights, and their bytes in all. */
  readonly backingBuffers: number
  readonly backingBytes: number
  /** Storages of the read program (one per weight file). */
  readonly storages: number
  /** Every read weight holds the pattern it was written with (first and last element checked). */
  readonly intact: boolean
}

const collect: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {})

// Full collections until `arrayBuffers` stops falling. One `gc()` is not enough: buffers freed by a collection
// are counted out a few ticks later (after a 1 GiB write, four collections 50 ms apart read 1.0, 0.25, 0, 0 GiB).
const settle = async (): Promise<void> => {
  let last = Infinity
  for (let i = 0; i < 20; i++) {
    collect()
    await new Promise((resolve) => setTimeout(resolve, 20))
    const now = process.memoryUsage().arrayBuffers
    if (now >= last) return
    last = now
  }
}

const tensorMeta = (n: number) => ({
  tensor: { shape: [n], stride: [1], storage_offset: 0, dtype: "float32", device: "cpu", requires_grad: false }
})

const valueOf = (i: number) => i + 0.5

/** A program with `tensors` float32 parameters of `tensorBytes` bytes each, each filled with its index + 0.5. */
export const build = (tensors: number, tensorBytes: number): ExportedProgram.ExportedProgram => {
  const g = new Graph()
  const stateDict = new Map<string, Tensor.Tensor>()
  const inputSpecs: Array<InputSpec> = []
  const n = tensorBytes / 4
  for (let i = 0; i < tensors; i++) {
    const bytes = new Uint8Array(tensorBytes)
    new Float32Array(bytes.buffer).fill(valueOf(i)) // also makes every page resident
    stateDict.set(`layers.${i}.weight`, Tensor.make({ storage: Tensor.storage(bytes), dtype: "float32", shape: [n] }))
    const p = g.placeholder(`p_layers_${i}_weight`, { meta: { val: tensorMeta(n) } })
    inputSpecs.push({ _tag: "Parameter", arg: { _tag: "TensorArgument", name: p.name }, target: `layers.${i}.weight` })
  }
  const x = g.placeholder("x", { meta: { val: tensorMeta(4) } })
  inputSpecs.push({ _tag: "UserInput", arg: { _tag: "TensorArgument", name: x.name } })
  g.output(Argument.tuple(x))
  return ExportedProgram.make({
    graphModule: new Module.GraphModule(g),
    graphSignature: { inputSpecs, outputSpecs: [{ _tag: "UserOutput", arg: { _tag: "TensorArgument", name: x.name } }] },
    stateDict,
    constants: new Map(),
    rangeConstraints: new Map(),
    moduleCallGraph: [{ fqn: "", signature: null }]
  })
}

// Runs `f`, sampling memory every 5 ms; returns its value, its time and the peaks.
const measured = async <A>(rssBefore: number, f: () => Promise<A>) => {
  await settle()
  const before = process.memoryUsage()
  let peakArrayBuffers = before.arrayBuffers
  let peakRss = before.rss
  const sample = () => {
    const m = process.memoryUsage()
    peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers)
    peakRss = Math.max(peakRss, m.rss)
  }
  const timer = setInterval(sample, 5)
  const t0 = performance.now()
  try {
    const value = await f()
    const ms = performance.now() - t0
    sample()
    const memory: Memory = {
      peakArrayBuffers,
      extraArrayBuffers: peakArrayBuffers - before.arrayBuffers,
      peakRssGrowth: peakRss - rssBefore
    }
    return { value, ms, memory }
  } finally {
    clearInterval(timer)
  }
}

const worst = (ms: ReadonlyArray<Memory>): Memory => ({
  peakArrayBuffers: Math.max(...ms.map((m) => m.peakArrayBuffers)),
  extraArrayBuffers: Math.max(...ms.map((m) => m.extraArrayBuffers)),
  peakRssGrowth: Math.max(...ms.map((m) => m.peakRssGrowth))
})

// The same buffers through the writer's kind of sink: a write stream opened "wx" with fsync at close.
const rawWrite = (file: string, buffers: ReadonlyArray<Uint8Array>) =>
  new Promise<void>((resolve, reject) => {
    const sink = fs.createWriteStream(file, { flags: "wx", mode: 0o644, flush: true })
    sink.on("error", reject).on("close", resolve)
    for (const b of buffers) sink.write(b)
    sink.end()
  })

// The timed writes, each followed by a raw write of the same bytes. The weights are built here and are garbage
// once it returns, before the reads (see `readOnce`).
const writeAll = async (file: string, tensors: number, tensorBytes: number, reps: number, rssBefore: number) => {
  const ep = build(tensors, tensorBytes)
  const buffers = [...ep.stateDict.values()].map((t) => t.storage.bytes)
  const raw = path.join(path.dirname(file), "raw.bin")
  const writes: Array<{ readonly ms: number; readonly memory: Memory }> = []
  const raws: Array<number> = []
  for (let r = 0; r < reps; r++) {
    // A new file each time, as the raw write makes: replacing the last one would time the freeing of its
    // gigabyte too (on a disk mounted with discard, a large part of the write).
    fs.rmSync(file, { force: true })
    writes.push(await measured(rssBefore, () => Effect.runPromise(Writer.writeFile(file, ep))))
    // Alternating with the writer, so that both see the same spells of the shared disk.
    const t0 = performance.now()
    await rawWrite(raw, buffers)
    raws.push(performance.now() - t0)
    fs.rmSync(raw)
  }
  return { writes, raws }
}

// One timed read and its checks. A function of its own, so that the program read is garbage once it returns:
// a local of `run`'s loop would stay in the async function's frame and be alive during the next read.
const readOnce = async (file: string, rssBefore: number, tensors: number, tensorBytes: number) => {
  const { value, ms, memory } = await measured(rssBefore, () => Effect.runPromise(Reader.readFile(file)))
  const weights = [...value.program.stateDict.values()]
  const buffers = new Set(weights.map((t) => t.storage.bytes.buffer))
  return {
    ms,
    memory,
    backingBuffers: buffers.size,
    backingBytes: [...buffers].reduce((acc, b) => acc + b.byteLength, 0),
    storages: new Set(weights.map((t) => t.storage)).size,
    intact: weights.length === tensors && weights.every((t, i) => {
      const b = t.storage.bytes
      const f = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4)
      return f.length === tensorBytes / 4 && f[0] === valueOf(i) && f[f.length - 1] === valueOf(i)
    })
  }
}

export const run = async (options: Options = {}): Promise<Row> => {
  const tensors = options.tensors ?? 16
  const tensorBytes = options.tensorBytes ?? 64 * 2 ** 20
  const reps = options.reps ?? 3
  const weightBytes = tensors * tensorBytes
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-bench-pt2-"))
  const file = path.join(dir, "model.pt2")
  try {
    await settle()
    const rssBefore = process.memoryUsage().rss
    const { writes, raws } = await writeAll(file, tensors, tensorBytes, reps, rssBefore)
    const fileBytes = fs.statSync(file).size

    const reads: Array<Awaited<ReturnType<typeof readOnce>>> = []
    const rawReads: Array<number> = []
    for (let r = 0; r < reps; r++) {
      reads.push(await readOnce(file, rssBefore, tensors, tensorBytes))
      const t0 = performance.now()
      fs.readFileSync(file)
      rawReads.push(performance.now() - t0)
    }
    const last = reads[reads.length - 1]!
    return {
      tensors,
      weightBytes,
      fileBytes,
      writeMs: Math.min(...writes.map((w) => w.ms)),
      readMs: Math.min(...reads.map((w) => w.ms)),
      rawWriteMs: Math.min(...raws),
      rawReadMs: Math.min(...rawReads),
      writeMemory: worst(writes.map((w) => w.memory)),
      readMemory: worst(reads.map((w) => w.memory)),
      backingBuffers: last.backingBuffers,
      backingBytes: last.backingBytes,
      storages: last.storages,
      intact: reads.every((r) => r.intact)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
