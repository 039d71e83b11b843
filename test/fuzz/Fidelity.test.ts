/**
 * Write-read fidelity: random valid programs and compiled modules (random graphs, names, node metadata,
 * tensors and symbolic shapes: `test/utils/RandomProgram.ts`), built in memory with the library's API,
 * written to `.pt2` (programs) and `.tgm` (modules) and read back. What trtx writes it must read back
 * equal: the same records, the same names, state and metadata, and the same bytes when written again.
 * Nothing here is hostile, so every case must succeed.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Serialize from "../../src/archive/pt2/Serialize.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Argument from "../../src/graph/Argument.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import { assertSame, expectFault, expectOk, outcome, Plan, runCases, Tally, timeout } from "../utils/FuzzKit.ts"
import * as Random from "../utils/RandomProgram.ts"

const tally = new Tally("fidelity fuzz")
const plan = new Plan()

const records = (ep: ExportedProgram): string => {
  const r = Serialize.serialize(ep, { archive: "fidelity" })
  if (Result.isFailure(r)) return `unserializable: ${r.failure.message}`
  return JSON.stringify(Result.getOrThrow(Serialize.encode(r.success, { archive: "<records>" })), (_k, v) => (typeof v === "bigint" ? `${v}n` : v))
}

describe("write-read fidelity", () => {
  const programs = plan.family("fidelity: program → .pt2 → program", 1000)
  it.live(`${programs} random programs written to .pt2 read back equal`, () =>
    Effect.gen(function*() {
      yield* runCases(programs, "pt2-program", (label, r, i) => Effect.gen(function*() {
        const ep = Random.program(r)
        const bytes = expectOk(yield* outcome(Writer.toBytes(ep), `${label}: write`), `${label}: write`)
        const o = yield* outcome(Reader.readBytes(bytes, label), label, { archive: label })
        tally.count("fidelity: program → .pt2 → program", o)
        const back = expectOk(o, `${label}: read`).program
        assertSame(Random.describeProgram(back), Random.describeProgram(ep), `${label}: names, state or metadata changed`)
        assert.strictEqual(records(back), records(ep), `${label}: the records changed`)
        // Half the cases also hold the archive to a byte fixpoint (a second write costs as much as the first).
        if (i % 2 === 0) assert.deepStrictEqual(yield* Writer.toBytes(back), bytes, `${label}: written again, other bytes`)
      }))
    }), timeout(120_000))

  const modules = plan.family("fidelity: module → .tgm → module", 500)
  it.live(`${modules} random compiled modules written to .tgm read back equal`, () =>
    Effect.gen(function*() {
      yield* runCases(modules, "tgm-module", (label, r, i) => Effect.gen(function*() {
        const m = Random.module(r)
        const bytes = expectOk(yield* outcome(Tgm.toBytes(m), `${label}: write`), `${label}: write`)
        const o = yield* outcome(Tgm.readBytes(bytes, label), label, { archive: label })
        tally.count("fidelity: module → .tgm → module", o)
        const back = expectOk(o, `${label}: read`)
        assertSame(Random.describeModule(back), Random.describeModule(m), `${label}: the module changed`)
        if (i % 2 === 0) assert.deepStrictEqual(yield* Tgm.toBytes(back), bytes, `${label}: written again, other bytes`)
      }))
    }), timeout(120_000))

  const refused = plan.family("fidelity: nodes a program cannot hold", 200)
  it.live(`${refused} programs with a call_method, call_module or unknown call: the writer refuses them, naming the node`, () =>
    Effect.gen(function*() {
      yield* runCases(refused, "unwritable", (label, r) =>
        Effect.gen(function*() {
          const ep = Random.program(r)
          const g = ep.graphModule.graph
          const output = g.outputNode!
          const used = [...g.nodes()].filter((n) => n.op !== "output")
          const arg = r.pick(used)
          const name = `bad_${r.int(0, 1000)}`
          const kind = r.pick(["call_method", "call_module", "unknown function"] as const)
          g.insertingBefore(output, () =>
            kind === "call_method"
              ? g.callMethod(r.pick(["view", "size", "toString", "__proto__"]), [arg], {}, { name, exactName: true, meta: { ...arg.meta } })
              : kind === "call_module"
              ? g.callModule("", [arg], {}, { name, exactName: true, meta: { ...arg.meta } })
              : g.callFunction(r.pick(["builtins.print", "torch.nn.functional.relu", "toString"]), [arg], {}, { name, exactName: true, meta: { ...arg.meta } }))
          const o = yield* outcome(Writer.toBytes(ep), label)
          tally.count("fidelity: nodes a program cannot hold", o)
          const e = expectFault(o, `${label}: a ${kind} node must be refused, not dropped`, ["Unserializable"])
          assert.strictEqual(e.node, name, `${label}: the error names another node`)
        }))
    }), timeout(60_000))

  const delimited = plan.family("fidelity: metadata holding torch's delimiters", 300)
  it.live(`${delimited} programs whose metadata names hold ';', ',', brackets: written and read back the same, or refused`, () =>
    Effect.gen(function*() {
      yield* runCases(delimited, "delimiters", (label, r) =>
        Effect.gen(function*() {
          const ep = Random.program(r)
          const tricky = () => `${Random.nameOf(r, "plain")}${r.pick([";", ",", "(", ")", "[", "]", ";;", ",,", "(a,b)", "[x;y]"])}${Random.nameOf(r, "plain")}`
          // Not on getitems: the format keeps their producer's metadata for them.
          for (const n of ep.graphModule.graph.nodes()) {
            if (n.op !== "call_function" || n.target === "_operator.getitem" || r.next() < 0.5) continue
            const key = r.pick(["nn_module_stack", "source_fn_stack", "torch_fn"] as const)
            if (key === "nn_module_stack") n.meta.nn_module_stack = { [tricky()]: [tricky(), tricky()] } as never
            else if (key === "source_fn_stack") n.meta.source_fn_stack = [[tricky(), tricky()]] as never
            else n.meta.torch_fn = [tricky(), tricky()] as never
          }
          for (const n of ep.graphModule.graph.findNodes("call_function", "_operator.getitem")) {
            const producer = n.args[0] ?? null
            const val = n.meta.val
            if (Argument.isNode(producer)) n.meta = { ...producer.meta }
            if (val !== undefined) n.meta.val = val
          }
          const w = yield* outcome(Writer.toBytes(ep), `${label}: write`)
          if (w._tag === "error") {
            tally.add("fidelity: metadata holding torch's delimiters", "refused by the writer")
            assert.isDefined(expectFault(w, `${label}: refused, located`, ["Unserializable"]).node, `${label}: the refusal names no node`)
            return
          }
          const o = yield* outcome(Reader.readBytes(w.value, label), label, { archive: label })
          tally.count("fidelity: metadata holding torch's delimiters", o)
          const back = expectOk(o, `${label}: trtx wrote what it cannot read`).program
          assertSame(Random.describeProgram(back), Random.describeProgram(ep), `${label}: the metadata changed`)
        }))
    }), timeout(60_000))

  it("every family ran its plan", () => tally.assertPlanned(plan.counts))
})

afterAll(() => console.log(tally.lines().join("\n")))
