/**
 * trtx's zip records against yazl's: the layout in `Layout.ts` is the one yazl 3 writes with trtx's fixed
 * time and mode, so an archive's bytes do not depend on which of the two wrote it. Each
 * seeded case builds the same entries both ways (one buffer, a chunk list or pieces, stored or deflated, empty,
 * ASCII and multi-byte names) and compares the bytes; an archive of 70,000 entries takes the zip64 end
 * records. What neither can make here cheaply (an entry or offset past 4 GiB) is checked field by field.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Readable } from "node:stream"
import * as yazl from "yazl"
import * as Layout from "../../../src/archive/zip/Layout.ts"
import * as Zip from "../../../src/archive/zip/Zip.ts"
import * as ZipWriter from "../../../src/archive/zip/ZipWriter.ts"
import * as C from "../../utils/TgmCraft.ts"

const options = { mtime: new Date(1980, 0, 1), mode: 0o100644, forceDosTimestamp: true }

// What yazl writes for the same entries, as trtx used it: one buffer up to 1 GiB through addBuffer (pieces
// joined: they are written as their buffer), anything else through addReadStream with its size.
const byYazl = (entries: ReadonlyArray<ZipWriter.ZipWriteEntry>) =>
  Effect.callback<Uint8Array>((resume) => {
    const zip = new yazl.ZipFile()
    const chunks: Array<Buffer> = []
    zip.outputStream.on("data", (c: Buffer) => chunks.push(c))
    zip.outputStream.on("end", () => resume(Effect.succeed(new Uint8Array(Buffer.concat(chunks)))))
    for (const e of entries) {
      if (ArrayBuffer.isView(e.data)) zip.addBuffer(Buffer.from(e.data), e.name, { ...options, compress: e.compress })
      else if ("chunks" in e.data) zip.addBuffer(Buffer.from(ZipWriter.join(e.data)), e.name, { ...options, compress: e.compress })
      else {
        const size = e.data.reduce((n, c) => n + c.byteLength, 0)
        zip.addReadStream(Readable.from(e.data.map((c) => Buffer.from(c))), e.name, { ...options, compress: e.compress, size })
      }
    }
    zip.end()
  })

const NAMES = ["a", "data/weights/weight_0", "models/model.json", "ünïcødé/名前", "x".repeat(300), "archive/.data/version"]

const randomData = (r: C.Prng): Uint8Array => {
  const n = r.pick([0, 1, 7, 100, 4096, r.int(0, 200_000)])
  const out = new Uint8Array(n)
  const compressible = r.next() < 0.5
  for (let i = 0; i < n; i++) out[i] = compressible ? (i % 17) : r.int(0, 256)
  return out
}

const randomEntries = (r: C.Prng): Array<ZipWriter.ZipWriteEntry> =>
  Array.from({ length: r.int(1, 12) }, (_, i) => {
    const name = `${i}/${r.pick(NAMES)}`
    const compress = r.next() < 0.4
    if (r.next() < 0.35) return { name, compress, data: Array.from({ length: r.int(0, 5) }, () => randomData(r)) }
    if (r.next() < 0.3) return { name, compress, data: ZipWriter.pieces(Array.from({ length: r.int(0, 5) }, () => randomData(r))) }
    return { name, compress, data: randomData(r) }
  })

describe("zip layout: the bytes yazl writes", () => {
  it.effect("200 seeded entry lists: single buffers and chunk lists, stored and deflated", () =>
    Effect.gen(function*() {
      for (let seed = 1; seed <= 200; seed++) {
        const entries = randomEntries(C.prng(seed))
        const ours = yield* ZipWriter.toBytes(entries)
        const theirs = yield* byYazl(entries)
        assert.isTrue(Buffer.from(ours).equals(Buffer.from(theirs)), `seed ${seed}: the bytes differ`)
      }
    }), 60_000)

  it.effect("70,000 entries: the zip64 end records, and the archive reads back", () =>
    Effect.gen(function*() {
      const entries = Array.from({ length: 70_000 }, (_, i) => ({ name: `e/${i}`, data: new Uint8Array([i & 0xff]), compress: false }))
      const ours = yield* ZipWriter.toBytes(entries)
      const theirs = yield* byYazl(entries)
      assert.isTrue(Buffer.from(ours).equals(Buffer.from(theirs)), "the bytes differ")
      const read = yield* Effect.scoped(Effect.gen(function*() {
        const zip = yield* Zip.open({ _tag: "Bytes", bytes: ours, label: "many.zip" })
        return { count: zip.entries.size, last: yield* zip.read("e/69999") }
      }))
      assert.strictEqual(read.count, 70_000)
      assert.deepStrictEqual([...read.last], [69_999 & 0xff])
    }), 60_000)
})

describe("zip layout: past 4 GiB, field by field", () => {
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)
  const u64 = (v: DataView, at: number) => v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32
  const facts: Layout.EntryFacts = {
    name: new TextEncoder().encode("big"),
    deflated: false,
    crc32: 0x12345678,
    compressedSize: 5 * 2 ** 30,
    uncompressedSize: 5 * 2 ** 30,
    offset: 6 * 2 ** 30,
    sizesAfterData: true
  }

  it("an entry past 4 GiB: 0xffffffff in the record, the sizes and offset in its zip64 extra field, a 24-byte descriptor", () => {
    const record = view(Layout.centralRecord(facts))
    assert.strictEqual(record.getUint16(6, true), 45)
    assert.strictEqual(record.getUint32(20, true), 0xffffffff)
    assert.strictEqual(record.getUint32(24, true), 0xffffffff)
    assert.strictEqual(record.getUint32(42, true), 0xffffffff)
    assert.strictEqual(record.getUint16(30, true), 28)
    const extra = 46 + 3
    assert.strictEqual(record.getUint16(extra, true), 1)
    assert.strictEqual(u64(record, extra + 4), facts.uncompressedSize)
    assert.strictEqual(u64(record, extra + 12), facts.compressedSize)
    assert.strictEqual(u64(record, extra + 20), facts.offset)
    const descriptor = view(Layout.dataDescriptor(facts))
    assert.strictEqual(descriptor.byteLength, 24)
    assert.strictEqual(descriptor.getUint32(4, true), facts.crc32)
    assert.strictEqual(u64(descriptor, 8), facts.compressedSize)
    assert.strictEqual(u64(descriptor, 16), facts.uncompressedSize)
    const header = view(Layout.localHeader(facts))
    assert.strictEqual(header.getUint16(6, true), (1 << 11) | (1 << 3))
    assert.strictEqual(header.getUint32(14, true), 0)
  })

  it("a directory past 4 GiB: the zip64 end record and locator, then 0xffffffff in the plain record", () => {
    const end = view(Layout.endRecords(3, 11 * 2 ** 30, 200))
    assert.strictEqual(end.byteLength, 98)
    assert.strictEqual(end.getUint32(0, true), 0x06064b50)
    assert.strictEqual(u64(end, 24), 3)
    assert.strictEqual(u64(end, 40), 200)
    assert.strictEqual(u64(end, 48), 11 * 2 ** 30)
    assert.strictEqual(end.getUint32(56, true), 0x07064b50)
    assert.strictEqual(u64(end, 64), 11 * 2 ** 30 + 200)
    assert.strictEqual(end.getUint32(76, true), 0x06054b50)
    assert.strictEqual(end.getUint16(76 + 8, true), 3)
    assert.strictEqual(end.getUint32(76 + 12, true), 200)
    assert.strictEqual(end.getUint32(76 + 16, true), 0xffffffff)
    assert.strictEqual(Layout.endRecords(3, 100, 200).byteLength, 22)
  })
})
