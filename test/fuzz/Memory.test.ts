/**
 * Memory and time: an archive must not cost more than its limits allow, and the limits are checked before
 * the work. Bombs are built cheaply (`ZipForge.bomb`: a deflated chunk of one repeated byte, repeated), so a
 * gigabyte of declared content costs a megabyte here.
 *
 * Families: JSON and text entries that inflate past `Limits.jsonBytes` (a small limit provided per case, and
 * two real 1 GiB bombs under the default limits), the exact boundary of that limit, entries past
 * `entryBytes` / `totalBytes` / `entries`; many directory names pointing at one local entry; JSON nested far
 * past `Json.MAX_DEPTH`; node names with huge numeric suffixes (the namespace must not allocate per suffix);
 * and long chains, which must read back whole (their cost at scale is `npm run bench`'s).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Limits from "../../src/archive/Limits.ts"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Argument from "../../src/graph/Argument.ts"
import * as Module from "../../src/graph/Module.ts"
import * as Summary from "../../src/program/Summary.ts"
import * as ExportedProgram from "../../src/program/ExportedProgram.ts"
import * as Render from "../../src/cli/Render.ts"
import { expectFault, expectOk, outcome, Plan, runCases, scale, Tally, timeout } from "../utils/FuzzKit.ts"
import * as H from "../utils/Hostile.ts"
import * as C from "../utils/TgmCraft.ts"
import { bomb, type ForgeEntry, forge } from "../utils/ZipForge.ts"

const tally = new Tally("memory fuzz")
const plan = new Plan()

const KiB = 1024
const MiB = 1024 * KiB

// ===== JSON bombs =====

describe("memory: JSON and text bombs", () => {
  const n = plan.family("memory: JSON bombs", 500)
  it.live(`${n} JSON and text entries inflating past a small jsonBytes limit are refused before they inflate`, () =>
    Effect.gen(function*() {
      const pt2 = yield* H.pt2Base()
      const tgm = yield* H.tgmBase("mlp")
      yield* runCases(n, "json-bomb", (label, r) => Effect.gen(function*() {
        // Above every JSON entry of the bases (the largest is about 8 KiB), below the bomb.
        const jsonBytes = r.int(16 * KiB, MiB)
        const size = jsonBytes + r.pick([1, r.int(1, 4 * jsonBytes)])
        const payload = bomb(size, { prefix: "[", suffix: "0]" })
        const limits: Limits.Limits = { ...Limits.defaults, jsonBytes }
        if (r.next() < 0.6) {
          const target = r.pick([pt2.model, pt2.weights, pt2.constants, `${pt2.root}archive_format`, `${pt2.root}archive_version`, `${pt2.root}extra/notes`])
          const entries: Array<ForgeEntry> = pt2.entries.filter((e) => e.name !== target).map((e) => ({ name: e.name, data: e.data }))
          entries.push({ name: target, method: 8, payload })
          const o = yield* H.pt2Case(tally, "memory: JSON bombs", label, forge(entries), ["EntryTooLarge"], { limits, limit: "2 seconds" })
          assert.strictEqual(expectFault(o, label).entry, target, `${label}: the error names another entry`)
        } else {
          const target = r.pick(["module.json", "format.json", "op_schemas.json"])
          const entries: Array<ForgeEntry> = tgm.entries.filter((e) => e.name !== target).map((e) => ({ name: e.name, data: e.data }))
          entries.push({ name: target, method: 8, payload })
          const o = yield* H.tgmCase(tally, "memory: JSON bombs", label, forge(entries), ["EntryTooLarge"], { limits, limit: "2 seconds" })
          assert.strictEqual(expectFault(o, label).entry, target, `${label}: the error names another entry`)
        }
      }))
    }), timeout(60_000))

  it.live("two 1 GiB bombs (model.json, module.json) under the default limits: EntryTooLarge at once", () =>
    Effect.gen(function*() {
      const payload = bomb(2 ** 30, { prefix: "[", suffix: "0]" })
      const pt2 = yield* H.pt2Base()
      const a = forge([...pt2.entries.filter((e) => e.name !== pt2.model).map((e) => ({ name: e.name, data: e.data })), { name: pt2.model, method: 8, payload }])
      assert.isBelow(a.length, 2 * MiB)
      const oa = yield* H.pt2Case(tally, "memory: JSON bombs", "json-bomb/1GiB/model.json", a, ["EntryTooLarge"], { limit: "2 seconds" })
      assert.include(expectFault(oa, "1 GiB model.json").detail, String(Limits.defaults.jsonBytes))
      const tgm = yield* H.tgmBase("mlp")
      const b = forge([...tgm.entries.filter((e) => e.name !== "module.json").map((e) => ({ name: e.name, data: e.data })), { name: "module.json", method: 8, payload }])
      yield* H.tgmCase(tally, "memory: JSON bombs", "json-bomb/1GiB/module.json", b, ["EntryTooLarge"], { limit: "2 seconds" })
    }), 60_000)

  const edge = plan.family("memory: jsonBytes boundary", 150)
  it.live(`${edge} JSON entries at exactly the limit read, one byte past it are refused`, () =>
    Effect.gen(function*() {
      const pt2 = yield* H.pt2Base()
      const tgm = yield* H.tgmBase("mlp")
      yield* runCases(edge, "json-edge", (label, r) => Effect.gen(function*() {
        const isPt2 = r.next() < 0.6
        // The largest JSON entry, its content padded with spaces to a random size, stored or deflated.
        const target = isPt2 ? pt2.model : "module.json"
        const text = H.textOf(isPt2 ? pt2 : tgm, target) + " ".repeat(r.int(0, 4096))
        const size = C.text(text).length
        const over = r.next() < 0.5
        const method = r.next() < 0.5 ? 8 : 0
        const entries = (isPt2 ? pt2 : tgm).entries.map((e) => (e.name === target ? { name: e.name, data: C.text(text), method } : { name: e.name, data: e.data }))
        const limits: Limits.Limits = { ...Limits.defaults, jsonBytes: over ? size - 1 : size }
        const shown = `${label} (${over ? "one byte over" : "at"} the limit)`
        const e = over ? (["EntryTooLarge"] as const) : "ok"
        if (isPt2) yield* H.pt2Case(tally, "memory: jsonBytes boundary", shown, forge(entries), e, { limits })
        else yield* H.tgmCase(tally, "memory: jsonBytes boundary", shown, forge(entries), e, { limits })
      }))
    }), timeout(60_000))

  const lim = plan.family("memory: entry, total and count limits", 300)
  it.live(`${lim} archives past entryBytes, totalBytes or entries are refused at open`, () =>
    Effect.gen(function*() {
      const pt2 = yield* H.pt2Base()
      const tgm = yield* H.tgmBase("single_engine")
      yield* runCases(lim, "entry-limits", (label, r) => Effect.gen(function*() {
        const isPt2 = r.next() < 0.5
        const base = isPt2 ? pt2 : tgm
        const sizes = base.entries.map((e) => e.data.length)
        const total = sizes.reduce((a, b) => a + b, 0)
        const which = r.pick(["entryBytes", "totalBytes", "entries", "bomb"] as const)
        let limits: Limits.Limits
        let entries: Array<ForgeEntry> = base.entries.map((e) => ({ name: e.name, data: e.data }))
        switch (which) {
          case "entryBytes":
            limits = { ...Limits.defaults, entryBytes: Math.max(...sizes) - r.int(1, 8) }
            break
          case "totalBytes":
            limits = { ...Limits.defaults, totalBytes: total - r.int(1, 64) }
            break
          case "entries":
            limits = { ...Limits.defaults, entries: base.entries.length - r.int(1, 3) }
            break
          default: {
            // A stored weight replaced by a deflated bomb past the entry limit.
            const entryBytes = r.int(64 * KiB, 8 * MiB)
            limits = { ...Limits.defaults, entryBytes }
            const victim = r.pick(base.entries.filter((e) => /weight_\d|tensors\/|engines\//.test(e.name)))
            entries = entries.map((e) => (e.name === victim.name ? { name: e.name, method: 8, payload: bomb(entryBytes + r.int(1, entryBytes), { fill: 0 }) } : e))
          }
        }
        const bytes = forge(entries)
        if (isPt2) yield* H.pt2Case(tally, "memory: entry, total and count limits", `${label} (${which})`, bytes, ["EntryTooLarge"], { limits, limit: "2 seconds" })
        else yield* H.tgmCase(tally, "memory: entry, total and count limits", `${label} (${which})`, bytes, ["EntryTooLarge"], { limits, limit: "2 seconds" })
      }))
    }), timeout(60_000))
})

// ===== Many names, one entry =====

describe("memory: many names → one entry", () => {
  const n = plan.family("memory: many names → one entry", 300)
  it.live(`${n} central directories pointing several names at one local entry are refused`, () =>
    Effect.gen(function*() {
      const pt2 = yield* H.pt2Base()
      const tgm = yield* H.tgmBase("mlp")
      yield* runCases(n, "many-names", (label, r) => Effect.gen(function*() {
        const big = r.next() < 0.5 ? bomb(r.pick([1, 2, 4, 8, 64]) * MiB, { prefix: "[", suffix: "0]" }) : undefined
        const copies = r.int(2, 17)
        const isPt2 = r.next() < 0.6
        const base = isPt2 ? pt2 : tgm
        const entries: Array<ForgeEntry> = base.entries.map((e) => ({ name: e.name, data: e.data }))
        // The shared entry: a bomb added under a new name, or an entry of the archive itself.
        let at: number
        if (big !== undefined) {
          entries.push({ name: isPt2 ? `${pt2.root}extra/big` : "big", method: 8, payload: big })
          at = entries.length - 1
        } else at = r.int(0, entries.length)
        for (let k = 0; k < copies; k++) {
          const name = isPt2 ? `${pt2.root}extra/copy_${k}` : r.pick([`tensors/${90 + k}`, `copy_${k}`])
          entries.splice(r.int(at + 1, entries.length + 1), 0, { name, sameAs: at })
        }
        const bytes = forge(entries)
        if (isPt2) yield* H.pt2Case(tally, "memory: many names → one entry", label, bytes, ["CorruptZip"], { limit: "2 seconds" })
        else yield* H.tgmCase(tally, "memory: many names → one entry", label, bytes, ["CorruptZip"], { limit: "2 seconds" })
      }))
    }), timeout(60_000))
})

// ===== Nesting =====

describe("memory: nesting bombs", () => {
  const n = plan.family("memory: nesting bombs", 100)
  it.live(`${n} JSON entries nested far past the depth limit are refused, located`, () =>
    Effect.gen(function*() {
      const pt2 = yield* H.pt2Base()
      const tgm = yield* H.tgmBase("mlp")
      yield* runCases(n, "nesting", (label, r) => Effect.gen(function*() {
        const depth = r.next() < 0.05 ? 1_000_000 : r.pick([257, 300, 1000, 10_000, 100_000, r.int(257, 20_000)])
        const open = r.pick(["[", "{\"a\":"])
        const deep = open.repeat(depth) + "0" + (open === "[" ? "]" : "}").repeat(depth)
        if (r.next() < 0.5) {
          const text = H.textOf(pt2, pt2.model)
          const bytes = H.rebuild(pt2, { [pt2.model]: text.replace("\"verifiers\":", `"deep":${deep},"verifiers":`) })
          yield* H.pt2Case(tally, "memory: nesting bombs", `${label} (depth ${depth})`, bytes, ["SchemaMismatch"], { limit: "5 seconds" })
        } else {
          const text = H.textOf(tgm, "module.json")
          const bytes = H.rebuild(tgm, { "module.json": text.replace("\"parameters\":", `"deep":${deep},"parameters":`) })
          yield* H.tgmCase(tally, "memory: nesting bombs", `${label} (depth ${depth})`, bytes, ["SchemaMismatch"], { limit: "5 seconds" })
        }
      }))
    }), timeout(120_000))
})

// ===== Huge name suffixes =====

// The mlp sample with `2n` more nodes in its fallback graph: `n` bases, each with a suffix just under 2^22 and a
// small one (`v7_4194000`, `v7_3`), as a namespace that keeps a bit set per base would size it by the larger.
// Reading takes each name exactly, and exporting inlines them into the program's graph.
const suffixModule = (base: H.Parts, r: C.Prng, n: number) =>
  H.editTgm(base, (m) => {
    const sub = m.children._run_on_gpu_1.graph.nodes as Array<C.Json>
    const output = sub.pop()!
    const gelu = sub.find((x) => x.target === "torch.ops.aten.gelu.default")!
    let last = gelu.name
    for (let k = 0; k < n; k++) {
      const stem = `${r.pick(["v", "relu", "gelu", "getitem"])}${k}`
      for (const suffix of r.next() < 0.5 ? [2 ** 22 - 1 - r.int(0, 1000), r.int(1, 100)] : [r.int(1, 100), 2 ** 22 - 1 - r.int(0, 1000)]) {
        const name = `${stem}_${suffix}`
        sub.push({ name, op: "call_function", target: "torch.ops.aten.relu.default", args: [{ node: last }], kwargs: {}, meta: { val: gelu.meta.val } })
        last = name
      }
    }
    output.args = [{ node: last }]
    sub.push(output)
  })

const heap = () => {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

describe("memory: huge name suffixes", () => {
  const n = plan.family("memory: huge name suffixes", 400)
  it.live(`${n} archives whose names carry suffixes in the millions read quickly and small`, () =>
    Effect.gen(function*() {
      const pt2 = yield* H.pt2Base()
      const tgm = yield* H.tgmBase("mlp")
      const values = ["mul", "mm", "relu", "x", "p_layer_weight", "getitem", "getitem_1", "sym_size_int", "mul_1", "add"]
      yield* runCases(n, "suffix", (label, r, i) => Effect.gen(function*() {
        // Names of a few shared bases, with huge suffixes and small ones side by side; each name once, and
        // none the archive already has (so that one rename never catches another's name).
        const existing = [...values, "var_mean", "b_layer_running", "c_table", "output", "_run_on_acc_0", "_run_on_gpu_1", "_run_on_acc_2", "gelu", "addmm_1"]
        const taken = new Set<string>(existing)
        const fresh = () => {
          let name: string
          do name = `${r.pick(["h", "relu", "getitem", "x"])}_${r.pick([4_194_303, 3_999_999, 2 ** 22, 2 ** 31 - 1, 2 ** 32 + 1, r.int(1_000_000, 2 ** 31), 2 ** 53 - 1, r.int(1, 100)])}`
          while (taken.has(name))
          taken.add(name)
          return name
        }
        if (r.next() < 0.6) {
          const bytes = H.editPt2(pt2, (rec) => {
            for (const v of values) if (r.next() < 0.7) rec.model = H.renameEverywhere(rec.model, v, fresh())
          })
          yield* H.pt2Case(tally, "memory: huge name suffixes", label, bytes, "ok", { limit: "3 seconds", roundTrip: i % 4 === 0 })
        } else {
          const bytes = H.editTgm(tgm, (m) => {
            for (const nodes of H.tgmGraphs(m)) {
              for (const node of nodes.filter((x) => x.op !== "output" && x.op !== "call_module")) {
                if (r.next() < 0.7) H.renameTgmNode(nodes, node.name, fresh())
              }
            }
          })
          yield* H.tgmCase(tally, "memory: huge name suffixes", label, bytes, "ok", { limit: "3 seconds", roundTrip: i % 4 === 0 })
        }
      }))
    }), timeout(60_000))

  const wide = plan.family("memory: huge name suffixes, many bases", 4)
  it.live(`${wide} modules of 1,000 bases with suffixes near 2^22: read, exported, written and read again in bounded memory`, () =>
    Effect.gen(function*() {
      const tgm = yield* H.tgmBase("mlp")
      yield* runCases(wide, "suffix-wide", (label, r) =>
        Effect.gen(function*() {
          const bytes = suffixModule(tgm, r, 1000)
          const before = heap()
          const o = yield* outcome(Tgm.readBytes(bytes, label), label, { archive: label, limit: "10 seconds" })
          tally.count("memory: huge name suffixes, many bases", o)
          const module = expectOk(o, label)
          const program = expectOk(yield* outcome(Exporter.exportModule(module), `${label}: export`, { limit: "10 seconds" }), `${label}: export`)
          const written = expectOk(yield* outcome(Writer.toBytes(program), `${label}: write`), `${label}: write`)
          const back = expectOk(yield* outcome(Reader.readBytes(written, label), `${label}: read`, { archive: label, limit: "10 seconds" }), `${label}: read`)
          // A bit set per base sized by its largest suffix would be 1,000 × 512 KiB = 512 MiB, per graph.
          assert.isBelow(heap() - before, 256 * MiB, `${label}: reading and exporting held too much memory`)
          assert.isAbove(back.program.graphModule.graph.size, 2000)
        }))
    }), timeout(120_000))
})

// ===== Long chains =====

// A chain of n relu nodes over one input.
const chain = (n: number) => {
  const gm = new Module.GraphModule()
  const g = gm.graph
  const val = { tensor: { shape: [4], stride: [1], storage_offset: 0, dtype: "float32", device: "cuda:0", requires_grad: false } }
  let last = g.createNode("placeholder", "x", [], {}, { name: "x", exactName: true, meta: { val } })
  for (let k = 0; k < n; k++) last = g.callFunction("torch.ops.aten.relu.default", [last], {}, { meta: { val, stack_trace: "File \"m.py\", line 1" } })
  g.output(Argument.tuple(last))
  return ExportedProgram.make({
    graphModule: gm,
    graphSignature: {
      inputSpecs: [{ _tag: "UserInput", arg: { _tag: "TensorArgument", name: "x" } }],
      outputSpecs: [{ _tag: "UserOutput", arg: { _tag: "TensorArgument", name: last.name } }]
    },
    stateDict: new Map(),
    constants: new Map(),
    rangeConstraints: new Map(),
    moduleCallGraph: []
  })
}

// A chain of n nodes written, read, summarized and written again, as `load` and `inspect` do: it reads back
// whole and writes back the same bytes. Its time at 10k to 100k nodes, and whether that grows linearly, is
// measured by `npm run bench` (bench/cli.ts), not asserted here.
const chainRoundTrip = (n: number, label: string) =>
  Effect.gen(function*() {
    const bytes = yield* Writer.toBytes(chain(n))
    const o = yield* outcome(Reader.readBytes(bytes, label), label, { archive: label, limit: "60 seconds" })
    tally.count("scale: long chains", o)
    const read = expectOk(o, label)
    assert.strictEqual(read.program.graphModule.graph.size, n + 2, `${label}: the chain's nodes`)
    Render.summary(Summary.ofProgram(read.program))
    const again = yield* Writer.toBytes(read.program)
    assert.isTrue(Buffer.from(again).equals(Buffer.from(bytes)), `${label}: written again, the bytes differ`)
  })

describe("scale: long chains", () => {
  const sizes = scale >= 10 ? [5_000, 50_000, 100_000] : [1_000, 10_000, 20_000]
  plan.fixed("scale: long chains", sizes.length)
  it.live(`chains of ${sizes.join(", ")} nodes: written, read, summarized and written again to the same bytes`, () =>
    Effect.gen(function*() {
      for (const n of sizes) yield* chainRoundTrip(n, `chain/${n}`)
    }), timeout(120_000))
})

describe("memory: summary", () => {
  it("every family ran its plan", () => tally.assertPlanned(plan.counts))
})

afterAll(() => console.log(tally.lines().join("\n")))
