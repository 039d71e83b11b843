/**
 * `trtx report`: one self-contained HTML page with the partition picture of a program and the summary
 * tables (`Summary.ts`). The picture is the program's flow (`Flow.ts`), long engine/fallback chains folded
 * (`Fold.ts`), laid out by elkjs (`Layout.ts`) and drawn as SVG (`Picture.ts`); the page's script
 * (`PageScript.ts`) pans and zooms it and shows a box's record in a side panel, from the records inlined as
 * JSON.
 *
 * The page loads nothing: it names no URL, and its Content-Security-Policy forbids every load and allows
 * only its own script (by hash) and inline styles. Every text from the program is escaped: as HTML in the
 * markup, as script-safe JSON in the data element.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Effect } from "effect"
import type { ExportedProgram } from "../program/ExportedProgram.ts"
import type * as Summary from "../program/Summary.ts"
import * as Escape from "./Escape.ts"
import * as Flow from "./Flow.ts"
import * as Fold from "./Fold.ts"
import * as PageScript from "./PageScript.ts"
import * as Picture from "./Picture.ts"

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`

const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  `<table><thead><tr>${headers.map((h) => `<th>${Escape.html(h)}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${Escape.html(c)}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`

/**
 * The Content-Security-Policy of a page whose one script is `script`: nothing loads from anywhere; the
 * script runs by its hash; inline styles apply.
 *
 * @since 0.1.0
 * @category rendering
 */
export const contentSecurityPolicy = (script: string): string =>
  `default-src 'none'; script-src 'sha256-${createHash("sha256").update(script, "utf8").digest("base64")}'; ` +
  `style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'`

/**
 * The data the page's script reads: every box's kind, title and record by id (those inside folds too), and
 * each fold's title, lines and members.
 *
 * @since 0.1.0
 * @category rendering
 */
export const pageData = (flow: Flow.Flow, folded: Fold.Folded) => ({
  boxes: Object.fromEntries(flow.boxes.map((b) => [b.id, { kind: b.kind, title: b.title, record: b.record }])),
  folds: Object.fromEntries(folded.items.flatMap((i) => (i._tag === "Fold" ? [[i.id, { title: i.title, lines: i.lines, members: i.members }]] : [])))
})

const STYLE = `
*{box-sizing:border-box}
body{font:14px system-ui,sans-serif;margin:24px;color:#202124}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin-top:28px}
.explorer{display:flex;gap:12px;align-items:stretch}
.pane{flex:1 1 auto;min-width:0;display:flex;flex-direction:column}
.toolbar{display:flex;gap:6px;align-items:center;margin-bottom:6px;color:#5f6368;font-size:12px}
.toolbar button{font:inherit;padding:2px 10px;border:1px solid #dadce0;border-radius:6px;background:#fff;cursor:pointer}
#view{position:relative;overflow:hidden;border:1px solid #dadce0;border-radius:8px;background:#fafafa;cursor:grab;touch-action:none;user-select:none}
#view.dragging{cursor:grabbing}
#picture{display:block}
svg text{font:12px system-ui,sans-serif;fill:#202124}svg .kind{font-size:10px;text-transform:uppercase;fill:#5f6368}
svg .title{font-weight:600}.edge{fill:none;stroke:#5f6368;stroke-width:1.5}
.box{cursor:pointer}.box:focus{outline:none}.box:focus .frame,.box.selected .frame{stroke:#202124;stroke-width:3}
#panel{flex:0 0 360px;max-height:80vh;overflow:auto;border:1px solid #dadce0;border-radius:8px;padding:10px 14px;background:#fff}
#panel h3{margin:2px 0 8px;font-size:15px;overflow-wrap:anywhere}#panel h4{margin:12px 0 4px;font-size:13px}
#panel .kind{margin:0;font-size:11px;text-transform:uppercase;color:#5f6368}
#panel dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0}#panel dt{color:#5f6368}#panel dd{margin:0;overflow-wrap:anywhere}
#panel table{font-size:12px;margin-top:2px;width:100%}#panel td{overflow-wrap:anywhere}
#panel .note,#panel .more{color:#5f6368;font-size:12px}
#panel ol{padding-left:22px;margin:4px 0}#panel .member{font:12px system-ui,sans-serif;border:0;background:none;padding:1px 0;cursor:pointer;text-align:left;color:#1a0dab}
#panel .member.engine{color:#137333}#panel .member.fallback{color:#b31412}
#panel .back{font:12px system-ui,sans-serif;margin-bottom:6px}
table{border-collapse:collapse;margin-top:8px}td,th{border:1px solid #dadce0;padding:3px 8px;text-align:left}
`

/**
 * The report page of a program.
 *
 * @since 0.1.0
 * @category rendering
 */
export const html = (ep: ExportedProgram, summary: Summary.Summary, title: string): Effect.Effect<string> =>
  Effect.suspend(() => {
    const flow = Flow.ofProgram(ep)
    const folded = Fold.fold(flow)
    return Effect.map(Picture.render(folded), (picture) => page(flow, folded, picture, summary, title))
  })

const page = (flow: Flow.Flow, folded: Fold.Folded, picture: Picture.Picture, summary: Summary.Summary, title: string): string => {
  const folds = folded.items.filter((i) => i._tag === "Fold")
  const signature = [...(summary.inputs ?? []).map((e) => ["in", e] as const), ...(summary.outputs ?? []).map((e) => ["out", e] as const)]
  // Tall enough for the picture at scale 1 when it is short; a screen's worth at most.
  const viewHeight = `max(240px,min(78vh,${picture.height + 18}px))`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${Escape.html(contentSecurityPolicy(PageScript.source))}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>trtx report: ${Escape.html(title)}</title>
<style>${STYLE}</style></head><body>
<h1>${Escape.html(title)}</h1>
<p>${plural(summary.nodes, "node")}, ${plural(summary.engines.length, "TensorRT engine")}, ${plural(flow.boxes.filter((b) => b.kind === "fallback").length, "PyTorch fallback segment")}, ${plural(summary.weights, "weight")}.${
    folds.length === 0 ? "" : ` ${plural(folds.length, "long chain")} of engines and fallback segments ${folds.length === 1 ? "is" : "are"} folded into one box; click it to list them.`
  }</p>
<div class="explorer">
<div class="pane">
<div class="toolbar"><button id="zoom-out" type="button" aria-label="zoom out">−</button><button id="zoom-in" type="button" aria-label="zoom in">+</button><button id="reset" type="button">Fit</button><span id="zoom">100%</span><span>· drag to pan, wheel to zoom, click a box for its record</span></div>
<div id="view" style="height:${viewHeight}">
${picture.svg}
</div>
</div>
<aside id="panel" aria-live="polite"><p class="note">Click an engine, a fallback segment or any box of the picture to see its record here.</p></aside>
</div>
<h2>Engines</h2>
${table(["engine", "held by", "ABI", "device", "bytes", "inputs", "outputs"], summary.engines.map((e) => [e.name, e.where, e.abi, e.device, String(e.bytes), e.inputs.join(", "), e.outputs.join(", ")]))}
<h2>Signature</h2>
${table(["", "kind", "name", "target", "dtype", "shape"], signature.map(([io, e]) => [io, e.kind, e.name, e.target ?? "", e.dtype ?? "", e.shape === null ? "" : `[${e.shape.join(", ")}]`]))}
<h2>Nodes by target</h2>
${table(["target", "nodes"], Object.entries(summary.byTarget).map(([k, v]) => [k, String(v)]))}
<script type="application/json" id="trtx-data">${Escape.scriptJson(pageData(flow, folded))}</script>
<script>${PageScript.source}</script>
</body></html>
`
}
