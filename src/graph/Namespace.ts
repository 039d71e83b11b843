/**
 * Node naming, exactly as torch.fx 2.11's `_Namespace.create_name` (`torch/fx/graph.py`) and
 * `Graph._target_to_str`: sanitising, `_N` suffixes counted per base, Python's reserved names, and names
 * that are never released (erasing `a` and creating `a` again gives `a_1`).
 *
 * Every lookup is a hash lookup; creating a name costs O(1) amortised, like fx. Memory is proportional to
 * the names held, whatever their suffixes (`x_4194304` costs what `x_1` does).
 *
 * @since 0.1.0
 */

// ===== Models =====

/**
 * The names used in one graph and the last suffix handed out per base.
 *
 * @since 0.1.0
 * @category models
 */
export interface Namespace {
  /** The names taken, never released. */
  readonly used: UsedNames
  readonly baseCount: Map<string, Suffix>
}

/**
 * A suffix's value: a number below 10^15, from there on its decimal digits without leading zeros (fx's
 * counts are Python integers, exact at any size: `x_123456789012345678901` is followed by
 * `x_123456789012345678902`). Each value has one representation, so that sets and maps compare them by
 * value, and every operation on one costs at most its length.
 *
 * @since 0.1.0
 * @category models
 */
export type Suffix = number | string

// Values from here on are digit strings: 16 digits and more.
const BIG = 1e15

// k + 1 in the representation of its value.
const succ = (k: Suffix): Suffix => {
  if (typeof k === "number") return k + 1 < BIG ? k + 1 : String(k + 1)
  let i = k.length - 1
  while (i >= 0 && k.charCodeAt(i) === 57) i--
  return i < 0
    ? `1${"0".repeat(k.length)}`
    : k.slice(0, i) + String.fromCharCode(k.charCodeAt(i) + 1) + "0".repeat(k.length - 1 - i)
}

// The value of a digit string (leading zeros allowed).
const valueOf = (digits: string): Suffix => {
  let i = 0
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++
  const canonical = i === 0 ? digits : digits.slice(i)
  return canonical.length <= 15 ? Number.parseInt(canonical, 10) : canonical
}

// A base's bit set covers at most this many bits per suffix it holds (at least MIN_DENSE_BITS): 8 bytes per
// name at worst. Suffixes past its end go to the base's sparse set.
const DENSE_BITS_PER_NAME = 64
const MIN_DENSE_BITS = 1024

/**
 * The suffixes taken of one base with two or more: `${base}_${k}`.
 *
 * - `bits`: a bit set of the small suffixes, as long as it stays dense enough (see DENSE_BITS_PER_NAME);
 * - `sparse`: the others (a name written by hand, or a hostile one, such as `x_4194304`), by value;
 * - `next`: hints for fx's `while cand in used: num += 1`, which walks every taken suffix and is quadratic
 *   when a candidate such as `getitem_1` is created again and again (its count is looked up by the whole
 *   candidate, so it starts from 0 every time). `next.get(k) > k` says that every suffix from k up to it
 *   is taken; the walk follows the hints and points them all at its answer (a union-find's path
 *   compression). Names are never released, so a hint stays valid. One entry at most per taken suffix.
 */
class Suffixes {
  count = 0
  bits: Uint32Array
  sparse: Set<Suffix> | undefined = undefined
  next: Map<Suffix, Suffix> | undefined = undefined

  constructor(bits: Uint32Array) {
    this.bits = bits
  }

  has(k: Suffix): boolean {
    if (typeof k === "number") {
      const w = k / 32
      if (w < this.bits.length && (this.bits[w | 0]! & (1 << (k & 31))) !== 0) return true
    }
    return this.sparse !== undefined && this.sparse.has(k)
  }

  /** Adds `k`, known not to be held. */
  add(k: Suffix): void {
    this.count++
    if (typeof k === "string") return void (this.sparse ??= new Set()).add(k)
    const w = k / 32
    let bits = this.bits
    if (w >= bits.length) {
      const words = Math.max(Math.floor(w) + 1, bits.length * 2)
      if (words * 32 > Math.max(MIN_DENSE_BITS, DENSE_BITS_PER_NAME * this.count)) {
        ;(this.sparse ??= new Set()).add(k)
        return
      }
      const grown = new Uint32Array(words)
      grown.set(bits)
      this.bits = bits = grown
    }
    bits[w | 0]! |= 1 << (k & 31)
  }

  /** The smallest k >= start not held. */
  firstFree(start: Suffix): Suffix {
    // A hint always lies past its suffix.
    const next = (k: Suffix): Suffix => this.next?.get(k) ?? succ(k)
    let k = start
    while (this.has(k)) k = next(k)
    // Compress: every suffix on the way now points at the answer.
    const hints = (this.next ??= new Map())
    for (let v = start; v !== k;) {
      const after = next(v)
      hints.set(v, k)
      v = after
    }
    return k
  }

  copy(): Suffixes {
    const c = new Suffixes(this.bits.slice())
    c.count = this.count
    if (this.sparse !== undefined) c.sparse = new Set(this.sparse)
    if (this.next !== undefined) c.next = new Map(this.next)
    return c
  }
}

/**
 * A set of names, stored so that membership stays cheap on large graphs: most names are `${base}_${k}`
 * with a few bases and many k (`getitem_1234`), kept as one bit set of k per base, a few kilobytes that
 * stay in the CPU's cache, rather than as one string set as large as the graph, where every lookup is a
 * cache miss. Names without a suffix and everything else go to plain sets. What is held is proportional to
 * the names: a suffix far past a base's others is kept by value, not by growing its bit set.
 *
 * @since 0.1.0
 * @category models
 */
export class UsedNames {
  readonly #bare = new Set<string>()
  readonly #other = new Set<string>()
  // Per base, its one suffix as a number (most bases have one: a lifted input `w_1`), or its suffixes.
  readonly #bases = new Map<string, Suffixes | Suffix>()
  #size = 0

  /** The number of names. */
  get size(): number {
    return this.#size
  }

  has(name: string): boolean {
    const at = splitAt(name)
    if (at === NOT_IDENTIFIER) return this.#other.has(name)
    if (at === NO_SUFFIX) return this.#bare.has(name)
    const k = suffixValue(name, at)
    return k === NON_CANONICAL ? this.#other.has(name) : this.hasSuffix(name.slice(0, at), k)
  }

  /** @internal Whether `name`, which has no `_digits` suffix, is taken. */
  hasBare(name: string): boolean {
    return this.#bare.has(name)
  }

  /** @internal Whether `name`, stored among the names without a canonical suffix, is taken. */
  hasOther(name: string): boolean {
    return this.#other.has(name)
  }

  /** Whether `${base}_${k}` is taken. */
  hasSuffix(base: string, k: Suffix): boolean {
    const held = this.#bases.get(base)
    return held === undefined ? false : typeof held === "object" ? held.has(k) : held === k
  }

  add(name: string): void {
    if (this.has(name)) return
    const at = splitAt(name)
    if (at === NOT_IDENTIFIER) this.addOther(name)
    else if (at === NO_SUFFIX) this.addBare(name)
    else {
      const k = suffixValue(name, at)
      if (k === NON_CANONICAL) this.addOther(name)
      else this.addSuffix(name.slice(0, at), k)
    }
  }

  /** @internal Adds `name`, known to be unused and to have no `_digits` suffix. */
  addBare(name: string): void {
    this.#size++
    this.#bare.add(name)
  }

  /** @internal Adds `name`, known to be unused and to be no `${base}_${k}` with a canonical k. */
  addOther(name: string): void {
    this.#size++
    this.#other.add(name)
  }

  /** @internal Adds `${base}_${k}` (k canonical), known to be unused. */
  addSuffix(base: string, k: Suffix): void {
    this.#size++
    const held = this.#bases.get(base)
    if (held === undefined) return void this.#bases.set(base, k)
    let suffixes: Suffixes
    if (typeof held !== "object") {
      // A second suffix: the base gets its set.
      suffixes = new Suffixes(new Uint32Array(4))
      suffixes.add(held)
      this.#bases.set(base, suffixes)
    } else suffixes = held
    suffixes.add(k)
  }

  /** @internal The smallest k >= start with `${base}_${k}` unused (fx's loop, with hints). */
  firstFree(base: string, start: Suffix): Suffix {
    const held = this.#bases.get(base)
    if (held === undefined) return start
    if (typeof held !== "object") return held === start ? succ(start) : start
    // Usually the first suffix tried is free: no hints needed.
    return held.has(start) ? held.firstFree(start) : start
  }

  /** A copy. */
  copy(): UsedNames {
    const c = new UsedNames()
    for (const n of this.#bare) c.#bare.add(n)
    for (const n of this.#other) c.#other.add(n)
    for (const [base, held] of this.#bases) c.#bases.set(base, typeof held === "object" ? held.copy() : held)
    c.#size = this.#size
    return c
  }
}

// fx's NAME_RE is `^([a-zA-Z_][0-9a-zA-Z_]*?)(?:_(\d+))?$` (see splitAt); `[^0-9a-zA-Z_]+` runs become one "_".
const ILLEGAL_CHARS = /[^0-9a-zA-Z_]+/g

/**
 * fx's `_illegal_names`: Python's keywords, every name in `builtins` (3.12), and a few that generated code
 * uses. A candidate equal to one of them is suffixed, except `None` (fx stores `None` as its value, and the
 * check `_illegal_names[cand] is not obj` is false for `obj=None`).
 *
 * @since 0.1.0
 * @category models
 */
export const ILLEGAL_NAMES: ReadonlySet<string> = new Set(
  (
    "ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError " +
    "BrokenPipeError BufferError BytesWarning ChildProcessError ConnectionAbortedError ConnectionError " +
    "ConnectionRefusedError ConnectionResetError DeprecationWarning EOFError Ellipsis EncodingWarning " +
    "EnvironmentError Exception ExceptionGroup False FileExistsError FileNotFoundError FloatingPointError " +
    "FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError IndexError InterruptedError " +
    "IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError ModuleNotFoundError NameError " +
    "NoneType NotADirectoryError NotImplemented NotImplementedError OSError OverflowError " +
    "PendingDeprecationWarning PermissionError ProcessLookupError RecursionError ReferenceError ResourceWarning " +
    "RuntimeError RuntimeWarning StopAsyncIteration StopIteration SyntaxError SyntaxWarning SystemError " +
    "SystemExit TabError TimeoutError True TypeError UnboundLocalError UnicodeDecodeError UnicodeEncodeError " +
    "UnicodeError UnicodeTranslateError UnicodeWarning UserWarning ValueError Warning ZeroDivisionError " +
    "__build_class__ __debug__ __doc__ __import__ __loader__ __name__ __package__ __spec__ abs aiter all and " +
    "anext any as ascii assert async await bin bool break breakpoint bytearray bytes callable chr class " +
    "classmethod compile complex continue copyright credits def del delattr device dict dir divmod elif else " +
    "enumerate eval except exec exit filter finally float for format from frozenset fx_pytree getattr global " +
    "globals hasattr hash help hex id if import in inf input int is isinstance issubclass iter lambda len " +
    "license list locals map max memoryview min nan next nonlocal not object oct open or ord pass pow print " +
    "property pytree quit raise range repr return reversed round set setattr slice sorted staticmethod str sum " +
    "super torch try tuple type vars while with yield zip"
  ).split(" ")
)

// ===== Constructors =====

/**
 * An empty namespace.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Namespace => ({ used: new UsedNames(), baseCount: new Map() })

/**
 * Whether a name is taken.
 *
 * @since 0.1.0
 * @category getters
 */
export const has = (ns: Namespace, name: string): boolean => ns.used.has(name)

// ===== Mutations =====

/**
 * Creates a unique name from a candidate and marks it used: `_Namespace.create_name(candidate, None)`.
 *
 * **Gotchas** (all fx's): the count is looked up by the *whole* candidate but stored by its base, so
 * `add, add, add_5, add, add_5` gives `add, add_1, add_5, add_6, add_2`; `x_01` keeps its text.
 *
 * @since 0.1.0
 * @category mutations
 */
export const createName = (ns: Namespace, candidate: string): string => {
  const d = derive(ns, candidate)
  if (d.kind === NO_SUFFIX) ns.used.addBare(d.name)
  else if (d.kind === NON_CANONICAL) ns.used.addOther(d.name)
  else ns.used.addSuffix(d.base, d.num)
  setBaseCount(ns, d.base, d.num)
  return d.name
}

// fx's `_base_count[base] = num`. An absent count reads as 0: a first bare name (most placeholders and
// lifted inputs are one of a kind) adds no entry. A count that goes down to 0 must be written.
const setBaseCount = (ns: Namespace, base: string, num: Suffix): void => {
  if (num !== 0 || ns.baseCount.has(base)) ns.baseCount.set(base, num)
}

/**
 * Takes a name exactly as given, for names fixed by a file: when fx would derive the same name from it,
 * exactly as {@link createName} (so later names follow as in fx); otherwise (a name fx would have changed,
 * such as `input`) it is only marked used, as torch's deserializer's forced names are. Returns false,
 * changing nothing, when the name is already used.
 *
 * @since 0.1.0
 * @category mutations
 */
export const takeExact = (ns: Namespace, name: string): boolean => {
  if (ns.used.has(name)) return false
  const d = derive(ns, name)
  ns.used.add(name)
  if (d.name === name) setBaseCount(ns, d.base, d.num)
  return true
}

// NAME_RE without the regex or any allocation (it is on the path of every node created). `splitAt` gives
// NOT_IDENTIFIER, NO_SUFFIX, or the index of the "_" that starts the `_digits` suffix: for an identifier,
// the last "_" when only digits follow it and the base before it is not empty (the regex's non-greedy base).
const NOT_IDENTIFIER = -2
const NO_SUFFIX = -1
// `suffixValue` of a suffix not spelled canonically (`x_07` is not `${"x"}_${7}`).
const NON_CANONICAL = -3

const splitAt = (cand: string): number => {
  const n = cand.length
  if (n === 0) return NOT_IDENTIFIER
  const c0 = cand.charCodeAt(0)
  if (!(c0 === 95 || (c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122))) return NOT_IDENTIFIER
  let lastUnderscore = -1
  let digitsSince = true
  for (let i = 1; i < n; i++) {
    const c = cand.charCodeAt(i)
    if (c === 95) {
      lastUnderscore = i
      digitsSince = true
    } else if (c >= 48 && c <= 57) {
      // a digit keeps the suffix numeric
    } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      digitsSince = false
    } else return NOT_IDENTIFIER
  }
  return lastUnderscore > 0 && lastUnderscore < n - 1 && digitsSince ? lastUnderscore : NO_SUFFIX
}

// The value of the digits after the "_" at `at`, or NON_CANONICAL.
const suffixValue = (cand: string, at: number): Suffix => {
  const n = cand.length
  if (n - at - 1 > 1 && cand.charCodeAt(at + 1) === 48) return NON_CANONICAL
  if (n - at - 1 > 15) return valueOf(cand.slice(at + 1))
  let v = 0
  for (let i = at + 1; i < n; i++) v = v * 10 + (cand.charCodeAt(i) - 48)
  return v
}

// What `derive` found: the name, the base and count fx records, and how the name is stored in `UsedNames`
// (NO_SUFFIX, NON_CANONICAL, or a suffix whose value is `num`). One record, reused: `derive` runs for every
// node created, and its result is read before the next call.
interface Derived {
  name: string
  base: string
  num: Suffix
  kind: Suffix
}
const derived: Derived = { name: "", base: "", num: 0, kind: NO_SUFFIX }

// The pure part of `create_name`: the name it would give, and the base count it would record.
const derive = (ns: Namespace, candidate: string): Derived => {
  let cand = candidate
  let at = splitAt(cand)
  if (at === NOT_IDENTIFIER) {
    cand = cand.replace(ILLEGAL_CHARS, "_")
    if (cand === "") cand = "_unnamed"
    if (cand[0]! >= "0" && cand[0]! <= "9") cand = `_${cand}`
    at = splitAt(cand)
  }
  const base = at === NO_SUFFIX ? cand : cand.slice(0, at)
  const k = at === NO_SUFFIX ? NO_SUFFIX : suffixValue(cand, at)
  const taken = at === NO_SUFFIX
    ? ns.used.hasBare(cand)
    : k === NON_CANONICAL ? ns.used.hasOther(cand) : ns.used.hasSuffix(base, k)
  let num: Suffix
  let kind = k
  let renamed = false
  if (at === NO_SUFFIX || taken) {
    num = ns.baseCount.get(cand) ?? 0
    if (ILLEGAL_NAMES.has(cand)) {
      num = succ(num)
      cand = `${base}_${num}`
      kind = num
      renamed = true
    }
  } else {
    num = k === NON_CANONICAL ? valueOf(cand.slice(at + 1)) : k
  }
  // fx's `while cand in used`: `taken` answers for `cand`, unless an illegal name was just suffixed.
  if (renamed ? ns.used.hasSuffix(base, num) : taken) {
    num = ns.used.firstFree(base, succ(num))
    cand = `${base}_${num}`
    kind = num
  }
  derived.name = cand
  derived.base = base
  derived.num = num
  derived.kind = kind
  return derived
}

/**
 * Marks a name used without deriving anything from it (for names that a loaded graph fixes).
 *
 * @since 0.1.0
 * @category mutations
 */
export const reserve = (ns: Namespace, name: string): void => {
  ns.used.add(name)
}

/**
 * A copy of a namespace, so that a copied graph keeps handing out the names its original would.
 *
 * @since 0.1.0
 * @category constructors
 */
export const copy = (ns: Namespace): Namespace => ({
  used: ns.used.copy(),
  baseCount: new Map(ns.baseCount)
})

// ===== Getters =====

/**
 * The name candidate fx derives from a target when no name is given (`Graph._target_to_str`): for a
 * callable, its `__name__`; for a string, the string with `__x__` stripped to `x`; then snake case.
 *
 * Targets here are the strings torch.export writes, so a callable's `__name__` is recovered from them:
 * `torch.ops.aten.add.Tensor` is `add.Tensor` (an OpOverload's name), `_operator.getitem` is `getitem`.
 *
 * @since 0.1.0
 * @category getters
 */
export const candidateFor = (op: string, target: string): string => {
  let s: string
  if (op === "call_function") {
    // A handful of function targets recur in every graph (getitem, the engine call): derived once each.
    const known = functionCandidates.get(target)
    if (known !== undefined) return known
    const parts = target.split(".")
    s = target.startsWith("torch.ops.") && parts.length >= 4 ? parts.slice(3).join(".") : parts[parts.length - 1]!
    const candidate = snakeCase(s)
    if (functionCandidates.size < MAX_FUNCTION_CANDIDATES) functionCandidates.set(target, candidate)
    return candidate
  } else {
    // `_is_magic`: Python's `"___"[2:-2]` is the empty string, and JavaScript's slice(2, -2) agrees.
    s = target.startsWith("__") && target.endsWith("__") ? target.slice(2, -2) : target
  }
  return snakeCase(s)
}

/**
 * fx's `_snake_case`: an underscore before every capital that follows a lower-case letter, then lower case.
 *
 * @since 0.1.0
 * @category getters
 */
export const snakeCase = (s: string): string => (HAS_CAPITAL.test(s) ? s.replace(/(?<=[a-z])([A-Z])/g, "_$1").toLowerCase() : s)

// Without a capital letter (or any non-ASCII letter, which lower-casing may change), snake case is the
// identity, as for most targets: no regex replacement, no new string.
const HAS_CAPITAL = /[A-Z\u0080-\uffff]/

// `candidateFor` of call_function targets, bounded: targets are operator names, not data.
const functionCandidates = new Map<string, string>()
const MAX_FUNCTION_CANDIDATES = 4096
