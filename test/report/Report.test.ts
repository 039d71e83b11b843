/**
 * The report page: the flow finds every engine, every fallback segment and the data flow between them; all
 * program text is escaped; and, where Debian's chromium is installed, the page renders in a real headless
 * browser with the boxes drawn in their colours (checked on the screenshot's pixels).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { PNG } from "pngjs"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import * as Summary from "../../src/program/Summary.ts"
import * as Flow from "../../src/report/Flow.ts"
import * as Report from "../../src/report/Report.ts"

const SAMPLES = path.join(import.meta.dirname, "../fixtures/samples")
const program = (name: string, crossCompile = false) =>
  Effect.flatMap(Tgm.readFile(path.join(SAMPLES, name, "input.tgm")), (gm) => Exporter.exportModule(gm, { crossCompile }))

const chromium = ["chromium", "chromium-browser", "google-chrome"].find((c) => spawnSync("which", [c]).status === 0)

describe("report", () => {
  it.effect("mlp: input, engine, fallback, engine, output, in a chain", () =>
    Effect.gen(function*() {
      for (const cross of [false, true]) {
        const flow = Flow.ofProgram(yield* program("mlp", cross))
        assert.deepStrictEqual(flow.boxes.map((b) => [b.kind, b.layer]), [
          ["input", 0], ["engine", 1], ["engine", 3], ["fallback", 2], ["output", 4]
        ])
        assert.deepStrictEqual(flow.boxes.filter((b) => b.kind === "engine").map((b) => b.title), ["_run_on_acc_0_engine", "_run_on_acc_2_engine"])
        assert.deepStrictEqual(flow.edges.length, 4)
      }
    }))

  it.effect("every sample: one engine box per engine call, weights counted, edges point forward", () =>
    Effect.gen(function*() {
      for (const name of ["cnn_bn", "first_gpu", "kwargs_pytree", "multi_out", "single_engine", "synth_1k"]) {
        const ep = yield* program(name)
        const flow = Flow.ofProgram(ep)
        const engineCalls = [...ep.graphModule.graph.findNodes("call_function", "torch.ops.tensorrt.execute_engine.default")]
        assert.strictEqual(flow.boxes.filter((b) => b.kind === "engine").length, engineCalls.length, name)
        const byId = new Map(flow.boxes.map((b) => [b.id, b]))
        for (const [from, to] of flow.edges) assert.isBelow(byId.get(from)!.layer, byId.get(to)!.layer, name)
        const weights = flow.boxes.find((b) => b.kind === "weights")
        assert.strictEqual(weights === undefined, ep.stateDict.size === 0 && ![...ep.constants.values()].some((c) => c._tag === "Tensor"), name)
      }
    }))

  it.effect("program text is escaped", () =>
    Effect.gen(function*() {
      const ep = yield* program("single_engine")
      const page = Report.html(ep, Summary.ofProgram(ep), `<script>alert("x")</script> & co`)
      assert.notInclude(page, "<script>")
      assert.include(page, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co")
      assert.strictEqual(page.match(/<svg /g)?.length, 1)
      assert.notMatch(page, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/) // nothing fetched from a network
    }))

  it.skipIf(chromium === undefined)(
    "renders in headless chromium: the engine and fallback boxes are drawn (skipped where chromium is not installed)",
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-report-"))
      try {
        const html = path.join(dir, "mlp.html")
        const png = path.join(dir, "mlp.png")
        const r = spawnSync(process.execPath, ["src/cli/bin.ts", "report", path.join(SAMPLES, "mlp/input.tgm"), "-o", html], {
          cwd: path.join(import.meta.dirname, "../.."),
          encoding: "utf8"
        })
        assert.strictEqual(r.status, 0, r.stderr)
        const shot = spawnSync(chromium!, ["--headless", "--no-sandbox", "--disable-gpu", `--screenshot=${png}`, "--window-size=1400,900", `file://${html}`], {
          encoding: "utf8",
          timeout: 60_000
        })
        assert.isTrue(fs.existsSync(png), shot.stderr)
        const image = PNG.sync.read(fs.readFileSync(png))
        const count = (hex: string) => {
          const [r0, g0, b0] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
          let n = 0
          for (let i = 0; i < image.data.length; i += 4) {
            if (Math.abs(image.data[i]! - r0!) + Math.abs(image.data[i + 1]! - g0!) + Math.abs(image.data[i + 2]! - b0!) < 24) n++
          }
          return n
        }
        // Box outlines and fills: engine green, fallback red, input blue; a blank page has none of them.
        assert.isAbove(count("#1e8e3e"), 500, "engine outlines")
        assert.isAbove(count("#e6f4ea"), 20_000, "engine fills")
        assert.isAbove(count("#fce8e6"), 10_000, "fallback fill")
        assert.isAbove(count("#e8f0fe"), 5_000, "input fill")
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
    90_000
  )
})
