/**
 * Silent changes: a key is what the archive says it is. Names that start with U+E000 (the character the
 * JSON layer marks integer-like keys with) next to the integer-like names they would collide with,
 * JavaScript built-in names, and extra files named `__proto__` or `constructor` must come back exactly:
 * nothing renamed, merged or dropped. Cases are archives edited as text (so the names are what a foreign
 * writer would put there) and modules built with the library's API; every case must read, with every name.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Argument from "../../src/graph/Argument.ts"
import * as Module from "../../src/graph/Module.ts"
import * as Tensor from "../../src/graph/Tensor.ts"
import { assertSame, expectOk, outcome, Plan, runCases, Tally, timeout } from "../utils/FuzzKit.ts"
import * as H from "../utils/Hostile.ts"
import { builtinNames, describeModule, integerNames, markerNames, own } from "../utils/RandomProgram.ts"
import * as C from "../utils/TgmCraft.ts"

const tally = new Tally("silent fuzz")
const plan = new Plan()

// A name and the name it could be confused with: an integer-like name and its marked form, side by side.
const pairOf = (r: C.Prng): readonly [string, string] => {
  const n = r.pick(integerNames.filter((x) => /^(0|[1-9]\d{0,9})$/.test(x)))
  return [n, `\uE000${n}`]
}

const someName = (r: C.Prng): string => r.pick([...markerNames, ...builtinNames, ...integerNames])

describe("silent changes: names that look like marked keys", () => {
  const n = plan.family("silent: marked and integer-like names (.pt2)", 500)
  it.live(`${n} .pt2 values, weights and extra files named \\uE000<n> next to <n>`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      yield* runCases(n, "marker-pt2", (label, r, i) =>
        Effect.gen(function*() {
          const [plain, marked] = pairOf(r)
          const what = r.pick(["values", "weights", "mixed"] as const)
          // Two of the program's names become `n` and `\uE000n`; a third, maybe, another marked name.
          const [a, b] = what === "weights" ? ["layer.weight", "layer.running"] : what === "values" ? [r.pick(["mul", "mm"]), r.pick(["relu", "x"])] : [r.pick(["mul", "relu"]), "layer.weight"]
          const extra = r.next() < 0.5 ? someName(r) : undefined
          const bytes = H.editPt2(base, (rec) => {
            for (const [from, to] of [[a, plain], [b, marked], ...(extra !== undefined && !["\uE000" + plain, plain].includes(extra) ? [["getitem", extra] as const] : [])] as const) {
              rec.model = H.renameEverywhere(rec.model, from, to)
              rec.weights = H.renameEverywhere(rec.weights, from, to)
            }
          }, { add: [{ name: `${base.root}extra/${plain}`, data: C.text("plain") }, { name: `${base.root}extra/${marked}`, data: C.text("marked") }] })
          const shown = `${label} (${JSON.stringify([plain, marked, extra])})`
          const o = yield* H.pt2Case(tally, "silent: marked and integer-like names (.pt2)", shown, bytes, "ok", { roundTrip: i % 4 === 0 })
          if (o._tag !== "ok") return
          const p = o.value.program
          const names = new Set([...p.graphModule.graph.nodes()].map((x) => x.name))
          const state = new Set(p.stateDict.keys())
          for (const name of [plain, marked]) {
            const found = what === "weights" || (what === "mixed" && name === marked) ? state.has(name) : names.has(name)
            assert.isTrue(found, `${shown}: ${JSON.stringify(name)} came back renamed or not at all`)
          }
          assertSame(Object.entries(o.value.extraFiles).sort(), [[plain, "plain"], [marked, "marked"]].sort(), `${shown}: the extra files`)
        }))
    }), timeout(60_000))

  const m = plan.family("silent: marked and integer-like names (.tgm)", 400)
  it.live(`${m} .tgm submodules, parameters and metadata keys named \\uE000<n> next to <n>`, () =>
    Effect.gen(function*() {
      yield* runCases(m, "marker-tgm", (label, r, i) =>
        Effect.gen(function*() {
          const root = new Module.GraphModule()
          const names: Array<string> = []
          for (let k = r.int(1, 4); k > 0; k--) names.push(...pairOf(r))
          for (let k = r.int(0, 3); k > 0; k--) names.push(someName(r))
          const unique = [...new Set(names)]
          const g = root.graph
          const x = g.placeholder("x")
          let last = x
          for (const name of unique) {
            const child = new Module.PlainModule()
            Module.registerParameter(child, r.pick(unique), Tensor.make({ storage: Tensor.storage(new Uint8Array(8)), dtype: "float32", shape: [2] }))
            Module.addSubmodule(root, name, child)
            const attr = g.getAttr(`${name}.${[...child.parameters.keys()][0]}`)
            const custom: Record<string, unknown> = {}
            own(custom, r.pick(unique), name)
            own(custom, r.pick(unique), [name])
            last = g.callFunction("torch.ops.aten.add.Tensor", [last, attr], {}, { meta: { custom: custom as never } })
          }
          g.output(Argument.tuple(last))
          const bytes = expectOk(yield* outcome(Tgm.toBytes(root), `${label}: write`), `${label}: write`)
          const o = yield* H.tgmCase(tally, "silent: marked and integer-like names (.tgm)", `${label} (${JSON.stringify(unique)})`, bytes, "ok", { roundTrip: i % 4 === 0 })
          if (o._tag === "ok") assertSame(describeModule(o.value), describeModule(root), `${label}: the module changed`)
        }))
    }), timeout(60_000))
})

describe("silent changes: extra files", () => {
  const n = plan.family("silent: extra files", 400)
  it.live(`${n} extra files named __proto__, constructor, toString, \\uE000<n> and <n> written, read and kept`, () =>
    Effect.gen(function*() {
      const program = H.baseProgram()
      const base = yield* H.pt2Base()
      yield* runCases(n, "extra-files", (label, r, i) =>
        Effect.gen(function*() {
          const files: Record<string, string> = {}
          for (let k = r.int(1, 5); k > 0; k--) own(files, r.pick([...builtinNames, ...markerNames, ...integerNames, "a/b", "名前", "__proto__/x"]), r.pick(["", "text", "{\"a\": 1}", "\u0000\uE000"]))
          const expected = Object.entries(files).sort()
          // Written by trtx, or put there by another writer.
          const bytes = r.next() < 0.5
            ? expectOk(yield* outcome(Writer.toBytes(program, { extraFiles: files }), `${label}: write`), `${label}: write`)
            : H.rebuild(base, {}, expected.map(([k, v]) => ({ name: `${base.root}extra/${k}`, data: C.text(v) })))
          const o = yield* H.pt2Case(tally, "silent: extra files", `${label} (${JSON.stringify(Object.keys(files))})`, bytes, "ok", { roundTrip: i % 4 === 0 })
          if (o._tag !== "ok") return
          assertSame(Object.entries(o.value.extraFiles).sort(), expected, `${label}: the extra files changed`)
          for (const [k] of expected) assert.isTrue(Object.hasOwn(o.value.extraFiles, k), `${label}: ${k} is not an own key`)
        }))
    }), timeout(60_000))
})

describe("silent: summary", () => {
  it("every family ran its plan", () => tally.assertPlanned(plan.counts))
})

afterAll(() => console.log(tally.lines().join("\n")))

