/**
 * `lint`: the invariants of a graph, checked as torch.fx's `Graph.lint()` checks them, with fx's messages.
 *
 * For each node in order: its op is legal, it belongs to this graph and is in its index, every input
 * belongs to this graph and was defined earlier, its name is not redefined. Then, with an owning module,
 * every `get_attr` / `call_module` target resolves atom by atom, through modules only for `call_module`.
 * trtx adds that at most one output node ends the graph; {@link checkUsers} checks the users sets, which fx
 * keeps implicit.
 *
 * One walk over the nodes and their inputs: O(nodes + edges).
 *
 * @since 0.1.0
 */
import type { Graph } from "./Graph.ts"
import * as GraphError from "./GraphError.ts"
import { type Node, ops } from "./Node.ts"

const legalOps: ReadonlySet<string> = new Set(ops)
let lastMark = 0

/**
 * Checks a graph and throws at the first broken invariant.
 *
 * @throws GraphError `Lint`, naming the node.
 * @since 0.1.0
 * @category getters
 */
export const lint = (graph: Graph): void => graph.lint()

// The rules, for `Graph.lint`, which remembers that they passed on the graph as it is.
/** @internal */
export const check = (graph: Graph): void => {
  // Each lint stamps the nodes it has seen with a fresh mark: "defined earlier" without a hash set.
  const mark = ++lastMark
  let seen = 0
  let names: Set<string> | undefined
  let output: Node | undefined
  const fail = (node: Node, detail: string): never => {
    throw GraphError.make("Lint", detail, node.name)
  }
  // An input of another graph, or not defined before its user.
  const unsound = (input: Node) => input.graph !== graph || input._lintMark !== mark
  for (const node of graph.nodes()) {
    if (!legalOps.has(node.op)) fail(node, `Node ${node.name} had unknown opcode ${node.op}!`)
    if (node.graph !== graph) fail(node, `Node '${node.name}' does not belong to this Graph!`)
    // "In the lookup table": by construction every live node of the list is indexed, and erased ones are
    // unlinked; the erased flag is the cheap proof of both.
    if (node.erased) fail(node, `Node '${node.name}' is not in the lookup table of this Graph!`)
    if (output !== undefined) fail(node, `Node '${node.name}' comes after the output node '${output.name}'`)
    const input = node._findInput(unsound)
    if (input !== undefined) {
      if (input.graph !== graph) {
        fail(node, `Argument '${input.name}' of Node '${node.name}' does not belong to this Graph, but was used as an argument! If you are copying nodes from another graph, make sure to use \`arg_transform\` on node_copy() to remap values`)
      }
      if (input._lintMark !== mark) {
        fail(node, `Argument '${input.name}' of Node '${node.name}' was used before it has been defined! Please check that Nodes in the graph are topologically ordered`)
      }
    }
    // Names the namespace gave are unique by construction; only a name written around it needs the table.
    // From the first such name on, every name is checked against a table of the names before it.
    if (names === undefined && node._name !== node._assignedName) {
      names = new Set()
      for (const earlier of graph.nodes()) {
        if (earlier === node) break
        names.add(earlier.name)
      }
    }
    if (names?.has(node.name) === true) fail(node, `Node redefined name ${node.name}!`)
    if (node.op === "output") output = node
    node._lintMark = mark
    seen++
    names?.add(node.name)
  }
  if (seen !== graph.size) {
    throw GraphError.make("Lint", `Graph holds ${graph.size} nodes but ${seen} are linked`)
  }
  // As in fx, targets are checked in a second walk, once the structure is known to be sound.
  const owner = graph.owner
  if (owner !== undefined) {
    // In index order, without sorting the graph: only a failure needs graph order, to report fx's first one.
    for (const op of ["get_attr", "call_module"] as const) {
      let first: { readonly node: Node; readonly problem: string } | undefined
      for (const node of graph.findNodes(op, undefined, { sort: false })) {
        const problem = owner.checkTarget(node)
        if (problem !== undefined && (first === undefined || graph.positionOf(node) < graph.positionOf(first.node))) {
          first = { node, problem }
        }
      }
      if (first !== undefined) throw GraphError.make("Lint", first.problem, first.node.name)
    }
  }
}

/**
 * Checks what `users` promises, which `lint` leaves out because the IR keeps it by construction and the
 * check reads every edge twice: every input lists the node among its users, and every user is a live node
 * of the graph that reads it. The test suite runs it after every pass.
 *
 * @throws GraphError `Lint`, naming the node.
 * @since 0.1.0
 * @category getters
 */
export const checkUsers = (graph: Graph): void => {
  for (const node of graph.nodes()) {
    for (const input of node.inputNodes) {
      if (!input.hasUser(node)) {
        throw GraphError.make("Lint", `Node '${node.name}' reads '${input.name}' but is not among its users`, node.name)
      }
    }
    for (const user of node.userList) {
      if (user.erased || user.graph !== graph || !user.inputNodes.includes(node)) {
        throw GraphError.make("Lint", `Node '${node.name}' lists '${user.name}' as a user, but it does not read it`, node.name)
      }
    }
  }
}
