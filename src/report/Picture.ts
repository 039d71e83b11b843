/**
 * The SVG picture of a folded flow (`Fold.ts`), placed by `Layout.ts`: one rounded box per input, weights,
 * engine, fallback segment, fold and output, coloured by kind, and the data flow as orthogonal arrows along
 * the routes the layout gives. Every box is a `<g class="box …" data-id="…">` that the page's script
 * (`PageScript.ts`) answers a click on; the whole drawing is one `<g id="scene">`, which it pans and zooms.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Escape from "./Escape.ts"
import type * as Flow from "./Flow.ts"
import type * as Fold from "./Fold.ts"
import * as Layout from "./Layout.ts"

// ===== Models =====

/**
 * The picture: its SVG element and its size at scale 1 (also on the element as `data-width`,
 * `data-height`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Picture {
  readonly svg: string
  readonly width: number
  readonly height: number
}

/**
 * The width of a box; a fold's is wider, for its longer lines.
 *
 * @since 0.1.0
 * @category models
 */
export const BOX_W = 200
const FOLD_W = 260
// A picture wider than this in one row (more than a screen holds at two thirds of its size) is wrapped.
const WRAP_ABOVE = 1500
const LINE_H = 16
// Lines longer than a box holds (about 6.8 px a character at 12 px) are cut, with the whole text kept as
// the element's tooltip.
const charsIn = (width: number): number => Math.floor((width - 20) / 6.8)

type Kind = Flow.Box["kind"] | "fold"

const COLORS: { readonly [K in Kind]: { readonly fill: string; readonly stroke: string } } = {
  input: { fill: "#e8f0fe", stroke: "#1a73e8" },
  weights: { fill: "#fef7e0", stroke: "#f9ab00" },
  engine: { fill: "#e6f4ea", stroke: "#1e8e3e" },
  fallback: { fill: "#fce8e6", stroke: "#d93025" },
  output: { fill: "#f1f3f4", stroke: "#5f6368" },
  fold: { fill: "#f3e8fd", stroke: "#9334e6" }
}

const LABEL: { readonly [K in Kind]: string } = {
  input: "input",
  weights: "weights",
  engine: "TensorRT engine",
  fallback: "PyTorch fallback",
  output: "output",
  fold: "folded chain"
}

const fit = (s: string, chars: number): string =>
  s.length <= chars ? Escape.html(s) : `${Escape.html(s.slice(0, chars - 1))}…<title>${Escape.html(s)}</title>`

// ===== Rendering =====

// An item with what its box shows.
interface Shown {
  readonly item: Fold.Item
  readonly kind: Kind
  readonly title: string
  readonly lines: ReadonlyArray<string>
  readonly width: number
}

const describe = (item: Fold.Item): Omit<Shown, "item"> =>
  item._tag === "Box"
    ? { kind: item.box.kind, title: item.box.title, lines: item.box.lines, width: BOX_W }
    : { kind: "fold", title: item.title, lines: item.lines, width: FOLD_W }

const heightOf = (lines: number): number => LINE_H * (2 + lines) + 10

/**
 * Lays out and draws a folded flow.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (folded: Fold.Folded): Effect.Effect<Picture> => {
  const shown = folded.items.map((item) => ({ item, ...describe(item) }))
  const nodes = shown.map((s) => ({ id: `n${s.item.id}`, width: s.width, height: heightOf(s.lines.length) }))
  const links = folded.edges.map(([from, to], i) => ({ id: `e${i}`, from: `n${from}`, to: `n${to}` }))
  return Effect.map(
    Effect.flatMap(Layout.layered(nodes, links), (straight) =>
      straight.width > WRAP_ABOVE ? Layout.layered(nodes, links, Layout.WRAPPED) : Effect.succeed(straight)),
    (layout) => draw(shown, folded, layout)
  )
}

const draw = (shown: ReadonlyArray<Shown>, folded: Fold.Folded, layout: Layout.Layout): Picture => {
  const width = Math.ceil(layout.width)
  const height = Math.ceil(layout.height)
  const r = (v: number) => Math.round(v * 10) / 10
  const edges = folded.edges.map(([from, to], i) => {
    const points = layout.edges.get(`e${i}`) ?? []
    const d = points.map((p, k) => `${k === 0 ? "M" : "L"}${r(p.x)},${r(p.y)}`).join(" ")
    return `<path class="edge" data-from="${from}" data-to="${to}" d="${d}" marker-end="url(#arrow)"/>`
  })
  const boxes = shown.map(({ item, kind, lines, title, width: w }) => {
    const at = layout.nodes.get(`n${item.id}`) ?? { x: 0, y: 0 }
    const x = r(at.x)
    const y = r(at.y)
    const h = heightOf(lines.length)
    const c = COLORS[kind]
    // A fold is drawn as a stack: two outlines behind the box, inside its own rectangle.
    const stack = kind === "fold"
      ? [6, 3].map((o) => `<rect x="${r(x + o)}" y="${y}" width="${w - o}" height="${h - o}" rx="8" fill="${c.fill}" stroke="${c.stroke}"/>`).join("")
      : ""
    const front = kind === "fold" ? { x, y: r(y + 6), w: w - 6, h: h - 6 } : { x, y, w, h }
    const chars = charsIn(front.w)
    const tx = r(front.x + 10)
    const ty = (line: number) => r(front.y + line * LINE_H + 1)
    const text = [
      `<text x="${tx}" y="${ty(1)}" class="kind">${Escape.html(LABEL[kind])}</text>`,
      `<text x="${tx}" y="${ty(2)}" class="title">${fit(title, chars)}</text>`,
      ...lines.map((l, i) => `<text x="${tx}" y="${ty(3 + i)}">${fit(l, chars)}</text>`)
    ]
    return `<g class="box ${kind}" data-id="${item.id}" tabindex="0" role="button" aria-label="${Escape.html(`${LABEL[kind]} ${title}`)}">${stack}` +
      `<rect class="frame" x="${front.x}" y="${front.y}" width="${front.w}" height="${front.h}" rx="8" fill="${c.fill}" stroke="${c.stroke}" stroke-width="2"/>${text.join("")}</g>`
  })
  const svg = [
    `<svg id="picture" width="100%" height="100%" data-width="${width}" data-height="${height}" role="group" aria-label="partitions and data flow">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5f6368"/></marker></defs>`,
    `<g id="scene">`,
    `<rect class="backdrop" x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<g class="edges">`,
    ...edges,
    `</g><g class="boxes">`,
    ...boxes,
    `</g></g></svg>`
  ].join("\n")
  return { svg, width, height }
}
