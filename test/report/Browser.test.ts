/**
 * The report page in a real browser: headless Chromium (Debian's `chromium`, or `TRTX_CHROMIUM`), driven by
 * puppeteer-core at 1440×900, on the pages of the bundled example, of synth_1k and of a generated module of
 * 1,000 engines. From the DOM's geometry: as many boxes of each kind as the folded flow has; every edge an
 * orthogonal path that enters no box but its ends'; the picture, at the zoom it opens with, inside the view
 * and the screen, and large enough to read; its text inside its boxes. Then the page's script: a click on an
 * engine shows its record, a click on the fold lists its boxes and a click on one shows that box's record;
 * the wheel zooms, a drag pans, "Fit" goes back. Nothing is requested but the page, and nothing is refused
 * by its Content-Security-Policy. Screenshots are kept in a temporary folder, and checked for colour.
 *
 * Skipped, with the reason printed, where no Chromium is found.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { PNG } from "pngjs"
import puppeteer, { type Browser, type Page } from "puppeteer-core"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import * as Summary from "../../src/program/Summary.ts"
import * as Flow from "../../src/report/Flow.ts"
import * as Fold from "../../src/report/Fold.ts"
import * as Report from "../../src/report/Report.ts"
import * as Geometry from "./Geometry.ts"
import * as Programs from "./Programs.ts"

const findChromium = (): string | undefined => {
  const named = process.env.TRTX_CHROMIUM
  if (named !== undefined && named !== "") return fs.existsSync(named) ? named : undefined
  for (const name of ["chromium", "chromium-browser"]) {
    const r = spawnSync("which", [name], { encoding: "utf8" })
    if (r.status === 0 && r.stdout.trim() !== "") return r.stdout.trim()
  }
  return undefined
}
const chromium = findChromium()
const skipped = chromium !== undefined
  ? undefined
  : process.env.TRTX_CHROMIUM
  ? `no Chromium: TRTX_CHROMIUM=${process.env.TRTX_CHROMIUM} does not exist`
  : "no Chromium: neither chromium nor chromium-browser is on PATH, and TRTX_CHROMIUM is unset (Debian: apt-get install chromium)"
if (skipped !== undefined) console.log(`test/report/Browser.test.ts skipped: ${skipped}`)

const VIEWPORT = { width: 1440, height: 900 }

interface Rect {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

// What the page's DOM says, measured in the page (a string, so that no transform of this file reaches it).
interface Measured {
  readonly boxes: ReadonlyArray<Geometry.Rect & { readonly kind: string }>
  readonly paths: ReadonlyArray<{ readonly from: string; readonly to: string; readonly d: string }>
  /** Text lines wider or taller than their box's frame. */
  readonly overflowing: ReadonlyArray<string>
  readonly scene: Rect
  readonly view: Rect
  readonly transform: string
}
const MEASURE = `(() => {
  const rect = (r) => ({ x: r.x, y: r.y, width: r.width, height: r.height })
  const union = (rs) => {
    const x = Math.min(...rs.map((r) => r.x)), y = Math.min(...rs.map((r) => r.y))
    return { x, y, width: Math.max(...rs.map((r) => r.x + r.width)) - x, height: Math.max(...rs.map((r) => r.y + r.height)) - y }
  }
  const overflowing = []
  const boxes = [...document.querySelectorAll("#scene .box")].map((g) => {
    const frame = g.querySelector("rect.frame").getBBox()
    for (const t of g.querySelectorAll("text")) {
      const b = t.getBBox()
      if (b.x < frame.x || b.x + b.width > frame.x + frame.width - 2 || b.y < frame.y || b.y + b.height > frame.y + frame.height) overflowing.push(g.dataset.id + ": " + t.textContent)
    }
    return { id: g.dataset.id, kind: g.classList[1], ...union([...g.querySelectorAll("rect")].map((r) => rect(r.getBBox()))) }
  })
  const paths = [...document.querySelectorAll("#scene path.edge")].map((p) => ({ from: p.dataset.from, to: p.dataset.to, d: p.getAttribute("d") }))
  return {
    boxes, paths, overflowing,
    scene: rect(document.getElementById("scene").getBoundingClientRect()),
    view: rect(document.getElementById("view").getBoundingClientRect()),
    transform: document.getElementById("scene").getAttribute("transform") ?? ""
  }
})()`

const scaleOf = (transform: string): number => Number(/scale\(([\d.e-]+)\)/.exec(transform)?.[1] ?? NaN)
const translateOf = (transform: string): [number, number] => {
  const m = /translate\(([-\d.e]+)[ ,]([-\d.e]+)\)/.exec(transform)
  return [Number(m?.[1]), Number(m?.[2])]
}

// Pixels of a screenshot near a colour.
const countColour = (png: Buffer, hex: string): number => {
  const image = PNG.sync.read(png)
  const [r0, g0, b0] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
  let n = 0
  for (let i = 0; i < image.data.length; i += 4) {
    if (Math.abs(image.data[i]! - r0!) + Math.abs(image.data[i + 1]! - g0!) + Math.abs(image.data[i + 2]! - b0!) < 24) n++
  }
  return n
}

describe("the report page in headless Chromium", () => {
  let browser: Browser | undefined
  const shots = skipped === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), "trtx-report-shots-")) : ""

  beforeAll(async () => {
    if (skipped !== undefined) return
    browser = await puppeteer.launch({
      executablePath: chromium!,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    })
    console.log(`Browser.test.ts: ${await browser.version()}; screenshots in ${shots}`)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
  })

  // Opens a program's page from a file, recording every request and every console error.
  const open = async (name: string, ep: ExportedProgram) => {
    const file = path.join(shots, `${name}.html`)
    const page = await Effect.runPromise(Report.html(ep, Summary.ofProgram(ep), `${name}.tgm`))
    fs.writeFileSync(file, page)
    const tab: Page = await browser!.newPage()
    await tab.setViewport(VIEWPORT)
    const requests: Array<string> = []
    const errors: Array<string> = []
    tab.on("request", (r) => void requests.push(r.url()))
    tab.on("console", (m) => void (m.type() === "error" && errors.push(m.text())))
    tab.on("pageerror", (e) => void errors.push(String(e)))
    await tab.goto(`file://${file}`, { waitUntil: "load" })
    return { tab, file, bytes: Buffer.byteLength(page), requests, errors }
  }

  const cases: ReadonlyArray<readonly [string, Effect.Effect<ExportedProgram, unknown>]> = [
    ["example", Programs.example()],
    ["synth_1k", Programs.sample("synth_1k")],
    ["engines_1000", Programs.generated(1_000)]
  ]

  for (const [name, load] of cases) {
    const title = `${name}: boxes as the folded flow has them, edges clear of boxes, a picture that fits the screen, the side panel`
    it.skipIf(skipped !== undefined)(skipped === undefined ? title : `${title} (skipped: ${skipped})`, async () => {
      const ep = await Effect.runPromise(load)
      const flow = Flow.ofProgram(ep)
      const folded = Fold.fold(flow)
      const { bytes, errors, file, requests, tab } = await open(name, ep)
      try {
        const m = await tab.evaluate(MEASURE) as Measured

        // Box counts: each kind as the folded flow has it; with the folds' members, every box of the flow.
        const kinds = (items: ReadonlyArray<Fold.Item>) => {
          const count: Record<string, number> = {}
          for (const i of items) {
            const kind = i._tag === "Box" ? i.box.kind : "fold"
            count[kind] = (count[kind] ?? 0) + 1
          }
          return count
        }
        const drawn: Record<string, number> = {}
        for (const b of m.boxes) drawn[b.kind] = (drawn[b.kind] ?? 0) + 1
        assert.deepStrictEqual(drawn, kinds(folded.items))
        const members = folded.items.reduce((a, i) => a + (i._tag === "Fold" ? i.members.length : 0), 0)
        assert.strictEqual(m.boxes.length - (drawn.fold ?? 0) + members, flow.boxes.length)
        assert.strictEqual(m.paths.length, folded.edges.length)

        // Edges: orthogonal, from border to border, through no other box.
        const paths = m.paths.map((p) => ({ from: p.from, to: p.to, points: Geometry.parsePath(p.d) }))
        assert.deepStrictEqual(Geometry.slanted(paths), [])
        assert.deepStrictEqual(Geometry.crossings(m.boxes, paths), [])
        assert.deepStrictEqual(Geometry.detached(m.boxes, paths), [])
        assert.deepStrictEqual(m.overflowing, [])

        // The initial view: the whole picture inside the view, the view inside the screen; readable.
        const scale = scaleOf(m.transform)
        const inside = (a: Rect, b: Rect) => a.x >= b.x - 1 && a.y >= b.y - 1 && a.x + a.width <= b.x + b.width + 1 && a.y + a.height <= b.y + b.height + 1
        assert.isTrue(inside(m.scene, m.view), `scene ${JSON.stringify(m.scene)} inside view ${JSON.stringify(m.view)}`)
        assert.isTrue(m.view.x >= 0 && m.view.x + m.view.width <= VIEWPORT.width)
        assert.isAtMost(m.scene.width, VIEWPORT.width)
        assert.isAtLeast(scale, 0.6, "fitted at 60% or more")
        assert.isAtMost(scale, 1)
        console.log(
          `${name}: ${m.boxes.length} boxes (${flow.boxes.length} in the flow), ${m.paths.length} edges; picture ${Math.round(m.scene.width / scale)}×${
            Math.round(m.scene.height / scale)
          } px, shown ${Math.round(m.scene.width)}×${Math.round(m.scene.height)} at ${Math.round(scale * 100)}%; page ${(bytes / 1024).toFixed(0)} KiB`
        )
        const shot = Buffer.from(await tab.screenshot({ path: path.join(shots, `${name}.png`) }))
        assert.isAbove(countColour(shot, "#1e8e3e"), 300, "engine outlines drawn")
        assert.isAbove(countColour(shot, "#e6f4ea"), 5_000, "engine fills drawn")

        // A click on an engine: its record in the side panel.
        const engine = m.boxes.find((b) => b.kind === "engine")!
        await tab.click(`#scene .box[data-id="${engine.id}"]`)
        const panel = await tab.evaluate(`document.getElementById("panel").innerText`) as string
        const box = flow.boxes.find((b) => String(b.id) === engine.id)!
        const r = box.record
        for (const text of [box.title, r.size, r.engine!.abi, r.engine!.device, r.engine!.where, ...r.inputs.items.map((p) => p.name), ...r.outputs.items.map((p) => p.name), ...r.outputs.items.map((p) => p.type)]) {
          assert.include(panel, text)
        }
        assert.include(panel, "ABI")
        assert.isTrue(await tab.evaluate(`document.querySelector('#scene .box[data-id="${engine.id}"]').classList.contains("selected")`) as boolean)
        await tab.screenshot({ path: path.join(shots, `${name}-engine.png`) })

        // A click on a fallback segment (or, where they are all folded, on the fold): its ops.
        const fold = folded.items.find((i) => i._tag === "Fold")
        if (fold !== undefined && fold._tag === "Fold") {
          await tab.click(`#scene .box[data-id="${fold.id}"]`)
          const listed = await tab.evaluate(`[...document.querySelectorAll("#panel .member")].map((b) => b.textContent)`) as Array<string>
          assert.strictEqual(listed.length, fold.members.length)
          assert.include(listed[0]!, flow.boxes[fold.members[0]!]!.title)
          // The second member's own record, then back to the list.
          await tab.click("#panel li:nth-child(2) .member")
          const second = flow.boxes[fold.members[1]!]!
          const memberPanel = await tab.evaluate(`document.getElementById("panel").innerText`) as string
          assert.include(memberPanel, second.title)
          assert.include(memberPanel, second.record.size)
          await tab.screenshot({ path: path.join(shots, `${name}-fold.png`) })
          await tab.click("#panel .back")
          assert.strictEqual(await tab.evaluate(`document.querySelectorAll("#panel .member").length`), fold.members.length)
        } else {
          const segment = m.boxes.find((b) => b.kind === "fallback")!
          await tab.click(`#scene .box[data-id="${segment.id}"]`)
          const text = await tab.evaluate(`document.getElementById("panel").innerText`) as string
          for (const [op] of flow.boxes.find((b) => String(b.id) === segment.id)!.record.ops) assert.include(text, op)
        }

        // Wheel zoom about the pointer, drag to pan, Fit back to the first view.
        const centre = { x: m.view.x + m.view.width / 2, y: m.view.y + m.view.height / 2 }
        await tab.mouse.move(centre.x, centre.y)
        await tab.mouse.wheel({ deltaY: -400 })
        const zoomed = await tab.evaluate(`document.getElementById("scene").getAttribute("transform")`) as string
        assert.isAbove(scaleOf(zoomed), scale * 1.5, "the wheel zooms in")
        await tab.mouse.down()
        await tab.mouse.move(centre.x - 120, centre.y - 40, { steps: 4 })
        await tab.mouse.up()
        const panned = await tab.evaluate(`document.getElementById("scene").getAttribute("transform")`) as string
        assert.closeTo(translateOf(panned)[0] - translateOf(zoomed)[0], -120, 1)
        assert.closeTo(translateOf(panned)[1] - translateOf(zoomed)[1], -40, 1)
        assert.strictEqual(scaleOf(panned), scaleOf(zoomed))
        await tab.click("#reset")
        assert.strictEqual(await tab.evaluate(`document.getElementById("scene").getAttribute("transform")`), m.transform)

        // Nothing loaded but the page itself, and nothing refused.
        assert.deepStrictEqual(requests, [`file://${file}`])
        assert.deepStrictEqual(errors, [])
      } finally {
        await tab.close()
      }
    }, 120_000)
  }
})
