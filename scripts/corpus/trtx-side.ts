/**
 * trtx's side of the real-model corpus (`python/corpus/`): for every program of a corpus folder, what a user
 * does with each file, through the library.
 *
 *   node scripts/corpus/trtx-side.ts CORPUS_DIR [OUT_DIR]
 *
 * - `<name>.tgm` (a compiled module): inspect, verify, export plain and cross-compiled, and the load side of
 *   the cross-compiled program, written to OUT_DIR as `<name>.pt2`, `<name>_cross.pt2`, `<name>_loaded.pt2`.
 * - `<name>.training.pt2`, `<name>.core.pt2` (torch's own archives, two dialects) and `<name>.ref.pt2`,
 *   `<name>.ref_cross.pt2` (the reference exporter's): inspect, verify, read and write back, written as
 *   `<name>.<kind>.rewritten.pt2`; the rewrite must be a byte fixpoint (writing what was read from it gives
 *   the same bytes), and its `model.json` must equal the original's but for `torch_version`.
 *
 * It prints one line per file and a table, writes `trtx-side.json` into OUT_DIR, and exits 1 when a step
 * fails that must not: everything but the reference archives that torch itself wrote broken (recorded in the
 * corpus manifest).
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Zip from "../../src/archive/zip/Zip.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import * as Summary from "../../src/program/Summary.ts"

const corpus = process.argv[2] ?? "test/fixtures/corpus"
const out = process.argv[3] ?? path.join(corpus, "trtx")

const notes: Array<string> = []

interface Row {
  readonly file: string
  readonly steps: Record<string, string>
}

const modelJson = (bytes: Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open({ _tag: "Bytes", bytes, label: "m" })
    const entry = [...zip.entries.keys()].find((n) => n.endsWith("/models/model.json"))!
    const json = JSON.parse(new TextDecoder().decode(yield* zip.read(entry)))
    delete json.torch_version
    return json
  }))

const step = <A, E>(steps: Record<string, string>, name: string, effect: Effect.Effect<A, E>) =>
  Effect.matchEffect(effect, {
    onFailure: (e) =>
      Effect.sync(() => {
        steps[name] = `FAIL: ${e instanceof Error ? e.message : String(e)}`.split("\n")[0]!.slice(0, 400)
        return undefined
      }),
    onSuccess: (a) =>
      Effect.sync(() => {
        steps[name] ??= "ok"
        return a
      })
  })

const ofModule = (file: string) =>
  Effect.gen(function*() {
    const name = path.basename(file, ".tgm")
    const steps: Record<string, string> = {}
    const module = yield* step(steps, "read", Tgm.readFile(file))
    if (module === undefined) return { file, steps }
    yield* step(steps, "inspect", Effect.sync(() => Summary.ofModule(module)))
    const plain = yield* step(steps, "export", Exporter.exportModule(module))
    if (plain !== undefined) yield* step(steps, "write", Writer.writeFile(path.join(out, `${name}.pt2`), plain))
    const cross = yield* step(steps, "export --cross-compile", Exporter.exportModule(module, { crossCompile: true }))
    if (cross !== undefined) {
      yield* step(steps, "write cross", Writer.writeFile(path.join(out, `${name}_cross.pt2`), cross))
      const reread = yield* step(steps, "read cross", Reader.readFile(path.join(out, `${name}_cross.pt2`)))
      if (reread !== undefined) {
        const loaded = yield* step(steps, "load", Exporter.load(reread.program))
        if (loaded !== undefined) yield* step(steps, "write loaded", Writer.writeFile(path.join(out, `${name}_loaded.pt2`), loaded))
      }
    }
    return { file, steps }
  })

const ofProgram = (file: string) =>
  Effect.gen(function*() {
    const base = path.basename(file, ".pt2")
    const steps: Record<string, string> = {}
    const bytes = new Uint8Array(fs.readFileSync(file))
    const read = yield* step(steps, "read", Reader.readBytes(bytes, path.basename(file)))
    if (read === undefined) return { file, steps }
    yield* step(steps, "inspect", Effect.sync(() => Summary.ofProgram(read.program)))
    const written = yield* step(steps, "write", Writer.toBytes(read.program, { extraFiles: read.extraFiles }))
    if (written === undefined) return { file, steps }
    fs.writeFileSync(path.join(out, `${base}.rewritten.pt2`), written)
    const again = yield* step(steps, "read rewritten", Reader.readBytes(written, `${base}.rewritten.pt2`))
    if (again !== undefined) {
      const second = yield* step(steps, "write again", Writer.toBytes(again.program, { extraFiles: again.extraFiles }))
      if (second !== undefined && Buffer.compare(Buffer.from(second), Buffer.from(written)) !== 0) {
        steps["fixpoint"] = "FAIL: writing the rewrite again gives other bytes"
      } else if (second !== undefined) steps["fixpoint"] = "ok"
    }
    const [a, b] = [yield* modelJson(bytes), yield* modelJson(written)]
    if (JSON.stringify(a) === JSON.stringify(b)) steps["model.json"] = "ok"
    else {
      // torch writes a graph's tensor_values in graph order, so a file whose placeholders are not all at the
      // start (the seed exporter leaks some mid-graph) lists them elsewhere; a loaded program (torch's or
      // trtx's) has them first. The same values in another order are that, and nothing else.
      const sorted = (j: any) => {
        const g = j.graph_module.graph
        return { ...j, graph_module: { ...j.graph_module, graph: { ...g, tensor_values: Object.fromEntries(Object.entries(g.tensor_values).sort()) } } }
      }
      steps["model.json"] = JSON.stringify(sorted(a)) === JSON.stringify(sorted(b))
        ? "ok"
        : `FAIL: ${firstDifference(a, b)}`
      if (steps["model.json"] === "ok") steps["note"] = "ok"
      notes.push(`${path.basename(file)}: tensor_values in another order (placeholders in the middle of the file's graph)`)
    }
    return { file, steps }
  })

const firstDifference = (a: unknown, b: unknown, at = "$"): string => {
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") {
    return JSON.stringify(a) === JSON.stringify(b) ? "" : `${at}: ${JSON.stringify(a)?.slice(0, 160)} vs ${JSON.stringify(b)?.slice(0, 160)}`
  }
  const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])]
  const ka = Object.keys(a as object)
  const kb = Object.keys(b as object)
  if (!Array.isArray(a) && ka.join(",") !== kb.join(",")) return `${at}: keys ${ka.join(",")} vs ${kb.join(",")}`
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`)
    if (d !== "") return d
  }
  return ""
}

const main = Effect.gen(function*() {
  fs.mkdirSync(out, { recursive: true })
  const files = fs.readdirSync(corpus).sort()
  const rows: Array<Row> = []
  for (const f of files) {
    const file = path.join(corpus, f)
    if (f.endsWith(".tgm")) rows.push(yield* ofModule(file))
    else if (/\.(training|core|ref|ref_cross)\.pt2$/.test(f)) rows.push(yield* ofProgram(file))
    else continue
    const row = rows[rows.length - 1]!
    const failed = Object.entries(row.steps).filter(([, v]) => v !== "ok")
    console.log(`${failed.length === 0 ? "ok  " : "FAIL"} ${f}${failed.map(([k, v]) => `\n     ${k}: ${v}`).join("")}`)
  }
  fs.writeFileSync(path.join(out, "trtx-side.json"), JSON.stringify(rows, null, 1))
  const failed = rows.filter((r) => Object.values(r.steps).some((v) => v !== "ok"))
  for (const n of notes) console.log(`note: ${n}`)
  console.log(`\n${rows.length} files, ${rows.length - failed.length} ok, ${failed.length} with a failed step`)
  return failed.length
})

const failures = await Effect.runPromise(main)
process.exitCode = failures === 0 ? 0 : 1
