/**
 * Deterministic fuzzing of the `.pt2` reader: seeded mutations of sample archives (torch's own and trtx's):
 * truncations, bit flips anywhere, in the central directory, in local headers, in `model.json`'s data, in a
 * custom object's nested zip; JSON-level edits of `model.json` and the weights config; hostile and
 * duplicated entry names. Every outcome must be a success or an ArchiveError from the closed set, located:
 * never a defect, never a hang. Whatever reads must write (or be refused as unserializable), and read
 * back to the same records.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Result } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ArchiveError, ArchiveFault } from "../../../src/archive/ArchiveError.ts"
import * as Reader from "../../../src/archive/pt2/Reader.ts"
import * as Serialize from "../../../src/archive/pt2/Serialize.ts"
import * as Writer from "../../../src/archive/pt2/Writer.ts"
import type { ExportedProgram } from "../../../src/program/ExportedProgram.ts"
import * as C from "../../utils/TgmCraft.ts"
import { cases as scaled, scale, timeout } from "../../utils/FuzzKit.ts"
import { flip, seedOf, slots } from "../../utils/Mutate.ts"

const SAMPLES = path.join(import.meta.dirname, "../../fixtures/samples")

// ===== Outcomes =====

const records = (ep: ExportedProgram) => {
  const r = Serialize.serialize(ep, { archive: "fuzz" })
  return Result.isSuccess(r) ? JSON.stringify(Result.getOrThrow(Serialize.encode(r.success, { archive: "<records>" })), (_k, v) => (typeof v === "bigint" ? String(v) : v)) : undefined
}

const faults: ReadonlySet<string> = new Set(ArchiveFault.literals)
const tally = new Map<string, number>()
let cases = 0

const check = (bytes: Uint8Array, family: string, label: string) =>
  Effect.gen(function*() {
    cases++
    const exit = yield* Effect.exit(Reader.readBytes(bytes, label).pipe(Effect.timeout("5 seconds")))
    if (exit._tag === "Success") {
      const program = exit.value.program
      const written = yield* Effect.exit(Writer.toBytes(program))
      if (written._tag === "Failure") {
        // A mutated operator name can have no schema: the writer refuses it, located, and nothing else.
        const e = Cause.findErrorOption(written.cause)
        assert.strictEqual(e._tag === "Some" && (e.value as ArchiveError).fault, "Unserializable", `${label}: write failed: ${Cause.pretty(written.cause).slice(0, 600)}`)
      } else {
        const again = yield* Effect.exit(Reader.readBytes(written.value, label))
        assert.strictEqual(again._tag, "Success", `${label}: its own archive does not read back`)
        if (again._tag === "Success") assert.strictEqual(records(again.value.program), records(program), `${label}: round trip`)
      }
      tally.set(`${family}: ok`, (tally.get(`${family}: ok`) ?? 0) + 1)
      return
    }
    const cause = exit.cause
    assert.isFalse(Cause.hasDies(cause), `${label}: a defect: ${Cause.pretty(cause).slice(0, 600)}`)
    assert.isFalse(Cause.hasInterrupts(cause), `${label}: interrupted`)
    const found = Cause.findErrorOption(cause)
    assert.strictEqual(found._tag, "Some", `${label}: no error`)
    const e = (found as { readonly value: unknown }).value
    assert.isFalse(Cause.isTimeoutError(e), `${label}: the read hung (timed out after 5 s)`)
    assert.instanceOf(e, ArchiveError, `${label}: not an ArchiveError: ${String(e)}`)
    const error = e as ArchiveError
    assert.strictEqual(error.archive, label)
    assert.isTrue(faults.has(error.fault), `${label}: fault ${error.fault}`)
    assert.isAbove(error.detail.length, 0)
    if (error.entry !== undefined) assert.isAbove(error.entry.length, 0)
    // A JSON path, or a record inside a custom object's nested zip.
    if (error.path !== undefined) assert.match(error.path, /^(\$|[^/]+\/)/, label)
    tally.set(`${family}: ${error.fault}`, (tally.get(`${family}: ${error.fault}`) ?? 0) + 1)
  })

afterAll(() => {
  const byFamily = new Map<string, Array<string>>()
  for (const [k, v] of [...tally].sort((a, b) => b[1] - a[1])) {
    const [family, outcome] = k.split(": ") as [string, string]
    byFamily.set(family, [...(byFamily.get(family) ?? []), `${outcome} ${v}`])
  }
  console.log([`pt2 fuzz: ${cases} cases (scale ${scale})`, ...[...byFamily].map(([f, xs]) => `  ${f}: ${xs.join(", ")}`)].join("\n"))
  // The spread of outcomes shows the mutations reach past the container into the records.
  assert.isAtLeast(cases, Math.floor(3000 * scale * 0.99))
  const failuresBeyondZip = [...tally].filter(([k]) => !/CorruptZip|: ok/.test(k)).reduce((n, [, v]) => n + v, 0)
  assert.isAbove(failuresBeyondZip, 300)
})


// ===== Bases =====

const reference = (name: string, cross: boolean) =>
  new Uint8Array(fs.readFileSync(path.join(SAMPLES, name, `ep${cross ? "_cross" : ""}${name === "cnn_bn" ? ".persistent_patch" : ""}.pt2`)))

// trtx's own archive of a reference program: a plain zip whose layout the mutations can aim at.
const ours = (name: string, cross: boolean) =>
  Effect.gen(function*() {
    const { program } = yield* Reader.readBytes(reference(name, cross))
    return yield* Writer.toBytes(program)
  })


type Family = "truncate" | "anywhere" | "central" | "local" | "model.json data" | "custom object data"

const mutate = (base: Uint8Array, family: Family, r: C.Prng): Uint8Array => {
  if (family === "truncate") return base.slice(0, r.int(0, base.length))
  if (family === "anywhere") return flip(base.slice(), r, 0, base.length)
  const l = C.layout(base)
  switch (family) {
    case "central":
      return flip(base.slice(), r, l.centralStart, base.length)
    case "local": {
      const e = r.pick(l.entries)
      return flip(base.slice(), r, e.local, e.dataStart)
    }
    case "model.json data": {
      const e = l.entries.find((x) => x.name.endsWith("/models/model.json"))!
      return flip(base.slice(), r, e.dataStart, e.dataEnd)
    }
    case "custom object data": {
      const e = l.entries.find((x) => x.name.endsWith("/data/constants/custom_obj_0"))!
      return flip(base.slice(), r, e.dataStart, e.dataEnd)
    }
  }
}

// ===== Byte-level =====

const plan: ReadonlyArray<readonly [string, boolean, "torch" | "trtx", Family, number]> = [
  ["single_engine", false, "torch", "truncate", 100],
  ["single_engine", false, "torch", "anywhere", 250],
  ["cnn_bn", true, "torch", "anywhere", 150],
  ["single_engine", false, "trtx", "central", 200],
  ["single_engine", false, "trtx", "local", 150],
  ["single_engine", false, "trtx", "model.json data", 250],
  ["single_engine", false, "trtx", "custom object data", 300],
  ["kwargs_pytree", false, "trtx", "model.json data", 200],
  ["multi_out", true, "trtx", "model.json data", 200],
  ["cnn_bn", false, "trtx", "central", 100],
  ["cnn_bn", false, "trtx", "local", 100]
]

describe("pt2 reader: byte-level mutations", () => {
  for (const [name, cross, from, family, planned] of plan) {
    const base = `${name}${cross ? " (cross)" : ""} by ${from}`
    const n = scaled(planned)
    it.live(`${base}: ${n} × ${family}`, () =>
      Effect.gen(function*() {
        const bytes = from === "torch" ? reference(name, cross) : yield* ours(name, cross)
        const r = C.prng(seedOf(`${base}/${family}`))
        for (let i = 0; i < n; i++) yield* check(mutate(bytes, family, r), family, `${base}/${family}/${i}`)
      }), timeout(120_000))
  }
})

// ===== JSON-level =====

const randomJson = (r: C.Prng, depth = 0): C.Json => {
  switch (r.int(0, depth > 2 ? 6 : 8)) {
    case 0:
      return null
    case 1:
      return r.next() < 0.5
    case 2:
      return r.pick([-1, 0, 1, 7, 99, 2 ** 53 + 2, 1e300])
    case 3:
      return r.pick(["", "x", "p_fc_weight", "getitem", "__proto__", "torch.ops.aten.add.Tensor", "Infinity", "weight_0"])
    case 4:
      return r.pick([{ as_tensor: { name: "x" } }, { as_int: 3 }, { as_none: true }, { as_expr: { expr_str: "s0" } }])
    case 5:
      return r.pick([[], {}, "", 0])
    case 6:
      return Array.from({ length: r.int(0, 3) }, () => randomJson(r, depth + 1))
    default:
      return Object.fromEntries(Array.from({ length: r.int(0, 3) }, () => [r.pick(["name", "as_tensor", "as_int", "kind", "x"]), randomJson(r, depth + 1)]))
  }
}


const editOne = (json: C.Json, r: C.Prng): void => {
  const all = slots(json)
  if (all.length === 0) return // earlier edits emptied it
  const [container, key] = r.pick(all)
  const op = r.int(0, 3)
  if (op === 0) {
    if (Array.isArray(container)) container.splice(key as number, 1)
    else delete container[key]
  } else if (op === 1) container[key] = randomJson(r)
  else if (typeof container[key] === "string") container[key] = container[key] + r.pick(["_", "x", ""])
  else container[key] = randomJson(r)
}

describe("pt2 reader: JSON-level mutations", () => {
  for (const [name, cross, entry, planned] of [
    ["single_engine", false, "models/model.json", 250],
    ["multi_out", false, "models/model.json", 250],
    ["kwargs_pytree", true, "models/model.json", 200],
    ["cnn_bn", false, "data/weights/model_weights_config.json", 150]
  ] as const) {
    const base = `${name}${cross ? " (cross)" : ""}`
    const n = scaled(planned)
    it.live(`${base}: ${n} edits of ${entry}`, () =>
      Effect.gen(function*() {
        const entries = yield* C.unzip(yield* ours(name, cross))
        const full = entries.find((e) => e.name.endsWith(`/${entry}`))!
        const original = C.str(full.data)
        const r = C.prng(seedOf(`${base}/${entry}`))
        for (let i = 0; i < n; i++) {
          const json = JSON.parse(original)
          for (let k = r.int(1, 4); k > 0; k--) editOne(json, r)
          const bytes = yield* C.rezip(C.replaceEntry(entries, full.name, C.text(JSON.stringify(json))))
          yield* check(bytes, `json ${entry}`, `${base}/${entry}/${i}`)
        }
      }), timeout(120_000))
  }
})

// ===== Entry names =====

describe("pt2 reader: hostile and duplicated entry names", () => {
  it.live(`${scaled(200)} renamed, duplicated and escaping entries`, () =>
    Effect.gen(function*() {
      const entries = yield* C.unzip(yield* ours("single_engine", false))
      const r = C.prng(seedOf("names"))
      const hostile = ["../x", "/abs", "archive/../../etc/passwd", "C:\\x", "a//b", "", "archive/./x", "archive/\u0000"]
      for (let i = 0; i < scaled(200); i++) {
        const copy = entries.map((e) => ({ name: e.name, data: e.data }))
        const k = r.int(0, copy.length)
        if (i % 2 === 0) copy[k] = { ...copy[k]!, name: r.pick(hostile) }
        else copy.splice(r.int(0, copy.length), 0, { name: copy[k]!.name, data: C.text("dup") })
        yield* check(C.rawZip(copy), "names", `names/${i}`)
      }
    }), timeout(60_000))
})
