/**
 * Compose the exporter with a pass of your own, inside a larger Effect program: read a compiled module,
 * run upstream's `transform`, then a pass that tags every TensorRT call, then lifting and program creation,
 * and collect each pass's timing. Run: `node examples/custom-pass.ts path/to/module.tgm` (Node 24).
 */
import { Effect } from "effect"
import { Exporter, GraphState, Pass, Pipeline, Tgm } from "trtx"

// A user pass: it takes and gives an inlined module, so it fits between `transform` and `toProgram`.
export const tagEngines = Pass.make({
  name: "tagEngines",
  upstream: "(none: a user pass)",
  requires: GraphState.InlinedModule,
  ensures: GraphState.InlinedModule,
  changesInput: true,
  run: ({ module }) =>
    Effect.sync(() => {
      for (const node of module.graph.findNodes("call_function", "torch.ops.tensorrt.execute_engine.default")) {
        node.meta.custom = { engine: true }
      }
      return module
    })
})

export const pipeline = Exporter.transform().pipe(Pipeline.andThen(tagEngines), Pipeline.andThen(Exporter.toProgram))

export const exportTagged = (path: string) =>
  Effect.gen(function*() {
    const module = yield* Tgm.readFile(path)
    const { output, reports } = yield* Exporter.runWithReport(pipeline, module)
    const tagged = output.graphModule.graph.findNodes("call_function").filter((n) => n.meta.custom !== undefined)
    return { program: output, tagged: tagged.map((n) => n.name), passes: reports.map((r) => r.pass) }
  })

if (import.meta.main) {
  const result = await Effect.runPromise(exportTagged(process.argv[2] ?? "examples/example.tgm"))
  console.log({ tagged: result.tagged, passes: result.passes })
}
