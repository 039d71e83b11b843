/**
 * Build a small graph the way torch.fx would, lint it, remove dead code, and save it as a .tgm archive.
 * Run: `node examples/build-and-lint.ts` (Node 24, from the repository root).
 */
import { Effect } from "effect"
import { Tgm } from "trtx"
import { Argument, GraphModule, Lint, Module, Tensor } from "trtx/graph"

export const example = Effect.gen(function*() {
  const gm = GraphModule.make()
  const weight = Tensor.make({ storage: Tensor.storage(new Uint8Array(16)), dtype: "float32", shape: [4] })
  Module.registerParameter(gm, "scale", weight)

  const g = gm.graph
  const x = g.placeholder("x")
  const w = g.getAttr("scale")
  const y = g.callFunction("torch.ops.aten.mul.Tensor", [x, w])
  g.callFunction("torch.ops.aten.neg.default", [y]) // dead: nobody uses it
  g.output(Argument.tuple(y))

  // fx's insertion point: a relu right after the mul, and every other user of the mul rewired to it.
  const relu = g.insertingAfter(y, () => g.callFunction("torch.ops.aten.relu.default", [y]))
  y.replaceAllUsesWith(relu, { deleteUserCb: (user) => user !== relu })

  Lint.lint(g) // throws GraphError naming the node if an fx invariant is broken
  const removed = GraphModule.eliminateDeadCode(gm)
  const names = [...g.nodes()].map((n) => n.name)

  const bytes = yield* Tgm.toBytes(gm)
  const back = yield* Tgm.readBytes(bytes, "example.tgm")
  return { names, removed, archiveBytes: bytes.byteLength, readBack: back.graph.size }
})

if (import.meta.main) {
  // The only place that prints: the example's own entry point.
  console.log(await Effect.runPromise(example))
}
