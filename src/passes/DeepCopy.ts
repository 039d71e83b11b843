/**
 * `deepCopy`: the first step of upstream `transform` (`copy.deepcopy(gm)` in
 * `torch_tensorrt/dynamo/_exporter.py`), so that the caller's module is never changed.
 *
 * Unlike upstream, which deep-copies every weight and rebuilds every engine through its pickle, the copy
 * shares tensors, storages and engine bytes: they are immutable, and a 1 GB model must not be copied. Below
 * the root, graphs and module state are copied lazily, on first access: inlining copies a fallback module's
 * nodes into the root graph and its tensors into the root's tree straight from the original, so they are
 * copied once, not twice, and a fallback module's own tree is never made. The caller's module must not
 * change while the pipeline runs.
 *
 * @since 0.1.0
 */
import * as GraphModule from "../graph/GraphModule.ts"
import * as GraphState from "./GraphState.ts"
import * as Pass from "./Pass.ts"
import * as PassError from "./PassError.ts"

/**
 * @since 0.1.0
 * @category passes
 */
export const deepCopy: Pass.Pass<GraphState.CompiledModule, GraphState.CompiledModule> = Pass.make({
  name: "deepCopy",
  upstream: "torch_tensorrt.dynamo._exporter.transform (copy.deepcopy)",
  requires: GraphState.CompiledModule,
  ensures: GraphState.CompiledModule,
  changesInput: false,
  // A graph that is not in topological order cannot be copied (fx: KeyError): a PassError, not a defect.
  run: ({ module }) => PassError.attempt("deepCopy", () => GraphModule.deepCopy(module, { lazy: true }))
})
