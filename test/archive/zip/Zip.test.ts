import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Result } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { crc32 } from "node:zlib"
import * as yazl from "yazl"
import { ArchiveError } from "../../../src/archive/ArchiveError.ts"
import * as Limits from "../../../src/archive/Limits.ts"
import * as Crc32 from "../../../src/archive/zip/Crc32.ts"
import * as Progress from "../../../src/archive/zip/Progress.ts"
import * as Zip from "../../../src/archive/zip/Zip.ts"
import * as ZipWriter from "../../../src/archive/zip/ZipWriter.ts"
import * as Forge from "./Forge.ts"

// ===== Fixtures =====

const text = (s: string) => new TextEncoder().encode(s)
const noise = (n: number, seed = 7) => {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) out[i] = x = (x * 1103515245 + 12345) >>> 16 & 0xff
  return out
}

const sample: ReadonlyArray<ZipWriter.ZipWriteEntry> = [
  { name: "stored.bin", data: noise(300), compress: false },
  { name: "deflated.txt", data: text("tensor ".repeat(300)), compress: true },
  { name: "chunked/stored.bin", data: [noise(10, 1), new Uint8Array(0), noise(70_000, 2)], compress: false },
  { name: "chunked/deflated.bin", data: [text("a".repeat(5000)), text("b".repeat(5000))], compress: true },
  { name: "empty", data: new Uint8Array(0), compress: true },
  { name: "empty-chunks", data: [], compress: false }
]
const small: ReadonlyArray<ZipWriter.ZipWriteEntry> = [
  { name: "a.txt", data: text("hello hello hello hello"), compress: true },
  { name: "b.bin", data: noise(40), compress: false }
]

const joined = (data: ZipWriter.ZipWriteEntry["data"]) =>
  ArrayBuffer.isView(data) ? data : "chunks" in data ? ZipWriter.join(data) : Uint8Array.from(data.flatMap((c) => [...c]))

// The sample with its buffers given as pieces (split at random points), and nested: a zip's pieces as an entry.
const asPieces = (entries: ReadonlyArray<ZipWriter.ZipWriteEntry>): Array<ZipWriter.ZipWriteEntry> =>
  entries.map((e) => {
    if (!ArrayBuffer.isView(e.data)) return e
    const cut = Math.floor(e.data.byteLength / 3)
    return { ...e, data: ZipWriter.pieces([e.data.subarray(0, cut), new Uint8Array(0), e.data.subarray(cut)]) }
  })

const bytes = (bytes: Uint8Array, label = "mem.zip"): Zip.ZipSource => ({ _tag: "Bytes", bytes, label })
const file = (p: string): Zip.ZipSource => ({ _tag: "File", path: p })

const readAll = (source: Zip.ZipSource) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open(source)
    const out = new Map<string, Uint8Array>()
    for (const name of zip.entries.keys()) out.set(name, yield* zip.read(name))
    return out
  }))

const failure = <A, R>(effect: Effect.Effect<A, ArchiveError, R>) =>
  Effect.flip(effect).pipe(Effect.tap((e) => Effect.sync(() => assert.instanceOf(e, ArchiveError))))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "trtx-zip-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

// A zip made by yazl directly, for shapes our writer never produces (zip64, directories).
const yazlBytes = (build: (zip: yazl.ZipFile) => void, forceZip64Format = false) =>
  Effect.callback<Uint8Array>((resume) => {
    const zip = new yazl.ZipFile()
    const chunks: Array<Buffer> = []
    zip.outputStream.on("data", (c: Buffer) => chunks.push(c))
    zip.outputStream.on("end", () => resume(Effect.succeed(new Uint8Array(Buffer.concat(chunks)))))
    build(zip)
    zip.end({ forceZip64Format, comment: "" })
  })
const zip64Sample = yazlBytes((zip) => {
  const options = { forceZip64Format: true, forceDosTimestamp: true, mtime: new Date(1980, 0, 1) }
  zip.addBuffer(Buffer.from("zip64 ".repeat(100)), "big/deflated", options)
  zip.addBuffer(Buffer.from(noise(50)), "big/stored", { ...options, compress: false })
}, true)

// ===== Byte surgery on small non-zip64 archives (no comment) =====

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)
const records = (b: Uint8Array) => {
  const v = view(b)
  const eocd = b.length - 22
  assert.strictEqual(v.getUint32(eocd, true), 0x06054b50)
  const out: Array<{ central: number; local: number; nameLength: number }> = []
  let p = v.getUint32(eocd + 16, true)
  for (let i = 0; i < v.getUint16(eocd + 10, true); i++) {
    const n = v.getUint16(p + 28, true)
    out.push({ central: p, local: v.getUint32(p + 42, true), nameLength: n })
    p += 46 + n + v.getUint16(p + 30, true) + v.getUint16(p + 32, true)
  }
  return out
}
const rename = (b: Uint8Array, index: number, name: string) => {
  const copy = b.slice()
  const r = records(copy)[index]!
  const encoded = text(name)
  assert.strictEqual(encoded.length, r.nameLength)
  copy.set(encoded, r.central + 46)
  copy.set(encoded, r.local + 30)
  return copy
}
const patchCentral = (b: Uint8Array, index: number, field: number, value: number, width: 2 | 4) => {
  const copy = b.slice()
  const at = records(copy)[index]!.central + field
  if (width === 2) view(copy).setUint16(at, value, true)
  else view(copy).setUint32(at, value, true)
  return copy
}
const FLAGS = 8, METHOD = 10, COMPRESSED = 20, UNCOMPRESSED = 24

// ===== Tests =====

describe("round trip", () => {
  it.effect("stored, deflated and chunked entries read back identical, in order", () =>
    Effect.gen(function*() {
      const zip = yield* Zip.open(bytes(yield* ZipWriter.toBytes(sample)))
      assert.deepStrictEqual([...zip.entries.keys()], sample.map((e) => e.name))
      for (const entry of sample) {
        const info = zip.entries.get(entry.name)!
        assert.strictEqual(info.stored, !entry.compress)
        assert.strictEqual(info.uncompressedSize, joined(entry.data).length)
        assert.deepStrictEqual(yield* zip.read(entry.name), joined(entry.data))
      }
    }))

  it.effect("pieces are written as the buffer they make, in memory and to a file, and a zip's pieces as an entry of another", () =>
    Effect.gen(function*() {
      const whole = yield* ZipWriter.toBytes(sample)
      assert.deepStrictEqual(yield* ZipWriter.toBytes(asPieces(sample)), whole)
      const inner = yield* ZipWriter.toPieces(asPieces(sample))
      assert.deepStrictEqual(ZipWriter.join(inner), whole)
      const nested = (data: ZipWriter.ZipWriteEntry["data"]) => ZipWriter.toBytes([...small, { name: "inner.zip", data, compress: false }])
      assert.deepStrictEqual(yield* nested(inner), yield* nested(whole))
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-pieces-"))
      yield* ZipWriter.writeFile(path.join(dir, "a.zip"), asPieces(sample))
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(path.join(dir, "a.zip"))), whole)
      fs.rmSync(dir, { recursive: true })
    }))

  it.effect("an entry over 2 GiB goes to the sink in views of at most 1 GiB (a file stream fails a larger write), its CRC-32 over them all", () =>
    Effect.gen(function*() {
      // Zeros never written, so the operating system gives them no memory; only the CRC-32 reads them.
      const data = new Uint8Array(2 ** 31 + 5)
      const out = yield* ZipWriter.toPieces([{ name: "big", data, compress: false }])
      assert.isAtMost(Math.max(...out.chunks.map((c) => c.byteLength)), 2 ** 30)
      const views = out.chunks.filter((c) => c.buffer === data.buffer)
      assert.deepStrictEqual(views.map((c) => c.byteLength), [2 ** 30, 2 ** 30, 5])
      // The CRC-32 in the data descriptor (sizes after the data) is zlib's over the whole, summed in slices.
      const descriptor = out.chunks[out.chunks.indexOf(views[2]!) + 1]!
      assert.strictEqual(new DataView(descriptor.buffer, descriptor.byteOffset).getUint32(4, true), Crc32.update(0, data))
      assert.strictEqual(Crc32.update(0, data), crc32(data.subarray(2 ** 30), crc32(data.subarray(0, 2 ** 30))))
      // Past 4 GiB, zlib's own CRC-32 of the whole is wrong (it counts the length in 32 bits); the slices are not.
      const huge = new Uint8Array(2 ** 32 + 5)
      huge[2 ** 32 + 1] = 1
      const sliced = crc32(huge.subarray(2 ** 31), crc32(huge.subarray(0, 2 ** 31)))
      assert.strictEqual(Crc32.update(0, huge), sliced)
      assert.notStrictEqual(crc32(huge), sliced)
    }), 60_000)

  it.effect("the same entries always give the same bytes", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* ZipWriter.toBytes(sample), yield* ZipWriter.toBytes(sample))
    }))

  it.effect("several reads run at once, each on its own stream", () =>
    Effect.gen(function*() {
      const zip = yield* Zip.open(bytes(yield* ZipWriter.toBytes(sample)))
      const names = [...zip.entries.keys(), ...zip.entries.keys(), ...zip.entries.keys()]
      const got = yield* Effect.forEach(names, zip.read, { concurrency: "unbounded" })
      names.forEach((name, i) => assert.deepStrictEqual(got[i], joined(sample.find((e) => e.name === name)!.data)))
    }))

  it.effect("zip64 records written by yazl are read by yauzl", () =>
    Effect.gen(function*() {
      const got = yield* readAll(bytes(yield* zip64Sample))
      assert.deepStrictEqual(got.get("big/deflated"), text("zip64 ".repeat(100)))
      assert.deepStrictEqual(got.get("big/stored"), noise(50))
    }))

  it.effect("directories are not listed as entries", () =>
    Effect.gen(function*() {
      const zip = yield* Zip.open(bytes(yield* yazlBytes((z) => {
        z.addEmptyDirectory("dir/")
        z.addBuffer(Buffer.from("x"), "dir/x")
      })))
      assert.deepStrictEqual([...zip.entries.keys()], ["dir/x"])
    }))

  it.effect("a File source reads the same, and its handle closes with the scope", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "a.zip")
      yield* ZipWriter.writeFile(target, sample)
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(target)), yield* ZipWriter.toBytes(sample))
      assert.deepStrictEqual(fs.readdirSync(dir), ["a.zip"])
      const fds = () => (fs.existsSync("/proc/self/fd") ? fs.readdirSync("/proc/self/fd").length : 0)
      const before = fds()
      const zip = yield* Effect.scoped(Effect.gen(function*() {
        const zip = yield* Zip.open(file(target))
        assert.deepStrictEqual(yield* zip.read("deflated.txt"), text("tensor ".repeat(300)))
        return zip
      }))
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 10)))
      assert.strictEqual(fds(), before)
      const exit = yield* Effect.exit(zip.read("stored.bin"))
      assert.isTrue(Exit.hasDies(exit), "a read after the scope closed is a defect")
    }))
})

describe("small files read whole", () => {
  it.effect("below ReadWholeBytes a file is read in one read and then as bytes: the same entries, the same errors, named by its path", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "a.zip")
      yield* ZipWriter.writeFile(target, sample)
      const size = fs.statSync(target).size
      const readAll = (whole: number) =>
        Effect.scoped(Effect.gen(function*() {
          const zip = yield* Zip.open(file(target))
          const names = [...zip.entries.keys()]
          const contents = []
          for (const name of names) contents.push(yield* zip.read(name))
          const missing = yield* Effect.flip(zip.read("nope"))
          return { archive: zip.archive, names, contents, missing: [missing.archive, missing.entry, missing.fault] }
        })).pipe(Effect.provideService(Limits.ReadWholeBytes, whole))
      const entryByEntry = yield* readAll(0)
      assert.deepStrictEqual(yield* readAll(size), entryByEntry)
      assert.deepStrictEqual(yield* readAll(size - 1), entryByEntry)
      assert.deepStrictEqual(entryByEntry.missing, [target, "nope", "MissingEntry"])
      // A file that is not there, or not a file, fails as the file reader fails.
      const absent = (whole: number) =>
        Effect.scoped(Zip.open(file(path.join(dir, "absent.zip")))).pipe(Effect.flip, Effect.provideService(Limits.ReadWholeBytes, whole))
      const [a, b] = [yield* absent(0), yield* absent(size)]
      assert.deepStrictEqual([a.fault, a.detail], [b.fault, b.detail])
      const folder = (whole: number) => Effect.scoped(Zip.open(file(dir))).pipe(Effect.flip, Effect.provideService(Limits.ReadWholeBytes, whole))
      const [c, d] = [yield* folder(0), yield* folder(size)]
      assert.deepStrictEqual([c.fault, c.detail], [d.fault, d.detail])
    }))
})

describe("deflated entries of an archive in memory", () => {
  // Inflated in one call where a file's entries are streamed: every outcome must be the stream's.
  const mixed = Uint8Array.from([...text("tensor aten.add ".repeat(200)), ...noise(700, 3), ...text("x".repeat(900))])
  const outcome = (source: Zip.ZipSource, name: string) =>
    Effect.scoped(Effect.flatMap(Zip.open(source), (zip) => zip.read(name))).pipe(
      Effect.result,
      Effect.map((r) =>
        Result.isSuccess(r)
          ? ["ok", Buffer.from(r.success).toString("hex")]
          : [(r.failure as ArchiveError).fault, (r.failure as ArchiveError).entry, (r.failure as ArchiveError).detail]
      )
    )

  it.live("every flipped byte of the data, and every size lie, fails as the file's stream fails", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "d.zip")
      const good = yield* ZipWriter.toBytes([{ name: "m.json", data: mixed, compress: true }])
      const start = records(good)[0]!.local + 30 + "m.json".length
      const packed = view(good).getUint32(records(good)[0]!.central + COMPRESSED, true)
      const cases: Array<Uint8Array> = []
      for (let i = start; i < start + packed; i++) {
        for (const mask of [0x01, 0xff]) {
          const flipped = good.slice()
          flipped[i]! ^= mask
          cases.push(flipped)
        }
      }
      for (const size of [0, 1, mixed.length - 1, mixed.length + 1, mixed.length * 2]) {
        cases.push(patchCentral(good, 0, UNCOMPRESSED, size, 4))
      }
      const faults = new Set<string>()
      for (const zip of cases) {
        fs.writeFileSync(target, zip)
        const fromFile = yield* outcome(file(target), "m.json")
        assert.deepStrictEqual(yield* outcome(bytes(zip), "m.json"), fromFile)
        faults.add(String(fromFile[2] ?? fromFile[0]).replace(/(^| )\d+/g, "$1N"))
      }
      // The cases reach zlib's faults, the CRC and both size checks, not only one of them.
      for (const detail of ["CRC-32 mismatch", "more than the declared N bytes", "N bytes, declared N"]) {
        assert.isTrue(faults.has(detail), `${detail} among ${[...faults].join(" | ")}`)
      }
      assert.isAbove(faults.size, 4, [...faults].join(" | "))
    }), 60_000)
})

describe("small entries of a file, read in runs", () => {
  // A file's small entries are read a run at a time (up to 1 MiB of entries of at most 64 KiB, from the one
  // read first): every outcome must be the one of the same archive in memory, which has no runs.
  const outcomes = (source: Zip.ZipSource, names: ReadonlyArray<string>) =>
    Effect.scoped(Effect.gen(function*() {
      const zip = yield* Zip.open(source)
      const out: Array<string> = []
      for (const name of names) {
        const r = yield* Effect.result(zip.read(name))
        const e = Result.isFailure(r) ? (r.failure as ArchiveError) : undefined
        out.push(e === undefined ? Buffer.from(Result.getOrThrow(r)).toString("hex") : `${e.fault} ${e.entry} ${e.detail}`)
        if (e !== undefined) break
      }
      return out
    }))
  const entries = (count: number, size: number, from = 0): Array<ZipWriter.ZipWriteEntry> =>
    Array.from({ length: count }, (_, i) => ({ name: `w/${from + i}`, data: noise(size, from + i + 1), compress: (from + i) % 7 === 3 }))

  it.live("many small entries, two runs' worth, between large ones, in any order of reading", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "w.zip")
      const written = [
        { name: "big/0", data: noise(200_000, 99), compress: false },
        ...entries(300, 5000),
        { name: "big/1", data: noise(100_000, 98), compress: false },
        ...entries(40, 300, 300)
      ]
      const zip = yield* ZipWriter.toBytes(written)
      fs.writeFileSync(target, zip)
      const names = written.map((e) => e.name)
      for (const order of [names, names.slice().reverse(), names.filter((_, i) => i % 3 === 0), ["w/150", "w/149", "w/151", "w/0", "w/299"]]) {
        assert.deepStrictEqual(yield* outcomes(file(target), order), yield* outcomes(bytes(zip), order))
      }
      const back = yield* readAll(file(target))
      for (const e of written) assert.isTrue(Buffer.from(back.get(e.name)!).equals(Buffer.from(joined(e.data))), e.name)
    }), 60_000)

  it.live("every flipped byte of a few small entries fails, or reads, as the archive in memory does", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "f.zip")
      const zip = yield* ZipWriter.toBytes(entries(12, 60))
      const at = records(zip)
      const names = at.map((_, i) => `w/${i}`)
      const faults = new Set<string>()
      // Entries 4 to 6, local headers and data: names, methods, sizes, CRCs and data all get flipped.
      for (let i = at[4]!.local; i < at[7]!.local; i++) {
        const flipped = zip.slice()
        flipped[i]! ^= 0xff
        fs.writeFileSync(target, flipped)
        const fromFile = yield* outcomes(file(target), names)
        assert.deepStrictEqual(fromFile, yield* outcomes(bytes(flipped), names), `byte ${i}`)
        const last = fromFile[fromFile.length - 1]!
        if (!/^[0-9a-f]*$/.test(last)) faults.add(last.replace(/\d+/g, "N"))
      }
      assert.isAbove(faults.size, 3, [...faults].join(" | "))
    }), 60_000)
})

describe("interruption", () => {
  it.live("an interrupted read releases its stream, and the file still closes with the scope", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "big.zip")
      const chunk = randomBytes(1 << 20)
      yield* ZipWriter.writeFile(target, [{ name: "big", data: Array.from({ length: 64 }, () => chunk), compress: true }])
      const fds = () => (fs.existsSync("/proc/self/fd") ? fs.readdirSync("/proc/self/fd").length : 0)
      const before = fds()
      yield* Effect.scoped(Effect.gen(function*() {
        const zip = yield* Zip.open(file(target))
        const fiber = yield* Effect.forkChild(zip.read("big"))
        yield* Effect.sleep("5 millis")
        assert.isTrue(Exit.hasInterrupts(yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))))
        assert.strictEqual((yield* zip.read("big")).length, 64 << 20, "the archive is still readable")
      }))
      yield* Effect.sleep("20 millis")
      assert.strictEqual(fds(), before)
    }), 30_000)
})

describe("refusals", () => {
  it.effect("a missing entry is MissingEntry, located", () =>
    Effect.gen(function*() {
      const zip = yield* Zip.open(bytes(yield* ZipWriter.toBytes(small), "lbl"))
      const e = yield* failure(zip.read("nope"))
      assert.strictEqual(e.fault, "MissingEntry")
      assert.strictEqual(e.archive, "lbl")
      assert.strictEqual(e.entry, "nope")
    }))

  it.effect("duplicate names are refused at open and on write", () =>
    Effect.gen(function*() {
      const two = yield* ZipWriter.toBytes([{ name: "a", data: text("1"), compress: false }, {
        name: "b",
        data: text("2"),
        compress: false
      }])
      const e = yield* failure(Zip.open(bytes(rename(two, 1, "a"))))
      assert.strictEqual(e.fault, "DuplicateEntry")
      assert.strictEqual(e.entry, "a")
      const w = yield* failure(ZipWriter.toBytes([small[0]!, small[0]!]))
      assert.strictEqual(w.fault, "DuplicateEntry")
      assert.strictEqual(w.entry, "a.txt")
    }))

  const hostile = ["../x", "/abs", "a/../../b", "C:/x", "a\\b", "a//b", "./a", "a\0b", "x/.."]
  it.effect("hostile names are refused in crafted archives (yauzl's checks and ours)", () =>
    Effect.gen(function*() {
      for (const name of hostile) {
        const placeholder = yield* ZipWriter.toBytes([{ name: "z".repeat(name.length), data: text("x"), compress: true }])
        const e = yield* failure(Zip.open(bytes(rename(placeholder, 0, name))))
        assert.strictEqual(e.fault, "HostileEntryName", name)
        assert.strictEqual(e.entry, name)
      }
    }))

  it.effect("hostile names are refused on write", () =>
    Effect.gen(function*() {
      for (const name of [...hostile, "", "dir/"]) {
        const e = yield* failure(ZipWriter.toBytes([{ name, data: text("x"), compress: false }]))
        assert.strictEqual(e.fault, "HostileEntryName", name)
        assert.strictEqual(e.entry, name)
      }
    }))

  it.effect("encrypted entries and unknown compression methods are CorruptZip", () =>
    Effect.gen(function*() {
      const good = yield* ZipWriter.toBytes(small)
      const encrypted = yield* failure(Zip.open(bytes(patchCentral(good, 0, FLAGS, 0x0801, 2))))
      assert.strictEqual(encrypted.fault, "CorruptZip")
      assert.strictEqual(encrypted.entry, "a.txt")
      const bzip2 = yield* failure(Zip.open(bytes(patchCentral(good, 1, METHOD, 12, 2))))
      assert.strictEqual(bzip2.fault, "CorruptZip")
      assert.strictEqual(bzip2.entry, "b.bin")
    }))

  it.effect("declared-size bombs fail at open, before any allocation", () =>
    Effect.gen(function*() {
      const zeros = yield* ZipWriter.toBytes([{ name: "z", data: new Uint8Array(10_000), compress: true }])
      const bomb = yield* failure(Zip.open(bytes(patchCentral(zeros, 0, UNCOMPRESSED, 0xfffffff0, 4))))
      assert.strictEqual(bomb.fault, "EntryTooLarge")
      assert.strictEqual(bomb.entry, "z")
      // zip64: an 8-byte size of 2^50 in the zip64 extra field (first extra field; no timestamp field).
      const z64 = (yield* zip64Sample).slice()
      const central = Buffer.from(z64).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
      const extra = central + 46 + view(z64).getUint16(central + 28, true)
      assert.strictEqual(view(z64).getUint16(extra, true), 0x0001)
      view(z64).setUint32(extra + 4 + 4, 2 ** 18, true)
      const bomb64 = yield* failure(Zip.open(bytes(z64)))
      assert.strictEqual(bomb64.fault, "EntryTooLarge")
      assert.strictEqual(bomb64.entry, "big/deflated")
      // A stored entry whose sizes disagree: yauzl refuses it before naming the entry.
      const stored = yield* failure(Zip.open(bytes(patchCentral(yield* ZipWriter.toBytes(small), 1, UNCOMPRESSED, 41, 4))))
      assert.strictEqual(stored.fault, "EntryTooLarge")
    }))

  it.effect("a plausible size lie passes open and fails the read with CorruptZip", () =>
    Effect.gen(function*() {
      const zeros = yield* ZipWriter.toBytes([{ name: "z", data: new Uint8Array(1000), compress: true }])
      for (const size of [2000, 999]) {
        const zip = yield* Zip.open(bytes(patchCentral(zeros, 0, UNCOMPRESSED, size, 4)))
        const e = yield* failure(zip.read("z"))
        assert.strictEqual(e.fault, "CorruptZip")
        assert.strictEqual(e.entry, "z")
      }
    }))

  it.effect("data past the end of the file is CorruptZip at open", () =>
    Effect.gen(function*() {
      const good = yield* ZipWriter.toBytes(small)
      const e = yield* failure(Zip.open(bytes(patchCentral(good, 0, COMPRESSED, 100_000, 4))))
      assert.strictEqual(e.fault, "CorruptZip")
      assert.strictEqual(e.entry, "a.txt")
    }))

  it.effect("a flipped data byte fails the CRC check on read", () =>
    Effect.gen(function*() {
      const good = (yield* ZipWriter.toBytes(small)).slice()
      good[records(good)[1]!.local + 30 + "b.bin".length + 5]! ^= 0x10
      const zip = yield* Zip.open(bytes(good))
      const e = yield* failure(zip.read("b.bin"))
      assert.strictEqual(e.fault, "CorruptZip")
      assert.strictEqual(e.entry, "b.bin")
    }))

  it.effect("the Limits in force bound entries, entry size and total size, and say how to raise them", () =>
    Effect.gen(function*() {
      const source = bytes(yield* ZipWriter.toBytes(sample))
      const limits = { ...Limits.defaults, entries: 100, entryBytes: 1e6, totalBytes: 1e6 }
      const openWith = (l: Limits.Limits) => Zip.open(source).pipe(Effect.provideService(Limits.Limits, l))
      const many = yield* failure(openWith({ ...limits, entries: 5 }))
      assert.strictEqual(many.fault, "EntryTooLarge")
      assert.include(many.detail, "Limits.entries")
      assert.include(many.detail, "--max-entries")
      const large = yield* failure(openWith({ ...limits, entryBytes: 50_000 }))
      assert.strictEqual(large.fault, "EntryTooLarge")
      assert.strictEqual(large.entry, "chunked/stored.bin")
      assert.include(large.detail, "Limits.entryBytes")
      assert.include(large.detail, "--max-entry-bytes")
      const total = yield* failure(openWith({ ...limits, totalBytes: 80_000 }))
      assert.strictEqual(total.fault, "EntryTooLarge")
      assert.strictEqual(total.entry, "chunked/deflated.bin")
      assert.include(total.detail, "Limits.totalBytes")
      assert.include(total.detail, "--max-total-bytes")
      // Exactly at each limit passes.
      const at = { ...Limits.defaults, entries: 6, entryBytes: 70_010, totalBytes: 82_410 }
      assert.strictEqual((yield* Effect.scoped(openWith(at))).entries.size, 6)
    }))
})

describe("JSON entries: Limits.jsonBytes", () => {
  const json = Forge.assemble([Forge.deflated("m.json", `[${" ".repeat(2000)}]`), Forge.stored("w.bin", noise(3000))])
  const withJsonBytes = (jsonBytes: number) => Effect.provideService(Limits.Limits, { ...Limits.defaults, jsonBytes })

  it.effect("readJson refuses an entry declared larger than the limit before reading it; read does not", () =>
    Effect.gen(function*() {
      const zip = yield* Zip.open(bytes(json, "j")).pipe(withJsonBytes(2001))
      const e = yield* failure(zip.readJson("m.json"))
      assert.strictEqual(e.fault, "EntryTooLarge")
      assert.strictEqual(e.entry, "m.json")
      assert.include(e.detail, "2002 bytes")
      assert.include(e.detail, "Limits.jsonBytes")
      assert.include(e.detail, "--max-json-bytes")
      // The limit is for entries read whole as JSON or text; weights are bounded by Limits.entryBytes only.
      assert.strictEqual((yield* zip.read("w.bin")).length, 3000)
      assert.strictEqual((yield* zip.read("m.json")).length, 2002)
    }))

  it.effect("an entry exactly at the limit is read; a missing one is MissingEntry", () =>
    Effect.gen(function*() {
      const zip = yield* Zip.open(bytes(json, "j")).pipe(withJsonBytes(2002))
      assert.strictEqual((yield* zip.readJson("m.json")).length, 2002)
      assert.strictEqual((yield* failure(zip.readJson("nope"))).fault, "MissingEntry")
    }))
})

describe("local headers agree with the central directory (as Python's zipfile checks)", () => {
  const a = Forge.deflated("a.txt", "hello ".repeat(50))
  const b = Forge.stored("b.bin", noise(64))
  const readFails = (archive: Uint8Array, name: string) =>
    Effect.gen(function*() {
      const zip = yield* Zip.open(bytes(archive))
      const e = yield* failure(zip.read(name))
      assert.strictEqual(e.fault, "CorruptZip")
      assert.strictEqual(e.entry, name)
      return e.detail
    })

  it.effect("the forged archives that agree read back", () =>
    Effect.gen(function*() {
      const got = yield* readAll(bytes(Forge.assemble([a, b])))
      assert.deepStrictEqual(got.get("a.txt"), text("hello ".repeat(50)))
      assert.deepStrictEqual(got.get("b.bin"), noise(64))
    }))

  it.effect("a name that differs (same length) is CorruptZip naming the entry", () =>
    Effect.gen(function*() {
      const archive = Forge.assemble([a, b], [Forge.centralOf(a, 0), { ...Forge.centralOf(b, 1), name: "c.bin" }])
      assert.include(yield* readFails(archive, "c.bin"), `"b.bin"`)
      // The other entry is untouched.
      const zip = yield* Zip.open(bytes(archive))
      assert.deepStrictEqual(yield* zip.read("a.txt"), text("hello ".repeat(50)))
    }))

  it.effect("a name of another length is CorruptZip", () =>
    Effect.gen(function*() {
      const archive = Forge.assemble([a, b], [Forge.centralOf(a, 0), { ...Forge.centralOf(b, 1), name: "b.bi" }])
      assert.include(yield* readFails(archive, "b.bi"), "name")
    }))

  it.effect("a compression method that differs is CorruptZip, both ways", () =>
    Effect.gen(function*() {
      const deflatedAsStored = { ...Forge.centralOf(a, 0), method: 0, size: a.packed.length }
      assert.include(yield* readFails(Forge.assemble([a], [deflatedAsStored]), "a.txt"), "compression method 8")
      const storedAsDeflated = { ...Forge.centralOf(b, 0), method: 8 }
      assert.include(yield* readFails(Forge.assemble([b], [storedAsDeflated]), "b.bin"), "compression method 0")
    }))

  it.effect("an encryption bit set in the local header only is CorruptZip", () =>
    Effect.gen(function*() {
      const archive = Forge.assemble([{ ...b, flags: b.flags | 1 }], [Forge.centralOf(b, 0)])
      assert.include(yield* readFails(archive, "b.bin"), "encryption")
    }))

  it.effect("a bad local signature is CorruptZip naming the entry, from bytes and from a file", () =>
    Effect.gen(function*() {
      const archive = Forge.assemble([a, b])
      archive[records(archive)[1]!.local]! ^= 0xff
      assert.include(yield* readFails(archive, "b.bin"), "signature")
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, "sig.zip"), archive)
      const zip = yield* Zip.open(file(path.join(dir, "sig.zip")))
      assert.strictEqual((yield* failure(zip.read("b.bin"))).fault, "CorruptZip")
    }))
})

describe("records that share or overlap data are refused at open", () => {
  const a = Forge.stored("a", noise(100))
  const b = Forge.stored("b", noise(50, 3))

  it.effect("two names for one local header: CorruptZip naming the second, before any read", () =>
    Effect.gen(function*() {
      const archive = Forge.assemble([a, b], [Forge.centralOf(a, 0), { ...Forge.centralOf(a, 0), name: "x" }, Forge.centralOf(b, 1)])
      const e = yield* failure(Zip.open(bytes(archive)))
      assert.strictEqual(e.fault, "CorruptZip")
      assert.strictEqual(e.entry, "x")
      assert.include(e.detail, `"a"`)
    }))

  it.effect("data that runs into the next local header, or into the central directory, is CorruptZip", () =>
    Effect.gen(function*() {
      const longer = { ...Forge.centralOf(a, 0), size: 101, packedSize: 101 }
      const e = yield* failure(Zip.open(bytes(Forge.assemble([a, b], [longer, Forge.centralOf(b, 1)]))))
      assert.strictEqual(e.fault, "CorruptZip")
      assert.strictEqual(e.entry, "a")
      assert.include(e.detail, `local header of "b"`)
      const last = { ...Forge.centralOf(b, 1), size: 51, packedSize: 51 }
      const f = yield* failure(Zip.open(bytes(Forge.assemble([a, b], [Forge.centralOf(a, 0), last]))))
      assert.strictEqual(f.fault, "CorruptZip")
      assert.strictEqual(f.entry, "b")
      assert.include(f.detail, "central directory")
    }))

  it.effect("records listed out of file order are fine", () =>
    Effect.gen(function*() {
      const got = yield* readAll(bytes(Forge.assemble([a, b], [Forge.centralOf(b, 1), Forge.centralOf(a, 0)])))
      assert.deepStrictEqual([...got.keys()], ["b", "a"])
      assert.deepStrictEqual(got.get("a"), noise(100))
    }))
})

describe("the end record agrees with the central directory", () => {
  const entries = [Forge.stored("a", "one"), Forge.deflated("b", "two two two")]
  const whole = Forge.assemble(entries)
  const directorySize = records(whole).reduce((n, r) => n + 46 + r.nameLength, 0)
  const openFails = (archive: Uint8Array) =>
    Effect.gen(function*() {
      const e = yield* failure(Zip.open(bytes(archive)))
      assert.strictEqual(e.fault, "CorruptZip")
      assert.isUndefined(e.entry)
      return e.detail
    })

  it.effect("a directory size of 0 (an empty archive to Python's zipfile) is CorruptZip", () =>
    Effect.gen(function*() {
      assert.include(yield* openFails(Forge.assemble(entries, undefined, { directorySize: 0 })), "declares a central directory of 0 bytes")
    }))

  it.effect("a directory size of 0xffffffff without a zip64 record is CorruptZip", () =>
    Effect.gen(function*() {
      assert.include(yield* openFails(Forge.assemble(entries, undefined, { directorySize: 0xffffffff })), "zip64")
    }))

  it.effect("a directory size one off, either way, is CorruptZip", () =>
    Effect.gen(function*() {
      for (const size of [directorySize - 1, directorySize + 1]) {
        assert.include(yield* openFails(Forge.assemble(entries, undefined, { directorySize: size })), `take ${directorySize}`)
      }
    }))

  it.effect("bytes between the directory and the end record are CorruptZip", () =>
    Effect.gen(function*() {
      const gap = new Uint8Array(whole.length + 4)
      gap.set(whole.subarray(0, whole.length - 22))
      gap.set(whole.subarray(whole.length - 22), whole.length - 22 + 4)
      assert.include(yield* openFails(gap), "not where the end record starts")
    }))

  it.effect("empty archives and yazl's zip64 archives pass", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* Zip.open(bytes(yield* ZipWriter.toBytes([])))).entries.size, 0)
      assert.strictEqual((yield* readAll(bytes(yield* zip64Sample))).size, 2)
      assert.strictEqual((yield* readAll(bytes(whole))).size, 2)
    }))
})

describe("hostile bytes never throw or hang", () => {
  // Every outcome must be a success or a located ArchiveError within the time limit; a defect or an
  // uncaught exception fails the test run by itself.
  const attempt = (source: Zip.ZipSource) =>
    readAll(source).pipe(
      Effect.timeout("2 seconds"),
      Effect.result,
      Effect.map((r) => {
        if (Result.isFailure(r)) {
          assert.instanceOf(r.failure, ArchiveError, `${String(r.failure)}`)
          return (r.failure as ArchiveError).fault
        }
        return "ok" as const
      })
    )

  it.live("empty, tiny and garbage input is CorruptZip; an absent file is ReadFailed", () =>
    Effect.gen(function*() {
      const eocdOnly = new Uint8Array(22)
      eocdOnly.set([0x50, 0x4b, 0x05, 0x06])
      eocdOnly[10] = 3
      const inputs = [new Uint8Array(0), new Uint8Array(1), new Uint8Array(21), noise(5000), text("PK\x05\x06")]
      inputs.push(eocdOnly)
      for (const input of inputs) assert.strictEqual(yield* attempt(bytes(input)), "CorruptZip")
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, "empty.zip"), "")
      assert.strictEqual(yield* attempt(file(path.join(dir, "empty.zip"))), "CorruptZip")
      assert.strictEqual(yield* attempt(file(path.join(dir, "absent.zip"))), "ReadFailed")
      assert.strictEqual(yield* attempt(file(dir)), "ReadFailed")
    }))

  it.live("truncation at every offset is CorruptZip, from bytes and from a file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (const whole of [yield* ZipWriter.toBytes(small), yield* zip64Sample]) {
        for (let n = 0; n < whole.length; n++) {
          const cut = whole.subarray(0, n)
          assert.strictEqual(yield* attempt(bytes(cut)), "CorruptZip")
          fs.writeFileSync(path.join(dir, "cut.zip"), cut)
          assert.strictEqual(yield* attempt(file(path.join(dir, "cut.zip"))), "CorruptZip")
        }
      }
    }), 120_000)

  it.live("a flipped byte at every offset gives success or an ArchiveError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const outcomes = new Map<string, number>()
      for (const whole of [yield* ZipWriter.toBytes(small), yield* zip64Sample]) {
        for (let i = 0; i < whole.length; i++) {
          for (const mask of [0x01, 0x80, 0xff]) {
            const flipped = whole.slice()
            flipped[i]! ^= mask
            const outcome = yield* attempt(bytes(flipped))
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
            if (mask === 0xff) {
              fs.writeFileSync(path.join(dir, "flip.zip"), flipped)
              yield* attempt(file(path.join(dir, "flip.zip")))
            }
          }
        }
      }
      assert.isTrue((outcomes.get("CorruptZip") ?? 0) > 0)
      assert.isTrue((outcomes.get("ok") ?? 0) > 0)
    }), 120_000)
})

describe("writeFile", () => {
  const existing = text("the old archive")
  const setup = Effect.gen(function*() {
    const dir = yield* tempDir
    const target = path.join(dir, "out.zip")
    fs.writeFileSync(target, existing)
    const unchanged = () => {
      assert.deepStrictEqual(fs.readdirSync(dir), ["out.zip"], "no temporary file is left")
      assert.deepStrictEqual(new Uint8Array(fs.readFileSync(target)), existing)
    }
    return { dir, target, unchanged }
  })

  it.effect("replaces an existing file with the archive, leaving no temporary file", () =>
    Effect.gen(function*() {
      const { dir, target } = yield* setup
      yield* ZipWriter.writeFile(target, small)
      assert.deepStrictEqual(fs.readdirSync(dir), ["out.zip"])
      assert.deepStrictEqual(yield* readAll(file(target)), yield* readAll(bytes(yield* ZipWriter.toBytes(small))))
    }))

  it.effect("a missing directory is WriteFailed and creates nothing", () =>
    Effect.gen(function*() {
      const { dir } = yield* setup
      const target = path.join(dir, "no", "such", "dir.zip")
      const e = yield* failure(ZipWriter.writeFile(target, small))
      assert.strictEqual(e.fault, "WriteFailed")
      assert.strictEqual(e.archive, target)
      assert.isFalse(fs.existsSync(path.join(dir, "no")))
    }))

  it.effect("entries that throw midway leave the old file and no temporary file", () =>
    Effect.gen(function*() {
      const { target, unchanged } = yield* setup
      const entries = function*() {
        yield small[0]!
        throw new Error("boom")
      }
      const e = yield* failure(ZipWriter.writeFile(target, entries()))
      assert.strictEqual(e.fault, "WriteFailed")
      assert.strictEqual(e.archive, target)
      unchanged()
    }))

  it.effect("a chunk list whose consumption fails leaves the old file and no temporary file", () =>
    Effect.gen(function*() {
      const { target, unchanged } = yield* setup
      const chunks = [text("one"), text("two")]
      Object.defineProperty(chunks, Symbol.iterator, {
        value: function*() {
          yield chunks[0]!
          throw new Error("chunk source failed")
        }
      })
      const e = yield* failure(ZipWriter.writeFile(target, [small[0]!, { name: "c", data: chunks, compress: true }]))
      assert.strictEqual(e.fault, "WriteFailed")
      assert.strictEqual(e.entry, "c")
      unchanged()
    }))

  it.effect("a hostile name leaves the old file and no temporary file", () =>
    Effect.gen(function*() {
      const { target, unchanged } = yield* setup
      const e = yield* failure(ZipWriter.writeFile(target, [small[0]!, { name: "../x", data: text("x"), compress: false }]))
      assert.strictEqual(e.fault, "HostileEntryName")
      unchanged()
    }))

  it.live("interruption mid-write leaves the old file and no temporary file", () =>
    Effect.gen(function*() {
      const { target, unchanged } = yield* setup
      const chunk = randomBytes(1 << 20)
      const big = { name: "big", data: Array.from({ length: 256 }, () => chunk), compress: true }
      const fiber = yield* Effect.forkChild(ZipWriter.writeFile(target, [big]))
      yield* Effect.sleep("50 millis")
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      assert.isTrue(Exit.hasInterrupts(exit))
      unchanged()
    }), 30_000)
})

// ===== Progress =====

describe("Zip: byte progress", () => {
  const dataBytes = sample.reduce((n, e) => n + joined(e.data).byteLength, 0)
  const listen = () => {
    const events: Array<Progress.Event> = []
    return { events, listener: (e: Progress.Event) => void events.push(e) }
  }
  const rising = (events: ReadonlyArray<Progress.Event>) => {
    for (let i = 1; i < events.length; i++) assert.isAtLeast(events[i]!.bytes, events[i - 1]!.bytes)
  }

  it.effect("a write reports its bytes, rising to every entry's data, to the listener given", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "p.zip")
      const { events, listener } = listen()
      yield* ZipWriter.writeFile(target, sample).pipe(Effect.provideService(Progress.Progress, listener))
      assert.isAbove(events.length, 0)
      rising(events)
      for (const e of events) {
        assert.deepStrictEqual([e.archive, e.direction, e.totalBytes], [target, "write", dataBytes])
      }
      assert.strictEqual(events.at(-1)!.bytes, dataBytes)
    }))

  it.effect("a read reports the entries' data as it is read, from a file (stored, deflated) and from memory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "p.zip")
      yield* ZipWriter.writeFile(target, sample)
      for (const source of [file(target), bytes(fs.readFileSync(target))]) {
        const { events, listener } = listen()
        yield* readAll(source).pipe(Effect.provideService(Progress.Progress, listener))
        rising(events)
        for (const e of events) assert.deepStrictEqual([e.direction, e.totalBytes], ["read", dataBytes])
        assert.strictEqual(events.at(-1)!.bytes, dataBytes)
      }
    }))

  it.effect("without a listener nothing is reported and nothing changes", () =>
    Effect.gen(function*() {
      const written = yield* ZipWriter.toBytes(sample)
      const read = yield* readAll(bytes(written))
      assert.strictEqual(read.size, sample.length)
    }))
})
