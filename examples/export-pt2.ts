/**
 * From a compiled module to a `.pt2` archive that torch 2.11 loads, and back: read the `.tgm`, run the
 * exporter, write the archive, read it again and compare.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Exporter, Pt2, Tgm } from "trtx"

export const exportToPt2 = (tgm: string, pt2: string) =>
  Effect.gen(function*() {
    const compiled = yield* Tgm.readFile(tgm)
    // The program carries the schema of every operator it calls: torch 2.11's and TensorRT's are built
    // in, a custom operator's comes from the archive (op_schemas.json).
    const program = yield* Exporter.exportModule(compiled)
    yield* Pt2.writeFile(pt2, program)
    const { program: back } = yield* Pt2.readFile(pt2)
    return {
      inputs: back.graphSignature.inputSpecs.map((s) => `${s._tag} ${s.arg._tag === "ConstantArgument" ? "" : s.arg.name}`),
      nodes: [...back.graphModule.graph.nodes()].map((n) => n.name),
      bytes: fs.statSync(pt2).size
    }
  })

// `node examples/export-pt2.ts IN.tgm OUT.pt2`
if (import.meta.main) {
  const [tgm = "examples/example.tgm", pt2 = path.join(os.tmpdir(), "example.pt2")] =
    process.argv.slice(2)
  Effect.runPromise(exportToPt2(tgm, pt2)).then((r) => console.log(pt2, r))
}
