/**
 * Reading symbolic expressions: sympy's `str` form and its `srepr` form (as torch.export writes `expr_str`),
 * by recursive descent, to the `SymExpr` trees of `SymExpr.ts`; a fault is a
 * `SymExprError` at its offset. Printing, the other direction, is in `SymExpr.ts`.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import {
  ALIASES,
  type Assumptions,
  type Coefficient,
  coefficientOf,
  type Constant,
  CONSTANTS,
  formatFloat,
  HALF,
  INFIX_CLASS,
  isDigit,
  isIdentPart,
  isIdentStart,
  isNumber,
  isSymbol,
  MINUS_ONE,
  mulOf,
  negate,
  numberOf,
  ordered,
  over,
  type Parsed,
  sorted,
  type SymExpr,
  SymExprError,
  times
} from "./SymExpr.ts"

class Fail {
  readonly offset: number
  readonly detail: string
  constructor(offset: number, detail: string) {
    this.offset = offset
    this.detail = detail
  }
}

/** A recursive-descent reader over one text; one instance per parse. */
class Reader {
  readonly src: string
  pos = 0
  constructor(src: string) {
    this.src = src
  }
  ws(): number {
    const s = this.src
    while (this.pos < s.length && (s.charCodeAt(this.pos) === 32 || s.charCodeAt(this.pos) === 9)) this.pos++
    return this.pos
  }
  fail(detail: string, at = this.ws()): never {
    throw new Fail(at, detail)
  }
  describe(): string {
    return this.pos >= this.src.length ? "end of input" : JSON.stringify(this.src.slice(this.pos, this.pos + 8))
  }
  peek(s: string): boolean {
    this.ws()
    return this.src.startsWith(s, this.pos)
  }
  eat(s: string): boolean {
    if (!this.peek(s)) return false
    this.pos += s.length
    return true
  }
  expect(s: string): void {
    if (!this.eat(s)) this.fail(`expected '${s}', found ${this.describe()}`)
  }
  ident(): string | undefined {
    const s = this.src
    const start = this.ws()
    if (start >= s.length || !isIdentStart(s.charCodeAt(start))) return undefined
    let i = start + 1
    while (i < s.length && isIdentPart(s.charCodeAt(i))) i++
    this.pos = i
    return s.slice(start, i)
  }
  digits(): string {
    const s = this.src
    const start = this.pos
    while (this.pos < s.length && isDigit(s.charCodeAt(this.pos))) this.pos++
    return s.slice(start, this.pos)
  }
  /** A decimal integer, optionally signed. */
  int(): bigint {
    const start = this.ws()
    const minus = this.eat("-")
    this.ws()
    const d = this.digits()
    if (d.length === 0) this.fail(`expected an integer, found ${this.describe()}`, start)
    return minus ? -BigInt(d) : BigInt(d)
  }
  /** A Python string literal (`'s0'`), with backslash escapes. */
  string(): string {
    const s = this.src
    const quote = s[this.ws()]
    if (quote !== "'" && quote !== "\"") this.fail(`expected a string, found ${this.describe()}`)
    let escaped = false
    let i = this.pos + 1
    for (; i < s.length && s[i] !== quote; i++) {
      if (s[i] === "\\") {
        escaped = true
        i++
      }
    }
    if (i >= s.length) this.fail("unterminated string")
    const raw = s.slice(this.pos + 1, i)
    this.pos = i + 1
    return escaped ? raw.replace(/\\(.)/g, "$1") : raw
  }
  end(): void {
    if (this.ws() < this.src.length) this.fail(`unexpected ${this.describe()}`)
  }
}

/**
 * The `str` grammar (Python's precedences; sympy parenthesizes the rest):
 *
 * ```
 * or    := and ("|" and)*                 and := not ("&" not)*          not := "~" not | rel
 * rel   := sum [(">=" | ">" | "<=" | "<") sum]
 * sum   := term (("+" | "-") term)*       term := unary (("*" | "/") unary)*
 * unary := "-" unary | atom ["**" unary]
 * atom  := number | name | name "(" [or ("," or)*] ")" | "(" or ["//" or] ")"
 * ```
 */
class StrParser extends Reader {
  or(): SymExpr {
    const first = this.and()
    if (!this.peek("|")) return first
    const args = [first]
    while (this.eat("|")) args.push(this.and())
    return { _tag: "Apply", name: "Or", args }
  }
  and(): SymExpr {
    const first = this.not()
    if (!this.peek("&")) return first
    const args = [first]
    while (this.eat("&")) args.push(this.not())
    return { _tag: "Apply", name: "And", args }
  }
  not(): SymExpr {
    return this.eat("~") ? { _tag: "Apply", name: "Not", args: [this.not()] } : this.rel()
  }
  rel(): SymExpr {
    const lhs = this.sum()
    this.ws()
    const c = this.src[this.pos]
    if (c !== "<" && c !== ">") return lhs
    const op = this.src[this.pos + 1] === "=" ? `${c}=` : c
    this.pos += op.length
    return { _tag: "Apply", name: INFIX_CLASS.get(op)!, args: [lhs, this.sum()] }
  }
  sum(): SymExpr {
    const first = this.term()
    const terms = [first]
    for (;;) {
      if (this.eat("+")) terms.push(this.term())
      else if (this.eat("-")) terms.push(negate(this.term()))
      else break
    }
    return terms.length === 1 ? first : { _tag: "Add", terms }
  }
  /** A product: numbers fold into the coefficient, a denominator becomes a negative power (rules 1, 2). */
  term(): SymExpr {
    const first = this.unary()
    if (!this.peekMul()) return first
    let coeff: Coefficient = { p: 1n, q: 1n }
    const num: Array<SymExpr> = []
    const den: Array<SymExpr> = []
    const factor = (e: SymExpr, into: Array<SymExpr>, divide: boolean) => {
      for (const f of e._tag === "Mul" ? e.factors : [e]) {
        if (isNumber(f)) coeff = divide ? over(coeff, coefficientOf(f)) : times(coeff, coefficientOf(f))
        else into.push(divide ? reciprocal(f) : f)
      }
    }
    factor(first, num, false)
    while (this.peekMul()) {
      if (this.eat("*")) factor(this.unary(), num, false)
      else {
        this.pos += 1
        factor(this.unary(), den, true)
      }
    }
    const rest = num.length > 0 && den.length > 0 ? sorted([...num, ...den]) : [...num, ...den]
    return mulOf(numberOf(coeff), rest)
  }
  peekMul(): boolean {
    this.ws()
    const c = this.src[this.pos]
    const d = this.src[this.pos + 1]
    return (c === "*" && d !== "*") || (c === "/" && d !== "/")
  }
  unary(): SymExpr {
    if (this.eat("-")) return negate(this.unary())
    const base = this.atom()
    return this.eat("**") ? { _tag: "Pow", base, exp: this.unary() } : base
  }
  atom(): SymExpr {
    const start = this.ws()
    const c = this.src.charCodeAt(start)
    if (this.eat("(")) {
      const inner = this.or()
      if (this.eat("//")) {
        const divisor = this.or()
        this.expect(")")
        return { _tag: "Apply", name: "FloorDiv", args: [inner, divisor] }
      }
      this.expect(")")
      return inner
    }
    if (isDigit(c)) return this.number()
    const name = this.ident()
    if (name === undefined) return this.fail(`expected an expression, found ${this.describe()}`)
    if (!this.peek("(")) {
      if (name === "True" || name === "False") return { _tag: "Boolean", value: name === "True" }
      if (CONSTANTS.has(name)) return { _tag: "Constant", name: name as Constant }
      return { _tag: "Symbol", name }
    }
    this.pos += 1
    const args: Array<SymExpr> = []
    if (!this.eat(")")) {
      do {
        args.push(this.or())
      } while (this.eat(","))
      this.expect(")")
    }
    if (name === "sqrt") {
      if (args.length !== 1) this.fail("sqrt takes one argument", start)
      return { _tag: "Pow", base: args[0]!, exp: HALF }
    }
    // sympy stores Max/Min arguments in `ordered` order (node count, then sort key); `str` prints them by
    // sort key alone.
    if (name === "Max" || name === "Min") return { _tag: "Apply", name, args: ordered(args) }
    return { _tag: "Apply", name: ALIASES.get(name) ?? name, args }
  }
  number(): SymExpr {
    const s = this.src
    const start = this.pos
    this.digits()
    let float = false
    if (s[this.pos] === ".") {
      float = true
      this.pos++
      this.digits()
    }
    if (s[this.pos] === "e" || s[this.pos] === "E") {
      float = true
      this.pos++
      if (s[this.pos] === "+" || s[this.pos] === "-") this.pos++
      if (this.digits().length === 0) this.fail("expected an exponent")
    }
    const text = s.slice(start, this.pos)
    return float
      ? { _tag: "Float", text: formatFloat(Number(text), 17, true), precision: 53 }
      : { _tag: "Integer", value: BigInt(text) }
  }
}

/** `1/f` as a factor of a product: `Pow(b, -e)` (sympy's `apow`, reversed). */
const reciprocal = (f: SymExpr): SymExpr =>
  f._tag === "Pow" ? { _tag: "Pow", base: f.base, exp: negate(f.exp) } : { _tag: "Pow", base: f, exp: MINUS_ONE }

/** The `srepr` grammar: `Name(node, ...)`, with sympy's number and symbol leaves. */
class SreprParser extends Reader {
  readonly assumptions = new Map<string, Assumptions>()
  node(): SymExpr {
    const start = this.ws()
    if (this.eat("-")) {
      const name = this.ident()
      if (name !== "oo" && name !== "int_oo") this.fail("expected -oo or -int_oo", start)
      return { _tag: "Constant", name: `-${name}` }
    }
    const name = this.ident()
    if (name === undefined) return this.fail(`expected an expression, found ${this.describe()}`)
    if (name === "true" || name === "false") return { _tag: "Boolean", value: name === "true" }
    if (CONSTANTS.has(name) && !this.peek("(")) return { _tag: "Constant", name: name as Constant }
    this.expect("(")
    switch (name) {
      case "Integer": {
        const value = this.int()
        this.expect(")")
        return { _tag: "Integer", value }
      }
      case "Rational": {
        const p = this.int()
        this.expect(",")
        const q = this.int()
        this.expect(")")
        return { _tag: "Rational", p, q }
      }
      case "Float": {
        const text = this.string()
        this.expect(",")
        if (this.ident() !== "precision") this.fail("expected precision=")
        this.expect("=")
        const precision = Number(this.int())
        this.expect(")")
        return { _tag: "Float", text, precision }
      }
      case "Symbol":
        return this.symbol(start)
      case "Pow": {
        const base = this.node()
        this.expect(",")
        const exp = this.node()
        this.expect(")")
        return { _tag: "Pow", base, exp }
      }
      default: {
        const args: Array<SymExpr> = []
        if (!this.eat(")")) {
          do {
            args.push(this.node())
          } while (this.eat(","))
          this.expect(")")
        }
        if (name === "Add" || name === "Mul") {
          if (args.length === 0) this.fail(`${name} needs arguments`, start)
          return name === "Add" ? { _tag: "Add", terms: args } : { _tag: "Mul", factors: args }
        }
        return { _tag: "Apply", name, args }
      }
    }
  }
  symbol(start: number): SymExpr {
    const name = this.string()
    const assumptions: Array<readonly [string, boolean]> = []
    while (this.eat(",")) {
      const key = this.ident() ?? this.fail(`expected an assumption, found ${this.describe()}`)
      this.expect("=")
      const at = this.ws()
      const value = this.ident()
      if (value !== "True" && value !== "False") this.fail("expected True or False", at)
      assumptions.push([key, value === "True"])
    }
    this.expect(")")
    const known = this.assumptions.get(name)
    if (known === undefined) this.assumptions.set(name, assumptions)
    else if (!sameAssumptions(known, assumptions)) {
      this.fail(`symbol '${name}' appears with two sets of assumptions`, start)
    }
    return { _tag: "Symbol", name }
  }
}

const sameAssumptions = (a: Assumptions, b: Assumptions) =>
  a.length === b.length && a.every(([k, v], i) => b[i]![0] === k && b[i]![1] === v)

const run = <A>(text: string, f: () => A): Result.Result<A, SymExprError> => {
  try {
    return Result.succeed(f())
  } catch (e) {
    if (e instanceof Fail) return Result.fail(new SymExprError({ text, offset: e.offset, detail: e.detail }))
    throw e
  }
}

/**
 * Parses sympy's `str` form (`2*s0 + 1`, `(s0//2)`, `Eq(Mod(s0, 2), 0)`, `(u0 >= 0) & (u0 <= 10)`) and trtx's
 * call forms (`CleanDiv(s0, 2)`, `FloorDiv(s0, 2)`, `Identity(s0)`).
 * @since 0.1.0 @category parsing
 */
export const parse = (text: string): Result.Result<SymExpr, SymExprError> => {
  if (isSymbol(text)) return Result.succeed({ _tag: "Symbol", name: text })
  return run(text, () => {
    const p = new StrParser(text)
    const e = p.or()
    p.end()
    return e
  })
}

/**
 * Parses `sympy.srepr` text, as torch.export writes `expr_str`, with each symbol's assumptions. A symbol that
 * appears with two different sets of assumptions (two sympy symbols of one name) is refused.
 * @since 0.1.0 @category parsing
 */
export const parseSrepr = (text: string): Result.Result<Parsed, SymExprError> =>
  run(text, () => {
    const p = new SreprParser(text)
    const expr = p.node()
    p.end()
    return { expr, assumptions: p.assumptions }
  })

