/**
 * `cleanup`: the last steps of upstream `transform` (`torch_tensorrt/dynamo/_exporter.py`):
 * `gm.delete_all_unused_submodules()`, `gm.graph.eliminate_dead_code()`, `gm.graph.lint()`, in that order
 * (so a submodule read only by a dead node survives this pass, as upstream).
 *
 * @since 0.1.0
 */
import * as GraphModule from "../graph/GraphModule.ts"
import * as Lint from "../graph/Lint.ts"
import * as GraphState from "./GraphState.ts"
import * as Pass from "./Pass.ts"
import * as PassError from "./PassError.ts"

const NAME = "cleanup"

/**
 * @since 0.1.0
 * @category passes
 */
export const cleanup: Pass.Pass<GraphState.CompiledModule, GraphState.InlinedModule> = Pass.make({
  name: NAME,
  upstream: "torch_tensorrt.dynamo._exporter.transform (delete_all_unused_submodules, eliminate_dead_code, lint)",
  requires: GraphState.CompiledModule,
  ensures: GraphState.InlinedModule,
  changesInput: true,
  run: ({ module: gm }) =>
    PassError.attempt(NAME, () => {
      GraphModule.deleteAllUnusedSubmodules(gm)
      // Upstream lints twice here (inside eliminate_dead_code, then lint()); nothing changes in between
      // that could break the graph, so once, at the end, is the same check.
      GraphModule.eliminateDeadCode(gm, { lint: false })
      Lint.lint(gm.graph)
      return gm
    })
})
