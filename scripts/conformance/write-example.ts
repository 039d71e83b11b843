/**
 * Writes trtx's `.pt2` programs for the bundled example (`examples/example.tgm`, made by
 * `python/examples/make_example.py` and dumped by `python/trtx_dump.py`), next to copies of the reference
 * exporter's programs of the same module (`test/fixtures/example/ref.pt2`, `ref_cross.pt2`), for `check.sh` to
 * load and compare with torch 2.11. Run from the repository root: `node scripts/conformance/write-example.ts OUT_DIR`.
 *
 * The files are named as `write-samples.ts` names a sample's, with `example` as the sample: `example.pt2`,
 * `example_cross.pt2`, `example_loaded.pt2`, `example_ref.pt2`, `example_ref_cross.pt2`, `example_reread.pt2`,
 * `example_reread_cross.pt2`, `example_reread_loaded.pt2`.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Exporter from "../../src/passes/Exporter.ts"

const out = process.argv[2] ?? "conformance-out"
const fixtures = "test/fixtures/example"

const program = Effect.gen(function*() {
  fs.mkdirSync(out, { recursive: true })
  const module = yield* Tgm.readFile("examples/example.tgm")
  const at = (name: string) => path.join(out, `example${name}.pt2`)
  const plain = yield* Exporter.exportModule(module)
  yield* Writer.writeFile(at(""), plain)
  const cross = yield* Exporter.exportModule(module, { crossCompile: true })
  yield* Writer.writeFile(at("_cross"), cross)
  yield* Writer.writeFile(at("_loaded"), yield* Exporter.load(cross))
  fs.copyFileSync(path.join(fixtures, "ref.pt2"), at("_ref"))
  fs.copyFileSync(path.join(fixtures, "ref_cross.pt2"), at("_ref_cross"))
  yield* Writer.writeFile(at("_reread"), (yield* Reader.readFile(at("_ref"))).program)
  const rereadCross = (yield* Reader.readFile(at("_ref_cross"))).program
  yield* Writer.writeFile(at("_reread_cross"), rereadCross)
  yield* Writer.writeFile(at("_reread_loaded"), yield* Exporter.load(rereadCross))
})

await Effect.runPromise(program)
