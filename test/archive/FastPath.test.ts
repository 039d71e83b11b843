/**
 * The fast path against the schemas it is compiled from: where it answers, its value is the schema's own
 * result, key order included; where the schema refuses, it does not answer (so that the refusal, its message
 * and its path are the schema's). Shown on every record of the corpus and the samples (real torch archives and
 * `.tgm` dumps), on seeded mutations of them, and on small schemas that isolate each rule.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schema, SchemaGetter } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as FastPath from "../../src/archive/FastPath.ts"
import * as Json from "../../src/archive/Json.ts"
import * as PtRecords from "../../src/archive/pt2/Records.ts"
import * as TgmRecords from "../../src/archive/tgm/Records.ts"
import * as Zip from "../../src/archive/zip/Zip.ts"
import * as Meta from "../../src/graph/Meta.ts"
import { cases, timeout } from "../utils/FuzzKit.ts"
import { seedOf, slots } from "../utils/Mutate.ts"
import { type Json as JsonT, type Prng, prng } from "../utils/TgmCraft.ts"

const FIXTURES = nodePath.join(import.meta.dirname, "../fixtures")

// The schema of each JSON entry the readers decode, by the entry's name.
const schemaOf = (entry: string): Schema.Top | undefined => {
  if (entry === "format.json") return TgmRecords.FormatRecord
  if (entry === "module.json") return TgmRecords.RootRecord
  if (entry === "op_schemas.json") return TgmRecords.OpSchemasRecord
  if (/\/models\/[^/]+\.json$/.test(entry)) return PtRecords.ExportedProgram
  if (/_config\.json$/.test(entry)) return PtRecords.PayloadConfig
  return undefined
}

interface Record_ {
  readonly label: string
  readonly schema: Schema.Top
  readonly value: unknown
}

// Every JSON entry with a schema, of every archive of the corpus and the samples, parsed as the readers parse it.
const records: ReadonlyArray<Record_> = await Effect.runPromise(Effect.gen(function*() {
  const files = [
    ...fs.readdirSync(nodePath.join(FIXTURES, "corpus")).map((f) => nodePath.join(FIXTURES, "corpus", f)),
    ...fs.readdirSync(nodePath.join(FIXTURES, "samples"), { recursive: true, encoding: "utf8" })
      .map((f) => nodePath.join(FIXTURES, "samples", f))
  ].filter((f) => /\.(tgm|pt2)$/.test(f)).sort()
  const out: Array<Record_> = []
  for (const file of files) {
    yield* Effect.scoped(Effect.gen(function*() {
      const zip = yield* Zip.open({ _tag: "File", path: file })
      for (const name of zip.entries.keys()) {
        const schema = schemaOf(name)
        if (schema === undefined) continue
        const value = yield* Json.parse(yield* zip.readJson(name), { archive: file, entry: name })
        out.push({ label: `${nodePath.relative(FIXTURES, file)}:${name}`, schema, value })
      }
    }))
  }
  return out
}))

// Equal as JSON-like values, own keys in the same order.
const sameOrdered = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Reflect.ownKeys(a)
  const kb = Reflect.ownKeys(b)
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false
  return ka.every((k) => sameOrdered((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k]))
}

type Verdict = "fast" | "refused" | "slow"

// The fast path held to the schema on one input: its value is the schema's, or it leaves the input to the
// schema. "slow" is an input the schema accepts that the fast path left to it.
const check = (direction: "decode" | "encode", schema: Schema.Top, input: unknown, label: string): Verdict => {
  const fast = direction === "decode" ? FastPath.decode(schema, input) : FastPath.encode(schema, input)
  const slow = direction === "decode"
    ? Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)(input)
    : Schema.encodeUnknownResult(schema as Schema.Codec<unknown, unknown>)(input)
  if (fast === FastPath.fallback) return Result.isSuccess(slow) ? "slow" : "refused"
  if (Result.isFailure(slow)) assert.fail(`${label}: the fast path ${direction}s what the schema refuses: ${String(slow.failure)}`)
  if (!sameOrdered(fast, slow.success)) assert.fail(`${label}: the fast path ${direction}s to another value than the schema`)
  return "fast"
}

// Values a mutation puts in a slot: every JSON kind, the numbers the schemas tell apart, and big integers.
const replacements: ReadonlyArray<() => unknown> = [
  () => null,
  () => true,
  () => 0,
  () => -0,
  () => -1,
  () => 1.5,
  () => 2 ** 53 + 2,
  () => 2n ** 63n,
  () => 9223372036854775807n,
  () => "",
  () => "x",
  () => "Infinity",
  () => "NaN",
  () => "__proto__",
  () => [],
  () => [1, 2, 3],
  () => ({}),
  () => ({ zz: 1 }),
  () => ({ as_int: 1 }),
  () => ({ as_name: "x", as_int: 1 }),
  () => ({ node: "x" }),
  () => Number.NaN,
  () => Number.POSITIVE_INFINITY
]

const clone = (v: unknown): unknown => structuredClone(v)

// One seeded mutation of a copy of `root`: a slot replaced, removed, copied from another slot, or given an
// extra key.
const mutate = (root: unknown, r: Prng): unknown => {
  const copy = clone(root)
  const all = slots(copy as JsonT)
  if (all.length === 0) return r.pick(replacements)()
  const [container, key] = r.pick(all)
  const c = container as Record<PropertyKey, unknown>
  switch (r.int(0, 4)) {
    case 0:
      c[key] = r.pick(replacements)()
      break
    case 1:
      if (Array.isArray(c)) c.splice(key as number, 1)
      else delete c[key]
      break
    case 2: {
      const [other, otherKey] = r.pick(all)
      c[key] = clone((other as Record<PropertyKey, unknown>)[otherKey])
      break
    }
    default:
      if (!Array.isArray(c) && typeof c[key] === "object" && c[key] !== null && !Array.isArray(c[key])) {
        ;(c[key] as Record<string, unknown>)[r.pick(["zz", "as_int", "as_expr", "__proto__", "0"])] = r.pick(replacements)()
      } else c[key] = r.pick(replacements)()
  }
  return copy
}

describe("FastPath: decoding as the schema decodes", () => {
  it("the corpus and the samples hold records of every reader", () => {
    assert.isAbove(records.length, 300)
    for (const s of [TgmRecords.RootRecord, TgmRecords.OpSchemasRecord, PtRecords.ExportedProgram, PtRecords.PayloadConfig]) {
      assert.strictEqual(records.some((x) => x.schema === s), true)
    }
  })

  it("every record as it is: the fast path decodes it, to the schema's value", () => {
    for (const { label, schema, value } of records) assert.strictEqual(check("decode", schema, value, label), "fast", label)
  })

  it("every decoded record encodes on the fast path, to the schema's encoding", () => {
    for (const { label, schema, value } of records) {
      const decoded = Schema.decodeUnknownSync(schema as Schema.Codec<unknown, unknown>)(value)
      assert.strictEqual(check("encode", schema, decoded, label), "fast", label)
    }
  })

  it("seeded mutations of every record: never a value the schema would not give", () => {
    const tally: Record<Verdict, number> = { fast: 0, refused: 0, slow: 0 }
    const perRecord = cases(12)
    for (const { label, schema, value } of records) {
      const r = prng(seedOf(`fastpath decode ${label}`))
      for (let i = 0; i < perRecord; i++) tally[check("decode", schema, mutate(value, r), `${label} #${i}`)]++
    }
    // Both sides of the line are reached: mutations the schema still accepts, and ones it refuses.
    if (process.env.TRTX_FASTPATH_TALLY) console.log("decode", tally)
    assert.isAbove(tally.fast, records.length)
    assert.isAbove(tally.refused, records.length)
  }, timeout(30_000))

  it("seeded mutations of every decoded record: the encodings agree", () => {
    const tally: Record<Verdict, number> = { fast: 0, refused: 0, slow: 0 }
    const perRecord = cases(6)
    for (const { label, schema, value } of records) {
      const decoded = Schema.decodeUnknownSync(schema as Schema.Codec<unknown, unknown>)(value)
      const r = prng(seedOf(`fastpath encode ${label}`))
      for (let i = 0; i < perRecord; i++) tally[check("encode", schema, mutate(decoded, r), `${label} #${i}`)]++
    }
    if (process.env.TRTX_FASTPATH_TALLY) console.log("encode", tally)
    assert.isAbove(tally.fast, records.length)
    assert.isAbove(tally.refused, records.length / 4)
  }, timeout(30_000))
})

describe("FastPath: each rule against the schema", () => {
  const agree = (schema: Schema.Top, inputs: ReadonlyArray<unknown>): Array<Verdict> =>
    inputs.map((input, i) => check("decode", schema, input, `input ${i}`))

  it("structs: declared keys in their order, excess keys dropped, optional keys absent, __proto__ as data", () => {
    const S = Schema.Struct({ b: Schema.String, a: Schema.optionalKey(Schema.Number), ["__proto__"]: Schema.optionalKey(Schema.Boolean) })
    const proto = JSON.parse(`{"__proto__": true, "b": "x"}`)
    assert.deepStrictEqual(agree(S, [{ a: 1, b: "x", c: 3 }, { b: "x" }, { b: "x", a: undefined }, { a: 1 }, proto, null, [], "s"]), ["fast", "fast", "refused", "refused", "fast", "refused", "refused", "refused"])
    assert.deepStrictEqual(Object.keys(FastPath.decode(S, { a: 1, b: "x" }) as object), ["b", "a"])
  })

  it("records of string keys: the input's order, a declared key held to both types", () => {
    const R = Schema.Record(Schema.String, Schema.Number)
    assert.deepStrictEqual(agree(R, [{ z: 1, a: 2 }, {}, { a: "x" }, []]), ["fast", "fast", "refused", "refused"])
    const SR = Schema.StructWithRest(Schema.Struct({ a: Schema.Number }), [Schema.Record(Schema.String, Schema.Number)])
    assert.deepStrictEqual(agree(SR, [{ a: 1, b: 2 }, { a: 1, b: "x" }]), ["fast", "refused"])
    // Values of any kind (a union of torch's schema before its key is read): a plain object is the value itself.
    const RU = Schema.Record(Schema.String, Schema.Unknown)
    const nullProto = Object.assign(Object.create(null), { z: 1, a: [2] })
    class Box {
      b = "x"
    }
    const inputs = [{ z: 1, a: { x: 2n } }, {}, { a: undefined }, nullProto, new Box(), Object.create({ inherited: 1 }), [], null, "s", 1]
    assert.deepStrictEqual(agree(RU, inputs), ["fast", "fast", "fast", "fast", "fast", "fast", "refused", "refused", "refused", "refused"])
    assert.strictEqual(FastPath.decode(RU, inputs[0]), inputs[0])
    assert.notStrictEqual(FastPath.decode(RU, nullProto), nullProto)
    assert.deepStrictEqual(Object.keys(FastPath.decode(RU, nullProto) as object), ["z", "a"])
  })

  it("tuples and arrays: lengths and elements", () => {
    const T = Schema.Tuple([Schema.String, Schema.Number])
    assert.deepStrictEqual(agree(T, [["a", 1], ["a"], ["a", 1, 2], [1, "a"], {}]), ["fast", "refused", "refused", "refused", "refused"])
    const A = Schema.Array(Schema.Int)
    assert.deepStrictEqual(agree(A, [[], [1, 2], [1, 2.5], [1, "2"]]), ["fast", "fast", "refused", "refused"])
  })

  it("unions: the first member that decodes, literals by identity", () => {
    const U = Schema.Union([Schema.Struct({ a: Schema.Number }), Schema.Struct({ a: Schema.String, b: Schema.optionalKey(Schema.Number) })])
    assert.deepStrictEqual(agree(U, [{ a: 1, b: 2 }, { a: "x", b: 2 }, { a: null }]), ["fast", "fast", "refused"])
    assert.deepStrictEqual(FastPath.decode(U, { a: 1, b: 2 }), { a: 1 })
    assert.deepStrictEqual(agree(Schema.Union([Schema.Literals([0, "a"]), Schema.Null]), [0, -0, "a", null, "b", 1]), ["fast", "fast", "fast", "fast", "refused", "refused"])
  })

  it("unions of leaves (one compiled test): alone, with checks, nested, and inlined in a struct", () => {
    const inputs = [1, -0, Number.NaN, 2n, "a", "b", "", true, false, null, undefined, {}, [], Symbol.for("x")]
    const verdicts = (schema: Schema.Top) => agree(schema, inputs)
    const expected = (accepts: (v: unknown) => boolean) => inputs.map((v) => (accepts(v) ? "fast" : "refused"))
    assert.deepStrictEqual(verdicts(Schema.Union([Schema.Number, Schema.BigInt])), expected((v) => typeof v === "number" || typeof v === "bigint"))
    assert.deepStrictEqual(verdicts(Schema.NullOr(Schema.String)), expected((v) => v === null || typeof v === "string"))
    assert.deepStrictEqual(verdicts(Schema.Literals(["a", true])), expected((v) => v === "a" || v === true))
    assert.deepStrictEqual(verdicts(Schema.Union([Schema.Literal("a"), Schema.Union([Schema.Boolean, Schema.Null])])), expected((v) => v === "a" || typeof v === "boolean" || v === null))
    const Checked = Schema.Union([Schema.Number, Schema.BigInt]).check(Schema.makeFilter((v) => typeof v === "bigint" || Number.isInteger(v) || "an integer"))
    assert.deepStrictEqual(verdicts(Checked), expected((v) => typeof v === "bigint" || Number.isInteger(v)))
    const S = Schema.Struct({ a: Schema.NullOr(Schema.String), b: Schema.optionalKey(Schema.Literals(["x", "y"])) })
    assert.deepStrictEqual(agree(S, [{ a: null }, { a: "s", b: "y" }, { a: 1 }, { a: null, b: "z" }, { b: "x" }]), ["fast", "fast", "refused", "refused", "refused"])
  })

  it("checks, transformations and recursion", () => {
    const Finite = Schema.Union([
      Schema.Finite,
      Schema.Literals(["Infinity", "NaN"]).pipe(Schema.decodeTo(Schema.Number, {
        decode: SchemaGetter.transform((s) => (s === "NaN" ? Number.NaN : Number.POSITIVE_INFINITY)),
        encode: SchemaGetter.transform((n) => (Number.isNaN(n) ? "NaN" as const : "Infinity" as const))
      }))
    ])
    assert.deepStrictEqual(agree(Finite, [1, "NaN", "Infinity", "inf", Number.NaN]), ["fast", "fast", "fast", "refused", "refused"])
    interface Tree { readonly children: ReadonlyArray<Tree> }
    const Tree: Schema.Codec<Tree> = Schema.Struct({ children: Schema.Array(Schema.suspend((): Schema.Codec<Tree> => Tree)) })
    assert.deepStrictEqual(agree(Tree, [{ children: [{ children: [] }] }, { children: [{ children: [1] }] }]), ["fast", "refused"])
    assert.deepStrictEqual(agree(Meta.JsonValue, [{ a: [1, "x", null] }, 2n ** 70n, { f: () => 1 }]), ["fast", "fast", "refused"])
  })

  it("the input itself is the value where it is what would be built; anything else is a new value", () => {
    const S = Schema.Struct({ b: Schema.String, a: Schema.optionalKey(Schema.Number) })
    const same = [{ b: "x", a: 1 }, { b: "x" }]
    for (const input of same) assert.strictEqual(FastPath.decode(S, input), input)
    // Another order, an excess key, a key of the prototype chain, an instance of a class: rebuilt as the schema
    // builds them.
    class Box {
      b = "x"
    }
    const rebuilt = [{ a: 1, b: "x" }, { b: "x", a: 1, c: 2 }, Object.assign(Object.create({ z: 1 }), { b: "x" }), new Box()]
    for (const input of rebuilt) {
      const value = FastPath.decode(S, input)
      assert.notStrictEqual(value, input)
      assert.strictEqual(Object.getPrototypeOf(value), Object.prototype)
    }
    assert.deepStrictEqual(Object.keys(FastPath.decode(S, { a: 1, b: "x" }) as object), ["b", "a"])
    // A transformed element makes a copy from that element on; the input is left as it was.
    const Finite = Schema.Array(Schema.Union([Schema.Finite, Schema.Literal("NaN").pipe(Schema.decodeTo(Schema.Number, {
      decode: SchemaGetter.transform(() => Number.NaN),
      encode: SchemaGetter.transform(() => "NaN" as const)
    }))]))
    const plain = [1, 2, 3]
    assert.strictEqual(FastPath.decode(Finite, plain), plain)
    const withNaN = [1, "NaN", 3]
    assert.deepStrictEqual(FastPath.decode(Finite, withNaN), [1, Number.NaN, 3])
    assert.deepStrictEqual(withNaN, [1, "NaN", 3])
    const R = Schema.Record(Schema.String, Schema.Finite)
    const entries = { z: 1, a: 2 }
    assert.strictEqual(FastPath.decode(R, entries), entries)
    const nullProto = Object.assign(Object.create(null), { z: 1 })
    assert.notStrictEqual(FastPath.decode(R, nullProto), nullProto)
  })

  it("a decoding that turns -0 into 0 is a change, in every container (=== takes them for one value)", () => {
    const zero = SchemaGetter.transform((n: number) => (n === 0 ? 0 : n))
    const Zero = Schema.Number.pipe(Schema.decodeTo(Schema.Number, { decode: zero, encode: zero }))
    const wide: Record<string, Schema.Top> = {}
    for (const k of ["a", "b", "c", "d", "e", "f", "g", "h"]) wide[k] = Schema.optionalKey(Zero)
    const containers: ReadonlyArray<readonly [Schema.Top, unknown]> = [
      [Schema.Struct({ a: Zero }), { a: -0 }],
      [Schema.Struct(wide), { c: -0 }],
      [Schema.Record(Schema.String, Zero), { z: 1, a: -0 }],
      [Schema.Array(Zero), [1, -0]],
      [Schema.Tuple([Zero, Zero]), [-0, 2]]
    ]
    for (const [schema, input] of containers) {
      assert.deepStrictEqual(agree(schema, [input]), ["fast"])
      const value = FastPath.decode(schema, input)
      assert.notStrictEqual(value, input)
      assert.isFalse(Object.values(value as object).some((v) => Object.is(v, -0)))
      assert.deepStrictEqual(check("encode", schema, input, "encode"), "fast")
    }
  })

  it("a wide struct of optional keys, as a union of torch's schema: one own key goes to its field, anything else to the general decoder", () => {
    const fields: Record<string, Schema.Top> = {}
    for (const k of ["a", "b", "c", "d", "e", "f", "g", "h", "i"]) fields[k] = Schema.optionalKey(k === "a" ? Schema.Number : Schema.String)
    fields["n"] = Schema.optionalKey(Schema.Struct({ x: Schema.Number }))
    const W = Schema.Struct(fields)
    const inputs = [
      { a: 1 },
      { b: "x" },
      { n: { x: 1 } },
      { n: { x: "no" } },
      { a: "no" },
      { a: 1, b: "x" },
      { b: "x", a: 1 },
      {},
      { zz: 1 },
      { toString: 1 },
      JSON.parse(`{"__proto__": 1}`),
      Object.assign(Object.create(null), { a: 1 }),
      Object.assign(Object.create({ a: 2 }), { b: "x" })
    ]
    assert.deepStrictEqual(agree(W, inputs), [
      "fast",
      "fast",
      "fast",
      "refused",
      "refused",
      "fast",
      "fast",
      "fast",
      "fast",
      "fast",
      "fast",
      "fast",
      "fast"
    ])
    const one = { a: 1 }
    assert.strictEqual(FastPath.decode(W, one), one)
  })

  it("a default computed on decoding is left to the schema, which supplies it", () => {
    const D = Schema.Struct({ a: Schema.Number.pipe(Schema.withDecodingDefaultKey(Effect.sync(() => 7))) })
    assert.deepStrictEqual(agree(D, [{ a: 1 }, {}]), ["fast", "slow"])
    assert.deepStrictEqual(Json.decodeValue(D as Schema.Codec<{ a: number }, unknown>, {}), Result.succeed({ a: 7 }))
  })

  it("a check that throws is the schema's defect, not a value", () => {
    const Boom = Schema.Number.check(Schema.makeFilter(() => {
      throw new Error("boom")
    }))
    assert.strictEqual(FastPath.decode(Boom, 1), FastPath.fallback)
  })
})
