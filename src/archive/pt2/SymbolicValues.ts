/**
 * Symbolic values between trtx's IR and `.pt2` records.
 *
 * The IR holds a symbolic size as sympy's `str` text (`"s77"`, `"2*s0 + 1"`) and the module keeps, per
 * symbol, its hint, range and sympy assumptions (`GraphModule.symbols`). A `.pt2` holds it as torch's
 * serializer writes it (`serialize_sym_int`): `{"as_expr": {"expr_str": srepr(expr), "hint": {"as_int": n}}}`,
 * where `srepr` spells every symbol with its assumptions (`Symbol('s77', positive=True, integer=True)`) and the
 * hint is the expression's value at the symbols' hints (none for an unbacked symbol).
 *
 * Rules:
 * 1. Writing: the text is parsed (`SymExprParser.parse`) and printed as `srepr` with each symbol's assumptions (the
 *    module's, else torch's by the symbol's prefix: `SymExpr.defaultAssumptions`); the hint is the
 *    expression evaluated at the symbols' hints, or null where one has none.
 * 2. Reading: `expr_str` is parsed as `srepr` (a bare symbol name, which torch also accepts, as a name) and
 *    kept as its `str` text; each symbol's assumptions are noted, and its hint is taken from an expression
 *    that is the symbol alone, or solved from one that is affine in it (`2*s0` with hint 8 gives 4).
 * 3. Both directions cache by text: a program names the same few expressions in every node.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { SymbolInfo } from "../../graph/Module.ts"
import * as SymExpr from "../../graph/SymExpr.ts"
import * as SymExprParser from "../../graph/SymExprParser.ts"
import * as SymValue from "../../graph/SymValue.ts"
import type * as Records from "./Records.ts"

// ===== Writing =====

/**
 * Prints the IR's symbolic texts as `.pt2` expressions, with the hints and assumptions of a module's
 * symbols.
 *
 * @since 0.1.0
 * @category encoding
 */
export class Printer {
  readonly #symbols: ReadonlyMap<string, SymbolInfo>
  readonly #cache = new Map<string, Records.SymExpr>()

  constructor(symbols: ReadonlyMap<string, SymbolInfo> | undefined) {
    this.#symbols = symbols ?? new Map()
  }

  /** The assumptions of a symbol, as `srepr` prints them. */
  assumptions(symbol: string): SymExpr.Assumptions {
    return this.#symbols.get(symbol)?.assumptions ?? SymExpr.defaultAssumptions(symbol)
  }

  /**
   * The record of an expression: its `srepr` and its hint (`as_int`, `as_float` or none, by `kind`); the
   * failure is the reason the text is not an expression.
   */
  expr(text: string, kind: "int" | "float" | "bool"): Result.Result<Records.SymExpr, string> {
    const done = this.#cache.get(`${kind}:${text}`)
    if (done !== undefined) return Result.succeed(done)
    const parsed = SymExprParser.parse(text)
    if (Result.isFailure(parsed)) return Result.fail(`${JSON.stringify(text)} is not a symbolic expression: ${parsed.failure.detail}`)
    const expr = parsed.success
    const expr_str = SymExpr.printSrepr(expr, (s) => this.assumptions(s))
    const value = SymValue.evaluate(expr, (s) => {
      const hint = this.#symbols.get(s)?.hint
      return hint === null || hint === undefined ? undefined : BigInt(hint)
    })
    // torch writes a SymBool's expression without a hint, and an int's or float's hint by its kind.
    const hint: Records.SymExprHint | null = kind === "bool" || typeof value !== "bigint"
      ? null
      : kind === "int"
      ? { as_int: int64(value) }
      : { as_float: Number(value) }
    const record = { expr_str, hint } as Records.SymExpr
    this.#cache.set(`${kind}:${text}`, record)
    return Result.succeed(record)
  }
}

const int64 = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v

// ===== Reading =====

interface Noted {
  hint: bigint | undefined
  assumptions: SymExpr.Assumptions | undefined
}

/**
 * Reads `.pt2` expressions into the IR's texts, noting what they say of their symbols.
 *
 * @since 0.1.0
 * @category decoding
 */
export class Reader {
  readonly #cache = new Map<string, string>()
  readonly #symbols = new Map<string, Noted>()
  // Affine expressions seen with a hint, to solve once every plain symbol is known.
  readonly #affine: Array<readonly [SymExpr.SymExpr, bigint]> = []

  /** The IR text of an expression record; the failure is why `expr_str` is not an expression. */
  text(record: Records.SymExpr): Result.Result<string, string> {
    const source = record.expr_str
    const hint = record.hint !== null && "as_int" in record.hint && record.hint.as_int !== undefined
      ? BigInt(record.hint.as_int)
      : undefined
    const done = this.#cache.get(source)
    if (done !== undefined) {
      if (hint !== undefined && SymExpr.isSymbol(done)) this.#note(done).hint ??= hint
      return Result.succeed(done)
    }
    if (SymExpr.isSymbol(source)) {
      // A bare name, as torch also accepts: the symbol, with the assumptions its prefix implies.
      this.#cache.set(source, source)
      if (hint !== undefined) this.#note(source).hint ??= hint
      return Result.succeed(source)
    }
    const parsed = SymExprParser.parseSrepr(source)
    if (Result.isFailure(parsed)) return Result.fail(`expr_str ${JSON.stringify(source)} is not a sympy srepr: ${parsed.failure.detail}`)
    const { expr, assumptions } = parsed.success
    for (const [symbol, a] of assumptions) this.#note(symbol).assumptions ??= a
    const text = SymExpr.print(expr)
    this.#cache.set(source, text)
    if (hint !== undefined) {
      if (expr._tag === "Symbol") this.#note(expr.name).hint ??= hint
      else this.#affine.push([expr, hint])
    }
    return Result.succeed(text)
  }

  #note(symbol: string): Noted {
    let noted = this.#symbols.get(symbol)
    if (noted === undefined) this.#symbols.set(symbol, (noted = { hint: undefined, assumptions: undefined }))
    return noted
  }

  /**
   * What the program's expressions said of each symbol, with the ranges of `range_constraints`: the
   * module's symbol table (symbols with neither a range nor a hint still get an entry, with null ends).
   */
  symbols(ranges: ReadonlyMap<string, { readonly min: number | null; readonly max: number | null }>): Map<string, SymbolInfo> {
    for (const [expr, value] of this.#affine) {
      const solved = SymValue.solveAffine(expr, value)
      if (solved !== undefined && this.#symbols.get(solved.symbol)?.hint === undefined) this.#note(solved.symbol).hint = solved.value
    }
    const out = new Map<string, SymbolInfo>()
    const names = new Set([...ranges.keys(), ...this.#symbols.keys()])
    for (const name of names) {
      const noted = this.#symbols.get(name)
      const range = ranges.get(name)
      out.set(name, {
        hint: noted?.hint === undefined ? null : Number(noted.hint),
        min: range?.min ?? null,
        max: range?.max ?? null,
        ...(noted?.assumptions === undefined ? {} : { assumptions: noted.assumptions })
      })
    }
    return out
  }
}
