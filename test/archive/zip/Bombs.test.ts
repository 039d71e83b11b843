import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ArchiveError } from "../../../src/archive/ArchiveError.ts"
import * as Limits from "../../../src/archive/Limits.ts"
import * as Reader from "../../../src/archive/pt2/Reader.ts"
import * as Tgm from "../../../src/archive/tgm/Tgm.ts"
import * as Zip from "../../../src/archive/zip/Zip.ts"
import * as Forge from "./Forge.ts"

// Real bombs, at the size of the reports: 1 GiB of spaces deflated to about 1 MB. The deflated bytes are
// built once (a few hundred milliseconds) and never inflated. Each attempt must fail at once: in well under
// a second, where inflating the gigabyte takes several, and without a buffer of the declared size (the
// external memory of array buffers stays far below it; a GC before the check could only hide a buffer,
// never invent one, so the check cannot fail falsely).
const GiB = 2 ** 30
let bomb: Forge.Local | undefined
const theBomb = () => (bomb ??= Forge.spaces("bomb", 1024))

const fast = <A, R>(effect: Effect.Effect<A, ArchiveError, R>) =>
  Effect.gen(function*() {
    const before = process.memoryUsage().arrayBuffers
    const started = performance.now()
    const error = yield* Effect.flip(effect)
    const millis = performance.now() - started
    const grown = process.memoryUsage().arrayBuffers - before
    assert.instanceOf(error, ArchiveError)
    assert.isBelow(millis, 500, `failed after ${millis.toFixed(0)} ms`)
    assert.isBelow(grown, 64 * 2 ** 20, `array buffers grew by ${grown} bytes`)
    return error
  })

describe("a JSON entry that inflates to 1 GiB", () => {
  it.effect("the bomb is real: about 1 MB that declares 1 GiB, within deflate's ratio", () =>
    Effect.gen(function*() {
      const b = theBomb()
      assert.strictEqual(b.size, GiB)
      assert.isBelow(b.packed.length, 1.1e6)
      // Open accepts it: only the JSON bound refuses it.
      const zip = yield* Zip.open({ _tag: "Bytes", bytes: Forge.tgmBomb(b), label: "bomb.tgm" })
      assert.strictEqual(zip.entries.get("module.json")!.uncompressedSize, GiB)
    }))

  it.effect("a .tgm's module.json: EntryTooLarge naming Limits.jsonBytes, before inflation", () =>
    Effect.gen(function*() {
      const e = yield* fast(Tgm.readBytes(Forge.tgmBomb(theBomb()), "bomb.tgm"))
      assert.strictEqual(e.fault, "EntryTooLarge")
      assert.strictEqual(e.entry, "module.json")
      assert.include(e.detail, "Limits.jsonBytes")
      assert.include(e.detail, "--max-json-bytes")
    }))

  it.effect("a .pt2's models/model.json: EntryTooLarge, before inflation", () =>
    Effect.gen(function*() {
      const e = yield* fast(Reader.read({ _tag: "Bytes", bytes: Forge.pt2Bomb(theBomb()), label: "bomb.pt2" }))
      assert.strictEqual(e.fault, "EntryTooLarge")
      assert.strictEqual(e.entry, "bomb/models/model.json")
      assert.include(e.detail, "Limits.jsonBytes")
    }))

  it.effect("the other JSON and text entries are bounded too (format.json, version records, payload configs)", () =>
    Effect.gen(function*() {
      const b = theBomb()
      const format = yield* fast(Tgm.readBytes(Forge.assemble([{ ...b, name: "format.json" }]), "f.tgm"))
      assert.deepStrictEqual([format.fault, format.entry], ["EntryTooLarge", "format.json"])
      const archiveFormat = Forge.assemble([Forge.stored("r/.data/version", "1"), { ...b, name: "r/archive_format" }])
      const e = yield* fast(Reader.read({ _tag: "Bytes", bytes: archiveFormat, label: "v.pt2" }))
      assert.deepStrictEqual([e.fault, e.entry], ["EntryTooLarge", "r/archive_format"])
    }))

  it.effect("a program that raises Limits.jsonBytes gets past the bound (and then meets the next check)", () =>
    Effect.gen(function*() {
      // Raised above 1 GiB, the bound no longer refuses it; the smaller Limits.entryBytes then does, at open.
      const limits = { ...Limits.defaults, jsonBytes: 2 * GiB, entryBytes: GiB - 1 }
      const e = yield* fast(Tgm.readBytes(Forge.tgmBomb(theBomb()), "bomb.tgm").pipe(Effect.provideService(Limits.Limits, limits)))
      assert.strictEqual(e.fault, "EntryTooLarge")
      assert.include(e.detail, "Limits.entryBytes")
    }))
})

describe("several names for one 1 GiB entry", () => {
  it.effect("eight names pointing at one local header are refused at open, before any data is read", () =>
    Effect.gen(function*() {
      const archive = Forge.aliases(theBomb(), ["a", "b", "c", "d", "e", "f", "g", "h"])
      const e = yield* fast(Zip.open({ _tag: "Bytes", bytes: archive, label: "aliases.zip" }))
      assert.strictEqual(e.fault, "CorruptZip")
      assert.strictEqual(e.entry, "b")
    }))
})
