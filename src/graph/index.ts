/**
 * `trtx/graph`: the graph IR, pure and synchronous, with torch.fx 2.11's semantics.
 *
 * @since 0.1.0
 */
export * as Argument from "./Argument.ts"
export * as DeadCode from "./DeadCode.ts"
export * as Graph from "./Graph.ts"
export * as GraphError from "./GraphError.ts"
export * as GraphModule from "./GraphModule.ts"
export * as Lint from "./Lint.ts"
export * as Meta from "./Meta.ts"
export * as Module from "./Module.ts"
export * as Namespace from "./Namespace.ts"
export * as Node from "./Node.ts"
export * as OpSchema from "./OpSchema.ts"
export * as SymExpr from "./SymExpr.ts"
export * as SymExprParser from "./SymExprParser.ts"
export * as SymValue from "./SymValue.ts"
export * as Tensor from "./Tensor.ts"
export * as ValueRange from "./ValueRange.ts"
