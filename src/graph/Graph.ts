/**
 * A graph: torch.fx's `Graph` (`torch/fx/graph.py`), a doubly linked list of {@link Node}s with fx's
 * naming, insertion points, erasure rules and copying.
 *
 * Every operation costs O(1) or O(what it touches): names are looked up in the namespace's hash set, nodes
 * by `(op, target)` in an index, users in per-node sets. Only whole-graph operations (iteration, `lint`,
 * `eliminateDeadCode`, `graphCopy`) walk the graph, once.
 *
 * @since 0.1.0
 */
import * as Argument from "./Argument.ts"
import * as DeadCode from "./DeadCode.ts"
import * as GraphError from "./GraphError.ts"
import * as LintRules from "./Lint.ts"
import * as Meta from "./Meta.ts"
import * as Namespace from "./Namespace.ts"
import { Link, Node, type Op } from "./Node.ts"

// ===== Models =====

/**
 * What a graph's owning module tells `lint` about a dotted target: a submodule, another attribute, or
 * nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface Owner {
  /**
   * fx's lint of a `get_attr` / `call_module` target, atom by atom: undefined when it resolves, otherwise
   * fx's message (`Node n target a.b references nonexistent attribute b of a`).
   */
  readonly checkTarget: (node: Node) => string | undefined
  /** fx's `_is_impure` on the called submodule. */
  readonly isImpureModule: (target: string) => boolean
}

/**
 * Options of {@link Graph.createNode}.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateOptions {
  /** The name candidate, used as given (no snake-casing); defaults to one derived from the target. */
  readonly name?: string | undefined
  /**
   * Take `name` exactly, as a reader of a file that fixes names must (see `Namespace.takeExact`); the
   * name must be unused.
   */
  readonly exactName?: boolean | undefined
  readonly meta?: Meta.Meta | undefined
}

// Whether the graph's index lists an op's nodes by target (calls, whose targets recur) or by op only.
const keyedByTarget = (op: Op): boolean => op === "call_function" || op === "call_module" || op === "call_method"

/**
 * A graph of nodes.
 *
 * @since 0.1.0
 * @category models
 */
export class Graph {
  /** The module whose graph this is, if any: `lint` resolves targets through it. */
  owner: Owner | undefined = undefined
  readonly #root = new Link()
  #namespace = Namespace.make()
  // The index: for each (op, target), the nodes in creation order, as lists threaded through the nodes
  // themselves. Adding and removing touch only the node and its neighbours: no hash table grows with the
  // graph, which keeps the cost per node flat on large graphs. The nodes of an op are its targets' lists.
  readonly #byOpTarget = new Map<Op, Map<string, Bucket>>()
  // The ops whose targets are names of their own (placeholders, get_attrs, the output) are listed by op
  // only: a bucket and a map entry for every one of thousands of distinct targets cost more than the rare
  // query by target, which filters the op's list.
  readonly #byOp = new Map<Op, Bucket>()
  // The number of live placeholders, for findNodes' leading run.
  #placeholders = 0
  #insertAnchor: Link = this.#root
  #insertWhere: "before" | "after" = "before"
  #size = 0
  #orderValid = false
  #version = 0

  // ===== Getters =====

  /** The number of live nodes. */
  get size(): number {
    return this.#size
  }

  /** The nodes in graph order. Safe to mutate while iterating, as in fx: an erased node is skipped. */
  nodes(): IterableIterator<Node> {
    return new NodeIterator(this.#root, true)
  }

  /** The nodes in reverse graph order; as safe as {@link nodes}. */
  reversed(): IterableIterator<Node> {
    return new NodeIterator(this.#root, false)
  }

  /** The first node, if any. */
  get first(): Node | undefined {
    return this.#root._next === this.#root ? undefined : (this.#root._next as Node)
  }

  /** The last node, if any. */
  get last(): Node | undefined {
    return this.#root._prev === this.#root ? undefined : (this.#root._prev as Node)
  }

  /**
   * The nodes with an op (and target), in graph order (fx's `find_nodes`).
   *
   * **Gotchas.** The result comes from an index, so it costs O(k) for k matches, plus one O(n) renumbering
   * of the graph the first time it is called after a structural change (and only with `sort`, the default).
   * Calls are indexed by target; placeholders, get_attrs and the output by op only, so a query of one of
   * those by target filters all of the op's nodes. Query before a loop of mutations, not inside it. With
   * `sort: false` the order is the index's: for calls by target, and in creation order within a target; for
   * the others in creation order.
   */
  findNodes(op: Op, target?: string, options?: { readonly sort?: boolean }): Array<Node> {
    // Placeholders usually lead the graph: when the leading run holds them all, it is the answer in graph
    // order, read without the index or renumbering the graph.
    if (op === "placeholder" && target === undefined && options?.sort !== false) {
      const leading = this.#leadingPlaceholders(this.#placeholders)
      if (leading !== undefined) return leading
    }
    const found: Array<Node> = []
    if (!keyedByTarget(op)) {
      for (let n = this.#byOp.get(op)?.first; n !== undefined; n = n._targetNext) {
        if (target === undefined || n.target === target) found.push(n)
      }
    } else if (target === undefined) {
      // Every (op, target) list of the op, one after another: creation order within a target only.
      const byTarget = this.#byOpTarget.get(op)
      if (byTarget !== undefined) {
        for (const bucket of byTarget.values()) for (let n = bucket.first; n !== undefined; n = n._targetNext) found.push(n)
      }
    } else {
      for (let n = this.#byOpTarget.get(op)?.get(target)?.first; n !== undefined; n = n._targetNext) found.push(n)
    }
    if (options?.sort !== false && found.length > 1) {
      this.#renumber()
      found.sort((a, b) => a._position - b._position)
    }
    return found
  }

  /** The output node: the last node, if it is an output. */
  get outputNode(): Node | undefined {
    const last = this.last
    return last !== undefined && last.op === "output" ? last : undefined
  }

  /** @internal Records a change made to a node's arguments (the node calls it). */
  _changed(): void {
    this.#version++
  }

  // The versions (counts of changes to structure, arguments and names) at which lint last passed and fx's
  // dead-code elimination last finished: -1, never.
  #lintedAt = -1
  #deadFreeAt = -1

  /**
   * fx's `Graph.lint`: the checks of `Lint.ts`; throws `GraphError` naming the node where one fails.
   */
  lint(): void {
    LintRules.check(this)
    this.#lintedAt = this.#version
  }

  /**
   * fx's `Graph.eliminate_dead_code` (`DeadCode.ts`); returns whether anything was erased.
   */
  eliminateDeadCode(options?: DeadCode.Options): boolean {
    const changed = DeadCode.eliminate(this, options)
    // Dead-code free by fx's own rules only: a caller's rules may keep what fx's would erase.
    if (options?.isImpureNode === undefined) this.#deadFreeAt = this.#version
    return changed
  }

  /**
   * Whether the graph is as the last passing {@link lint} and the last finished {@link eliminateDeadCode} (by
   * fx's rules) left it: nothing in its structure, arguments or names has changed since both ran. A pass
   * that keeps both properties by construction can then skip the walks that would find nothing.
   */
  get isClean(): boolean {
    return this.#lintedAt === this.#version && this.#deadFreeAt === this.#version
  }

  /** Whether every placeholder comes before every other node (they usually lead the graph). */
  get placeholdersLead(): boolean {
    return this.#leadingPlaceholders(this.#placeholders) !== undefined
  }

  /** Whether a name is taken in this graph's namespace (names are never released). */
  isNameUsed(name: string): boolean {
    return Namespace.has(this.#namespace, name)
  }

  /** The node's ordinal in graph order (renumbers once after structural changes). */
  positionOf(node: Node): number {
    this.#renumber()
    return node._position
  }

  // ===== Constructors of nodes =====

  /**
   * Creates a node at the current insertion point (fx's `create_node`). The name comes from
   * `options.name` or, without it, from the target, and is made unique by the namespace.
   */
  createNode(
    op: Op,
    target: string,
    args: ReadonlyArray<Argument.Argument> = [],
    kwargs: Argument.Kwargs = Argument.noKwargs,
    options?: CreateOptions
  ): Node {
    const candidate = options?.name ?? Namespace.candidateFor(op, target)
    // The node checks its arguments as it takes them, before the name is taken, so a refused node leaves
    // no trace; it carries the candidate until then.
    const node = new Node(this, candidate, op, target, args, kwargs, options?.meta ?? {})
    if (options?.exactName === true) {
      if (!Namespace.takeExact(this.#namespace, candidate)) {
        node._clearInputs()
        throw GraphError.make("InvalidArgument", `Name ${candidate} is already used in this graph`, candidate)
      }
    } else {
      node._name = Namespace.createName(this.#namespace, candidate)
    }
    node._assignedName = node._name
    this.#index(node)
    this.#link(node, this.#insertAnchor, this.#insertWhere)
    this.#size++
    return node
  }

  /** A placeholder for input `name` (fx's `placeholder`); `defaultValue` becomes its only argument. */
  placeholder(name: string, options?: { readonly defaultValue?: Argument.Argument; readonly meta?: Meta.Meta }): Node {
    const args = options !== undefined && "defaultValue" in options ? [options.defaultValue!] : []
    return this.createNode("placeholder", name, args, {}, { meta: options?.meta })
  }

  /** A read of attribute `target` of the owning module (fx's `get_attr`). */
  getAttr(target: string, options?: CreateOptions): Node {
    return this.createNode("get_attr", target, [], {}, options)
  }

  /** A call of a function, named by its qualified name (fx's `call_function`). */
  callFunction(
    target: string,
    args: ReadonlyArray<Argument.Argument> = [],
    kwargs: Argument.Kwargs = Argument.noKwargs,
    options?: CreateOptions
  ): Node {
    return this.createNode("call_function", target, args, kwargs, options)
  }

  /** A call of submodule `target` (fx's `call_module`). */
  callModule(
    target: string,
    args: ReadonlyArray<Argument.Argument> = [],
    kwargs: Argument.Kwargs = Argument.noKwargs,
    options?: CreateOptions
  ): Node {
    return this.createNode("call_module", target, args, kwargs, options)
  }

  /** A call of method `target` on `args[0]` (fx's `call_method`). */
  callMethod(
    target: string,
    args: ReadonlyArray<Argument.Argument> = [],
    kwargs: Argument.Kwargs = Argument.noKwargs,
    options?: CreateOptions
  ): Node {
    return this.createNode("call_method", target, args, kwargs, options)
  }

  /** The output node returning `result` (fx's `output`). */
  output(result: Argument.Argument, options?: CreateOptions): Node {
    return this.createNode("output", "output", [result], {}, options)
  }

  // ===== Insertion points =====

  /**
   * Runs `f` with new nodes inserted just before `node` (so several come out in creation order), then
   * restores the previous insertion point (fx's `with graph.inserting_before(node)`). Without a node, new
   * nodes go to the very front, each before the previous one (fx: `inserting_after(root)`).
   */
  insertingBefore<A>(node: Node | undefined, f: () => A): A {
    return node === undefined ? this.#withInsertPoint(this.#root, "after", f) : this.#withInsertPoint(this.#own(node), "before", f)
  }

  /**
   * Runs `f` with new nodes inserted just after `node` (so several come out in *reverse* creation order),
   * then restores the previous insertion point (fx's `with graph.inserting_after(node)`). Without a node,
   * new nodes are appended at the end.
   */
  insertingAfter<A>(node: Node | undefined, f: () => A): A {
    return node === undefined ? this.#withInsertPoint(this.#root, "before", f) : this.#withInsertPoint(this.#own(node), "after", f)
  }

  // ===== Mutations =====

  /**
   * Removes a node that has no users (fx's `erase_node`). Its name stays used. Erasing an erased node does
   * nothing, as in fx (which only warns).
   *
   * @throws GraphError `NodeHasUsers` with fx's message, or `WrongGraph`.
   */
  eraseNode(node: Node): void {
    if (node.userCount > 0) {
      const users = node.userList.map((u) => `${u.name}: None`).join(", ")
      throw GraphError.make(
        "NodeHasUsers",
        `Tried to erase Node ${node.name} but it still had ${node.userCount} users in the graph: {${users}}!`,
        node.name
      )
    }
    if (node.graph !== this) {
      throw GraphError.make("WrongGraph", `Attempting to remove ${node.name} from wrong graph!`, node.name)
    }
    if (node._erased) return
    this.#unlink(node)
    this.#unindex(node)
    node._erased = true
    node._clearInputs()
    this.#size--
  }

  /**
   * Takes a name from this graph's namespace as creating a node named `candidate` would, without creating
   * the node (fx's `graph._graph_namespace.create_name(candidate, None)`), and returns it. A pass that
   * copies a node only to erase it at once (the placeholders of an inlined graph) takes its name this way,
   * so that later names come out as fx gives them.
   */
  createName(candidate: string): string {
    return Namespace.createName(this.#namespace, candidate)
  }

  /**
   * Renames a node through the namespace (fx's `node._rename(candidate)`): the new name is made unique,
   * the old one stays used. Returns the new name.
   */
  renameNode(node: Node, candidate: string): string {
    this.#own(node)
    if (candidate === node.name) return candidate
    node._name = Namespace.createName(this.#namespace, candidate)
    node._assignedName = node._name
    this.#version++
    return node._name
  }

  /**
   * Copies a node into this graph at the insertion point, mapping its inputs with `argTransform` (fx's
   * `node_copy`). The name is the source's, made unique here; the meta record is copied, its values shared.
   */
  nodeCopy(node: Node, argTransform: (n: Node) => Argument.Argument): Node {
    const args = Argument.mapNodes(node.args, argTransform) as ReadonlyArray<Argument.Argument>
    const kwargs = Argument.mapKwargs(node.kwargs, argTransform)
    return this.createNode(node.op, node.target, args, kwargs, { name: node.name, meta: Meta.copy(node.meta) })
  }

  /**
   * Copies the nodes of `src` into this graph at the insertion point (fx's `graph_copy`). Nodes already in
   * `valMap` are not copied (that is how callers map placeholders); every other node before the output is
   * copied and recorded in `valMap`. Returns the output's argument mapped through `valMap` (and the source's
   * output node, with `returnOutputNode`), or `undefined` when `src` has no output.
   *
   * @throws GraphError `InvalidArgument` when an input of a copied node was never mapped (fx: KeyError).
   */
  graphCopy(src: Graph, valMap: Map<Node, Argument.Argument>): Argument.Argument | undefined
  graphCopy(
    src: Graph,
    valMap: Map<Node, Argument.Argument>,
    options: { readonly returnOutputNode: true }
  ): readonly [Argument.Argument, Node] | undefined
  graphCopy(
    src: Graph,
    valMap: Map<Node, Argument.Argument>,
    options?: { readonly returnOutputNode: boolean }
  ): Argument.Argument | readonly [Argument.Argument, Node] | undefined {
    const lookup = (n: Node): Argument.Argument => {
      const mapped = valMap.get(n)
      if (mapped === undefined && !valMap.has(n)) {
        throw GraphError.make("InvalidArgument", `graph_copy: node ${n.name} was used before it was mapped`, n.name)
      }
      return mapped!
    }
    for (const node of src.nodes()) {
      if (valMap.has(node)) continue
      if (node.op === "output") {
        const rv = Argument.mapNodes(node.args[0] ?? null, lookup)
        return options?.returnOutputNode === true ? ([rv, node] as const) : rv
      }
      valMap.set(node, this.nodeCopy(node, lookup))
    }
    return undefined
  }

  /**
   * A copy of this graph: new nodes with the same names, ops, targets, arguments and meta records (fx's
   * `Graph.__deepcopy__`: a fresh namespace in which every name is created again in graph order). `valMap`
   * receives the correspondence from old nodes to new ones.
   */
  copy(valMap?: Map<Node, Argument.Argument>): Graph {
    const g = new Graph()
    // graph_copy, with the copies in an array by the source's positions (a map as large as the graph is a
    // cache miss per node on large graphs); a node read before the walk reaches it was never mapped.
    const first = this.first
    if (first !== undefined) this.positionOf(first)
    const copies: Array<Node> = new Array(this.#size)
    let at = 0
    const lookup = (n: Node): Argument.Argument => {
      if (n.graph !== this || n._position >= at) {
        throw GraphError.make("InvalidArgument", `graph_copy: node ${n.name} was used before it was mapped`, n.name)
      }
      return copies[n._position]!
    }
    for (const node of this.nodes()) {
      at = node._position
      const copied = node.op === "output"
        ? g.output(Argument.mapNodes(node.args[0] ?? null, lookup), { meta: Meta.copy(node.meta) })
        : g.nodeCopy(node, lookup)
      copies[at] = copied
      valMap?.set(node, copied)
      if (node.op === "output") break
    }
    return g
  }

  /** @internal Moves `node` next to `anchor` (Node.prepend / Node.append). */
  _move(node: Node, anchor: Node, where: "before" | "after"): void {
    this.#own(anchor)
    if (node.graph !== this) {
      throw GraphError.make("WrongGraph", `Node ${node.name} does not belong to this Graph`, node.name)
    }
    if (node._erased) throw GraphError.make("ErasedNode", `Node ${node.name} was erased`, node.name)
    if (node === anchor) return
    this.#unlink(node)
    this.#link(node, anchor, where)
  }

  // ===== Internals =====

  #own(node: Node): Node {
    if (node.graph !== this) {
      throw GraphError.make("WrongGraph", `Node ${node.name} does not belong to this Graph`, node.name)
    }
    if (node._erased) throw GraphError.make("ErasedNode", `Node ${node.name} was erased`, node.name)
    return node
  }

  #withInsertPoint<A>(anchor: Link, where: "before" | "after", f: () => A): A {
    const previous = [this.#insertAnchor, this.#insertWhere] as const
    this.#insertAnchor = anchor
    this.#insertWhere = where
    try {
      return f()
    } finally {
      ;[this.#insertAnchor, this.#insertWhere] = previous
    }
  }

  #link(node: Link, anchor: Link, where: "before" | "after"): void {
    const prev = where === "before" ? anchor._prev : anchor
    const next = prev._next
    node._prev = prev
    node._next = next
    prev._next = node
    next._prev = node
    this.#orderValid = false
    this.#version++
  }

  // Like fx's `_remove_from_list`, the unlinked node keeps its own pointers, so an iterator standing on it
  // can still step forward.
  #unlink(node: Link): void {
    node._prev._next = node._next
    node._next._prev = node._prev
    this.#orderValid = false
    this.#version++
  }

  #index(node: Node): void {
    if (node.op === "placeholder") this.#placeholders++
    let bucket: Bucket | undefined
    if (keyedByTarget(node.op)) {
      let byTarget = this.#byOpTarget.get(node.op)
      if (byTarget === undefined) this.#byOpTarget.set(node.op, (byTarget = new Map()))
      bucket = byTarget.get(node.target)
      if (bucket === undefined) byTarget.set(node.target, (bucket = { first: undefined, last: undefined }))
    } else {
      bucket = this.#byOp.get(node.op)
      if (bucket === undefined) this.#byOp.set(node.op, (bucket = { first: undefined, last: undefined }))
    }
    node._targetPrev = bucket.last
    if (bucket.last === undefined) bucket.first = node
    else bucket.last._targetNext = node
    bucket.last = node
  }

  #unindex(node: Node): void {
    if (node.op === "placeholder") this.#placeholders--
    const keyed = keyedByTarget(node.op)
    const byTarget = keyed ? this.#byOpTarget.get(node.op)! : undefined
    const bucket = byTarget !== undefined ? byTarget.get(node.target)! : this.#byOp.get(node.op)!
    if (node._targetPrev === undefined) bucket.first = node._targetNext
    else node._targetPrev._targetNext = node._targetNext
    if (node._targetNext === undefined) bucket.last = node._targetPrev
    else node._targetNext._targetPrev = node._targetPrev
    node._targetPrev = node._targetNext = undefined
    if (byTarget !== undefined && bucket.first === undefined) byTarget.delete(node.target)
  }

  // The first `count` nodes, when they are all placeholders (erased ones are unlinked, so never met).
  #leadingPlaceholders(count: number): Array<Node> | undefined {
    const out: Array<Node> = []
    for (let cur = this.#root._next; out.length < count; cur = cur._next) {
      if (cur === this.#root || (cur as Node).op !== "placeholder") return undefined
      out.push(cur as Node)
    }
    return out
  }

  #renumber(): void {
    if (this.#orderValid) return
    let i = 0
    for (let cur = this.#root._next; cur !== this.#root; cur = cur._next) (cur as Node)._position = i++
    this.#orderValid = true
  }
}


/**
 * The iterator of {@link Graph.nodes} and {@link Graph.reversed}: from the last node it gave, it steps to
 * the next link and skips erased nodes (an erased node keeps its links, so the walk goes on past a node
 * erased under it). Not a generator: every whole-graph walk goes through here, and a generator allocates
 * a result per node. Its one result object is reused, which `for...of`, spreading and `Array.from` allow
 * (they read each result before asking for the next).
 */
class NodeIterator implements IterableIterator<Node> {
  #at: Link
  readonly #root: Link
  readonly #forward: boolean
  readonly #result: { value: Node; done: boolean } = { value: undefined as unknown as Node, done: false }

  constructor(root: Link, forward: boolean) {
    this.#root = root
    this.#at = root
    this.#forward = forward
  }

  next(): IteratorResult<Node> {
    const root = this.#root
    const result = this.#result
    if (result.done) return result
    let cur = this.#forward ? this.#at._next : this.#at._prev
    while (cur !== root && (cur as Node)._erased) cur = this.#forward ? cur._next : cur._prev
    this.#at = cur
    if (cur === root) {
      result.value = undefined as unknown as Node
      result.done = true
    } else {
      result.value = cur as Node
    }
    return result
  }

  [Symbol.iterator](): IterableIterator<Node> {
    return this
  }
}

// ===== Constructors =====

// The ends of an index list.
interface Bucket {
  first: Node | undefined
  last: Node | undefined
}


/**
 * An empty graph.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Graph => new Graph()
