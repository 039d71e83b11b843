/**
 * `trtx report`: one self-contained HTML page (no script, no network, inline CSS and SVG) with the partition
 * picture of a program (`Flow.ts`) and the summary tables (`Summary.ts`). Every text from the program is
 * escaped.
 *
 * @since 0.1.0
 */
import type { ExportedProgram } from "../program/ExportedProgram.ts"
import type * as Summary from "../program/Summary.ts"
import * as Flow from "./Flow.ts"

const escape = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

const BOX_W = 220
const LINE_H = 16
const GAP_X = 70
const GAP_Y = 24
const PAD = 20

const COLORS: Record<Flow.Box["kind"], { readonly fill: string; readonly stroke: string }> = {
  input: { fill: "#e8f0fe", stroke: "#1a73e8" },
  weights: { fill: "#fef7e0", stroke: "#f9ab00" },
  engine: { fill: "#e6f4ea", stroke: "#1e8e3e" },
  fallback: { fill: "#fce8e6", stroke: "#d93025" },
  output: { fill: "#f1f3f4", stroke: "#5f6368" }
}

// A box is BOX_W wide: longer lines are cut, with the whole text kept as the element's tooltip.
const MAX_CHARS = 34
const fit = (s: string): string => (s.length <= MAX_CHARS ? escape(s) : `${escape(s.slice(0, MAX_CHARS - 1))}…<title>${escape(s)}</title>`)

const boxHeight = (b: Flow.Box) => LINE_H * (2 + b.lines.length) + 8

/**
 * The SVG picture of a flow.
 *
 * @since 0.1.0
 * @category rendering
 */
export const svg = (flow: Flow.Flow): string => {
  const layers = Math.max(0, ...flow.boxes.map((b) => b.layer)) + 1
  const rowHeight = Math.max(...flow.boxes.map(boxHeight), 40) + GAP_Y
  const rows = Math.max(1, ...flow.boxes.map((b) => b.row + 1))
  const width = PAD * 2 + layers * BOX_W + (layers - 1) * GAP_X
  // Edges that skip a layer run in a lane above the boxes, so that they never cross a box between.
  const LANE = 24
  const height = PAD * 2 + LANE + rows * rowHeight
  const at = (b: Flow.Box) => ({ x: PAD + b.layer * (BOX_W + GAP_X), y: PAD + LANE + b.row * rowHeight })
  const byId = new Map(flow.boxes.map((b) => [b.id, b]))
  const edges = flow.edges.map(([from, to]) => {
    const a = at(byId.get(from)!)
    const b = at(byId.get(to)!)
    const x1 = a.x + BOX_W
    const y1 = a.y + boxHeight(byId.get(from)!) / 2
    const x2 = b.x
    const y2 = b.y + boxHeight(byId.get(to)!) / 2
    const mx = (x1 + x2) / 2
    if (byId.get(to)!.layer - byId.get(from)!.layer === 1) {
      return `<path class="edge" d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}" marker-end="url(#arrow)"/>`
    }
    const lane = PAD + LANE / 2
    const a1 = x1 + GAP_X / 2
    const a2 = x2 - GAP_X / 2
    return `<path class="edge" d="M${x1},${y1} C${a1},${y1} ${x1},${lane} ${a1},${lane} L${a2},${lane} C${x2},${lane} ${a2},${y2} ${x2 - 6},${y2}" marker-end="url(#arrow)"/>`
  })
  const boxes = flow.boxes.map((b) => {
    const { x, y } = at(b)
    const c = COLORS[b.kind]
    const text = [
      `<text x="${x + 10}" y="${y + LINE_H + 2}" class="kind">${escape(b.kind)}</text>`,
      `<text x="${x + 10}" y="${y + 2 * LINE_H + 2}" class="title">${fit(b.title)}</text>`,
      ...b.lines.map((l, i) => `<text x="${x + 10}" y="${y + (3 + i) * LINE_H + 2}">${fit(l)}</text>`)
    ]
    return `<g class="box ${b.kind}"><rect x="${x}" y="${y}" width="${BOX_W}" height="${boxHeight(b)}" rx="8" fill="${c.fill}" stroke="${c.stroke}" stroke-width="2"/>${text.join("")}</g>`
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="partitions and data flow">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="2" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5f6368"/></marker></defs>`,
    ...edges,
    ...boxes,
    `</svg>`
  ].join("\n")
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`

const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  `<table><thead><tr>${headers.map((h) => `<th>${escape(h)}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`

/**
 * The report page of a program.
 *
 * @since 0.1.0
 * @category rendering
 */
export const html = (ep: ExportedProgram, summary: Summary.Summary, title: string): string => {
  const flow = Flow.ofProgram(ep)
  const signature = [...(summary.inputs ?? []).map((e) => ["in", e] as const), ...(summary.outputs ?? []).map((e) => ["out", e] as const)]
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trtx report: ${escape(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#202124}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.picture{overflow:auto;border:1px solid #dadce0;border-radius:8px;background:#fff}
svg text{font:12px system-ui,sans-serif;fill:#202124}svg .kind{font-size:10px;text-transform:uppercase;fill:#5f6368}
svg .title{font-weight:600}.edge{fill:none;stroke:#5f6368;stroke-width:1.5}
table{border-collapse:collapse;margin-top:8px}td,th{border:1px solid #dadce0;padding:3px 8px;text-align:left}
</style></head><body>
<h1>${escape(title)}</h1>
<p>${plural(summary.nodes, "node")}, ${plural(summary.engines.length, "TensorRT engine")}, ${plural(flow.boxes.filter((b) => b.kind === "fallback").length, "PyTorch fallback segment")}, ${plural(summary.weights, "weight")}.</p>
<div class="picture">
${svg(flow)}
</div>
<h2>Engines</h2>
${table(["engine", "held by", "ABI", "device", "bytes", "inputs", "outputs"], summary.engines.map((e) => [e.name, e.where, e.abi, e.device, String(e.bytes), e.inputs.join(", "), e.outputs.join(", ")]))}
<h2>Signature</h2>
${table(["", "kind", "name", "target", "dtype", "shape"], signature.map(([io, e]) => [io, e.kind, e.name, e.target ?? "", e.dtype ?? "", e.shape === null ? "" : `[${e.shape.join(", ")}]`]))}
<h2>Nodes by target</h2>
${table(["target", "nodes"], Object.entries(summary.byTarget).map(([k, v]) => [k, String(v)]))}
</body></html>
`
}
