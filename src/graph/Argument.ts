/**
 * The values a node's `args` and `kwargs` hold: torch.fx's `Argument` (`torch/fx/node.py`), with Python's
 * scalar kinds kept apart, because the exported program must say `int` where Python had an int and `float`
 * where it had a float, and JavaScript numbers cannot tell `1` from `1.0`.
 *
 * | Python            | trtx                                        |
 * | ----------------- | ------------------------------------------- |
 * | `fx.Node`         | {@link Node}                                |
 * | `None`, `bool`    | `null`, `boolean`                           |
 * | `int`             | `number` (a safe integer) or `bigint`       |
 * | `float`           | {@link Float}                               |
 * | `complex`         | {@link Complex}                             |
 * | `str`             | `string`                                    |
 * | `list`, `tuple`   | a readonly array, {@link Tuple}             |
 * | `dict`            | {@link Dict} (keys in insertion order)      |
 * | dtype, device, …  | {@link DType}, {@link Device}, …            |
 *
 * Arguments are immutable values: a node's inputs change only by giving it new args, which keeps `users`
 * exact (fx's `_update_args_kwargs`).
 *
 * @since 0.1.0
 */
import type { Node } from "./Node.ts"

// ===== Models =====

/** @since 0.1.0 @category models */
export interface Tuple {
  readonly _tag: "Tuple"
  readonly items: ReadonlyArray<Argument>
}
/** @since 0.1.0 @category models */
export interface Dict {
  readonly _tag: "Dict"
  readonly entries: ReadonlyArray<readonly [Argument, Argument]>
}
/** A Python float; `value` may be `Infinity`, `-Infinity` or `NaN`. @since 0.1.0 @category models */
export interface Float {
  readonly _tag: "Float"
  readonly value: number
}
/** A Python complex (`1+2j`); either part may be `Infinity`, `-Infinity` or `NaN`. @since 0.1.0 @category models */
export interface Complex {
  readonly _tag: "Complex"
  readonly real: number
  readonly imag: number
}
/** `torch.float32` is `{ name: "float32" }`. @since 0.1.0 @category models */
export interface DType {
  readonly _tag: "DType"
  readonly name: string
}
/** `torch.device("cuda:0")` is `{ name: "cuda:0" }`. @since 0.1.0 @category models */
export interface Device {
  readonly _tag: "Device"
  readonly name: string
}
/** @since 0.1.0 @category models */
export interface Layout {
  readonly _tag: "Layout"
  readonly name: string
}
/** @since 0.1.0 @category models */
export interface MemoryFormat {
  readonly _tag: "MemoryFormat"
  readonly name: string
}
/** @since 0.1.0 @category models */
export interface Slice {
  readonly _tag: "Slice"
  readonly start: Argument
  readonly stop: Argument
  readonly step: Argument
}
/** A symbolic integer, by its expression (`"s0"`, `"3*s0"`). @since 0.1.0 @category models */
export interface SymInt {
  readonly _tag: "SymInt"
  readonly expr: string
}

/**
 * Anything that may stand in `args`, `kwargs`, or inside their containers.
 *
 * @since 0.1.0
 * @category models
 */
export type Argument =
  | Node
  | null
  | boolean
  | number
  | bigint
  | string
  | ReadonlyArray<Argument>
  | Tuple
  | Dict
  | Float
  | Complex
  | DType
  | Device
  | Layout
  | MemoryFormat
  | Slice
  | SymInt

/**
 * Keyword arguments, in insertion order (keys are Python identifiers, so JavaScript keeps their order).
 *
 * @since 0.1.0
 * @category models
 */
export type Kwargs = Readonly<Record<string, Argument>>

/**
 * The keyword arguments of a call that has none: one shared, frozen record (most nodes have none, and a
 * record each would be kept by every node of a large graph).
 *
 * @since 0.1.0
 * @category models
 */
export const noKwargs: Kwargs = Object.freeze({})

// ===== Constructors =====

/** @since 0.1.0 @category constructors */
export const tuple = (...items: ReadonlyArray<Argument>): Tuple => ({ _tag: "Tuple", items })
/** @since 0.1.0 @category constructors */
export const dict = (entries: ReadonlyArray<readonly [Argument, Argument]>): Dict => ({ _tag: "Dict", entries })
/** @since 0.1.0 @category constructors */
export const float = (value: number): Float => ({ _tag: "Float", value })
/** @since 0.1.0 @category constructors */
export const complex = (real: number, imag: number): Complex => ({ _tag: "Complex", real, imag })
/** @since 0.1.0 @category constructors */
export const dtype = (name: string): DType => ({ _tag: "DType", name })
/** @since 0.1.0 @category constructors */
export const device = (name: string): Device => ({ _tag: "Device", name })
/** @since 0.1.0 @category constructors */
export const layout = (name: string): Layout => ({ _tag: "Layout", name })
/** @since 0.1.0 @category constructors */
export const memoryFormat = (name: string): MemoryFormat => ({ _tag: "MemoryFormat", name })
/** @since 0.1.0 @category constructors */
export const slice = (start: Argument, stop: Argument, step: Argument): Slice => ({ _tag: "Slice", start, stop, step })
/** @since 0.1.0 @category constructors */
export const symInt = (expr: string): SymInt => ({ _tag: "SymInt", expr })

// ===== Guards =====

/**
 * Whether an argument is a graph node (the only class instance an argument can be).
 *
 * @since 0.1.0
 * @category guards
 */
export const isNode = (a: Argument): a is Node =>
  typeof a === "object" && a !== null && !Array.isArray(a) && (a as { readonly _tag?: unknown })._tag === "Node"

// ===== Getters =====

/**
 * The elements of a list or a tuple (fx's `list` and `tuple` arguments alike, as a call's several results
 * are), or undefined for any other value.
 *
 * @since 0.1.0
 * @category getters
 */
export const elements = (a: unknown): ReadonlyArray<Argument> | undefined =>
  Array.isArray(a)
    ? (a as ReadonlyArray<Argument>)
    : typeof a === "object" && a !== null && "_tag" in a && a._tag === "Tuple" && "items" in a
    ? (a as Tuple).items
    : undefined

// ===== Combinators =====

/**
 * Applies `f` to every node inside an argument and rebuilds the containers around the results: fx's
 * `map_arg`. Values without nodes come back as they are (same object), so nothing is copied needlessly.
 *
 * @since 0.1.0
 * @category combinators
 */
export const mapNodes = (a: Argument, f: (node: Node) => Argument): Argument => {
  if (a === null || typeof a !== "object") return a
  if (Array.isArray(a)) return mapArray(a as ReadonlyArray<Argument>, f)
  const tagged = a as Exclude<Argument, ReadonlyArray<Argument> | null | boolean | number | bigint | string>
  switch (tagged._tag) {
    case "Node":
      return f(tagged)
    case "Tuple": {
      const items = mapArray(tagged.items, f)
      return items === tagged.items ? tagged : { _tag: "Tuple", items }
    }
    case "Dict": {
      let changed = false
      const entries = tagged.entries.map(([k, v]) => {
        const k2 = mapNodes(k, f)
        const v2 = mapNodes(v, f)
        if (k2 !== k || v2 !== v) changed = true
        return [k2, v2] as const
      })
      return changed ? { _tag: "Dict", entries } : tagged
    }
    case "Slice": {
      const start = mapNodes(tagged.start, f)
      const stop = mapNodes(tagged.stop, f)
      const step = mapNodes(tagged.step, f)
      return start === tagged.start && stop === tagged.stop && step === tagged.step
        ? tagged
        : { _tag: "Slice", start, stop, step }
    }
    default:
      return tagged
  }
}

const mapArray = (xs: ReadonlyArray<Argument>, f: (node: Node) => Argument): ReadonlyArray<Argument> => {
  // Copied at its exact size on the first change (an array grown by push reserves room it never uses,
  // and every node of a copied graph keeps its arguments).
  let out: Array<Argument> | undefined
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!
    const y = mapNodes(x, f)
    if (y === x) continue
    out ??= xs.slice()
    out[i] = y
  }
  return out ?? xs
}

/**
 * Maps the nodes of keyword arguments, keeping key order.
 *
 * @since 0.1.0
 * @category combinators
 */
export const mapKwargs = (kwargs: Kwargs, f: (node: Node) => Argument): Kwargs => {
  // Nothing is allocated unless a value changes (most nodes have no keyword arguments at all).
  let out: Record<string, Argument> | undefined
  for (const k in kwargs) {
    const v = kwargs[k]!
    const v2 = mapNodes(v, f)
    if (v2 === v) continue
    out ??= { ...kwargs }
    // A data property even for a key `__proto__` (an assignment would set the prototype).
    Object.defineProperty(out, k, { value: v2, writable: true, enumerable: true, configurable: true })
  }
  return out ?? kwargs
}

/**
 * Calls `f` on every node inside an argument, in argument order (depth first, left to right).
 *
 * @since 0.1.0
 * @category combinators
 */
export const forEachNode = (a: Argument, f: (node: Node) => void): void => {
  findNode(a, (node) => {
    f(node)
    return false
  })
}

/**
 * The first node inside an argument, in argument order (depth first, left to right), for which `pred`
 * holds; the walk stops there. Indexed loops: graph code calls this for every node it checks.
 *
 * @since 0.1.0
 * @category combinators
 */
export const findNode = (a: Argument, pred: (node: Node) => boolean): Node | undefined => {
  if (a === null || typeof a !== "object") return undefined
  if (Array.isArray(a)) {
    const xs = a as ReadonlyArray<Argument>
    for (let i = 0; i < xs.length; i++) {
      const found = findNode(xs[i]!, pred)
      if (found !== undefined) return found
    }
    return undefined
  }
  const tagged = a as Exclude<Argument, ReadonlyArray<Argument> | null | boolean | number | bigint | string>
  switch (tagged._tag) {
    case "Node":
      return pred(tagged) ? tagged : undefined
    case "Tuple":
      return findNode(tagged.items as ReadonlyArray<Argument>, pred)
    case "Dict":
      for (const [k, v] of tagged.entries) {
        const found = findNode(k, pred) ?? findNode(v, pred)
        if (found !== undefined) return found
      }
      return undefined
    case "Slice":
      return findNode(tagged.start, pred) ?? findNode(tagged.stop, pred) ?? findNode(tagged.step, pred)
    default:
      return undefined
  }
}
