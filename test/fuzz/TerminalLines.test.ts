/**
 * Terminal injection by line breaks: an archive's names may hold newlines and carriage returns, and an error
 * that names one must still print as one line (`error: <message>`), or a hostile name can put a line of its
 * own under trtx's (`x\nerror: all good`). This family holds `Render.error`'s first line to one line.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Render from "../../src/cli/Render.ts"
import * as Summary from "../../src/program/Summary.ts"
import { Plan, runCases, Tally, timeout } from "../utils/FuzzKit.ts"
import * as H from "../utils/Hostile.ts"
import * as C from "../utils/TgmCraft.ts"

const tally = new Tally("terminal lines fuzz")
const plan = new Plan()

const BREAKS = ["\n", "\r", "\r\n", "\n\n", "\nerror: all good", "\rtrtx: valid"]

const broken = (r: C.Prng, base: string): string => {
  const b = r.pick(BREAKS)
  return r.pick([`${b}${base}`, `${base}${b}`, `${base.slice(0, 1)}${b}${base.slice(1)}`])
}

describe("terminal: line breaks in names", () => {
  const n = plan.family("terminal: line breaks in names", 200)
  it.live(`${n} archives whose entry, value, target and weight names hold line breaks: each error prints as one line`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      yield* runCases(n, "terminal-lines", (label, r) =>
        Effect.gen(function*() {
          const where = r.pick(["hostile entry", "root folder", "value", "target", "weight", "version"] as const)
          let bytes: Uint8Array
          switch (where) {
            case "hostile entry":
              bytes = H.rebuild(base, {}, [{ name: `${base.root}../${broken(r, "x")}`, data: C.text("x") }])
              break
            case "root folder": {
              const root = broken(r, "archive")
              bytes = H.rebuild({ entries: base.entries.map((e) => ({ name: root + e.name.slice(base.root.length - 1), data: e.data })) })
              break
            }
            case "version":
              bytes = H.rebuild(base, { [`${base.root}archive_format`]: broken(r, "pt2") })
              break
            default:
              bytes = H.editPt2(base, (rec) => {
                if (where === "value") rec.model = H.renameEverywhere(rec.model, "relu", broken(r, "relu"))
                else if (where === "target") r.pick(rec.model.graph_module.graph.nodes as Array<C.Json>).target = broken(r, "torch.ops.aten.relu.default")
                else {
                  const to = broken(r, "layer.weight")
                  rec.model = H.renameEverywhere(rec.model, "layer.weight", to)
                  rec.weights = H.renameEverywhere(rec.weights, "layer.weight", to)
                }
              })
          }
          const shown = `${label} (${where})`
          const o = yield* H.pt2Case(tally, "terminal: line breaks in names", shown, bytes, "any", { roundTrip: false })
          if (o._tag === "error") {
            const printed = Render.error(o.error)[0]!
            assert.notMatch(printed, /[\r\n]/, `${shown}: the printed error spans lines: ${JSON.stringify(printed).slice(0, 200)}`)
          } else {
            for (const line of Render.summary(Summary.ofProgram(o.value.program))) assert.notMatch(line, /[\r\n]/, `${shown}: a summary line breaks`)
          }
        }))
    }), timeout(60_000))
})

describe("terminal lines: summary", () => {
  it("every family ran its plan", () => tally.assertPlanned(plan.counts))
})

afterAll(() => console.log(tally.lines().join("\n")))
