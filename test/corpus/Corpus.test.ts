/**
 * trtx's side of the real-model corpus (`python/corpus/`, copied into `test/fixtures/corpus` as far as its
 * size allows): programs built by torch 2.11 from real `torch.nn` models, as compiled-module archives (our
 * dumper and the stand-in partitioner) and as torch's own `.pt2` archives in the training and core-ATen
 * dialects, with the reference exporter's programs beside them.
 *
 * - every `.tgm`: read, inspect, verify (the exporter's checks), export plain and cross-compiled, load the
 *   cross-compiled program; each program written reads back and writes the same bytes again;
 * - every `.pt2`: read, inspect, and write back: torch's own archives give back their `model.json` (all but
 *   `torch_version`) and are a byte fixpoint; the reference exporter's too, up to the order of
 *   `tensor_values` where its graph has placeholders in the middle (a seed bug torch's loader also undoes).
 *
 * The torch side (each archive trtx writes, loaded and run by torch 2.11 against the recorded outputs) runs
 * on a GPU host: `docs/conformance.md`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import * as Summary from "../../src/program/Summary.ts"
import { modelJson } from "../utils/Pt2Json.ts"

const DIR = path.join(import.meta.dirname, "../fixtures/corpus")
const manifest = JSON.parse(fs.readFileSync(path.join(DIR, "manifest.json"), "utf8")) as {
  readonly programs: Readonly<Record<string, { readonly name: string; readonly covers: ReadonlyArray<string> }>>
}
const described = Object.values(manifest.programs)
const files = fs.readdirSync(DIR).sort()
const modules = files.filter((f) => f.endsWith(".tgm"))
// torch wrote a broken reference archive where its own save failed half-way (the manifest records why).
const broken = new Set(["scalar_float_arg.ref.pt2", "scalar_float_arg.ref_cross.pt2"])
const programs = files.filter((f) => /\.(training|core|ref|ref_cross)\.pt2$/.test(f) && !broken.has(f))


// A program written, read back and written again gives the same bytes.
const fixpoint = (bytes: Uint8Array, label: string) =>
  Effect.gen(function*() {
    const again = yield* Reader.readBytes(bytes, label)
    assert.deepStrictEqual(yield* Writer.toBytes(again.program, { extraFiles: again.extraFiles }), bytes, label)
  })

describe("the real-model corpus, trtx's side", () => {
  it("holds at least 30 programs, every kind the corpus promises among them", () => {
    assert.isAtLeast(described.length, 30)
    assert.isAtLeast(modules.length, 30)
    const covers = new Set(described.flatMap((p) => p.covers))
    for (const kind of ["batchnorm", "dynamic batch", "dynamic seq", "cond", "lstm", "gru", "tied", "higher-order op", "SymInt output", "nonzero"]) {
      assert.isTrue([...covers].some((c) => c.includes(kind)), `${kind} in ${[...covers].join(", ")}`)
    }
  })

  for (const file of modules) {
    it.effect(`${file}: read, inspect, verify, export plain and cross-compiled, load; what it writes reads back`, () =>
      Effect.gen(function*() {
        const module = yield* Tgm.readFile(path.join(DIR, file))
        Summary.ofModule(module)
        const plain = yield* Exporter.exportModule(module)
        const cross = yield* Exporter.exportModule(module, { crossCompile: true })
        const plainBytes = yield* Writer.toBytes(plain)
        const crossBytes = yield* Writer.toBytes(cross)
        yield* fixpoint(plainBytes, `${file} plain`)
        yield* fixpoint(crossBytes, `${file} cross`)
        const loaded = yield* Exporter.load((yield* Reader.readBytes(crossBytes, file)).program)
        yield* fixpoint(yield* Writer.toBytes(loaded), `${file} loaded`)
        Summary.ofProgram(loaded)
      }), 60_000)
  }

  for (const file of programs) {
    it.effect(`${file}: read, inspect, and written back as torch wrote it`, () =>
      Effect.gen(function*() {
        const bytes = new Uint8Array(fs.readFileSync(path.join(DIR, file)))
        const read = yield* Reader.readBytes(bytes, file)
        Summary.ofProgram(read.program)
        const written = yield* Writer.toBytes(read.program, { extraFiles: read.extraFiles })
        yield* fixpoint(written, file)
        const [original, ours] = [yield* modelJson(bytes), yield* modelJson(written)]
        if (/\.(training|core)\.pt2$/.test(file)) {
          assert.deepStrictEqual(ours, original)
        } else {
          const sorted = (j: any) => ({ ...j.graph_module.graph, tensor_values: Object.entries(j.graph_module.graph.tensor_values).sort() })
          assert.deepStrictEqual(sorted(ours), sorted(original))
          assert.deepStrictEqual({ ...ours, graph_module: { ...ours.graph_module, graph: null } }, {
            ...original,
            graph_module: { ...original.graph_module, graph: null }
          })
        }
      }), 60_000)
  }

  it.effect("namedtuple field names travel from the .tgm (namedtuple_fields) to the .pt2 (treespec_namedtuple_fields)", () =>
    Effect.gen(function*() {
      const module = yield* Tgm.readFile(path.join(DIR, "namedtuple_io.tgm"))
      // As the dumper records them beside the specs (this fixture predates that record).
      module.namedTupleFields = new Map([["trtx_corpus.Pair", ["left", "right"]], ["trtx_corpus.Gated", ["fused", "gate"]]])
      const back = yield* Tgm.readBytes(yield* Tgm.toBytes(module), "back")
      assert.deepStrictEqual(back.namedTupleFields, module.namedTupleFields)
      const written = yield* modelJson(yield* Writer.toBytes(yield* Exporter.exportModule(back)))
      const reference = yield* modelJson(new Uint8Array(fs.readFileSync(path.join(DIR, "namedtuple_io.ref.pt2"))))
      assert.deepStrictEqual(written.graph_module.treespec_namedtuple_fields, reference.graph_module.treespec_namedtuple_fields)
    }))

  it.effect("a reference archive torch left without its model.json is refused, naming the entry", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(Reader.readFile(path.join(DIR, "scalar_float_arg.ref.pt2")))
      assert.strictEqual(e.fault, "MissingEntry")
      assert.strictEqual(e.entry, "scalar_float_arg.ref/models/model.json")
    }))
})
