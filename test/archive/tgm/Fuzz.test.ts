/**
 * Deterministic fuzzing of the `.tgm` reader: seeded byte-level mutations of the sample archives (random
 * truncations, 1–8 bit flips anywhere, in the central directory, in local headers, in module.json's data)
 * and JSON-level mutations of module.json / format.json, re-zipped. Every outcome must be a success or an
 * ArchiveError from the closed set: never a defect, never an interruption, never a hang. Whatever reads
 * must also write, and read back to the same records.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, Effect } from "effect"
import { ArchiveError, ArchiveFault } from "../../../src/archive/ArchiveError.ts"
import * as Encode from "../../../src/archive/tgm/Encode.ts"
import * as Tgm from "../../../src/archive/tgm/Tgm.ts"
import type { GraphModule } from "../../../src/graph/Module.ts"
import * as C from "../../utils/TgmCraft.ts"
import { cases as scaled, scale, timeout } from "../../utils/FuzzKit.ts"
import { tgmGraphs } from "../../utils/Hostile.ts"
import { flip, seedOf, slots } from "../../utils/Mutate.ts"

// ===== Outcomes =====

const encoded = (m: GraphModule) => {
  const e = Encode.encodeRoot(m)
  // Integers beyond 2^53 are bigints in the records.
  const json = JSON.stringify(e.root, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))
  return { json, entries: [...e.entries].map(([k, v]) => [k, Uint8Array.from(v)] as const) }
}

const faults: ReadonlySet<string> = new Set(ArchiveFault.literals)
const tally = new Map<string, number>()
const byFamily = new Map<string, Map<string, number>>()
let cases = 0

const count = (family: string, outcome: string) => {
  tally.set(outcome, (tally.get(outcome) ?? 0) + 1)
  let m = byFamily.get(family)
  if (m === undefined) byFamily.set(family, m = new Map())
  m.set(outcome, (m.get(outcome) ?? 0) + 1)
}

/** Reads one mutated archive and checks its outcome; `label` names the case in any assertion message. */
const check = (bytes: Uint8Array, family: string, label: string) =>
  Effect.gen(function*() {
    cases++
    const exit = yield* Effect.exit(Tgm.readBytes(bytes, label).pipe(Effect.timeout("5 seconds")))
    if (exit._tag === "Success") {
      // Whatever reads must write, and read back to the same records and entries.
      const written = yield* Effect.exit(Tgm.toBytes(exit.value))
      assert.strictEqual(written._tag, "Success", `${label}: read, but toBytes failed`)
      if (written._tag === "Success") {
        const again = yield* Effect.exit(Tgm.readBytes(written.value, label))
        assert.strictEqual(again._tag, "Success", `${label}: its own archive does not read back`)
        if (again._tag === "Success") assert.deepStrictEqual(encoded(again.value), encoded(exit.value), `${label}: round trip`)
      }
      return count(family, "ok")
    }
    const cause = exit.cause
    assert.isFalse(Cause.hasDies(cause), `${label}: a defect: ${Cause.pretty(cause).slice(0, 400)}`)
    assert.isFalse(Cause.hasInterrupts(cause), `${label}: interrupted`)
    const found = Cause.findErrorOption(cause)
    assert.strictEqual(found._tag, "Some", `${label}: no error in ${Cause.pretty(cause).slice(0, 200)}`)
    const e = (found as { readonly value: unknown }).value
    assert.isFalse(Cause.isTimeoutError(e), `${label}: the read hung (timed out after 5 s)`)
    assert.instanceOf(e, ArchiveError, `${label}: not an ArchiveError: ${String(e)}`)
    const error = e as ArchiveError
    assert.strictEqual(error._tag, "ArchiveError")
    assert.strictEqual(error.archive, label)
    assert.isAbove(error.archive.length, 0)
    assert.isTrue(faults.has(error.fault), `${label}: fault ${error.fault} is not in the closed set`)
    assert.isAbove(error.detail.length, 0)
    // A location that is given is never empty.
    if (error.entry !== undefined) assert.isAbove(error.entry.length, 0)
    if (error.path !== undefined) assert.match(error.path, /^\$/)
    if (error.node !== undefined) assert.isAbove(error.node.length, 0)
    count(family, error.fault)
  })


// ===== Byte-level mutations =====

type Family = "truncate" | "anywhere" | "central" | "local" | "module.json data"


const mutate = (base: Uint8Array, family: Family, r: C.Prng): Uint8Array => {
  const l = C.layout(base)
  switch (family) {
    case "truncate":
      return base.slice(0, r.int(0, base.length))
    case "anywhere":
      return flip(base.slice(), r, 0, base.length)
    case "central":
      return flip(base.slice(), r, l.centralStart, base.length)
    case "local": {
      const e = r.pick(l.entries)
      return flip(base.slice(), r, e.local, e.dataStart)
    }
    case "module.json data": {
      const e = l.entries.find((x) => x.name === "module.json")!
      return flip(base.slice(), r, e.dataStart, e.dataEnd)
    }
  }
}

const small = C.sampleNames.filter((n) => n !== "synth_1k")

// 6 small samples × 450 + synth_1k × 300 = 3000 byte-level cases.
const plan: ReadonlyArray<readonly [C.SampleName, Family, number]> = [
  ...small.flatMap((name) => [
    [name, "truncate", 80],
    [name, "anywhere", 120],
    [name, "central", 130],
    [name, "local", 50],
    [name, "module.json data", 70]
  ] as const),
  ["synth_1k", "truncate", 50],
  ["synth_1k", "anywhere", 80],
  ["synth_1k", "central", 100],
  ["synth_1k", "local", 30],
  ["synth_1k", "module.json data", 40]
]

describe("byte-level mutations", () => {
  for (const [name, family, planned] of plan) {
    const n = scaled(planned)
    it.live(`${name}: ${n} × ${family}`, () =>
      Effect.gen(function*() {
        const base = C.sampleBytes(name)
        const r = C.prng(seedOf(`${name}/${family}`))
        for (let i = 0; i < n; i++) yield* check(mutate(base, family, r), family, `${name}/${family}/${i}`)
      }), timeout(60_000))
  }
})

// ===== JSON-level mutations =====

const randomJson = (r: C.Prng, depth = 0): C.Json => {
  switch (r.int(0, depth > 2 ? 6 : 9)) {
    case 0:
      return null
    case 1:
      return r.next() < 0.5
    case 2:
      return r.int(-5, 100)
    case 3:
      return r.pick([1.5, -0.25, 1e300, 2 ** 60, -0])
    case 4:
      return r.pick(["", "x", "nope", "tensors/0", "engines/0", "float32", "call_module", "_run_on_acc_0", "\u0000", "a.b", "__proto__"])
    case 5:
      return r.pick([
        { node: "x" },
        { node: "nope" },
        { float: "nan" },
        { int: "123456789012345678901" },
        { tuple: [] },
        { engine: "engines/9" },
        { storage: "tensors/9" },
        { sym_int: "s0" }
      ])
    case 6:
      return Array.from({ length: r.int(0, 3) }, () => randomJson(r, depth + 1))
    case 7:
      return Object.fromEntries(
        Array.from({ length: r.int(0, 3) }, () => [r.pick(["node", "kind", "storage", "shape", "x", "float", "tuple"]), randomJson(r, depth + 1)])
      )
    default:
      return r.pick([[], {}, "", 0])
  }
}


type JsonOp = "delete" | "replace" | "rename-key" | "rename-ref" | "rename-node" | "swap-nodes" | "retarget" | "reshape"

const jsonOps: ReadonlyArray<JsonOp> = [
  "delete",
  "replace",
  "rename-key",
  "rename-ref",
  "rename-node",
  "swap-nodes",
  "retarget",
  "reshape"
]

const applyOp = (j: C.Json, op: JsonOp, r: C.Prng) => {
  const all = slots(j)
  const names = tgmGraphs(j).flatMap((nodes) => nodes.map((n) => n?.name)).filter((n) => typeof n === "string")
  // Earlier edits may have left no graph at all.
  const pickGraph = (): Array<C.Json> => {
    const all = tgmGraphs(j)
    return all.length === 0 ? [] : r.pick(all)
  }
  switch (op) {
    case "delete": {
      const [c, k] = r.pick(all)
      if (Array.isArray(c)) c.splice(k as number, 1)
      else delete c[k]
      return
    }
    case "replace": {
      const [c, k] = r.pick(all)
      c[k] = randomJson(r)
      return
    }
    case "rename-key": {
      const keyed = all.filter(([c]) => !Array.isArray(c))
      if (keyed.length === 0) return
      const [c, k] = r.pick(keyed)
      const to = r.pick(["x", "a.b", "", "not ident", "name", "kind", "storage", "node", "weight"])
      if (to !== k) {
        c[to] = c[k]
        delete c[k]
      }
      return
    }
    case "rename-ref": {
      const refs = all.filter(([c, k]) => k === "node" && typeof c[k] === "string")
      if (refs.length === 0) return
      const [c, k] = r.pick(refs)
      c[k] = r.pick([...names, "nope"])
      return
    }
    case "rename-node": {
      const nodes = pickGraph()
      if (nodes.length === 0) return
      r.pick(nodes).name = r.pick([...names, "fresh_name"])
      return
    }
    case "swap-nodes": {
      const nodes = pickGraph()
      if (nodes.length < 2) return
      const a = r.int(0, nodes.length), b = r.int(0, nodes.length)
      ;[nodes[a], nodes[b]] = [nodes[b], nodes[a]]
      return
    }
    case "retarget": {
      const nodes = pickGraph().filter((n) => n?.op === "call_module" || n?.op === "get_attr")
      if (nodes.length === 0) return
      const targets = all.filter(([, k]) => k === "target").map(([c, k]) => c[k])
      r.pick(nodes).target = r.pick([...targets, ...Object.keys(j.children ?? {}), "nope", "a.b.c", ""])
      if (r.next() < 0.3) r.pick(nodes).op = r.pick(["call_module", "get_attr"])
      return
    }
    case "reshape": {
      const refs = all.filter(([c, k]) => k === "shape" && Array.isArray(c[k]) && typeof c.storage === "string")
      if (refs.length === 0) {
        const [c, k] = r.pick(all)
        c[k] = randomJson(r)
        return
      }
      const [c] = r.pick(refs)
      if (c.shape.length > 0 && r.next() < 0.7) c.shape[r.int(0, c.shape.length)] += r.int(1, 100)
      else c.storage_offset = r.int(0, 64)
      return
    }
  }
}

describe("JSON-level mutations of module.json, re-zipped", () => {
  for (const name of small) {
    it.live(`${name}: ${scaled(80)} content mutations`, () =>
      Effect.gen(function*() {
        const entries = yield* C.unzip(C.sampleBytes(name))
        const text = C.str(C.entryOf(entries, "module.json").data)
        const r = C.prng(seedOf(`${name}/json`))
        for (let i = 0; i < scaled(80); i++) {
          let edited = entries
          let family: string
          if (i % 8 === 0) {
            // Bytes of the JSON text, flipped: bad UTF-8, bad JSON, or subtly different JSON.
            family = "module.json text"
            edited = C.replaceEntry(entries, "module.json", flip(C.text(text), r, 0, text.length))
          } else if (i % 8 === 1) {
            // An entry the record refers to, dropped or resized.
            family = "entries"
            const others = entries.filter((e) => e.name.startsWith("tensors/") || e.name.startsWith("engines/"))
            const victim = r.pick(others.length > 0 ? others : entries)
            edited = r.next() < 0.5
              ? C.dropEntries(entries, victim.name)
              : C.replaceEntry(entries, victim.name, victim.data.subarray(0, r.int(0, victim.data.length)))
          } else {
            family = "module.json content"
            const j = JSON.parse(text)
            const ops = r.int(1, 4)
            for (let k = 0; k < ops; k++) applyOp(j, r.pick(jsonOps), r)
            edited = C.replaceEntry(entries, "module.json", C.text(JSON.stringify(j)))
          }
          yield* check(yield* C.rezip(edited), family, `${name}/json/${i}`)
        }
      }), timeout(60_000))
  }

  it.live(`format.json: ${scaled(60)} content mutations`, () =>
    Effect.gen(function*() {
      const entries = yield* C.unzip(C.sampleBytes("single_engine"))
      const text = C.str(C.entryOf(entries, "format.json").data)
      const r = C.prng(seedOf("format.json"))
      for (let i = 0; i < scaled(60); i++) {
        const j = JSON.parse(text)
        if (i % 3 === 0) {
          const data = flip(C.text(text), r, 0, text.length)
          yield* check(yield* C.rezip(C.replaceEntry(entries, "format.json", data)), "format.json", `format/${i}`)
          continue
        }
        applyOp(j, r.pick(["delete", "replace"] as const), r)
        if (i % 3 === 2) j.version = r.pick([0, 1, 2, "1", 1.5, null, 2 ** 53])
        const data = C.text(JSON.stringify(j))
        yield* check(yield* C.rezip(C.replaceEntry(entries, "format.json", data)), "format.json", `format/${i}`)
      }
    }), timeout(60_000))
})

// ===== Summary =====

describe("summary", () => {
  it("several thousand cases ran and reached many fault classes", () => {
    assert.isAtLeast(cases, Math.floor(3000 * scale * 0.99))
    const seen = [...tally.keys()].filter((k) => k !== "ok")
    for (const f of ["CorruptZip", "MissingEntry", "BadJson", "SchemaMismatch", "DanglingReference"]) assert.include(seen, f)
    assert.isAbove(tally.get("ok") ?? 0, 0)
  })
})

afterAll(() => {
  const line = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")
  const lines = [`tgm fuzz: ${cases} cases (scale ${scale}): ${line(tally)}`]
  for (const [family, m] of byFamily) lines.push(`  ${family}: ${line(m)}`)
  console.log(lines.join("\n"))
})
