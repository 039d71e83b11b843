/**
 * The restricted pickle decoder and the torchbind encoder: torch's real custom object and the spec's minimal
 * form decode, re-encoding matches torch byte for byte, string lists round-trip, every class of hostile or
 * broken input is a located BadPickle (never a defect, never a hang), and the custom-object blob reads and
 * writes with its version record.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Result, Schema } from "effect"
import { constants } from "node:buffer"
import * as fs from "node:fs"
import { ArchiveError } from "../../../src/archive/ArchiveError.ts"
import * as Pickle from "../../../src/archive/pt2/Pickle.ts"
import * as Zip from "../../../src/archive/zip/Zip.ts"
import * as ZipWriter from "../../../src/archive/zip/ZipWriter.ts"

// ===== Helpers =====

const fixture = (name: string) =>
  new Uint8Array(fs.readFileSync(new URL(`../../fixtures/pt2/${name}`, import.meta.url)))

const ENGINE = "__torch__.torch.classes.tensorrt.Engine"
const STATE = ["abi", "name0", "ZW5naW5l", "in0", "out0"]
const HERE = { archive: "model.pt2", entry: "data/constants/custom_obj_0" }

const fromHex = (h: string) => Uint8Array.from(h.replace(/\s/g, "").match(/../g)!, (x) => parseInt(x, 16))
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]

/** Pickle bytes from opcode bytes and latin-1 text. */
const p = (...parts: ReadonlyArray<number | string | ReadonlyArray<number>>): Uint8Array =>
  Uint8Array.from(
    parts.flatMap((x) => (typeof x === "number" ? [x] : typeof x === "string" ? [...x].map((c) => c.charCodeAt(0)) : x))
  )
const str = (s: string) => [0x58, ...u32(Buffer.byteLength(s)), ...Buffer.from(s)]
const HEAD = p(0x80, 2, "c__torch__.torch.classes.tensorrt\nEngine\n", 0x29, 0x81)
const withHead = (...parts: ReadonlyArray<number | string | ReadonlyArray<number>>) => p([...HEAD], ...parts)

/** pt2-format.md §1.6: the minimal form torch 2.11 accepts, for ["a", "b"] (62 bytes). */
const MINIMAL = fromHex(`80 02 63 5f 5f 74 6f 72 63 68 5f 5f 2e 74 6f 72 63 68 2e 63 6c 61 73 73 65 73 2e 74 65 6e 73 6f
  72 72 74 0a 45 6e 67 69 6e 65 0a 29 81 5d 28 58 01 00 00 00 61 58 01 00 00 00 62 65 62 2e`)

/** Every allowed opcode and global at least once, as the state of a torchbind object. */
const RICH = p(
  0x80, 2, "c__torch__.torch.classes.my_ns\nThing\n", 0x71, 0, 0x29, 0x81,
  0x28, // MARK: the state tuple
  0x4b, 7, 0x4d, 0x34, 0x12, 0x4a, ...u32(0xffffffff),
  0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x8a, 8, 5, 0, 0, 0, 0, 0, 0, 0,
  0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x4e, 0x88, 0x89,
  0x8c, 2, 0xc3, 0xa9, 0x8d, 2, 0, 0, 0, 0, 0, 0, 0, "xy", 0x43, 2, 1, 2, 0x42, ...u32(0),
  "ctorch.jit._pickle\nbuild_intlist\n", 0x28, 0x5d, 0x28, 0x4b, 1, 0x4b, 2, 0x65, 0x74, 0x52,
  0x7d, 0x28, ...str("a"), 0x4b, 1, ...str("b"), 0x5d, 0x28, 0x65, ...str("a"), 0x4b, 2, 0x75,
  0x7d, ...str("k"), 0x4e, 0x73,
  "ctorch.jit._pickle\nrestore_type_tag\n", 0x71, 1, 0x7d, 0x28, ...str("z"), 0x4b, 9, 0x75,
  ...str("Dict[str, int]"), 0x86, 0x52,
  0x5d, 0x4b, 5, 0x61, ...str("m"), 0x72, ...u32(300), 0x6a, ...u32(300), 0x29, 0x85, 0x4e, 0x4e, 0x4e, 0x87,
  0x74, 0x62, 0x2e
)

const dataPkl = (blob: Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open({ _tag: "Bytes", bytes: blob, label: "blob" })
    return { names: [...zip.entries.keys()], zip: [...zip.entries.values()], data: yield* zip.read("archive/data.pkl") }
  }))

const zipOf = (entries: Record<string, string | Uint8Array>) =>
  ZipWriter.toBytes(Object.entries(entries).map(([name, d]) => ({
    name,
    data: typeof d === "string" ? Buffer.from(d) : d,
    compress: false
  })))

const decoded = (bytes: Uint8Array) => {
  const r = Pickle.decode(bytes, HERE)
  if (Result.isFailure(r)) assert.fail(r.failure.message)
  return (r as Result.Success<Pickle.PickleValue, ArchiveError>).success
}

/** Decodes `bytes`, which must fail as a BadPickle at `offset` whose detail mentions `mention`. */
const bad = (bytes: Uint8Array, offset: number, mention?: string) => {
  const r = Pickle.decode(bytes, HERE)
  assert.isTrue(Result.isFailure(r), "decoded, expected a fault")
  const e = (r as Result.Failure<Pickle.PickleValue, ArchiveError>).failure
  assert.instanceOf(e, ArchiveError)
  const expected = ["BadPickle", HERE.archive, HERE.entry, `data.pkl@offset ${offset}`]
  assert.deepStrictEqual([e.fault, e.archive, e.entry, e.path], expected)
  if (mention !== undefined) assert.include(e.detail, mention)
  return e
}

const flipped = (e: Effect.Effect<unknown, ArchiveError>) => Effect.flip(e)

// ===== The golden custom object =====

describe("torch's own bytes", () => {
  it.effect("custom_obj_0.bin reads to tensorrt::Engine with its five strings", () =>
    Effect.gen(function*() {
      const object = yield* Pickle.readCustomObject(fixture("custom_obj_0.bin"), HERE)
      assert.strictEqual(object.classFqn, ENGINE)
      assert.deepStrictEqual(Pickle.stringState(object), STATE)
    }))

  it.effect("re-encoding its state gives torch's data.pkl byte for byte", () =>
    Effect.gen(function*() {
      const { data } = yield* dataPkl(fixture("custom_obj_0.bin"))
      assert.strictEqual(data.length, 170)
      assert.deepStrictEqual(Pickle.encodeTorchBind(ENGINE, STATE), data)
      assert.deepStrictEqual(decoded(data), { _tag: "TorchBindObject", classFqn: ENGINE, state: STATE })
    }))

  it.effect("the hand-made minimal blob (.data/version 6, no memo, no type tag) reads to the same object", () =>
    Effect.gen(function*() {
      const object = yield* Pickle.readCustomObject(fixture("handmade_custom_obj_0.bin"), HERE)
      assert.deepStrictEqual(object, { _tag: "TorchBindObject", classFqn: ENGINE, state: STATE })
    }))

  it("the spec's 62-byte minimal form is Engine([\"a\", \"b\"]); torch's own form of it is 128 bytes", () => {
    assert.strictEqual(MINIMAL.length, 62)
    const engine: Pickle.TorchBindObject = { _tag: "TorchBindObject", classFqn: ENGINE, state: ["a", "b"] }
    assert.deepStrictEqual(decoded(MINIMAL), engine)
    const full = Pickle.encodeTorchBind(ENGINE, ["a", "b"])
    assert.strictEqual(full.length, 128)
    assert.deepStrictEqual(decoded(full), engine)
  })

  it("every allowed opcode and global decodes to its value", () => {
    assert.deepStrictEqual(decoded(RICH), {
      _tag: "TorchBindObject",
      classFqn: "__torch__.torch.classes.my_ns.Thing",
      state: {
        _tag: "Tuple",
        items: [
          ...[7, 0x1234, -1, 2n ** 62n, 5, 1.5, null, true, false, "é", "xy"],
          ...[new Uint8Array([1, 2]), new Uint8Array()],
          [1, 2],
          { _tag: "Dict", entries: [["a", 2], ["b", []]] },
          { _tag: "Dict", entries: [["k", null]] },
          { _tag: "Dict", entries: [["z", 9]] },
          ...[[5], "m", "m"],
          { _tag: "Tuple", items: [{ _tag: "Tuple", items: [] }] },
          { _tag: "Tuple", items: [null, null, null] }
        ]
      }
    })
  })
})

// ===== Writing =====

describe("writeCustomObject", () => {
  it.effect("writes torch's four records, stored, deterministically, and reads back", () =>
    Effect.gen(function*() {
      const blob = yield* Pickle.writeCustomObject(ENGINE, STATE)
      assert.deepStrictEqual(yield* Pickle.writeCustomObject(ENGINE, STATE), blob)
      const { names, zip, data } = yield* dataPkl(blob)
      const torchOrder = ["archive/data.pkl", "archive/version", "archive/byteorder", "archive/.data/serialization_id"]
      assert.deepStrictEqual(names, torchOrder)
      assert.isTrue(zip.every((e) => e.stored))
      assert.deepStrictEqual(data, yield* Effect.map(dataPkl(fixture("custom_obj_0.bin")), (x) => x.data))
      const entries = yield* Effect.scoped(Effect.gen(function*() {
        const z = yield* Zip.open({ _tag: "Bytes", bytes: blob, label: "blob" })
        const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1")
        return yield* Effect.forEach(names.slice(1), (n) => Effect.map(z.read(n), latin1))
      }))
      assert.deepStrictEqual(entries.slice(0, 2), ["3\n", "little"])
      assert.match(entries[2]!, /^\d{40}$/)
      const back = yield* Pickle.readCustomObject(blob, HERE)
      assert.deepStrictEqual(back, { _tag: "TorchBindObject", classFqn: ENGINE, state: STATE })
    }))

  it.effect("refuses a class that is not a torchbind class, and strings without a UTF-8 form", () =>
    Effect.gen(function*() {
      const notTorchBind = ["Engine", "__torch__.torch.classes.Engine", "__torch__.torch.classes.a.b.C", "os.system"]
      for (const fqn of [...notTorchBind, `${ENGINE}\n`]) {
        const e = yield* flipped(Pickle.writeCustomObject(fqn, []))
        assert.strictEqual(e.fault, "BadPickle")
        assert.throws(() => Pickle.encodeTorchBind(fqn, []), RangeError)
      }
      assert.strictEqual((yield* flipped(Pickle.writeCustomObject(ENGINE, ["ok", "\uD800"]))).fault, "BadPickle")
    }))
})

// ===== Round trips =====

const Text = Schema.String.check(Schema.isPattern(/^(?:[a-z0-9 \n\0]|é|✓|日本|😀|List\[str\])*$/u))

describe("round trips", () => {
  it.prop("any list of strings, non-ASCII and empty ones included", [Schema.Array(Text)], ([state]) => {
    const bytes = Pickle.encodeTorchBind(ENGINE, state)
    assert.deepStrictEqual(decoded(bytes), { _tag: "TorchBindObject", classFqn: ENGINE, state })
  }, { arbitrary: { runs: 300 } })

  it("repeated strings are memo fetches, and past 255 memo ids the long forms are used", () => {
    const short = Pickle.encodeTorchBind(ENGINE, ["x", "x", "List[str]"])
    // "x" once with its BINPUT 2, then BINGET 2; "List[str]" put at 3 and fetched for the tag.
    const memoised = "X\x01\x00\x00\x00xq\x02h\x02X\x09\x00\x00\x00List[str]q\x03eh\x03"
    assert.include(Buffer.from(short).toString("latin1"), memoised)
    const state = Array.from({ length: 600 }, (_, i) => `s${i % 300}`)
    const long = Pickle.encodeTorchBind(ENGINE, state)
    assert.include(Buffer.from(long).toString("latin1"), "r\x00\x01\x00\x00") // LONG_BINPUT 256
    assert.include(Buffer.from(long).toString("latin1"), "j\x00\x01\x00\x00") // LONG_BINGET 256
    assert.deepStrictEqual(decoded(long), { _tag: "TorchBindObject", classFqn: ENGINE, state })
  })
})

// ===== Rejections =====

describe("rejections, each a located BadPickle", () => {
  it("an unknown opcode, and each known opcode outside the allow-list", () => {
    bad(withHead(0xff), 45, "0xff")
    const refused: Record<number, string> = {
      0x69: "INST", 0x6f: "OBJ", 0x50: "PERSID", 0x51: "BINPERSID", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
      0x95: "FRAME", 0x93: "STACK_GLOBAL", 0x92: "NEWOBJ_EX", 0x32: "DUP", 0x30: "POP", 0x53: "STRING", 0x94: "MEMOIZE"
    }
    for (const [code, name] of Object.entries(refused)) bad(p(0x80, 2, Number(code)), 2, name)
  })

  it("forbidden globals, the __reduce__ exploit included, are refused at their GLOBAL before any call", () => {
    for (const [module, name] of [["os", "system"], ["builtins", "eval"], ["posix", "system"], ["__builtin__", "eval"],
      ["torch", "load"], ["torch.jit._pickle", "build_tensorlist"], ["__torch__.torch.classes", "Engine"],
      ["__torch__.torch.classes.a.b", "C"], ["__torch__.torch.classes.tensorrt", "Engine.x"]]) {
      bad(p(0x80, 2, `c${module}\n${name}\n`, ...str("id"), 0x85, 0x52, 0x2e), 2, `${module}.${name}`)
    }
    bad(p(0x80, 2, "cos\nsystem"), 2, "newline")
  })

  it("a string that is not UTF-8, short or long; a long one kept as its bytes, whose text may be longer than a string holds", () => {
    bad(p(0x80, 2, 0x58, 2, 0, 0, 0, 0xc3, 0x28, 0x2e), 2, "invalid UTF-8")
    // BINUNICODE8 of n bytes of `fill`, then STOP.
    const long = (n: number, fill: number) => {
      const bytes = new Uint8Array(2 + 9 + n + 1).fill(fill)
      bytes.set([0x80, 2, 0x8d])
      new DataView(bytes.buffer).setUint32(3, n, true)
      new DataView(bytes.buffer).setUint32(7, 0, true)
      bytes[bytes.length - 1] = 0x2e
      return bytes
    }
    const n = Pickle.LONG_TEXT + 1
    const text = decoded(long(n, 0x41))
    assert.instanceOf(text, Pickle.LongText)
    assert.strictEqual((text as Pickle.LongText).bytes.byteLength, n)
    assert.deepStrictEqual(Pickle.textOf(text as Pickle.LongText), Result.succeed("A".repeat(n)))
    assert.strictEqual(typeof decoded(long(Pickle.LONG_TEXT, 0x41)), "string")
    bad(long(n, 0xff), 2, "invalid UTF-8")
    // MAX_STRING_LENGTH + 1 zero bytes: valid UTF-8 that no string can hold. The buffer is only read, so the
    // operating system gives it no memory of its own.
    const tooLong = new Pickle.LongText(new Uint8Array(constants.MAX_STRING_LENGTH + 1))
    assert.deepStrictEqual(
      Pickle.textOf(tooLong),
      Result.fail(`${constants.MAX_STRING_LENGTH + 1} bytes of text: longer than the ${constants.MAX_STRING_LENGTH} characters a JavaScript string holds`)
    )
  })

  it("PROTO missing, not 2, or late", () => {
    bad(MINIMAL.subarray(2), 0, "PROTO")
    bad(new Uint8Array(), 0, "PROTO")
    bad(p(0x80, 3, 0x4e, 0x2e), 0, "protocol 3")
    bad(p(0x80, 2, 0x80, 2, 0x4e, 0x2e), 2, "start")
  })

  it("truncated at every offset: a located fault no later than the cut", () => {
    for (const base of [MINIMAL, RICH, Pickle.encodeTorchBind(ENGINE, STATE)]) {
      for (let n = 0; n < base.length; n++) {
        const r = Pickle.decode(base.subarray(0, n), HERE)
        assert.isTrue(Result.isFailure(r), `prefix ${n}`)
        const e = (r as Result.Failure<unknown, ArchiveError>).failure
        assert.strictEqual(e.fault, "BadPickle")
        assert.isAtMost(Number(/^data\.pkl@offset (\d+)$/.exec(e.path!)![1]), n)
      }
    }
  })

  it("stack underflow, also across a MARK", () => {
    bad(p(0x80, 2, 0x85, 0x2e), 2, "underflow")
    bad(p(0x80, 2, 0x4e, 0x28, 0x85, 0x74, 0x2e), 4, "underflow")
    bad(p(0x80, 2, 0x4e, 0x61, 0x2e), 3, "underflow")
    bad(withHead(0x62, 0x2e), 45, "underflow")
  })

  it("a memo miss", () => {
    bad(p(0x80, 2, 0x4e, 0x71, 0, 0x68, 1, 0x2e), 5, "memo 1")
    bad(p(0x80, 2, 0x6a, ...u32(7), 0x2e), 2, "memo 7")
  })

  it("absurd lengths are refused before anything is allocated", () => {
    bad(p(0x80, 2, 0x58, 0xff, 0xff, 0xff, 0xff, 0x61), 2, "4294967295")
    bad(p(0x80, 2, 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x2e), 2, "needs")
    bad(p(0x80, 2, 0x43, 200, 1, 2, 3), 2, "needs 200")
    bad(p(0x80, 2, 0x8a, 200, 0x2e), 2, "8-byte")
  })

  it("MARK left open, or missing, and a wrong stack at STOP", () => {
    bad(p(0x80, 2, 0x28, 0x4e, 0x2e), 4, "offset 2")
    bad(p(0x80, 2, 0x5d, 0x65, 0x2e), 3, "MARK")
    bad(p(0x80, 2, 0x4e, 0x4e, 0x2e), 4, "2 values")
    bad(p(0x80, 2, 0x4e, 0x2e, 0x4e), 3, "after STOP")
    bad(p(0x80, 2, 0x4e), 3, "without STOP")
  })

  it("globals used as values, wrong calls, missing state, and wrong type tags", () => {
    bad(p(0x80, 2, "ctorch.jit._pickle\nrestore_type_tag\n", 0x2e), 38, "restore_type_tag")
    bad(withHead(0x2e), 45, "no BUILD")
    bad(withHead(0x4e, 0x62, 0x4e, 0x62, 0x2e), 48, "already")
    bad(p(0x80, 2, "c__torch__.torch.classes.tensorrt\nEngine\n", 0x29, 0x52, 0x2e), 44, "restore_type_tag or")
    bad(p(0x80, 2, "ctorch.jit._pickle\nbuild_intlist\n", 0x29, 0x81, 0x2e), 36, "torchbind class")
    bad(p(0x80, 2, "c__torch__.torch.classes.tensorrt\nEngine\n", 0x4e, 0x85, 0x81, 0x2e), 45, "empty tuple")
    const tagged = ["ctorch.jit._pickle\nrestore_type_tag\n", 0x5d, str("Dict[str, int]"), 0x86, 0x52, 0x2e] as const
    bad(p(0x80, 2, ...tagged), 59, "type tag")
    bad(p(0x80, 2, "ctorch.jit._pickle\nbuild_intlist\n", 0x5d, ...str("x"), 0x61, 0x85, 0x52, 0x2e), 44, "ints")
    bad(p(0x80, 2, 0x7d, 0x5d, 0x4e, 0x73, 0x2e), 5, "key")
    bad(p(0x80, 2, 0x7d, 0x28, 0x4e, 0x75, 0x2e), 5, "pairs")
    bad(p(0x80, 2, 0x4e, 0x4e, 0x61, 0x2e), 4, "a list")
    bad(p(0x80, 2, 0x58, ...u32(2), 0xc3, 0x28, 0x2e), 2, "UTF-8")
  })

  it("a container never holds itself, and nesting is bounded", () => {
    bad(p(0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e), 7, "already part")
    bad(p(0x80, 2, 0x5d, 0x71, 0, 0x5d, 0x68, 0, 0x61, 0x61, 0x2e), 9, "already part")
    bad(withHead(0x71, 9, 0x68, 9, 0x62, 0x2e), 49, "already part")
    const deep = (n: number) => p(0x80, 2, ...Array(n).fill(0x5d), ...Array(n - 1).fill(0x61), 0x2e)
    assert.isTrue(Array.isArray(decoded(deep(Pickle.maxDepth))))
    bad(deep(Pickle.maxDepth + 1), 2 + Pickle.maxDepth + 1 + Pickle.maxDepth - 1, "deeper")
  })

  it("a million items in one APPENDS decode, in linear time", () => {
    const n = 1_000_000
    const bytes = new Uint8Array(n + 6).fill(0x4e)
    bytes.set([0x80, 2, 0x5d, 0x28])
    bytes.set([0x65, 0x2e], n + 4)
    assert.strictEqual((decoded(bytes) as ReadonlyArray<null>).length, n)
  })
})

// ===== Custom-object blobs =====

describe("readCustomObject faults keep the outer location and name the inner record", () => {
  const fails = (blob: Effect.Effect<Uint8Array, ArchiveError> | Uint8Array) =>
    Effect.flip(
      Effect.flatMap(blob instanceof Uint8Array ? Effect.succeed(blob) : blob, (b) => Pickle.readCustomObject(b, HERE))
    )
  const where = (e: ArchiveError) => [e.fault, e.archive, e.entry, e.path]
  const pkl = Pickle.encodeTorchBind(ENGINE, STATE)

  it.effect("records missing, versions out of range, not a zip, not a torchbind object, a bad pickle", () =>
    Effect.gen(function*() {
      const w = (...xs: Array<string | undefined>) => xs
      assert.deepStrictEqual(where(yield* fails(zipOf({ "archive/data.pkl": pkl }))),
        w("MissingEntry", HERE.archive, HERE.entry, "archive/version"))
      assert.deepStrictEqual(where(yield* fails(zipOf({ "archive/version": "3\n" }))),
        w("MissingEntry", HERE.archive, HERE.entry, "data.pkl"))
      for (const version of ["11", "0\n", "x", "3".repeat(40)]) {
        assert.deepStrictEqual(where(yield* fails(zipOf({ "r/data.pkl": pkl, "r/.data/version": version }))),
          w("UnsupportedVersion", HERE.archive, HERE.entry, "r/.data/version"))
      }
      const notZip = yield* fails(new Uint8Array([1, 2, 3]))
      assert.deepStrictEqual(where(notZip), w("CorruptZip", HERE.archive, HERE.entry, undefined))
      assert.deepStrictEqual(where(yield* fails(zipOf({ "a/data.pkl": pkl, "b/data.pkl": pkl, "a/version": "3" }))),
        w("DuplicateEntry", HERE.archive, HERE.entry, "b/data.pkl"))
      assert.deepStrictEqual(where(yield* fails(zipOf({ "r/data.pkl": p(0x80, 2, 0x5d, 0x2e), "r/version": "3" }))),
        w("SchemaMismatch", HERE.archive, HERE.entry, "r/data.pkl"))
      assert.deepStrictEqual(where(yield* fails(zipOf({ "r/data.pkl": pkl.subarray(0, 57), "r/version": "3" }))),
        w("BadPickle", HERE.archive, HERE.entry, "r/data.pkl@offset 47"))
      // Any root name works, and " 3" parses as std::stoull would.
      const anyRoot = yield* zipOf({ "whatever/data.pkl": pkl, "whatever/version": " 3" })
      assert.strictEqual((yield* Pickle.readCustomObject(anyRoot, HERE)).classFqn, ENGINE)
    }))
})

// ===== Fuzzing =====

const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
}
const tally = new Map<string, number>()

describe("fuzzing", () => {
  const bases = { minimal: MINIMAL, rich: RICH, torch: Pickle.encodeTorchBind(ENGINE, STATE) }
  const opcodes = [0x28, 0x29, 0x2e, 0x4e, 0x52, 0x58, 0x5d, 0x61, 0x62, 0x63, 0x65, 0x68, 0x71, 0x74, 0x81, 0x85, 0x86]

  const mutate = (base: Uint8Array, next: () => number): Uint8Array => {
    const int = (n: number) => Math.floor(next() * n)
    const b = base.slice()
    switch (int(4)) {
      case 0: // 1-4 bit flips or random bytes
        for (let k = 1 + int(4); k > 0; k--) {
          const i = int(b.length)
          b[i] = next() < 0.7 ? b[i]! ^ (1 << int(8)) : int(256)
        }
        return b
      case 1: // an opcode in place of any byte
        b[int(b.length)] = opcodes[int(opcodes.length)]!
        return b
      case 2: { // a byte deleted or inserted
        const i = int(b.length)
        const [head, tail] = [[...b.subarray(0, i)], [...b.subarray(i)]]
        return next() < 0.5 ? p(head, tail.slice(1)) : p(head, int(256), tail)
      }
      default: { // a slice of the stream repeated or cut out
        const i = int(b.length), j = i + int(b.length - i)
        const part = (from: number, to?: number) => [...b.subarray(from, to)]
        return next() < 0.5 ? p(part(0, j), part(i)) : p(part(0, i), part(j))
      }
    }
  }

  for (const [name, base] of Object.entries(bases)) {
    it.live(`${name}: 1200 mutations give a value or a located BadPickle, each quickly`, () =>
      Effect.gen(function*() {
        const next = prng(name.length * 7919)
        for (let i = 0; i < 1200; i++) {
          const bytes = mutate(base, next)
          const started = performance.now()
          const exit = yield* Effect.exit(Effect.suspend(() => Effect.fromResult(Pickle.decode(bytes, HERE))).pipe(Effect.timeout("1 second")))
          // decode is synchronous, so the timeout alone cannot catch a hang: the elapsed time is checked too.
          assert.isBelow(performance.now() - started, 200, `${name}/${i} was slow`)
          if (Exit.isSuccess(exit)) {
            tally.set("ok", (tally.get("ok") ?? 0) + 1)
            continue
          }
          assert.isFalse(Cause.hasDies(exit.cause), `${name}/${i}: ${Cause.pretty(exit.cause).slice(0, 300)}`)
          const found = Cause.findErrorOption(exit.cause)
          assert.strictEqual(found._tag, "Some")
          const e = (found as { readonly value: unknown }).value
          assert.instanceOf(e, ArchiveError, `${name}/${i}: ${String(e)}`)
          const error = e as ArchiveError
          assert.strictEqual(error.fault, "BadPickle")
          assert.isAtMost(Number(/^data\.pkl@offset (\d+)$/.exec(error.path ?? "")![1]), bytes.length)
          assert.isAbove(error.detail.length, 0)
          const kind = error.detail.replace(/"(?:[^"\\]|\\.)*"/g, "\"…\"").replace(/\d+/g, "N")
          tally.set(kind, (tally.get(kind) ?? 0) + 1)
        }
      }))
  }

  it("both outcomes occurred", () => {
    assert.isAbove(tally.get("ok") ?? 0, 0)
    assert.isAbove(tally.size, 10)
  })
})

afterAll(() => {
  const total = [...tally.values()].reduce((a, b) => a + b, 0)
  const top = [...tally].sort((x, y) => y[1] - x[1]).slice(0, 12).map(([k, v]) => `  ${v} ${k}`)
  const head = `pickle fuzz: ${total} cases, ${tally.get("ok") ?? 0} decoded; most frequent outcomes:`
  console.log([head, ...top].join("\n"))
})
