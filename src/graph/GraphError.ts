/**
 * The one error class of the graph IR. `src/graph` is pure and synchronous, so it throws this error when a
 * precondition of an operation is broken (fx raises `RuntimeError` / `AssertionError` at the same places);
 * passes catch it and turn it into their own typed failures.
 *
 * Messages keep torch.fx's wording where fx has one, so that a user who knows fx recognises them.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Why a graph operation was refused.
 *
 * @since 0.1.0
 * @category models
 */
export const GraphFault = Schema.Literals([
  "NodeHasUsers", // eraseNode of a node that still has users
  "WrongGraph", // a node used with a graph it does not belong to
  "ErasedNode", // a node used after it was erased
  "Lint", // lint() found a broken invariant
  "UnknownAttribute", // a target that does not resolve in the module tree
  "AttributeExists", // registering over an attribute of another kind
  "InvalidArgument" // an operation called with arguments it cannot accept
])

/**
 * @since 0.1.0
 * @category models
 */
export type GraphFault = typeof GraphFault.Type

/**
 * A refused graph operation; `node` names the node concerned, where there is one.
 *
 * @since 0.1.0
 * @category errors
 */
export class GraphError extends Schema.TaggedError<GraphError>()("GraphError", {
  fault: GraphFault,
  detail: Schema.String,
  node: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    return this.detail
  }
}

/**
 * Builds a {@link GraphError}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (fault: GraphFault, detail: string, node?: string): GraphError =>
  node === undefined ? new GraphError({ fault, detail }) : new GraphError({ fault, detail, node })
