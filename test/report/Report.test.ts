/**
 * The report page: the flow finds every engine, every fallback segment and the data flow between them, with
 * each box's record; all program text is escaped, in the markup and in the inline JSON; the page loads
 * nothing from anywhere; and, where Debian's chromium is installed, the page renders in a real headless
 * browser with the boxes drawn in their colours (checked on the screenshot's pixels; `Browser.test.ts`
 * checks the geometry, the pan and zoom and the side panel).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { PNG } from "pngjs"
import type { ScriptObject, Tensor } from "../../src/graph/Tensor.ts"
import * as EngineRecord from "../../src/program/EngineRecord.ts"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import * as Summary from "../../src/program/Summary.ts"
import * as Escape from "../../src/report/Escape.ts"
import * as Flow from "../../src/report/Flow.ts"
import * as PageScript from "../../src/report/PageScript.ts"
import * as Report from "../../src/report/Report.ts"
import * as Programs from "./Programs.ts"

const { SAMPLES } = Programs
const program = Programs.sample

const chromium = ["chromium", "chromium-browser", "google-chrome"].find((c) => spawnSync("which", [c]).status === 0)

// The program with its (plain-export) engine records renamed by `rename`.
const renameEngines = (ep: ExportedProgram, rename: (name: string) => string): ExportedProgram => ({
  ...ep,
  constants: new Map([...ep.constants].map(([k, v]): readonly [string, Tensor | ScriptObject] => {
    if (v._tag !== "ScriptObject") return [k, v]
    const r = EngineRecord.decodeRaw(v.state)
    return [k, Result.isSuccess(r) ? { ...v, state: EngineRecord.encodeRaw({ ...r.success, name: rename(r.success.name) }) } : v]
  }))
})

// The page's inline JSON data, parsed as the page's script parses it.
const pageDataOf = (page: string): unknown => {
  const m = /<script type="application\/json" id="trtx-data">(.*?)<\/script>/s.exec(page)
  assert.isNotNull(m)
  return JSON.parse(m![1]!)
}

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

  it.effect("records: an engine's bindings, sizes, ABI and device; a segment's ops, inputs and outputs (example, plain and cross-compiled)", () =>
    Effect.gen(function*() {
      for (const cross of [false, true]) {
        const ep = yield* Programs.example(cross)
        const summary = Summary.ofProgram(ep)
        const flow = Flow.ofProgram(ep)
        const engines = flow.boxes.filter((b) => b.kind === "engine")
        assert.strictEqual(engines.length, summary.engines.length)
        for (const [i, b] of engines.entries()) {
          const s = summary.engines[i]!
          const r = b.record
          assert.deepStrictEqual(
            [r.engine?.name, r.engine?.abi, r.engine?.device, r.engine?.bytes, r.engine?.where],
            [s.name, s.abi, s.device, s.bytes, s.where]
          )
          assert.deepStrictEqual(r.inputs.items.map((p) => p.name), s.inputs)
          assert.deepStrictEqual(r.outputs.items.map((p) => p.name), s.outputs)
          for (const p of [...r.inputs.items, ...r.outputs.items]) assert.match(p.type, /^float32 \[[\d, ]+\]$/, `${b.title} ${p.name}`)
        }
        // The first engine reads the input and gives the LayerNorm's input and the residual path.
        assert.deepStrictEqual(engines[0]!.record.inputs.items.map((p) => [p.node, p.type]), [["x", "float32 [2, 3, 32, 32]"]])
        assert.deepStrictEqual(engines[0]!.record.outputs.items.map((p) => p.type), ["float32 [2, 8, 8, 16]", "float32 [2, 16, 8, 8]"])
        const segments = flow.boxes.filter((b) => b.kind === "fallback")
        assert.deepStrictEqual(segments.map((b) => b.record.ops), [
          [["native_layer_norm", 1], ["_operator.getitem", 1]],
          [["gelu", 1]],
          [["mean.dim", 1]]
        ])
        const norm = segments[0]!.record
        assert.deepStrictEqual(norm.nodes.items.map(([, t]) => t), ["torch.ops.aten.native_layer_norm.default", "_operator.getitem"])
        // The LayerNorm reads an engine's output and its two weights (128 B); it gives one value on.
        assert.strictEqual(norm.inputs.total, 3)
        assert.strictEqual(norm.outputs.total, 1)
        assert.strictEqual(norm.size, "2 ops; reads 2 weights (128 B)")
        const weights = flow.boxes.find((b) => b.kind === "weights")!.record
        assert.deepStrictEqual(weights.outputs.items.map((p) => p.name), ["block.norm.weight", "block.norm.bias"])
        assert.deepStrictEqual(flow.boxes.find((b) => b.kind === "output")!.record.inputs.items.map((p) => p.type), ["float32 [2, 10]"])
      }
    }))

  it.effect("a record's lists keep their first LISTED items and their count", () =>
    Effect.gen(function*() {
      const flow = Flow.ofProgram(yield* Programs.generated(300))
      const weights = flow.boxes.find((b) => b.kind === "weights")!.record.outputs
      assert.strictEqual(weights.total, 300)
      assert.strictEqual(weights.items.length, Flow.LISTED)
    }))

  it.effect("program text is escaped, in the markup and in the inline JSON", () =>
    Effect.gen(function*() {
      const evil = `</script><script>alert("x")</script><!-- \u2028 & '`
      const ep = renameEngines(yield* program("single_engine"), (n) => `${n}${evil}`)
      const page = yield* Report.html(ep, Summary.ofProgram(ep), `<script>alert("x")</script> & co`)
      // The page's own two script elements, and no other.
      assert.strictEqual(page.match(/<script/g)?.length, 2)
      assert.strictEqual(page.match(/<\/script/g)?.length, 2)
      assert.notInclude(page, "<!--")
      for (const script of page.match(/<script.*?<\/script>/gs) ?? []) assert.notMatch(script, /[\u2028\u2029]/)
      assert.include(page, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co")
      assert.include(page, "\\u003c/script\\u003e\\u003cscript\\u003ealert(\\\"x\\\")")
      // The data element gives the names back as they are.
      const data = pageDataOf(page) as { boxes: Record<string, { kind: string; title: string }> }
      const engine = Object.values(data.boxes).find((b) => b.kind === "engine")!
      assert.strictEqual(engine.title, `_run_on_acc_0_engine${evil}`)
      assert.strictEqual(page.match(/<svg /g)?.length, 1)
    }))

  it("scriptJson: nothing that ends or changes a script element, and JSON.parse gives the value back", () => {
    const value = { a: "</script><!--<script>&\u2028\u2029", b: ["<", ">"] }
    const text = Escape.scriptJson(value)
    assert.notMatch(text, /[<>&\u2028\u2029]/)
    assert.deepStrictEqual(JSON.parse(text), value)
  })

  it.effect("the page loads nothing: no URL at all, a Content-Security-Policy that forbids loads and allows its script by hash", () =>
    Effect.gen(function*() {
      const ep = yield* Programs.example()
      const page = yield* Report.html(ep, Summary.ofProgram(ep), "example.tgm")
      assert.notMatch(page, /[a-z]+:\/\//i)
      assert.notMatch(page, /\b(src|href)=/i)
      const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(page)?.[1]?.replace(/&#39;/g, "'")
      assert.isDefined(csp)
      const hash = createHash("sha256").update(PageScript.source).digest("base64")
      assert.include(csp, "default-src 'none'")
      assert.include(csp, `script-src 'sha256-${hash}'`)
      assert.notInclude(csp, "unsafe-eval")
      assert.include(page, `<script>${PageScript.source}</script>`)
    }))

  it.skipIf(chromium === undefined)(
    "renders in headless chromium: the engine and fallback boxes are drawn (skipped where chromium is not installed)",
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-report-"))
      try {
        const html = path.join(dir, "mlp.html")
        const png = path.join(dir, "mlp.png")
        const r = spawnSync(process.execPath, ["src/cli/bin.ts", "report", path.join(SAMPLES, "mlp/input.tgm"), "-o", html], {
          cwd: Programs.ROOT,
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
        // Box outlines and fills: engine green, fallback red, input blue; a blank page has none of them. (The
        // picture is fitted to the screen, here at about 80%: 862, 26,151, 6,401 and 13,426 pixels.)
        assert.isAbove(count("#1e8e3e"), 500, "engine outlines")
        assert.isAbove(count("#e6f4ea"), 12_000, "engine fills")
        assert.isAbove(count("#fce8e6"), 3_000, "fallback fill")
        assert.isAbove(count("#e8f0fe"), 5_000, "input fill")
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
    90_000
  )
})
