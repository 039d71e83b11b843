/**
 * A node of a graph: torch.fx's `Node` (`torch/fx/node.py`, with the argument bookkeeping of C++
 * `NodeBase__update_args_kwargs` in `torch/csrc/fx/node.cpp`).
 *
 * | op              | target                                   | args / kwargs                  |
 * | --------------- | ---------------------------------------- | ------------------------------ |
 * | `placeholder`   | the input's name                          | `[default]` or `[]`             |
 * | `get_attr`      | a dotted attribute path (`conv.weight`)   | none                           |
 * | `call_function` | a qualified name (`torch.ops.aten.add.Tensor`, `_operator.getitem`) | the call's |
 * | `call_module`   | a dotted submodule path (`_run_on_acc_0`) | the call's                     |
 * | `call_method`   | a method name (`relu`)                    | `[self, ...]`                  |
 * | `output`        | `"output"`                                | `[result]`                     |
 *
 * Invariants kept by construction:
 * - `users` holds exactly the nodes whose args or kwargs mention this node, in the order they started to
 *   (an args update moves the updated node to the end of each input's users, as in fx);
 * - `allInputNodes` lists the distinct nodes of args then kwargs, in argument order;
 * - a node belongs to one graph for life; once erased it is out of the graph and out of its inputs' users.
 *
 * @since 0.1.0
 */
import * as Argument from "./Argument.ts"
import type { Graph } from "./Graph.ts"
import * as GraphError from "./GraphError.ts"
import type { Meta } from "./Meta.ts"

// ===== Models =====

/**
 * The node kinds of torch.fx.
 *
 * @since 0.1.0
 * @category models
 */
export type Op = "placeholder" | "get_attr" | "call_function" | "call_module" | "call_method" | "output"

/**
 * All ops, for validation.
 *
 * @since 0.1.0
 * @category models
 */
export const ops: ReadonlyArray<Op> = ["placeholder", "get_attr", "call_function", "call_module", "call_method", "output"]

/**
 * A link of a graph's doubly linked node list. The graph's sentinel is a bare link; every other link is a
 * {@link Node}.
 *
 * @since 0.1.0
 * @category models
 */
export class Link {
  /** @internal */
  _prev: Link = this
  /** @internal */
  _next: Link = this
}

// `_setArgsKwargs`'s collection: the distinct inputs found so far are `scratch[0..collected)`. Nodes are
// made one at a time, and collecting calls nothing that makes another. The array is never truncated
// (truncating it frees its storage, and the next push allocates it again), only overwritten.
const scratch: Array<Node | undefined> = []
let collected = 0
// Whether the node whose arguments are being collected is being made (nodes are made one at a time): a
// refusal then names the offending argument, as the node has no name of its own yet.
let creating = false
const NO_ARGS: ReadonlyArray<Argument.Argument> = Object.freeze([])
// From this many users on, a node keeps them in a set.
const SET_FROM = 8

/**
 * A graph node.
 *
 * @since 0.1.0
 * @category models
 */
export class Node extends Link {
  // On the prototype (below), not on every node: one field less per node of a large graph.
  declare readonly _tag: "Node"
  /** @internal Set by the graph only (creation and rename), so that names stay registered. */
  _name: string
  /** @internal */
  _erased = false
  /** @internal Ordinal in the graph, valid while the graph's order cache is. */
  _position = 0
  /** @internal Stamp of the last lint that saw this node (saves a hash set per lint). */
  _lintMark = 0
  /**
   * @internal The name the graph's namespace gave this node. Names are unique because only the namespace
   * hands them out; a `_name` that differs from it was written around the namespace, which lint then
   * checks the slow way.
   */
  _assignedName = ""
  /** @internal Links of the graph's index list of this (op, target). */
  _targetPrev: Node | undefined = undefined
  _targetNext: Node | undefined = undefined
  /** Metadata; the record is the node's own, the values inside are shared immutable data. */
  meta: Meta
  /** The graph the node belongs to, for life. */
  readonly graph: Graph
  readonly op: Op
  readonly target: string
  // Users by count, in fx's order: none, one node (most nodes have one user), an exact-size array up to
  // SET_FROM users, then a set, whose deletions stay O(1) for a node with many users. A set per node
  // was a third of a large graph's memory.
  #users: Node | ReadonlyArray<Node> | Set<Node> | undefined = undefined
  // Until the constructor sets them: one shared empty array, not a new one per node.
  #args: ReadonlyArray<Argument.Argument> = NO_ARGS
  #kwargs: Argument.Kwargs = Argument.noKwargs

  /** @internal Use the graph's `createNode`. */
  constructor(
    graph: Graph,
    name: string,
    op: Op,
    target: string,
    args: ReadonlyArray<Argument.Argument>,
    kwargs: Argument.Kwargs,
    meta: Meta
  ) {
    super()
    this.graph = graph
    this.op = op
    this.target = target
    this._name = name
    this.meta = meta
    // A node being created has no name of its own yet: a refusal names the offending argument instead.
    creating = true
    try {
      this._setArgsKwargs(args, kwargs)
    } finally {
      creating = false
    }
  }

  // ===== Getters =====

  /** The node's unique name in its graph. */
  get name(): string {
    return this._name
  }
  /** Positional arguments. */
  get args(): ReadonlyArray<Argument.Argument> {
    return this.#args
  }
  /** Keyword arguments. */
  get kwargs(): Argument.Kwargs {
    return this.#kwargs
  }
  /** The nodes that use this one, in the order fx keeps them (a snapshot, safe to keep while mutating). */
  get users(): ReadonlySet<Node> {
    const us = this.#users
    if (us === undefined) return new Set()
    if (us instanceof Node) return new Set([us])
    return new Set(us)
  }
  /** The number of {@link users}, without a snapshot. */
  get userCount(): number {
    const us = this.#users
    if (us === undefined) return 0
    if (us instanceof Node) return 1
    return Array.isArray(us) ? us.length : (us as Set<Node>).size
  }
  /** Whether `node` is among the {@link users}, without a snapshot. */
  hasUser(node: Node): boolean {
    const us = this.#users
    if (us === undefined) return false
    if (us instanceof Node) return us === node
    return Array.isArray(us) ? us.includes(node) : (us as Set<Node>).has(node)
  }
  /** The {@link users} as an array, in order (a snapshot). */
  get userList(): Array<Node> {
    const us = this.#users
    if (us === undefined) return []
    if (us instanceof Node) return [us]
    return Array.from(us)
  }
  /** The distinct nodes this one reads, args before kwargs, in argument order (a snapshot). */
  get allInputNodes(): ReadonlyArray<Node> {
    return this.inputNodes
  }
  /**
   * The same as {@link allInputNodes}. Both are read from the arguments when asked: a node keeps no list
   * of its inputs (one array less per node of a large graph).
   */
  get inputNodes(): ReadonlyArray<Node> {
    const out: Array<Node> = []
    this._findInput((node) => {
      if (!out.includes(node)) out.push(node)
      return false
    })
    return out
  }
  /**
   * @internal The first input, in argument order, for which `pred` holds, found without making a list
   * (lint asks this of every node).
   */
  _findInput(pred: (input: Node) => boolean): Node | undefined {
    const args = this.#args
    for (let i = 0; i < args.length; i++) {
      const found = Argument.findNode(args[i]!, pred)
      if (found !== undefined) return found
    }
    for (const k in this.#kwargs) {
      const found = Argument.findNode(this.#kwargs[k]!, pred)
      if (found !== undefined) return found
    }
    return undefined
  }
  /** Whether the node was erased from its graph. */
  get erased(): boolean {
    return this._erased
  }
  /** The next node in graph order, or undefined at the end. */
  get next(): Node | undefined {
    return this._next instanceof Node ? this._next : undefined
  }
  /** The previous node in graph order, or undefined at the start. */
  get prev(): Node | undefined {
    return this._prev instanceof Node ? this._prev : undefined
  }

  // ===== Mutations =====

  /** Replaces the positional arguments (fx's `node.args = ...`). */
  set args(args: ReadonlyArray<Argument.Argument>) {
    this._setArgsKwargs(args, this.#kwargs)
  }
  /** Replaces the keyword arguments (fx's `node.kwargs = ...`). */
  set kwargs(kwargs: Argument.Kwargs) {
    this._setArgsKwargs(this.#args, kwargs)
  }

  /** Replaces one positional argument (fx's `update_arg`). */
  updateArg(index: number, arg: Argument.Argument): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.#args.length) {
      throw GraphError.make("InvalidArgument", `Node ${this._name} has no argument ${index}`, this._name)
    }
    const args = this.#args.slice()
    args[index] = arg
    this.args = args
  }

  /** Sets one keyword argument (fx's `update_kwarg`): an existing key keeps its place, a new one goes last. */
  updateKwarg(key: string, arg: Argument.Argument): void {
    this.kwargs = { ...this.#kwargs, [key]: arg }
  }

  /** Replaces every occurrence of `old` among this node's inputs by `replacement` (fx's `replace_input_with`). */
  replaceInputWith(old: Node, replacement: Node): void {
    this._assertLive()
    const f = (n: Node): Argument.Argument => (n === old ? replacement : n)
    this._setArgsKwargs(Argument.mapNodes(this.#args, f) as ReadonlyArray<Argument.Argument>, Argument.mapKwargs(this.#kwargs, f))
  }

  /**
   * Makes every user of this node use `replacement` instead, and returns the users changed, in the order
   * they were users (fx's `replace_all_uses_with`). This node is not erased.
   *
   * **Details.** Each changed user gets new args, so it moves to the end of the users of each of its inputs:
   * with `y.users = [u3]` and `x.users = [u1, u2]`, afterwards `y.users` is `[u3, u1, u2]`.
   * `deleteUserCb(u)` returning false leaves that user alone. With `propagateMeta`, `replacement.meta` must be
   * empty and receives a copy of this node's meta.
   */
  replaceAllUsesWith(
    replacement: Node,
    options?: { readonly deleteUserCb?: (user: Node) => boolean; readonly propagateMeta?: boolean }
  ): Array<Node> {
    this._assertLive()
    if (options?.propagateMeta === true) {
      if (Object.keys(replacement.meta).length > 0) {
        throw GraphError.make(
          "InvalidArgument",
          "Called node.replace_all_uses_with(replace_with, propagate_meta=True), but replace_with already has .meta keys",
          replacement._name
        )
      }
      Object.assign(replacement.meta, this.meta)
    }
    const changed: Array<Node> = []
    const users = this.userList
    for (let i = 0; i < users.length; i++) {
      const user = users[i]!
      if (options?.deleteUserCb !== undefined && !options.deleteUserCb(user)) continue
      changed.push(user)
      user.replaceInputWith(this, replacement)
    }
    return changed
  }

  /** Moves `node` to just before this one (fx's `prepend`). */
  prepend(node: Node): void {
    this.graph._move(node, this, "before")
  }
  /** Moves `node` to just after this one (fx's `append`). */
  append(node: Node): void {
    this.graph._move(node, this, "after")
  }

  /**
   * @internal Drops every input: as fx's `erase_node`, node arguments become None and the rest of the
   * argument structure stays, so the inputs no longer count the node among their users.
   */
  _clearInputs(): void {
    this._leaveInputs()
    const none = () => null
    this.#args = Argument.mapNodes(this.#args, none) as ReadonlyArray<Argument.Argument>
    this.#kwargs = Argument.mapKwargs(this.#kwargs, none)
  }

  override toString(): string {
    return this._name
  }

  // ===== Internals =====
  // Plain methods marked internal, not `#private` ones: a class with private methods gives every instance a
  // brand field, 8 bytes on each node of a graph.

  /** @internal */
  _assertLive(): void {
    if (this._erased) throw GraphError.make("ErasedNode", `Node ${this._name} was erased`, this._name)
  }

  // `NodeBase__update_args_kwargs`: leave the users of every old input, then join the users of every new
  // input in argument order, so an updated node ends up last among its inputs' users.
  /** @internal */
  _setArgsKwargs(args: ReadonlyArray<Argument.Argument>, kwargs: Argument.Kwargs): void {
    // Validate everything before touching any users list, so a refused update changes nothing.
    collected = 0
    for (let i = 0; i < args.length; i++) this._collect(args[i]!)
    let keys = 0
    for (const k in kwargs) {
      this._collect(kwargs[k]!)
      keys++
    }
    this._leaveInputs()
    for (let i = 0; i < collected; i++) scratch[i]!._addUser(this)
    scratch.fill(undefined, 0, collected)
    this.#args = args
    this.#kwargs = keys === 0 ? Argument.noKwargs : kwargs
    this.graph._changed()
  }

  // Leaves the users of every node of the current arguments (leaving twice changes nothing).
  /** @internal */
  _leaveInputs(): void {
    this._findInput((input) => {
      input._deleteUser(this)
      return false
    })
  }

  // Set.add's semantics: a user already there keeps its place; a new one goes last.
  /** @internal */
  _addUser(user: Node): void {
    const us = this.#users
    if (us === undefined) this.#users = user
    else if (us instanceof Node) {
      if (us !== user) this.#users = [us, user]
    } else if (Array.isArray(us)) {
      const list = us as ReadonlyArray<Node>
      if (list.includes(user)) return
      this.#users = list.length < SET_FROM ? [...list, user] : new Set(list).add(user)
    } else (us as Set<Node>).add(user)
  }

  // Set.delete's semantics; the others keep their order.
  /** @internal */
  _deleteUser(user: Node): void {
    const us = this.#users
    if (us === undefined) return
    if (us instanceof Node) {
      if (us === user) this.#users = undefined
    } else if (Array.isArray(us)) {
      const list = us as ReadonlyArray<Node>
      const i = list.indexOf(user)
      if (i < 0) return
      this.#users = list.length === 2 ? list[1 - i] : list.filter((u) => u !== user)
    } else (us as Set<Node>).delete(user)
  }

  // `Argument.findNode` with the checks inlined: no closure per node, as this runs for every node made.
  /** @internal */
  _collect(a: Argument.Argument): void {
    if (a === null || typeof a !== "object") return
    if (Array.isArray(a)) {
      // Indexed loops here and below: an array iterator per argument is garbage on every node made.
      const xs = a as ReadonlyArray<Argument.Argument>
      for (let i = 0; i < xs.length; i++) this._collect(xs[i]!)
      return
    }
    const t = a as Exclude<Argument.Argument, ReadonlyArray<Argument.Argument> | null | boolean | number | bigint | string>
    switch (t._tag) {
      case "Node": {
        if (t.graph !== this.graph) {
          throw GraphError.make(
            "WrongGraph",
            `Argument '${t._name}' of Node '${this._name}' does not belong to this Graph`,
            creating ? t._name : this._name
          )
        }
        if (t._erased) {
          throw GraphError.make("ErasedNode", `Argument '${t._name}' of Node '${this._name}' was erased`, creating ? t._name : this._name)
        }
        for (let i = 0; i < collected; i++) if (scratch[i] === t) return
        scratch[collected++] = t
        return
      }
      case "Tuple":
        for (let i = 0; i < t.items.length; i++) this._collect(t.items[i]!)
        return
      case "Dict":
        for (const [k, v] of t.entries) {
          this._collect(k)
          this._collect(v)
        }
        return
      case "Slice":
        this._collect(t.start)
        this._collect(t.stop)
        this._collect(t.step)
        return
      default:
        return
    }
  }
}

Object.defineProperty(Node.prototype, "_tag", { value: "Node", enumerable: false, writable: false })
