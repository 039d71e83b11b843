/**
 * Text rendering for the CLI: aligned tables of the pass reports and of a summary. Pure functions from data
 * to lines; the commands print them.
 *
 * @since 0.1.0
 */
import * as OpSchema from "../graph/OpSchema.ts"
import * as SymExpr from "../graph/SymExpr.ts"
import type { PassReport } from "../passes/Pass.ts"
import * as Summary from "../program/Summary.ts"
import * as CommandError from "./CommandError.ts"

// Control characters (C0, DEL, C1): from an archive's names or messages they could move the cursor, recolour,
// rewrite what a user sees on a terminal or start a line that looks like trtx's own, so they are shown as `\x1b`.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g
const escapeControl = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`

/**
 * Text as one terminal line: every control character escaped, newline, carriage return and tab included.
 *
 * @since 0.1.0
 * @category rendering
 */
export const safe = (text: string): string => text.replace(CONTROL, escapeControl)

/**
 * An error as the CLI prints it: `error: <message>` on one line (a name in it cannot open a line of its own),
 * then, for a schema or an expression that failed to parse, the text with a caret under the offset, when the
 * text shows as it is.
 *
 * @since 0.1.0
 * @category rendering
 */
export const error = (e: { readonly message: string }): Array<string> => {
  const lines = [`error: ${safe(e.message)}`]
  const pointed = e instanceof OpSchema.OpSchemaError
    ? { text: e.schema, offset: e.offset }
    : e instanceof SymExpr.SymExprError
    ? { text: e.text, offset: e.offset }
    : e instanceof CommandError.CommandError
    ? e.pointed
    : undefined
  if (pointed !== undefined && safe(pointed.text) === pointed.text) {
    lines.push(`  ${pointed.text}`, `  ${" ".repeat(pointed.offset)}^`)
  }
  return lines
}

/**
 * Columns padded to their widest cell; a column whose header starts with `>` is right-aligned. Cells are
 * shown escaped, as one line ({@link safe}).
 *
 * @since 0.1.0
 * @category rendering
 */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const right = headers.map((h) => h.startsWith(">"))
  const names = headers.map((h) => h.replace(/^>/, ""))
  const shown = rows.map((r) => r.map(safe))
  const widths = names.map((h, i) => Math.max(h.length, ...shown.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(names), line(widths.map((w) => "-".repeat(w))), ...shown.map(line)]
}


const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`

/**
 * The per-pass table of an export.
 *
 * @since 0.1.0
 * @category rendering
 */
export const passes = (reports: ReadonlyArray<PassReport>): Array<string> =>
  table(
    ["pass", ">nodes before", ">nodes after", ">ms"],
    reports.map((r) => [r.pass, String(r.nodesBefore ?? "-"), String(r.nodesAfter ?? "-"), r.millis.toFixed(1)])
  )

/**
 * A summary's tables: totals, nodes by op and target, engines, signature.
 *
 * @since 0.1.0
 * @category rendering
 */
export const summary = (s: Summary.Summary): Array<string> => {
  const out: Array<string> = []
  out.push(
    `${s.format === "pt2" ? "exported program" : "compiled module"}: ${plural(s.nodes, "node")}, ` +
      `${plural(s.engines.length, "engine")}, ${plural(s.weights, "weight")} (${Summary.bytes(s.weightBytes)})` +
      (s.inputs === null ? "" : `, ${plural(s.inputs.length, "input")}, ${plural(s.outputs!.length, "output")}`)
  )
  out.push("", ...table(["op", ">nodes"], Object.entries(s.byOp).map(([k, v]) => [k, String(v)])))
  if (Object.keys(s.byTarget).length > 0) {
    out.push("", ...table(["target", ">nodes"], Object.entries(s.byTarget).map(([k, v]) => [k, String(v)])))
  }
  if (s.engines.length > 0) {
    out.push(
      "",
      ...table(
        ["engine", "held by", "abi", "device", ">size", "inputs", "outputs"],
        s.engines.map((e) => [e.name, e.where, e.abi, e.device, Summary.bytes(e.bytes), e.inputs.join(", "), e.outputs.join(", ")])
      )
    )
  }
  if (s.inputs !== null) {
    const row = (e: NonNullable<Summary.Summary["inputs"]>[number], io: string) => [
      io,
      e.kind,
      e.name,
      e.target ?? "",
      e.dtype ?? "",
      e.shape === null ? "" : `[${e.shape.join(", ")}]`
    ]
    out.push(
      "",
      ...table(
        ["", "kind", "name", "target", "dtype", "shape"],
        [...s.inputs.map((e) => row(e, "in")), ...s.outputs!.map((e) => row(e, "out"))]
      )
    )
  }
  for (const p of s.problems) out.push(`warning: ${p}`)
  return out
}
