/**
 * The values of symbolic expressions (`SymExpr`): an expression evaluated where its symbols have values (a
 * size's hint from its symbols' hints), and the value of a symbol solved from an affine expression's value.
 *
 * Rules:
 * 1. Arithmetic is exact: integers and rationals as bigints, a sympy `Float` as a double.
 * 2. torch's functions compute as torch defines them on integers (`torch/utils/_sympy/functions.py`):
 *    `FloorDiv` floors, torch's `Mod` is only defined for `p >= 0, q >= 1`, `PythonMod` takes the divisor's
 *    sign, `ModularIndexing` is `(x // d) % m`, `IntTrueDiv` and the float functions compute in doubles;
 *    relationals and boolean connectives give booleans. The value is `undefined` when a symbol has none, an
 *    argument is outside a function's domain, or the result is not an integer or a boolean.
 * 3. Evaluation is bottom-up, as sympy rebuilds a tree whose symbols are all replaced at once (`xreplace`):
 *    an undefined argument makes the whole undefined.
 *
 * @since 0.1.0
 */
import type { SymExpr } from "./SymExpr.ts"

// ===== Numbers =====

const gcd = (a: bigint, b: bigint): bigint => {
  if (a < 0n) a = -a
  if (b < 0n) b = -b
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}
/** @internal A reduced fraction with a positive denominator. */
export const ratio = (p: bigint, q: bigint): { p: bigint; q: bigint } => {
  if (q < 0n) [p, q] = [-p, -q]
  const g = gcd(p, q)
  return g > 1n ? { p: p / g, q: q / g } : { p, q }
}

// ===== Solving =====

/**
 * The one symbol of an affine expression `a*s + b` (rational `a`, `b`) and its value where the expression
 * equals `value`, when that value is an integer: `2*s0` at 8 gives `s0 = 4`. `undefined` for anything else.
 * @since 0.1.0 @category getters
 */
export const solveAffine = (
  e: SymExpr,
  value: bigint
): { readonly symbol: string; readonly value: bigint } | undefined => {
  let name: string | undefined
  const linear = (e: SymExpr): [{ p: bigint; q: bigint }, { p: bigint; q: bigint }] | undefined => {
    switch (e._tag) {
      case "Integer":
        return [{ p: 0n, q: 1n }, { p: e.value, q: 1n }]
      case "Rational":
        return [{ p: 0n, q: 1n }, { p: e.p, q: e.q }]
      case "Symbol":
        if (name !== undefined && name !== e.name) return undefined
        name = e.name
        return [{ p: 1n, q: 1n }, { p: 0n, q: 1n }]
      case "Add": {
        let a = { p: 0n, q: 1n }
        let b = { p: 0n, q: 1n }
        for (const t of e.terms) {
          const l = linear(t)
          if (l === undefined) return undefined
          a = ratio(a.p * l[0].q + l[0].p * a.q, a.q * l[0].q)
          b = ratio(b.p * l[1].q + l[1].p * b.q, b.q * l[1].q)
        }
        return [a, b]
      }
      case "Mul": {
        let c = { p: 1n, q: 1n }
        let l: ReturnType<typeof linear> = undefined
        for (const f of e.factors) {
          if (f._tag === "Integer" || f._tag === "Rational") {
            c = ratio(c.p * (f._tag === "Integer" ? f.value : f.p), c.q * (f._tag === "Integer" ? 1n : f.q))
          } else if (l === undefined) {
            l = linear(f)
            if (l === undefined) return undefined
          } else {
            return undefined
          }
        }
        if (l === undefined) return [{ p: 0n, q: 1n }, c]
        return [ratio(l[0].p * c.p, l[0].q * c.q), ratio(l[1].p * c.p, l[1].q * c.q)]
      }
      default:
        return undefined
    }
  }
  const l = linear(e)
  if (l === undefined || name === undefined || l[0].p === 0n) return undefined
  // s = (value - b) / a
  const [a, b] = l
  const s = ratio((value * b.q - b.p) * a.q, b.q * a.p)
  return s.q === 1n ? { symbol: name, value: s.p } : undefined
}

// ===== Evaluation =====

/** A value while evaluating: an integer, a non-integer rational, a double, or a boolean. */
type Value = bigint | { readonly n: bigint; readonly d: bigint } | number | boolean
type Exact = bigint | { readonly n: bigint; readonly d: bigint }

const exact = (n: bigint, d: bigint): Exact => {
  const r = ratio(n, d)
  return r.q === 1n ? r.p : { n: r.p, d: r.q }
}
const isExact = (v: Value | undefined): v is Exact => typeof v === "bigint" || typeof v === "object"
const isReal = (v: Value | undefined): v is Exact | number => isExact(v) || typeof v === "number"
const num = (v: Exact): bigint => (typeof v === "bigint" ? v : v.n)
const den = (v: Exact): bigint => (typeof v === "bigint" ? 1n : v.d)
const double = (v: Exact | number): number =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : Number(v.n) / Number(v.d)
/** Floor division of integers (Python's `//`). */
const fdiv = (a: bigint, b: bigint): bigint => {
  const q = a / b
  return (a % b !== 0n) && ((a < 0n) !== (b < 0n)) ? q - 1n : q
}
const floorOf = (v: Exact): bigint => fdiv(num(v), den(v))
const compare = (a: Exact | number, b: Exact | number): number => {
  if (typeof a === "number" || typeof b === "number") {
    const x = double(a)
    const y = double(b)
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN
  }
  const l = num(a) * den(b)
  const r = num(b) * den(a)
  return l < r ? -1 : l > r ? 1 : 0
}
const add = (a: Value | undefined, b: Value | undefined): Value | undefined => {
  if (typeof a === "bigint" && typeof b === "bigint") return a + b
  if (!isReal(a) || !isReal(b)) return undefined
  if (typeof a === "number" || typeof b === "number") return double(a) + double(b)
  return exact(num(a) * den(b) + num(b) * den(a), den(a) * den(b))
}
const mul = (a: Value | undefined, b: Value | undefined): Value | undefined => {
  if (typeof a === "bigint" && typeof b === "bigint") return a * b
  if (!isReal(a) || !isReal(b)) return undefined
  if (typeof a === "number" || typeof b === "number") return double(a) * double(b)
  return exact(num(a) * num(b), den(a) * den(b))
}
/** The exact k-th root of a non-negative integer, if it has one. */
const root = (x: bigint, k: bigint): bigint | undefined => {
  if (x < 2n || k === 1n) return x
  let lo = 0n
  let hi = 1n << (BigInt(x.toString(2).length) / k + 1n)
  while (lo < hi) {
    const mid = (lo + hi + 1n) >> 1n
    if (mid ** k <= x) lo = mid
    else hi = mid - 1n
  }
  return lo ** k === x ? lo : undefined
}
/** Exponents beyond this give no value (the result would not fit in memory, and no size is that large). */
const MAX_EXPONENT = 1n << 16n
const power = (b: Value | undefined, e: Value | undefined): Value | undefined => {
  if (!isReal(b) || !isReal(e)) return undefined
  if (typeof b === "number" || typeof e === "number") return Math.pow(double(b), double(e))
  if (typeof e === "bigint") {
    if (e > MAX_EXPONENT && compare(b, 1n) !== 0 && compare(b, 0n) !== 0 && compare(b, -1n) !== 0) return undefined
    if (e >= 0n) return exact(num(b) ** e, den(b) ** e)
    return num(b) === 0n ? undefined : exact(den(b) ** -e, num(b) ** -e)
  }
  // A rational exponent p/q: exact when both parts of b**p have an exact q-th root.
  if (num(b) < 0n) return undefined
  const p = e.n < 0n ? -e.n : e.n
  if (p > MAX_EXPONENT || (num(b) === 0n && e.n < 0n)) return undefined
  const n = root(num(b) ** p, e.d)
  const d = root(den(b) ** p, e.d)
  if (n === undefined || d === undefined) return undefined
  return e.n < 0n ? exact(d, n) : exact(n, d)
}
/** Python's `round` of a rational: to the nearest integer, ties to even. */
const roundHalfEven = (v: Exact): bigint => {
  const f = floorOf(v)
  const twice = compare(exact(num(v) * 2n - f * 2n * den(v), den(v)), 1n)
  return twice < 0 ? f : twice > 0 ? f + 1n : f % 2n === 0n ? f : f + 1n
}
const toInteger = (v: Value, how: "ceil" | "floor" | "trunc" | "round"): bigint | undefined => {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return undefined
    // Python's round(x, 0) rounds half to even.
    const r = how === "ceil" ? Math.ceil(v) : how === "floor" ? Math.floor(v) : how === "trunc" ? Math.trunc(v)
      : Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v)
    return BigInt(r)
  }
  if (!isExact(v)) return undefined
  if (how === "floor") return floorOf(v)
  if (how === "ceil") return -fdiv(-num(v), den(v))
  if (how === "trunc") return num(v) < 0n ? -floorOf(exact(-num(v), den(v))) : floorOf(v)
  return roundHalfEven(v)
}

const nonOverlappingAndDense = (sizes: ReadonlyArray<bigint>, strides: ReadonlyArray<bigint>): bigint => {
  if (sizes.length === 1) return strides[0] === 1n || sizes[0]! < 2n ? 1n : 0n
  // Python's sorted() by stride: stable.
  const order = sizes.map((_, i) => i)
    .sort((i, j) => (strides[i]! < strides[j]! ? -1 : strides[i]! > strides[j]! ? 1 : i - j))
  let expected = 1n
  for (const i of order) {
    if (sizes[i] === 1n) continue
    if (strides[i] !== expected) return 0n
    expected *= sizes[i]!
  }
  return 1n
}

const applyValue = (name: string, v: ReadonlyArray<Value>): Value | undefined => {
  const [a, b, c] = v
  const ints = v.every((x) => typeof x === "bigint")
  switch (name) {
    case "FloorDiv":
    case "CleanDiv":
      if (!isExact(a) || !isExact(b) || num(b) === 0n) return undefined
      return fdiv(num(a) * den(b), den(a) * num(b))
    case "CeilDiv":
      if (!isExact(a) || !isExact(b) || num(b) === 0n) return undefined
      return -fdiv(-num(a) * den(b), den(a) * num(b))
    case "ModularIndexing":
      // (x // d) % m
      if (v.length !== 3) return undefined
      if ((isReal(a) && compare(a, 0n) === 0) || (isReal(c) && compare(c, 1n) === 0)) return 0n
      if (!isExact(a) || !isExact(b) || num(b) === 0n) return undefined
      return mod(fdiv(num(a) * den(b), den(a) * num(b)), c)
    case "PythonMod":
      return mod(a, b)
    case "Mod":
      return isExact(a) && isExact(b) && num(a) >= 0n && compare(b, 1n) >= 0 ? mod(a, b) : undefined
    case "Max":
    case "Min":
      if (v.length === 0 || !v.every(isReal)) return undefined
      return (v as ReadonlyArray<Exact | number>)
        .reduce((m, x) => (compare(x, m) * (name === "Max" ? 1 : -1) > 0 ? x : m))
    case "Where":
      return v.length === 3 && typeof a === "boolean" ? (a ? b : c) : undefined
    case "CeilToInt":
      return v.length === 1 && isReal(a) ? toInteger(a, "ceil") : undefined
    case "FloorToInt":
      return v.length === 1 && isReal(a) ? toInteger(a, "floor") : undefined
    case "TruncToInt":
      return v.length === 1 && isReal(a) ? toInteger(a, "trunc") : undefined
    case "RoundToInt":
      return v.length === 1 && isReal(a) ? toInteger(a, "round") : undefined
    case "IntTrueDiv":
      // Python's int / int, correctly rounded (exactly so while both fit in a double).
      return isExact(a) && isExact(b) && num(b) !== 0n ? double(a) / double(b) : undefined
    case "FloatTrueDiv":
      return isReal(a) && isReal(b) && compare(b, 0n) !== 0 ? double(a) / double(b) : undefined
    case "FloatPow":
      return isReal(a) && isReal(b) ? Math.pow(double(a), double(b)) : undefined
    case "ToFloat":
      return typeof a === "bigint" ? Number(a) : undefined
    case "TruncToFloat":
      return isReal(a) ? Math.trunc(double(a)) : undefined
    case "PowByNatural":
      return ints && (b as bigint) >= 0n ? power(a, b) : undefined
    case "LShift":
    case "RShift":
      if (!ints || (b as bigint) < 0n || (b as bigint) > MAX_EXPONENT) return undefined
      return name === "LShift" ? (a as bigint) * 2n ** (b as bigint) : fdiv(a as bigint, 2n ** (b as bigint))
    case "IsNonOverlappingAndDenseIndicator":
      if (!ints || v.length === 0 || v.length % 2 !== 0) return undefined
      return nonOverlappingAndDense(v.slice(0, v.length / 2) as Array<bigint>, v.slice(v.length / 2) as Array<bigint>)
    case "Identity":
      return v.length === 1 ? a : undefined
    case "BitwiseFn_bitwise_and":
    case "BitwiseFn_bitwise_or":
    case "BitwiseFn_bitwise_xor": {
      const op = name.slice("BitwiseFn_bitwise_".length)
      if (typeof a === "boolean" && typeof b === "boolean") {
        return op === "and" ? a && b : op === "or" ? a || b : a !== b
      }
      // A boolean beside an integer counts as 1 or 0.
      const x = typeof a === "boolean" ? (a ? 1n : 0n) : a
      const y = typeof b === "boolean" ? (b ? 1n : 0n) : b
      if (typeof x !== "bigint" || typeof y !== "bigint") return undefined
      return op === "and" ? x & y : op === "or" ? x | y : x ^ y
    }
    case "OpaqueUnaryFn_sqrt":
      return isReal(a) ? Math.sqrt(double(a)) : undefined
    case "Equality":
    case "Unequality":
    case "GreaterThan":
    case "StrictGreaterThan":
    case "LessThan":
    case "StrictLessThan": {
      if (v.length !== 2) return undefined
      if (typeof a === "boolean" && typeof b === "boolean" && (name === "Equality" || name === "Unequality")) {
        return (a === b) === (name === "Equality")
      }
      if (!isReal(a) || !isReal(b)) return undefined
      const o = compare(a, b)
      if (Number.isNaN(o)) return undefined
      return name === "Equality" ? o === 0 : name === "Unequality" ? o !== 0 : name === "GreaterThan" ? o >= 0
        : name === "StrictGreaterThan" ? o > 0 : name === "LessThan" ? o <= 0 : o < 0
    }
    case "And":
    case "Or":
      if (!v.every((x) => typeof x === "boolean")) return undefined
      return name === "And" ? v.every((x) => x) : v.some((x) => x)
    case "Not":
      return typeof a === "boolean" && v.length === 1 ? !a : undefined
    default:
      return undefined
  }
}

/** Python's `p % q` on exact values: `p - q * floor(p / q)`, the sign of `q`. */
const mod = (p: Value | undefined, q: Value | undefined): Value | undefined => {
  if (!isExact(p) || !isExact(q) || num(q) === 0n) return undefined
  return add(p, mul(q, -fdiv(num(p) * den(q), den(p) * num(q))))
}

/**
 * The value of the expression where each symbol has the value `valueOf` gives: an integer or a boolean, or
 * `undefined` (a symbol without a value, an argument outside a function's domain, a division by zero, a
 * non-integer result). Functions follow torch's definitions (rule 2). Evaluation is bottom-up, as sympy
 * rebuilds a tree whose symbols are all replaced at once (`xreplace`): an undefined argument makes the whole
 * undefined, even in the untaken branch of a `Where` or beside a true argument of `Or`.
 * @since 0.1.0 @category getters
 */
export const evaluate = (
  e: SymExpr,
  valueOf: (symbol: string) => bigint | undefined
): bigint | boolean | undefined => {
  const go = (e: SymExpr): Value | undefined => {
    switch (e._tag) {
      case "Integer":
        return e.value
      case "Rational":
        return e.q === 0n ? undefined : exact(e.p, e.q)
      case "Float":
        return Number(e.text)
      case "Symbol":
        return valueOf(e.name)
      case "Boolean":
        return e.value
      case "Constant":
        return undefined
      case "Add": {
        let acc: Value | undefined = 0n
        for (const t of e.terms) if ((acc = add(acc, go(t))) === undefined) return undefined
        return acc
      }
      case "Mul": {
        let acc: Value | undefined = 1n
        for (const f of e.factors) if ((acc = mul(acc, go(f))) === undefined) return undefined
        return acc
      }
      case "Pow":
        return power(go(e.base), go(e.exp))
      case "Apply": {
        const args: Array<Value> = []
        for (const a of e.args) {
          const v = go(a)
          if (v === undefined) return undefined
          args.push(v)
        }
        return applyValue(e.name, args)
      }
    }
  }
  const v = go(e)
  return typeof v === "bigint" || typeof v === "boolean" ? v : undefined
}
