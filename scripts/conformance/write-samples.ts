/**
 * Writes trtx's `.pt2` programs for every sample, next to copies of the reference exporter's, for
 * `check.sh` to load and compare with torch 2.11. Run from the repository root:
 * `node scripts/conformance/write-samples.ts OUT_DIR`.
 *
 * For each sample `<s>`: `<s>.pt2` (plain export), `<s>_cross.pt2` (cross-compiled), `<s>_loaded.pt2` (the
 * cross-compiled program after trtx's load side), `<s>_ref.pt2` and `<s>_ref_cross.pt2` (the references), and
 * what trtx makes of the references: `<s>_reread.pt2` and `<s>_reread_cross.pt2` (write(read(f))) and
 * `<s>_reread_loaded.pt2` (trtx's load side on torch's cross-compiled archive).
 * The samples' archives carry no operator schemas: the aten ones are trtx's built-in table.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Exporter from "../../src/passes/Exporter.ts"

const out = process.argv[2] ?? "conformance-out"
const samples = "test/fixtures/samples"

const program = Effect.gen(function*() {
  fs.mkdirSync(out, { recursive: true })
  for (const s of fs.readdirSync(samples).filter((d) => fs.existsSync(path.join(samples, d, "input.tgm")))) {
    const gm = yield* Tgm.readFile(path.join(samples, s, "input.tgm"))
    const plain = yield* Exporter.exportModule(gm)
    yield* Writer.writeFile(path.join(out, `${s}.pt2`), plain)
    const cross = yield* Exporter.exportModule(gm, { crossCompile: true })
    yield* Writer.writeFile(path.join(out, `${s}_cross.pt2`), cross)
    yield* Writer.writeFile(path.join(out, `${s}_loaded.pt2`), yield* Exporter.load(cross))
    // cnn_bn has no unpatched reference: the seed exporter cannot export it (see samples/README.md).
    const patch = s === "cnn_bn" ? ".persistent_patch" : ""
    fs.copyFileSync(path.join(samples, s, `ep${patch}.pt2`), path.join(out, `${s}_ref.pt2`))
    fs.copyFileSync(path.join(samples, s, `ep_cross${patch}.pt2`), path.join(out, `${s}_ref_cross.pt2`))
    const reread = (yield* Reader.readFile(path.join(samples, s, `ep${patch}.pt2`))).program
    yield* Writer.writeFile(path.join(out, `${s}_reread.pt2`), reread)
    const rereadCross = (yield* Reader.readFile(path.join(samples, s, `ep_cross${patch}.pt2`))).program
    yield* Writer.writeFile(path.join(out, `${s}_reread_cross.pt2`), rereadCross)
    yield* Writer.writeFile(path.join(out, `${s}_reread_loaded.pt2`), yield* Exporter.load(rereadCross))
  }
})

await Effect.runPromise(program)
