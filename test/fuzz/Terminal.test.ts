/**
 * Terminal injection: names and messages that come from an archive are escaped wherever trtx prints or
 * renders them. Archives carry control characters (ANSI escape sequences, carriage returns, backspaces,
 * bells, C1 controls, NUL, DEL) and markup in their entry names, node names, targets, weight names, extra
 * files and module names. Whatever a read gives, what the CLI would show of it holds no control character:
 * an error as `Render.error`'s first line and the summary's tables and lines; in
 * the HTML report, markup from a name is text. A few cases run the CLI itself on such files.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import type { GraphModule } from "../../src/graph/Module.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import * as Render from "../../src/cli/Render.ts"
import * as Summary from "../../src/program/Summary.ts"
import * as Report from "../../src/report/Report.ts"
import { type Outcome, outcome, Plan, runCases, Tally, timeout } from "../utils/FuzzKit.ts"
import * as H from "../utils/Hostile.ts"
import * as C from "../utils/TgmCraft.ts"
import { forge } from "../utils/ZipForge.ts"

const tally = new Tally("terminal fuzz")
const plan = new Plan()

/** Control sequences and characters a hostile name may carry. */
const CONTROLS = [
  "\u001b[2J\u001b[H",
  "\u001b]0;pwned\u0007",
  "\r\u001b[Kx error: all good",
  "\u0008\u0008\u0008",
  "\u0007",
  "\u009b31m",
  "\u0085",
  "\u0000",
  "\u007f",
  "\u001b[1A\u001b[2K",
  "\u001b[31mred\u001b[0m",
  "\u000b\u000c"
]

// Any control character at all (what Render.safe escapes), and any but the newlines between printed lines.
const ANY = /[\u0000-\u001f\u007f-\u009f]/
const BETWEEN_LINES = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/

const hostile = (r: C.Prng, base: string): string => {
  const c = r.pick(CONTROLS)
  const tag = r.next() < 0.3 ? "<x-inj>" : ""
  return r.pick([`${c}${base}`, `${base}${c}`, `${base.slice(0, 1)}${c}${tag}${base.slice(1)}`])
}

/** What the CLI would show of an outcome: no control character in it, no markup in the report. */
const assertShownSafely = <A>(
  o: Outcome<A>,
  label: string,
  render: (value: A) => Summary.Summary,
  program?: (value: A) => ExportedProgram
): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (o._tag === "error") {
      const shown = Render.error(o.error)[0]!
      assert.notMatch(shown, ANY, `${label}: the CLI would print a control character: ${JSON.stringify(shown).slice(0, 300)}`)
      return
    }
    const summary = render(o.value)
    for (const line of Render.summary(summary)) {
      assert.notMatch(line, ANY, `${label}: a summary line holds a control character: ${JSON.stringify(line).slice(0, 300)}`)
    }
    // The report is a page for a browser, not the terminal: there a name must not become markup.
    if (program !== undefined) {
      const page = yield* Report.html(program(o.value), summary, label)
      assert.notInclude(page, "<x-inj>", `${label}: a name's markup reached the report unescaped`)
    }
  })

describe("terminal: control characters in names", () => {
  const n = plan.family("terminal: .pt2 names", 600)
  it.live(`${n} .pt2 archives with control characters in entry, value, target, weight and extra-file names`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      yield* runCases(n, "terminal-pt2", (label, r, i) =>
        Effect.gen(function*() {
          const where = r.pick(["root folder", "extra file", "value", "target", "weight", "hostile entry", "version"] as const)
          let bytes: Uint8Array
          switch (where) {
            case "root folder": {
              const root = hostile(r, "archive")
              bytes = forge(base.entries.map((e) => ({ name: root + e.name.slice(base.root.length - 1), data: e.data })))
              break
            }
            case "extra file":
              bytes = H.rebuild(base, {}, [{ name: `${base.root}extra/${hostile(r, "notes")}`, data: C.text(hostile(r, "text")) }])
              break
            case "hostile entry":
              bytes = H.rebuild(base, {}, [{ name: `${base.root}../${hostile(r, "x")}`, data: C.text("x") }])
              break
            case "version":
              bytes = H.rebuild(base, { [`${base.root}archive_format`]: hostile(r, "pt2") })
              break
            default:
              bytes = H.editPt2(base, (rec) => {
                if (where === "value") {
                  const from = r.pick(["mul", "mm", "relu", "x", "getitem"])
                  rec.model = H.renameEverywhere(rec.model, from, hostile(r, from))
                } else if (where === "target") {
                  r.pick(rec.model.graph_module.graph.nodes as Array<C.Json>).target = hostile(r, "torch.ops.aten.relu.default")
                } else {
                  const to = hostile(r, "layer.weight")
                  rec.model = H.renameEverywhere(rec.model, "layer.weight", to)
                  rec.weights = H.renameEverywhere(rec.weights, "layer.weight", to)
                }
              })
          }
          const shown = `${label} (${where})`
          const o = yield* H.pt2Case(tally, "terminal: .pt2 names", shown, bytes, "any", { roundTrip: i % 4 === 0 })
          yield* assertShownSafely(o, shown, (v: Reader.Pt2) => Summary.ofProgram(v.program))
        }))
    }), timeout(60_000))

  const h = plan.family("terminal: HTML report", 150)
  it.live(`${h} reports of programs whose names hold control characters and markup`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      yield* runCases(h, "terminal-report", (label, r) =>
        Effect.gen(function*() {
          const bytes = H.editPt2(base, (rec) => {
            for (const from of ["mul", "mm", "relu", "x", "getitem"]) if (r.next() < 0.5) rec.model = H.renameEverywhere(rec.model, from, hostile(r, from))
            const to = hostile(r, "layer.weight")
            rec.model = H.renameEverywhere(rec.model, "layer.weight", to)
            rec.weights = H.renameEverywhere(rec.weights, "layer.weight", to)
          })
          const o = yield* H.pt2Case(tally, "terminal: HTML report", label, bytes, "any", { roundTrip: false })
          yield* assertShownSafely(o, label, (v: Reader.Pt2) => Summary.ofProgram(v.program), (v: Reader.Pt2) => v.program)
        }))
    }), timeout(60_000))

  const m = plan.family("terminal: .tgm names", 400)
  it.live(`${m} .tgm archives with control characters in entry, module, attribute and producer names`, () =>
    Effect.gen(function*() {
      const base = yield* H.tgmBase("mlp")
      yield* runCases(m, "terminal-tgm", (label, r, i) =>
        Effect.gen(function*() {
          const where = r.pick(["child", "entry", "hostile entry", "format", "target"] as const)
          let bytes: Uint8Array
          switch (where) {
            case "entry": {
              // A tensor entry renamed, with the reference to it.
              const to = hostile(r, "tensors/0")
              bytes = H.rebuild({ entries: base.entries.map((e) => (e.name === "tensors/0" ? { name: to, data: e.data } : e)) }, {
                "module.json": H.stringify(H.renameEverywhere(H.parse(H.textOf(base, "module.json")), "tensors/0", to))
              })
              break
            }
            case "hostile entry":
              bytes = H.rebuild(base, {}, [{ name: `/${hostile(r, "etc")}`, data: C.text("x") }])
              break
            case "format":
              bytes = H.rebuild(base, { "format.json": JSON.stringify({ format: hostile(r, "torch-tensorrt-compiled-module"), version: 1, producer: { tool: hostile(r, "t") } }) })
              break
            default:
              bytes = H.editTgm(base, (mod) => {
                const [root] = H.tgmGraphs(mod)
                if (where === "child") {
                  const to = hostile(r, "_run_on_gpu_1")
                  H.renameKey(mod.children, "_run_on_gpu_1", to)
                  for (const node of root!) if (node.target === "_run_on_gpu_1") node.target = to
                } else {
                  r.pick(root!.filter((x) => x.op === "call_module")).target = hostile(r, "_run_on_acc_0")
                }
              })
          }
          const shown = `${label} (${where})`
          const o = yield* H.tgmCase(tally, "terminal: .tgm names", shown, bytes, "any", { roundTrip: i % 4 === 0 })
          yield* assertShownSafely(o, shown, (v: GraphModule) => Summary.ofModule(v))
        }))
    }), timeout(60_000))
})

// ===== The CLI itself =====

const ROOT = path.join(import.meta.dirname, "../..")

describe("terminal: the CLI", () => {
  const n = plan.family("terminal: the CLI", 2)
  it.live(`${n} hostile files shown by inspect or verify, escaped`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-fuzz-cli-"))
      try {
        yield* runCases(n, "terminal-cli", (label, r, i) =>
          Effect.gen(function*() {
            // A readable program whose names hold escapes, or an archive whose error names them.
            const bytes = i % 2 === 0
              ? H.editPt2(base, (rec) => {
                rec.model = H.renameEverywhere(rec.model, "relu", hostile(r, "relu"))
              })
              : H.rebuild(base, {}, [{ name: `${base.root}../${hostile(r, "x")}`, data: C.text("x") }])
            const file = path.join(dir, `case${i}.pt2`)
            fs.writeFileSync(file, bytes)
            const o = yield* outcome(Reader.readFile(file), label, { archive: file })
            tally.count("terminal: the CLI", o)
            for (const command of [i % 2 === 0 ? "inspect" : "verify"]) {
              const run = spawnSync(process.execPath, ["src/cli/bin.ts", command, file], { cwd: ROOT, encoding: "utf8" })
              const printed = `${run.stdout}${run.stderr}`
              assert.notMatch(printed, BETWEEN_LINES, `${label}: trtx ${command} printed a control character: ${JSON.stringify(printed).slice(0, 300)}`)
              assert.strictEqual(run.status, o._tag === "ok" ? 0 : 1, `${label}: trtx ${command} exit code`)
            }
          }))
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }), timeout(120_000))
})

describe("terminal: summary", () => {
  it("every family ran its plan", () => tally.assertPlanned(plan.counts))
})

afterAll(() => console.log(tally.lines().join("\n")))
