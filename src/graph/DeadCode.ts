/**
 * Dead-code elimination with torch.fx's impurity rules (`Graph.eliminate_dead_code`, `Node.is_impure`,
 * `torch._library.utils.is_impure`).
 *
 * fx decides impurity from live Python objects (an OpOverload's schema, registered effects); trtx has only
 * the qualified names torch.export writes, so {@link isImpure} reads the same facts from the name:
 *
 * - `placeholder` and `output` are impure; `get_attr` and `call_method` are pure;
 * - `call_module` is impure when the module says so (fx's `_is_impure`);
 * - `call_function` is impure when its target is in fx's side-effect set, when its schema mutates an input
 *   (recognised by name: an in-place op `aten.add_` or an out= overload `*.out` / `*_out`), or when it is a
 *   seeded random op (`impure_random` is true outside a tracing context, as when the exporter runs).
 *
 * @since 0.1.0
 */
import type { Graph } from "./Graph.ts"
import { lint } from "./Lint.ts"
import type { Node } from "./Node.ts"

// fx's `_side_effectful_functions` and friends, by the names torch.export writes.
const SIDE_EFFECTS: ReadonlySet<string> = new Set([
  "torch._assert",
  "torch._assert_async",
  "torch.ops.aten._assert_async.default",
  "torch.ops.aten._assert_async.msg",
  "torch.ops.aten._assert_scalar.default",
  "torch.ops.aten._assert_tensor_metadata.default",
  "torch.ops.aten.sym_constrain_range",
  "torch.ops.aten.sym_constrain_range.default",
  "torch.ops.aten.sym_constrain_range_for_size",
  "torch.ops.aten.sym_constrain_range_for_size.default",
  "torch.ops.profiler._record_function_enter",
  "torch.ops.profiler._record_function_enter.default",
  "torch.ops.profiler._record_function_enter_new",
  "torch.ops.profiler._record_function_enter_new.default",
  "torch.ops.profiler._record_function_exit",
  "torch.ops.profiler._record_function_exit._RecordFunction",
  "torch.ops.inductor.accumulate_grad_.default",
  "torch.ops.inductor.resize_storage_bytes_.default",
  "_operator.setitem",
  "torch._C._set_grad_enabled",
  "torch.amp.autocast_mode._enter_autocast",
  "torch.amp.autocast_mode._exit_autocast",
  "torch.amp._enter_autocast",
  "torch.amp._exit_autocast"
])

// aten ops tagged `nondeterministic_seeded`, and Python's random constructors.
const RANDOM_OPS: ReadonlySet<string> = new Set([
  "bernoulli", "binomial", "cauchy_", "exponential_", "geometric_", "log_normal_", "multinomial", "native_dropout",
  "normal", "normal_", "poisson", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like", "randperm",
  "random_", "rrelu", "rrelu_with_noise", "uniform_", "_fused_dropout", "_standard_gamma", "_sample_dirichlet",
  "bernoulli_"
])
const PYTHON_RANDOM: ReadonlySet<string> = new Set([
  "torch.rand", "torch.randn", "torch.randint", "torch.randperm", "torch.rand_like", "torch.randn_like",
  "torch.randint_like", "torch.normal", "torch.poisson", "torch.multinomial", "torch.bernoulli"
])

// Overload names of aten's out= variants (`Tensor(a!) out`, `values`, `grad_input`...).
const OUT_OVERLOADS: ReadonlySet<string> = new Set(["out", "values", "grad_input", "dim_max", "dim_min", "output"])

/**
 * Whether fx would keep a node even without users.
 *
 * @since 0.1.0
 * @category getters
 */
export const isImpure = (node: Node): boolean => {
  switch (node.op) {
    case "placeholder":
    case "output":
      return true
    case "get_attr":
    case "call_method":
      return false
    case "call_module":
      return node.graph.owner?.isImpureModule(node.target) ?? false
    case "call_function":
      return isImpureFunction(node.target)
  }
}

/**
 * Whether a call_function target has side effects (see the module header for the rules).
 *
 * @since 0.1.0
 * @category getters
 */
export const isImpureFunction = (target: string): boolean => {
  if (SIDE_EFFECTS.has(target) || PYTHON_RANDOM.has(target)) return true
  if (!target.startsWith("torch.ops.")) return false
  const [, , , op, overload] = target.split(".")
  if (op === undefined) return false
  if (RANDOM_OPS.has(op)) return true
  // A mutable schema: in-place (`add_`; the in-place dunders `__iand__`, `__ior__`...) or an out= overload.
  if (op.endsWith("_") && !op.endsWith("__") && op.replace(/^_+/, "").length > 1) return true
  if (/^__i[a-z]+__$/.test(op)) return true
  return overload !== undefined && (OUT_OVERLOADS.has(overload) || overload.endsWith("_out"))
}

/**
 * Erases every node of a graph that has no users and no side effects, walking backwards so that chains die
 * in one pass (fx's `Graph.eliminate_dead_code`, without the recursion into child graph modules, which
 * `GraphModule.eliminateDeadCode` adds). Lints first. Returns whether anything was erased.
 *
 * @since 0.1.0
 * @category mutations
 */
export const eliminateDeadCode = (graph: Graph, options?: Options): boolean => graph.eliminateDeadCode(options)

/**
 * How {@link eliminateDeadCode} runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly isImpureNode?: ((node: Node) => boolean) | undefined
  /** Lint first, as fx does (default). Passes whose input state was just checked skip it. */
  readonly lint?: boolean | undefined
}

// The walk, for `Graph.eliminateDeadCode`, which remembers that it finished on the graph as it is.
/** @internal */
export const eliminate = (graph: Graph, options?: Options): boolean => {
  if (options?.lint !== false) lint(graph)
  const impure = options?.isImpureNode ?? isImpure
  let changed = false
  for (const node of graph.reversed()) {
    if (node.userCount === 0 && !impure(node)) {
      graph.eraseNode(node)
      changed = true
    }
  }
  return changed
}
