/**
 * The layout (`Layout.ts`, elkjs run in the same thread) and the SVG drawn from it (`Picture.ts`): every box
 * placed, every edge an orthogonal polyline from the border of its source to the border of its target that
 * enters no other box; a picture too wide for a screen is wrapped into rows. Checked on the SVG text here,
 * and on the DOM of a real browser in `Browser.test.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ExportedProgram } from "../../src/program/ExportedProgram.ts"
import * as Flow from "../../src/report/Flow.ts"
import * as Fold from "../../src/report/Fold.ts"
import * as Layout from "../../src/report/Layout.ts"
import * as Picture from "../../src/report/Picture.ts"
import * as Geometry from "./Geometry.ts"
import * as Programs from "./Programs.ts"

// A random DAG: `n` boxes of random heights, each reading from one to three earlier ones (skips included).
const randomGraph = (n: number, seed: number) => {
  let s = seed
  const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, width: 200, height: 60 + Math.floor(random() * 4) * 16 }))
  const edges: Array<Layout.Edge> = []
  const seen = new Set<string>()
  for (let i = 1; i < n; i++) {
    for (let k = 0, reads = 1 + Math.floor(random() * 3); k < reads; k++) {
      const from = Math.max(0, i - 1 - Math.floor(random() * Math.min(i, 6)))
      if (seen.has(`${from}>${i}`)) continue
      seen.add(`${from}>${i}`)
      edges.push({ id: `e${edges.length}`, from: `n${from}`, to: `n${i}` })
    }
  }
  return { nodes, edges }
}

const check = (layout: Layout.Layout, nodes: ReadonlyArray<Layout.Node>, edges: ReadonlyArray<Layout.Edge>, label: string) => {
  const boxes = nodes.map((n) => ({ id: n.id, width: n.width, height: n.height, ...layout.nodes.get(n.id)! }))
  const paths = edges.map((e) => ({ from: e.from, to: e.to, points: layout.edges.get(e.id)! }))
  assert.strictEqual(layout.nodes.size, nodes.length, label)
  for (const p of paths) assert.isAtLeast(p.points.length, 2, label)
  assert.deepStrictEqual(Geometry.slanted(paths), [], label)
  assert.deepStrictEqual(Geometry.crossings(boxes, paths), [], label)
  assert.deepStrictEqual(Geometry.detached(boxes, paths), [], label)
  for (const b of boxes) {
    assert.isTrue(b.x >= 0 && b.y >= 0 && b.x + b.width <= layout.width && b.y + b.height <= layout.height, `${label}: ${b.id} inside`)
  }
}

// The boxes (the union of each box group's rectangles) and edge paths of an SVG that Picture.ts wrote.
const parseSvg = (svg: string) => {
  const boxes: Array<Geometry.Rect & { readonly kind: string }> = []
  for (const g of svg.matchAll(/<g class="box (\w+)" data-id="(\d+)"[^>]*>(.*?)<\/g>/g)) {
    const rects = [...g[3]!.matchAll(/<rect[^>]* x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => m.slice(1).map(Number))
    const x = Math.min(...rects.map((r) => r[0]!))
    const y = Math.min(...rects.map((r) => r[1]!))
    const right = Math.max(...rects.map((r) => r[0]! + r[2]!))
    const bottom = Math.max(...rects.map((r) => r[1]! + r[3]!))
    boxes.push({ id: g[2]!, kind: g[1]!, x, y, width: right - x, height: bottom - y })
  }
  const paths = [...svg.matchAll(/<path class="edge" data-from="(\d+)" data-to="(\d+)" d="([^"]*)"/g)].map((m) => ({
    from: m[1]!,
    to: m[2]!,
    points: Geometry.parsePath(m[3]!)
  }))
  return { boxes, paths }
}

describe("Layout", () => {
  it("elkjs places two boxes left to right, the edge from border to border", async () => {
    const layout = await Effect.runPromise(Layout.layered([{ id: "a", width: 100, height: 40 }, { id: "b", width: 100, height: 40 }], [{ id: "e", from: "a", to: "b" }]))
    assert.isBelow(layout.nodes.get("a")!.x, layout.nodes.get("b")!.x)
    const points = layout.edges.get("e")!
    assert.strictEqual(points[0]!.x, layout.nodes.get("a")!.x + 100)
    assert.strictEqual(points[points.length - 1]!.x, layout.nodes.get("b")!.x)
  })

  it("the geometry checks catch what they look for", () => {
    const boxes = [{ id: "a", x: 0, y: 0, width: 10, height: 10 }, { id: "b", x: 20, y: 0, width: 10, height: 10 }, { id: "c", x: 40, y: 0, width: 10, height: 10 }]
    const through = { from: "a", to: "c", points: [{ x: 10, y: 5 }, { x: 40, y: 5 }] }
    const around = { from: "a", to: "c", points: [{ x: 10, y: 5 }, { x: 15, y: 5 }, { x: 15, y: 12 }, { x: 35, y: 12 }, { x: 35, y: 5 }, { x: 40, y: 5 }] }
    assert.strictEqual(Geometry.crossings(boxes, [through]).length, 1)
    assert.deepStrictEqual(Geometry.crossings(boxes, [around]), [])
    assert.strictEqual(Geometry.slanted([{ from: "a", to: "b", points: [{ x: 10, y: 5 }, { x: 20, y: 8 }] }]).length, 1)
    assert.deepStrictEqual(Geometry.detached(boxes, [through, around]), [])
    assert.deepStrictEqual(Geometry.detached(boxes, [{ from: "a", to: "b", points: [{ x: 15, y: 5 }, { x: 20, y: 5 }] }]), ["a→b"])
    assert.deepStrictEqual(Geometry.parsePath("M10,5 L15.5,5 L15.5,-2"), [{ x: 10, y: 5 }, { x: 15.5, y: 5 }, { x: 15.5, y: -2 }])
  })

  it("random DAGs with skip edges, in one row and wrapped: orthogonal edges that enter no other box", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { edges, nodes } = randomGraph(40, seed)
      for (const options of [{}, Layout.WRAPPED]) {
        const layout = await Effect.runPromise(Layout.layered(nodes, edges, options))
        check(layout, nodes, edges, `seed ${seed} ${options === Layout.WRAPPED ? "wrapped" : "one row"}`)
        if (options === Layout.WRAPPED) assert.isBelow(layout.width / layout.height, 4, `seed ${seed}: wrapped towards 1.6`)
      }
    }
  }, 60_000)

  it.effect("the pictures of the example, synth_1k and 1,000 engines: every item drawn, edges clear of boxes, a screen wide", () =>
    Effect.gen(function*() {
      const programs: Array<readonly [string, ExportedProgram]> = [
        ["example", yield* Programs.example()],
        ["example cross-compiled", yield* Programs.example(true)],
        ["synth_1k", yield* Programs.sample("synth_1k")],
        ["1k engines", yield* Programs.generated(1_000)]
      ]
      for (const [name, ep] of programs) {
        const folded = Fold.fold(Flow.ofProgram(ep))
        const picture = yield* Picture.render(folded)
        const { boxes, paths } = parseSvg(picture.svg)
        assert.strictEqual(boxes.length, folded.items.length, name)
        assert.strictEqual(paths.length, folded.edges.length, name)
        assert.deepStrictEqual(Geometry.slanted(paths), [], name)
        assert.deepStrictEqual(Geometry.crossings(boxes, paths), [], name)
        assert.deepStrictEqual(Geometry.detached(boxes, paths), [], name)
        // Within two thirds of a screen's size at scale 1, so that the page's fit keeps text readable.
        assert.isAtMost(picture.width, 1500, name)
        assert.isAtMost(picture.height, 1000, name)
      }
    }), 60_000)
})
