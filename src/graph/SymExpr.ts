/**
 * Symbolic size expressions as sympy holds them for torch: one tree, read from and printed back to both of
 * sympy's printings of it, exactly as sympy (with torch's functions, `torch/utils/_sympy/functions.py`)
 * prints them:
 *
 * - `str(e)`, the text trtx's IR holds (`s77`, `2*s0 + 1`, `(s0//2)`, `Eq(Mod(s0, 2), 0)`);
 * - `sympy.srepr(e)`, what torch.export writes as a size's `expr_str` (`serialize_sym_int`):
 *   `Add(Mul(Integer(2), Symbol('s0', positive=True, integer=True)), Integer(1))`.
 *
 * This module holds the tree and prints it; `SymExprParser.ts` reads both forms into it.
 *
 * Rules:
 *
 * 1. The tree is sympy's: {@link SymExpr}'s `Add` terms and `Mul` factors are in the order `srepr` prints
 *    them (`as_ordered_terms`, `as_ordered_factors`). `str` prints them in that order too, so a parser that
 *    keeps the written order and a printer that prints in tree order round-trip without sympy's sort. Two
 *    exceptions use sympy's `default_sort_key`: a product with a symbolic denominator (`s1/s0` is
 *    `Mul(Pow(s0, -1), s1)`: numerator and denominator are merged back by it), and `Max`/`Min`, whose
 *    arguments sympy stores `ordered` (node count first) but `str` prints sorted by it alone.
 * 2. Signs are sympy's: `a - 2*b` is `Add(a, Mul(Integer(-1), Integer(2), b))`, `s0 - 1` is
 *    `Add(s0, Integer(-1))`, `-s0/2` is `Mul(Integer(-1), Rational(1, 2), s0)` (srepr splits a negative
 *    coefficient other than -1 into `Integer(-1)` and its magnitude, and the tree keeps that split).
 * 3. {@link print} is sympy 1.13+'s `StrPrinter` (torch 2.11 requires sympy >= 1.13.3): its precedences, with
 *    torch's `precedence` attributes (35 for `FloorDiv`, `Mod`, `PythonMod`, `ModularIndexing`, `Where`,
 *    `IntTrueDiv`, `FloatTrueDiv`; 50 `PowByNatural`; 60 `FloatPow`; 10 `Identity`), so `2*((s0//2))`,
 *    `(Mod(s0, 3)) + 1`. `FloorDiv` prints `(a//b)` (its `_sympystr`); every other function `Name(a, b)`
 *    (rule 4 for `Identity`, torch's other `_sympystr`); `Pow(x, 1/2)` prints `sqrt(x)`; relationals
 *    `u0 >= 0` but `Eq(a, b)`, `Ne(a, b)`.
 * 4. Where `str` is ambiguous, trtx's text is not: `CleanDiv` (which inherits `FloorDiv`'s `(a//b)`) and
 *    `Identity` (whose `_sympystr` prints `Identity(x)` as `(x)`, which reads back as `x`) print in call
 *    form, `CleanDiv(s0, 2)`, `Identity(s0)`, at the same precedence. These are the only places where
 *    {@link print} differs from `str`.
 * 5. {@link printSrepr} is `srepr`; `printSrepr(parseSrepr(x).expr, ...)` gives back `x` for every `x` sympy
 *    prints, and `printSrepr(parse(str(e)))` gives `srepr(e)` (floats aside: `str` prints 15 digits, which may
 *    not identify a double).
 * 6. A function trtx does not know parses and prints generically as `Name(a, ...)` in both forms (and has no
 *    value: `SymValue.evaluate`, which gives each expression's value at its symbols' values, lives beside).
 *
 * The module is pure and allocation-light: parsing is one left-to-right pass over character codes, a bare
 * symbol name ({@link isSymbol}) builds no parser, and nothing is cached across calls.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ratio } from "./SymValue.ts"

// ===== Models =====

/**
 * A symbolic expression, as sympy's tree. `Integer` and `Rational` are exact (`q > 1`, reduced); a `Float`
 * keeps the digits and precision `srepr` prints (`'0.10000000000000001'`, 53); `Mul` factors are in `srepr`
 * order, a negative coefficient other than -1 split into `Integer(-1)` and its magnitude; `Apply` is any
 * other function, by its sympy class name, relationals (`Equality`, `StrictLessThan`, ...) and `And`, `Or`,
 * `Not` included; `Constant` is one of sympy's (or torch's) infinities.
 * @since 0.1.0 @category models
 */
export type SymExpr =
  | { readonly _tag: "Integer"; readonly value: bigint }
  | { readonly _tag: "Rational"; readonly p: bigint; readonly q: bigint }
  | { readonly _tag: "Float"; readonly text: string; readonly precision: number }
  | { readonly _tag: "Symbol"; readonly name: string }
  | { readonly _tag: "Add"; readonly terms: ReadonlyArray<SymExpr> }
  | { readonly _tag: "Mul"; readonly factors: ReadonlyArray<SymExpr> }
  | { readonly _tag: "Pow"; readonly base: SymExpr; readonly exp: SymExpr }
  | { readonly _tag: "Apply"; readonly name: string; readonly args: ReadonlyArray<SymExpr> }
  | { readonly _tag: "Boolean"; readonly value: boolean }
  | { readonly _tag: "Constant"; readonly name: "oo" | "-oo" | "zoo" | "nan" | "int_oo" | "-int_oo" }

/**
 * A symbol's sympy assumptions in the order `srepr` prints them: `[["positive", true], ["integer", true]]`.
 * @since 0.1.0 @category models
 */
export type Assumptions = ReadonlyArray<readonly [string, boolean]>

/** What {@link parseSrepr} reads: the tree and each symbol's assumptions. @since 0.1.0 @category models */
export interface Parsed {
  readonly expr: SymExpr
  readonly assumptions: ReadonlyMap<string, Assumptions>
}

type Number_ = Extract<SymExpr, { readonly _tag: "Integer" | "Rational" | "Float" }>
/** @internal For `SymExprParser.ts`. */
export type Constant = Extract<SymExpr, { readonly _tag: "Constant" }>["name"]

// ===== Errors =====

/**
 * Text that is not an expression, located at `offset` in `text`.
 * @since 0.1.0 @category errors
 */
export class SymExprError extends Schema.TaggedError<SymExprError>()("SymExprError", {
  text: Schema.String,
  offset: Schema.Int,
  detail: Schema.String
}) {
  /** `at offset: detail in text`, on one line (see `OpSchemaError`: the caret is drawn by who shows the text). */
  override get message(): string {
    return `at ${this.offset}: ${this.detail} in ${this.text}`
  }
}

// ===== Constructors =====

/** An integer. @since 0.1.0 @category constructors */
export const integer = (value: bigint | number): SymExpr => ({ _tag: "Integer", value: BigInt(value) })

/** A symbol. @since 0.1.0 @category constructors */
export const symbol = (name: string): SymExpr => ({ _tag: "Symbol", name })

/** @internal For `SymExprParser.ts`. */
export const MINUS_ONE: SymExpr = { _tag: "Integer", value: -1n }
const ONE: SymExpr = { _tag: "Integer", value: 1n }
/** @internal For `SymExprParser.ts`. */
export const HALF: SymExpr = { _tag: "Rational", p: 1n, q: 2n }

/**
 * torch's assumptions for a symbol by its prefix: `s<N>` (a backed size) positive and integer, `u<N>` (an
 * unbacked one) integer, any other none.
 * @since 0.1.0 @category constructors
 */
export const defaultAssumptions = (symbol: string): Assumptions =>
  isIndexed(symbol, "s") ? POSITIVE_INTEGER : isIndexed(symbol, "u") ? INTEGER : NONE

const POSITIVE_INTEGER: Assumptions = [["positive", true], ["integer", true]]
const INTEGER: Assumptions = [["integer", true]]
const NONE: Assumptions = []

const isIndexed = (name: string, prefix: string) => {
  if (name.length <= prefix.length || !name.startsWith(prefix)) return false
  for (let i = prefix.length; i < name.length; i++) if (!isDigit(name.charCodeAt(i))) return false
  return true
}

// ===== Tables =====

/** sympy's `PRECEDENCE` (printing/precedence.py). */
const P = {
  Or: 20,
  And: 30,
  Relational: 35,
  BitwiseOr: 36,
  BitwiseXor: 37,
  BitwiseAnd: 38,
  Add: 40,
  Mul: 50,
  Pow: 60,
  Func: 70,
  Not: 100,
  Atom: 1000
}

/**
 * torch's functions (torch 2.11 `torch/utils/_sympy/functions.py`): the `precedence` attribute where the class
 * sets one, and whether its arity is fixed (sympy's `class_key` sorts those after variadic ones).
 */
const FUNCTIONS: ReadonlyMap<string, { readonly precedence?: number; readonly variadic?: true }> = new Map([
  ["FloorDiv", { precedence: 35 }],
  ["CleanDiv", { precedence: 35 }],
  ["ModularIndexing", { precedence: 35 }],
  ["Where", { precedence: 35 }],
  ["PythonMod", { precedence: 35 }],
  ["Mod", { precedence: 35 }],
  ["FloatTrueDiv", { precedence: 35 }],
  ["IntTrueDiv", { precedence: 35 }],
  ["PowByNatural", { precedence: 50 }],
  ["FloatPow", { precedence: 60 }],
  ["Identity", { precedence: 10, variadic: true }],
  ["BitwiseFn_bitwise_and", { precedence: P.BitwiseAnd }],
  ["BitwiseFn_bitwise_or", { precedence: P.BitwiseOr }],
  ["BitwiseFn_bitwise_xor", { precedence: P.BitwiseXor }],
  ["IsNonOverlappingAndDenseIndicator", { variadic: true }],
  ["CeilDiv", { variadic: true }]
])

/** Relationals printed as infix operators, by sympy class. */
const INFIX: ReadonlyMap<string, string> = new Map([
  ["GreaterThan", ">="],
  ["StrictGreaterThan", ">"],
  ["LessThan", "<="],
  ["StrictLessThan", "<"]
])
/** The class of each infix operator. */
/** @internal For `SymExprParser.ts`. */
export const INFIX_CLASS: ReadonlyMap<string, string> = new Map([...INFIX].map(([k, v]) => [v, k]))
/** Relationals printed in call form. */
const CALL_FORM: ReadonlyMap<string, string> = new Map([["Equality", "Eq"], ["Unequality", "Ne"]])
/** sympy's short names, accepted in call form. */
/** @internal For `SymExprParser.ts`. */
export const ALIASES: ReadonlyMap<string, string> = new Map([
  ["Eq", "Equality"],
  ["Ne", "Unequality"],
  ["Ge", "GreaterThan"],
  ["Gt", "StrictGreaterThan"],
  ["Le", "LessThan"],
  ["Lt", "StrictLessThan"]
])
/** Classes that are not sympy `Function`s (`class_key` (5, 0, name), no `Func` precedence). */
const BASIC = new Set(["Max", "Min", "And", "Or", "Not", ...INFIX.keys(), ...CALL_FORM.keys()])
/** @internal For `SymExprParser.ts`. */
export const CONSTANTS: ReadonlySet<string> = new Set(["oo", "zoo", "nan", "int_oo"])

// ===== Guards =====

/** @internal For `SymExprParser.ts`. */
export const isDigit = (c: number) => c >= 48 && c <= 57
/** @internal For `SymExprParser.ts`. */
export const isIdentStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
/** @internal For `SymExprParser.ts`. */
export const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c)

/**
 * Whether the text is a bare symbol name (`s77`, `u0`): the common case, recognised without building a
 * parser. The names of constants and booleans (`oo`, `True`) are not symbols.
 * @since 0.1.0 @category guards
 */
export const isSymbol = (text: string): boolean => {
  if (text.length === 0 || !isIdentStart(text.charCodeAt(0))) return false
  for (let i = 1; i < text.length; i++) if (!isIdentPart(text.charCodeAt(i))) return false
  return !CONSTANTS.has(text) && text !== "True" && text !== "False"
}

/** @internal For `SymExprParser.ts`. */
export const isNumber = (e: SymExpr): e is Number_ => e._tag === "Integer" || e._tag === "Rational" || e._tag === "Float"
const isNegative = (e: SymExpr): boolean =>
  e._tag === "Integer" ? e.value < 0n : e._tag === "Rational" ? e.p < 0n : e._tag === "Float" && e.text.startsWith("-")
const isInteger = (e: SymExpr, v: bigint) => e._tag === "Integer" && e.value === v

// ===== Numbers =====

/** An exact rational or a double: a `Mul`'s coefficient while it is built. */
/** @internal For `SymExprParser.ts`. */
export type Coefficient = { readonly p: bigint; readonly q: bigint } | number

/** @internal For `SymExprParser.ts`. */
export const coefficientOf = (e: Number_): Coefficient =>
  e._tag === "Integer" ? { p: e.value, q: 1n } : e._tag === "Rational" ? { p: e.p, q: e.q } : Number(e.text)
const toDouble = (c: Coefficient) => (typeof c === "number" ? c : Number(c.p) / Number(c.q))
/** @internal For `SymExprParser.ts`. */
export const times = (a: Coefficient, b: Coefficient): Coefficient =>
  typeof a === "number" || typeof b === "number" ? toDouble(a) * toDouble(b) : ratio(a.p * b.p, a.q * b.q)
/** @internal For `SymExprParser.ts`. */
export const over = (a: Coefficient, b: Coefficient): Coefficient =>
  typeof a === "number" || typeof b === "number" ? toDouble(a) / toDouble(b) : ratio(a.p * b.q, a.q * b.p)
/** @internal For `SymExprParser.ts`. */
export const numberOf = (c: Coefficient): Number_ =>
  typeof c === "number"
    ? { _tag: "Float", text: formatFloat(c, 17, true), precision: 53 }
    : c.q === 1n
    ? { _tag: "Integer", value: c.p }
    : { _tag: "Rational", p: c.p, q: c.q }

const negateNumber = (e: Number_): Number_ =>
  e._tag === "Integer"
    ? { _tag: "Integer", value: -e.value }
    : e._tag === "Rational"
    ? { _tag: "Rational", p: -e.p, q: e.q }
    : { _tag: "Float", text: e.text.startsWith("-") ? e.text.slice(1) : `-${e.text}`, precision: e.precision }

/**
 * A double as mpmath's `to_str` prints it with `dps` significant digits (sympy's `Float` printing: 17 for
 * `srepr`, 15 for `str`); `strip` drops trailing zeros (sympy strips them except at the top level of `str`).
 */
/** @internal For `SymExprParser.ts`. */
export const formatFloat = (value: number, dps: number, strip: boolean): string => {
  if (value === 0) return "0.0"
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf"
  const sign = value < 0 ? "-" : ""
  // value = man * 2**exp with man odd (mpmath's normalised mpf).
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, Math.abs(value))
  const bits = view.getBigUint64(0)
  const biased = Number(bits >> 52n)
  let man = bits & 0xfffffffffffffn
  let exp = biased - 1075
  if (biased === 0) exp = -1074
  else man |= 1n << 52n
  while ((man & 1n) === 0n) {
    man >>= 1n
    exp += 1
  }
  const bc = man.toString(2).length
  const log2of10 = Math.log(10) / Math.log(2)
  const bitprec = Math.trunc(dps * log2of10) + 10
  const fixprec = Math.max(bitprec - exp - bc, 0)
  const fixdps = Math.trunc(fixprec / log2of10 + 0.5)
  const offset = exp + fixprec
  const fixed = offset >= 0 ? man << BigInt(offset) : man >> BigInt(-offset)
  let digits = ((fixed * 10n ** BigInt(fixdps)) >> BigInt(fixprec)).toString()
  let exponent = digits.length - fixdps - 1
  if (digits.length > dps && "56789".includes(digits[dps]!)) {
    digits = digits.slice(0, dps)
    let i = dps - 1
    while (i >= 0 && digits[i] === "9") i--
    if (i >= 0) {
      digits = digits.slice(0, i) + String(Number(digits[i]) + 1) + "0".repeat(dps - i - 1)
    } else {
      digits = "1" + "0".repeat(dps - 1)
      exponent += 1
    }
  } else {
    digits = digits.slice(0, dps)
  }
  let split = 1
  if (Math.min(-Math.trunc(dps / 3), -5) < exponent && exponent < dps) {
    if (exponent < 0) {
      digits = "0".repeat(-exponent) + digits
    } else {
      split = exponent + 1
      if (split > dps) digits += "0".repeat(split - dps)
    }
    exponent = 0
  }
  digits = `${digits.slice(0, split)}.${digits.slice(split)}`
  if (strip) {
    digits = digits.replace(/0+$/, "")
    if (digits.endsWith(".")) digits += "0"
  }
  return sign + digits + (exponent === 0 ? "" : exponent > 0 ? `e+${exponent}` : `e${exponent}`)
}

// ===== Building =====

/** The coefficient of a `Mul` (its first factor, with a split `-1, n` joined) and the other factors. */
const splitCoefficient = (factors: ReadonlyArray<SymExpr>): [Number_ | undefined, ReadonlyArray<SymExpr>] => {
  const [f0, f1] = factors
  if (f0 === undefined || !isNumber(f0)) return [undefined, factors]
  if (isInteger(f0, -1n) && f1 !== undefined && isNumber(f1) && !isNegative(f1) && !isInteger(f1, 1n)) {
    return [negateNumber(f1), factors.slice(2)]
  }
  return [f0, factors.slice(1)]
}

/** sympy's `Mul(c, *rest)` in `srepr` order: -1 before the magnitude of a negative coefficient (rule 2). */
/** @internal For `SymExprParser.ts`. */
export const mulOf = (c: Number_ | undefined, rest: ReadonlyArray<SymExpr>): SymExpr => {
  if (rest.length === 0) return c ?? ONE
  if (c === undefined || isInteger(c, 1n)) return rest.length === 1 ? rest[0]! : { _tag: "Mul", factors: rest }
  if (isInteger(c, -1n)) return { _tag: "Mul", factors: [MINUS_ONE, ...rest] }
  if (isNegative(c)) return { _tag: "Mul", factors: [MINUS_ONE, negateNumber(c), ...rest] }
  return { _tag: "Mul", factors: [c, ...rest] }
}

const NEGATED_CONSTANT: Readonly<Record<Constant, Constant>> = {
  oo: "-oo",
  "-oo": "oo",
  int_oo: "-int_oo",
  "-int_oo": "int_oo",
  zoo: "zoo",
  nan: "nan"
}

/** `-e` as sympy builds it. */
/** @internal For `SymExprParser.ts`. */
export const negate = (e: SymExpr): SymExpr => {
  if (isNumber(e)) return negateNumber(e)
  if (e._tag === "Constant") return { _tag: "Constant", name: NEGATED_CONSTANT[e.name] }
  if (e._tag === "Mul") {
    const [c, rest] = splitCoefficient(e.factors)
    return mulOf(c === undefined ? MINUS_ONE : negateNumber(c), rest)
  }
  return { _tag: "Mul", factors: [MINUS_ONE, e] }
}

// ===== Sort keys =====

/** A sympy sort key: nested tuples of strings and numbers, compared as Python compares tuples. */
type Key = ReadonlyArray<Key | string | number>

const compareKeys = (a: Key, b: Key): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i]!
    const y = b[i]!
    const c = typeof x === "object" && typeof y === "object"
      ? compareKeys(x, y)
      : x < y
      ? -1
      : x > y
      ? 1
      : 0
    if (c !== 0) return c
  }
  return a.length - b.length
}

const numericValue = (e: Number_): number =>
  e._tag === "Integer" ? Number(e.value) : e._tag === "Rational" ? Number(e.p) / Number(e.q) : Number(e.text)

const NUMBER_CLASS: Key = [1, 0, "Number"]
const ONE_KEY: Key = [NUMBER_CLASS, [0, []], [], 1]

const classKey = (e: SymExpr): Key => {
  switch (e._tag) {
    case "Integer":
    case "Rational":
    case "Float":
    case "Constant":
      return NUMBER_CLASS
    case "Symbol":
      return [2, 0, "Symbol"]
    case "Mul":
      return [3, 0, "Mul"]
    case "Add":
      return [3, 1, "Add"]
    case "Pow":
      return [3, 2, "Pow"]
    case "Boolean":
      return [5, 0, e.value ? "BooleanTrue" : "BooleanFalse"]
    case "Apply":
      return BASIC.has(e.name) ? [5, 0, e.name] : [4, FUNCTIONS.get(e.name)?.variadic ? 0 : 10000, e.name]
  }
}

/** sympy's `default_sort_key` (`Expr.sort_key`, `Basic.sort_key`), for ordering the factors of a product. */
const sortKey = (e: SymExpr): Key => {
  if (isNumber(e)) return [NUMBER_CLASS, [0, []], [], numericValue(e)]
  if (e._tag === "Constant") {
    const v = e.name === "oo" || e.name === "int_oo" ? Infinity : e.name.startsWith("-") ? -Infinity : NaN
    return [NUMBER_CLASS, [0, []], [], v]
  }
  if (e._tag === "Symbol" || e._tag === "Boolean") return [classKey(e), [1, [print(e)]], ONE_KEY, 1]
  if (e._tag === "Apply" && BASIC.has(e.name) && e.name !== "Max" && e.name !== "Min") {
    return [classKey(e), [e.args.length, e.args.map(sortKey)], ONE_KEY, 1]
  }
  let coeff = 1
  let expr: SymExpr = e
  if (e._tag === "Mul") {
    const [c, rest] = splitCoefficient(e.factors)
    if (c !== undefined) {
      coeff = numericValue(c)
      expr = rest.length === 1 ? rest[0]! : { _tag: "Mul", factors: rest }
    }
  }
  let exp: SymExpr = ONE
  if (expr._tag === "Pow") [expr, exp] = [expr.base, expr.exp]
  const args = expr._tag === "Symbol" || isNumber(expr) || expr._tag === "Constant" || expr._tag === "Boolean"
    ? [print(expr)]
    : (expr._tag === "Add" ? expr.terms : expr._tag === "Mul" ? expr.factors : expr._tag === "Apply" ? expr.args : [])
      .map(sortKey)
  return [classKey(expr), [args.length, args], sortKey(exp), coeff]
}

/** sympy's `_nodes`: the node count of the tree (a float counts half), coefficients joined. */
const nodeCount = (e: SymExpr): number => {
  switch (e._tag) {
    case "Float":
      return 0.5
    case "Add":
      return e.terms.reduce((n, t) => n + nodeCount(t), 1)
    case "Mul": {
      const [c, rest] = splitCoefficient(e.factors)
      return rest.reduce((n, t) => n + nodeCount(t), c === undefined ? 1 : 1 + nodeCount(c))
    }
    case "Pow":
      return 1 + nodeCount(e.base) + nodeCount(e.exp)
    case "Apply":
      return e.args.reduce((n, t) => n + nodeCount(t), 1)
    default:
      return 1
  }
}

const byKey = <K>(items: ReadonlyArray<SymExpr>, key: (e: SymExpr) => K, compare: (a: K, b: K) => number) =>
  items.map((e) => [key(e), e] as const).sort((a, b) => compare(a[0], b[0])).map((p) => p[1])

/** sympy's `sorted(args, key=default_sort_key)`. */
/** @internal For `SymExprParser.ts`. */
export const sorted = (args: ReadonlyArray<SymExpr>) => byKey(args, sortKey, compareKeys)

/** sympy's `ordered(args)`: by node count, then by sort key. */
/** @internal For `SymExprParser.ts`. */
export const ordered = (args: ReadonlyArray<SymExpr>) =>
  byKey(args, (e) => [nodeCount(e), sortKey(e)] as const, (a, b) => a[0] - b[0] || compareKeys(a[1], b[1]))

// ===== Printing =====

const applyPrecedence = (name: string): number => {
  if (CALL_FORM.has(name)) return P.Mul // sympy's PRECEDENCE_VALUES: Equality, Unequality
  if (INFIX.has(name)) return P.Relational
  if (name === "And") return P.And
  if (name === "Or") return P.Or
  if (name === "Not") return P.Not
  if (name === "Max" || name === "Min") return P.Atom
  return FUNCTIONS.get(name)?.precedence ?? P.Func
}

/** sympy 1.13+'s `precedence`: a product holding one of torch's low-precedence functions stays a product. */
const precedence = (e: SymExpr): number => {
  switch (e._tag) {
    case "Integer":
    case "Float":
      return isNegative(e) ? P.Add : P.Atom
    case "Rational":
      return e.p < 0n ? P.Add : P.Mul
    case "Constant":
      return e.name === "-oo" ? P.Add : P.Atom
    case "Symbol":
    case "Boolean":
      return P.Atom
    case "Add":
      return P.Add
    case "Mul":
      return e.factors.some(isLowFunction) || !couldExtractMinusSign(e) ? P.Mul : P.Add
    case "Pow":
      return P.Pow
    case "Apply":
      return applyPrecedence(e.name)
  }
}

/** One of torch's functions whose `precedence` is below a product's (sympy 1.13's `precedence_Mul`). */
const isLowFunction = (e: SymExpr) => e._tag === "Apply" && (FUNCTIONS.get(e.name)?.precedence ?? P.Mul) < P.Mul

const couldExtractMinusSign = (e: SymExpr): boolean =>
  isNumber(e) ? isNegative(e) : e._tag === "Mul" && e.factors[0] !== undefined && isNegative(e.factors[0])

const parenthesize = (item: SymExpr, level: number, strict = false): string => {
  const p = precedence(item)
  return p < level || (!strict && p <= level) ? `(${str(item)})` : str(item)
}

/** A power's exponent negated, as sympy's `apow` does (`-2*s1` gives `2*s1`, `-s1` gives `s1`). */
const positiveExponent = (exp: SymExpr): SymExpr => {
  if (isNumber(exp)) return negateNumber(exp)
  if (exp._tag === "Mul") {
    const [f0, ...rest] = exp.factors
    if (f0 !== undefined && isInteger(f0, -1n)) return rest.length === 1 ? rest[0]! : { _tag: "Mul", factors: rest }
    if (f0 !== undefined && isNumber(f0)) return { _tag: "Mul", factors: [negateNumber(f0), ...rest] }
  }
  return negate(exp)
}
const hasNegativeExponent = (f: SymExpr): f is Extract<SymExpr, { readonly _tag: "Pow" }> =>
  f._tag === "Pow" && couldExtractMinusSign(f.exp)

/** sympy's `StrPrinter._print_Mul`. */
const strMul = (e: Extract<SymExpr, { readonly _tag: "Mul" }>): string => {
  const prec = precedence(e)
  const [c, rest] = splitCoefficient(e.factors)
  const args = c === undefined ? rest : [c, ...rest]
  const unevaluated = (a: SymExpr) =>
    isNumber(a) || (a._tag === "Pow" && a.base._tag === "Integer" && a.exp._tag === "Integer")
  if (isInteger(args[0]!, 1n) || args.slice(1).some(unevaluated)) return strUnevaluatedMul(args, prec)
  const sign = c !== undefined && isNegative(c) ? "-" : ""
  const items = sign === "" ? args : isInteger(c!, -1n) ? rest : [negateNumber(c!), ...rest]
  const a: Array<SymExpr> = []
  const b: Array<SymExpr> = []
  const parenIn = new Set<number>()
  for (const item of items) {
    if (hasNegativeExponent(item)) {
      if (isInteger(item.exp, -1n)) {
        // sympy's #14160: a product or power under 1/... keeps its own parentheses.
        if ((item.base._tag === "Mul" || item.base._tag === "Pow") && argCount(item.base) !== 1) parenIn.add(b.length)
        b.push(item.base)
      } else {
        b.push({ _tag: "Pow", base: item.base, exp: positiveExponent(item.exp) })
      }
    } else if (item._tag === "Rational" || item._tag === "Integer") {
      const [p, q] = item._tag === "Integer" ? [item.value, 1n] : [item.p, item.q]
      if (p !== 1n) a.push({ _tag: "Integer", value: p })
      if (q !== 1n) b.push({ _tag: "Integer", value: q })
    } else {
      a.push(item)
    }
  }
  if (a.length === 0) a.push(ONE)
  const aStr = a.map((x) => parenthesize(x, prec)).join("*")
  const bStr = b.map((x, i) => parenIn.has(i) ? `(${parenthesize(x, prec)})` : parenthesize(x, prec))
  if (bStr.length === 0) return sign + aStr
  return sign + aStr + (bStr.length === 1 ? `/${bStr[0]}` : `/(${bStr.join("*")})`)
}

const argCount = (e: SymExpr) => (e._tag === "Mul" ? e.factors.length : e._tag === "Pow" ? 2 : 0)

/** sympy's printing of an unevaluated product (`Mul(2, 3, evaluate=False)`): factors as they are. */
const strUnevaluatedMul = (args: ReadonlyArray<SymExpr>, prec: number): string => {
  const n: Array<SymExpr> = []
  const d: Array<SymExpr> = []
  for (const a of args) {
    if (hasNegativeExponent(a)) {
      const e = positiveExponent(a.exp)
      d.push(isInteger(e, 1n) ? a.base : { _tag: "Pow", base: a.base, exp: e })
    } else {
      n.push(a)
    }
  }
  const nf = n.length > 0 && n[0]!._tag !== "Add" && couldExtractMinusSign(n[0]!) ? [str(n.shift()!)] : []
  nf.push(...n.map((a) => parenthesize(a, prec)))
  if (nf.length === 0) nf.push("1")
  const df = d.length > 1 && couldExtractMinusSign(d[0]!) ? [str(d.shift()!)] : []
  df.push(...d.map((a) => parenthesize(a, prec)))
  const top = nf.join("*")
  return df.length > 1 ? `${top}/(${df.join("*")})` : df.length === 1 ? `${top}/${df[0]}` : top
}

/** sympy's `StrPrinter._print_Add`. */
const strAdd = (e: Extract<SymExpr, { readonly _tag: "Add" }>): string => {
  let out = ""
  e.terms.forEach((term, i) => {
    let t = str(term)
    let sign = "+"
    if (t.startsWith("-") && term._tag !== "Add") {
      sign = "-"
      t = t.slice(1)
    }
    if (precedence(term) < P.Add || term._tag === "Add") t = `(${t})`
    out += i === 0 ? (sign === "-" ? `-${t}` : t) : ` ${sign} ${t}`
  })
  return out
}

const strPow = (e: Extract<SymExpr, { readonly _tag: "Pow" }>): string => {
  const { base, exp } = e
  if (exp._tag === "Rational" && exp.q === 2n && (exp.p === 1n || exp.p === -1n)) {
    return `${exp.p === 1n ? "" : "1/"}sqrt(${str(base)})`
  }
  if (isInteger(exp, -1n)) return `1/${parenthesize(base, P.Pow)}`
  return `${parenthesize(base, P.Pow)}**${parenthesize(exp, P.Pow)}`
}

const strApply = (e: Extract<SymExpr, { readonly _tag: "Apply" }>): string => {
  const { name, args } = e
  if (args.length === 2) {
    const [a, b] = args as [SymExpr, SymExpr]
    const eq = CALL_FORM.get(name)
    if (eq !== undefined) return `${eq}(${str(a)}, ${str(b)})`
    const op = INFIX.get(name)
    if (op !== undefined) return `${parenthesize(a, P.Relational)} ${op} ${parenthesize(b, P.Relational)}`
    if (name === "FloorDiv") return `(${parenthesize(a, P.Atom - 0.5)}//${parenthesize(b, P.Atom - 0.5)})`
  }
  if (args.length > 0 && (name === "And" || name === "Or")) {
    const [level, sep] = name === "And" ? [P.BitwiseAnd, " & "] : [P.BitwiseOr, " | "]
    return args.map((a) => parenthesize(a, level)).join(sep)
  }
  if (name === "Not" && args.length === 1) return `~${parenthesize(args[0]!, P.Not)}`
  // sympy's _print_LatticeOp: arguments by sort key.
  return `${name}(${(name === "Max" || name === "Min" ? sorted(args) : args).map(str).join(", ")})`
}

/** One node of `str` below the top level (where sympy strips a float's trailing zeros). */
const str = (e: SymExpr): string => {
  switch (e._tag) {
    case "Integer":
      return e.value.toString()
    case "Rational":
      return `${e.p}/${e.q}`
    case "Float":
      return e.precision === 53 ? formatFloat(Number(e.text), 15, true) : e.text
    case "Symbol":
      return e.name
    case "Boolean":
      return e.value ? "True" : "False"
    case "Constant":
      return e.name
    case "Add":
      return strAdd(e)
    case "Mul":
      return strMul(e)
    case "Pow":
      return strPow(e)
    case "Apply":
      return strApply(e)
  }
}

/**
 * The expression as sympy's `str` prints it (trtx's text form: see rule 4 for the two call forms).
 * @since 0.1.0 @category printing
 */
export const print = (e: SymExpr): string =>
  e._tag === "Float" && e.precision === 53 ? formatFloat(Number(e.text), 15, false) : str(e)

const quote = (s: string) => (s.includes("'") && !s.includes("\"") ? `"${s}"` : `'${s.replace(/[\\']/g, "\\$&")}'`)

/**
 * The expression as `sympy.srepr` prints it, each symbol with the assumptions `assumptionsOf` gives.
 * @since 0.1.0 @category printing
 */
export const printSrepr = (e: SymExpr, assumptionsOf: (symbol: string) => Assumptions = defaultAssumptions): string => {
  const go = (e: SymExpr): string => {
    switch (e._tag) {
      case "Integer":
        return `Integer(${e.value})`
      case "Rational":
        return `Rational(${e.p}, ${e.q})`
      case "Float":
        return `Float(${quote(e.text)}, precision=${e.precision})`
      case "Symbol": {
        const a = assumptionsOf(e.name)
        return `Symbol(${quote(e.name)}${a.map(([k, v]) => `, ${k}=${v ? "True" : "False"}`).join("")})`
      }
      case "Boolean":
        return e.value ? "true" : "false"
      case "Constant":
        return e.name
      case "Add":
        return `Add(${e.terms.map(go).join(", ")})`
      case "Mul":
        return `Mul(${e.factors.map(go).join(", ")})`
      case "Pow":
        return `Pow(${go(e.base)}, ${go(e.exp)})`
      case "Apply":
        return `${e.name}(${e.args.map(go).join(", ")})`
    }
  }
  return go(e)
}

// ===== Queries =====

const children = (e: SymExpr): ReadonlyArray<SymExpr> =>
  e._tag === "Add"
    ? e.terms
    : e._tag === "Mul"
    ? e.factors
    : e._tag === "Pow"
    ? [e.base, e.exp]
    : e._tag === "Apply"
    ? e.args
    : []

/**
 * The symbols of the expression, in order of first appearance in `srepr`.
 * @since 0.1.0 @category getters
 */
export const freeSymbols = (e: SymExpr): ReadonlyArray<string> => {
  if (e._tag === "Symbol") return [e.name]
  const seen = new Set<string>()
  const walk = (e: SymExpr): void => {
    if (e._tag === "Symbol") seen.add(e.name)
    else for (const c of children(e)) walk(c)
  }
  walk(e)
  return [...seen]
}
