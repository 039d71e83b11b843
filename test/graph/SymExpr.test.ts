/**
 * Symbolic expressions: every case of `fixtures/symexpr/cases.json` (sympy's own `str` and `srepr` of the
 * expressions torch's shape code produces, made by `python/tests/make_symexpr_fixtures.py`) parses from both
 * forms to one tree that prints back to both exactly, evaluates to sympy's value and lists its symbols in
 * order; plus located errors, unknown functions, assumptions, the bare-symbol fast path and affine solving.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as url from "node:url"
import * as SymExpr from "../../src/graph/SymExpr.ts"
import * as SymExprParser from "../../src/graph/SymExprParser.ts"
import { SymExprError } from "../../src/graph/SymExpr.ts"
import * as SymValue from "../../src/graph/SymValue.ts"

// ===== Helpers =====

interface Case {
  readonly origin: "hand" | "random"
  readonly str: string
  readonly text: string
  readonly srepr: string
  readonly freeSymbols: ReadonlyArray<string>
  readonly assumptions: Readonly<Record<string, SymExpr.Assumptions>>
  readonly values: Readonly<Record<string, number>>
  readonly expected: string | boolean | null
}

const fixturePath = nodePath.join(
  nodePath.dirname(url.fileURLToPath(import.meta.url)),
  "..",
  "fixtures",
  "symexpr",
  "cases.json"
)
const fixture = JSON.parse(fs.readFileSync(fixturePath, "utf8")) as { readonly cases: ReadonlyArray<Case> }
const cases = fixture.cases

const success = <A>(r: Result.Result<A, SymExprError>): A => {
  if (Result.isFailure(r)) assert.fail(`expected a success, got ${r.failure.message}`)
  return (r as Result.Success<A, SymExprError>).success
}
const failure = <A>(r: Result.Result<A, SymExprError>): SymExprError => {
  assert.isTrue(Result.isFailure(r), "expected a failure")
  return (r as Result.Failure<A, SymExprError>).failure
}
const parse = (text: string) => success(SymExprParser.parse(text))
const parseSrepr = (text: string) => success(SymExprParser.parseSrepr(text))
const assumptionsOf = (c: Case) => (s: string): SymExpr.Assumptions => c.assumptions[s] ?? []
const valuesOf = (c: Case) => (s: string): bigint | undefined =>
  c.values[s] === undefined ? undefined : BigInt(c.values[s])

/** Runs `check` on every case and reports the cases where it does not hold, all at once. */
const everyCase = (check: (c: Case) => string | undefined) => {
  const bad: Array<string> = []
  for (const c of cases) {
    let problem: string | undefined
    try {
      problem = check(c)
    } catch (e) {
      problem = `threw ${e instanceof Error ? e.message : String(e)}`
    }
    if (problem !== undefined) bad.push(`${c.srepr}\n    ${problem}`)
  }
  assert.deepStrictEqual(bad, [])
}
const differ = (what: string, got: unknown, want: unknown) =>
  got === want ? undefined : `${what}: got ${String(got)}, want ${String(want)}`

const s0: SymExpr.SymExpr = { _tag: "Symbol", name: "s0" }
const S0 = "Symbol('s0', positive=True, integer=True)"

// ===== Fixture =====

describe("SymExpr against sympy (fixtures/symexpr/cases.json)", () => {
  it("covers torch's expressions", () => {
    assert.isAtLeast(cases.length, 500)
    assert.isAtLeast(cases.filter((c) => c.origin === "hand").length, 150)
    // The only places trtx's text differs from sympy's str (rule 4).
    for (const c of cases.filter((c) => c.str !== c.text)) {
      assert.isTrue(c.text.includes("CleanDiv(") || c.text.includes("Identity("), c.text)
    }
  })

  it("parse(text) prints as srepr", () => {
    everyCase((c) => differ("srepr", SymExpr.printSrepr(parse(c.text), assumptionsOf(c)), c.srepr))
  })

  it("parse(str) prints as srepr where str is unambiguous", () => {
    everyCase((c) =>
      c.str !== c.text ? undefined : differ("srepr", SymExpr.printSrepr(parse(c.str), assumptionsOf(c)), c.srepr)
    )
  })

  it("parseSrepr(srepr) prints back to the same srepr, with its assumptions", () => {
    everyCase((c) => {
      const { assumptions, expr } = parseSrepr(c.srepr)
      const got = JSON.stringify(Object.fromEntries(assumptions))
      return differ("srepr", SymExpr.printSrepr(expr, (s) => assumptions.get(s) ?? []), c.srepr) ??
        differ("assumptions", got, JSON.stringify(c.assumptions))
    })
  })

  it("parseSrepr(srepr) prints as the text", () => {
    everyCase((c) => differ("text", SymExpr.print(parseSrepr(c.srepr).expr), c.text))
  })

  it("both forms parse to the same tree, which prints as the text", () => {
    everyCase((c) => {
      const a = parse(c.text)
      const b = parseSrepr(c.srepr).expr
      return differ("text", SymExpr.print(a), c.text) ?? differ("tree", JSON.stringify(a, big), JSON.stringify(b, big))
    })
  })

  it("evaluates to sympy's value", () => {
    everyCase((c) => {
      const v = SymValue.evaluate(parseSrepr(c.srepr).expr, valuesOf(c))
      return differ("value", typeof v === "bigint" ? v.toString() : v ?? null, c.expected)
    })
  })

  it("lists the free symbols in order of first appearance in srepr", () => {
    everyCase((c) => differ("symbols", SymExpr.freeSymbols(parse(c.text)).join(","), c.freeSymbols.join(",")))
  })
})

const big = (_: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)

// ===== Printing =====

describe("printing", () => {
  it("follows sympy's signs and parentheses", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["5 - s0", `Add(Integer(5), Mul(Integer(-1), ${S0}))`],
      ["-2*s0 + s1", `Add(Mul(Integer(-1), Integer(2), ${S0}), Symbol('s1', positive=True, integer=True))`],
      ["-s0/2", `Mul(Integer(-1), Rational(1, 2), ${S0})`],
      ["2*((s0//2))", `Mul(Integer(2), FloorDiv(${S0}, Integer(2)))`],
      ["s1/s0", `Mul(Pow(${S0}, Integer(-1)), Symbol('s1', positive=True, integer=True))`],
      ["-Max(s0, s1)", `Mul(Integer(-1), Max(${S0}, Symbol('s1', positive=True, integer=True)))`],
      // Max/Min: srepr keeps sympy's `ordered` arguments (node count first), str sorts them by sort key.
      [
        "Max(FloorToInt(IntTrueDiv(s0, 2)), Mod(s3, 4))",
        `Max(Mod(Symbol('s3', positive=True, integer=True), Integer(4)), FloorToInt(IntTrueDiv(${S0}, Integer(2))))`
      ]
    ]
    for (const [text, srepr] of cases) {
      assert.strictEqual(SymExpr.printSrepr(parse(text), SymExpr.defaultAssumptions), srepr)
      assert.strictEqual(SymExpr.print(parseSrepr(srepr).expr), text)
    }
  })

  it("prints CleanDiv and Identity in call form, and reads both FloorDiv forms", () => {
    assert.strictEqual(SymExpr.print(parse("CleanDiv(s0, 2)")), "CleanDiv(s0, 2)")
    assert.strictEqual(SymExpr.print(parse("2*(Identity(s0))")), "2*(Identity(s0))")
    assert.deepStrictEqual(parse("FloorDiv(s0, 2)"), parse("(s0//2)"))
    assert.deepStrictEqual(parse("Equality(s0, 2)"), parse("Eq(s0, 2)"))
    assert.deepStrictEqual(parse("Ge(u0, 0)"), parse("u0 >= 0"))
  })

  it("prints a float as sympy does at the top level and inside an expression", () => {
    assert.strictEqual(SymExpr.print(parseSrepr("Float('2.5', precision=53)").expr), "2.50000000000000")
    assert.strictEqual(SymExpr.print(parse("0.1*s0")), "0.1*s0")
    assert.strictEqual(SymExpr.printSrepr(parse("0.1*s0")), `Mul(Float('0.10000000000000001', precision=53), ${S0})`)
  })
})

// ===== Unknown functions =====

describe("unknown functions", () => {
  it("parse, print and read back generically in both forms", () => {
    const e = parse("2*Foo(s0, u0 + 1)")
    assert.deepStrictEqual(e, {
      _tag: "Mul",
      factors: [SymExpr.integer(2), {
        _tag: "Apply",
        name: "Foo",
        args: [s0, { _tag: "Add", terms: [SymExpr.symbol("u0"), SymExpr.integer(1)] }]
      }]
    })
    assert.strictEqual(SymExpr.print(e), "2*Foo(s0, u0 + 1)")
    const srepr = SymExpr.printSrepr(e)
    assert.strictEqual(srepr, `Mul(Integer(2), Foo(${S0}, Add(Symbol('u0', integer=True), Integer(1))))`)
    assert.deepStrictEqual(parseSrepr(srepr).expr, e)
  })

  it("evaluate to undefined", () => {
    assert.isUndefined(SymValue.evaluate(parse("Foo(s0) + 1"), () => 3n))
    assert.strictEqual(SymValue.evaluate(parse("Max(s0, 2) + 1"), () => 3n), 4n)
  })
})

// ===== Errors =====

describe("errors", () => {
  it("locate a str syntax error", () => {
    const e = failure(SymExprParser.parse("2*s0 +"))
    assert.instanceOf(e, SymExprError)
    assert.strictEqual(e._tag, "SymExprError")
    assert.strictEqual(e.text, "2*s0 +")
    assert.strictEqual(e.offset, 6)
    assert.strictEqual(e.message, `at 6: ${e.detail} in 2*s0 +`)
    assert.strictEqual(failure(SymExprParser.parse("(s0 + 1")).offset, 7)
    assert.strictEqual(failure(SymExprParser.parse("s0 s1")).offset, 3)
    assert.strictEqual(failure(SymExprParser.parse("sqrt(s0, 2)")).offset, 0)
    assert.strictEqual(failure(SymExprParser.parse("")).offset, 0)
  })

  it("locate an srepr syntax error", () => {
    assert.strictEqual(failure(SymExprParser.parseSrepr("Add(Integer(1), Integer(x))")).offset, 24)
    assert.strictEqual(failure(SymExprParser.parseSrepr("Symbol(s0)")).offset, 7)
    assert.strictEqual(failure(SymExprParser.parseSrepr("Symbol('s0', positive=Yes)")).offset, 22)
    assert.strictEqual(failure(SymExprParser.parseSrepr("Integer(1) x")).offset, 11)
    assert.strictEqual(failure(SymExprParser.parseSrepr("Add()")).offset, 0)
  })

  it("refuse one symbol name with two sets of assumptions", () => {
    const e = failure(SymExprParser.parseSrepr(`Add(${S0}, Symbol('s0', integer=True))`))
    assert.strictEqual(e.offset, S0.length + 6)
    assert.include(e.detail, "two sets of assumptions")
  })
})

// ===== Assumptions =====

describe("assumptions", () => {
  it("round-trip in srepr order, none included", () => {
    const srepr = "Add(Symbol('zf0', real=True), Symbol('x'), Symbol('s1', integer=True, positive=True))"
    const { assumptions, expr } = parseSrepr(srepr)
    assert.deepStrictEqual([...assumptions], [
      ["zf0", [["real", true]]],
      ["x", []],
      ["s1", [["integer", true], ["positive", true]]]
    ])
    assert.strictEqual(SymExpr.printSrepr(expr, (s) => assumptions.get(s) ?? []), srepr)
    assert.strictEqual(SymExpr.print(expr), "zf0 + x + s1")
  })

  it("default to torch's by prefix", () => {
    assert.deepStrictEqual(SymExpr.defaultAssumptions("s77"), [["positive", true], ["integer", true]])
    assert.deepStrictEqual(SymExpr.defaultAssumptions("u3"), [["integer", true]])
    for (const name of ["zf0", "x", "s", "s1a", "u"]) assert.deepStrictEqual(SymExpr.defaultAssumptions(name), [])
    assert.strictEqual(
      SymExpr.printSrepr(parse("u0 - s1")),
      "Add(Symbol('u0', integer=True), Mul(Integer(-1), Symbol('s1', positive=True, integer=True)))"
    )
  })
})

// ===== Guards and queries =====

describe("isSymbol", () => {
  it("recognises a bare name, and parse takes it as a symbol", () => {
    for (const t of ["s77", "u0", "_x1", "x"]) {
      assert.isTrue(SymExpr.isSymbol(t), t)
      assert.deepStrictEqual(parse(t), SymExpr.symbol(t))
    }
    for (const t of ["", "2*s0", "1s", "s 0", "oo", "True", "False", "s0)", S0]) assert.isFalse(SymExpr.isSymbol(t), t)
  })
})

describe("solveAffine", () => {
  const solve = (text: string, value: bigint) => SymValue.solveAffine(parse(text), value)
  it("solves a*s + b for its one symbol", () => {
    assert.deepStrictEqual(solve("2*s0", 8n), { symbol: "s0", value: 4n })
    assert.deepStrictEqual(solve("s0 + 1", 5n), { symbol: "s0", value: 4n })
    assert.deepStrictEqual(solve("5 - s0", 2n), { symbol: "s0", value: 3n })
    assert.deepStrictEqual(solve("s0/2 - 1", 2n), { symbol: "s0", value: 6n })
    assert.deepStrictEqual(solve("-3*s1 + 2*s1 + 10", 4n), { symbol: "s1", value: 6n })
    assert.deepStrictEqual(solve("s77", 9n), { symbol: "s77", value: 9n })
  })
  it("gives nothing for a non-integer solution or a non-affine expression", () => {
    assert.isUndefined(solve("2*s0", 7n))
    for (const t of ["s0*s1", "s0**2", "(s0//2)", "3", "s0 + s1", "s0 - s0", "0.5*s0"]) {
      assert.isUndefined(solve(t, 4n), t)
    }
  })
})

describe("evaluate", () => {
  const at = (text: string, values: Record<string, bigint>) => SymValue.evaluate(parse(text), (s) => values[s])
  it("follows torch's integer semantics", () => {
    assert.strictEqual(at("(s0//2)", { s0: -7n }), -4n)
    assert.strictEqual(at("PythonMod(u0, 3)", { u0: -7n }), 2n)
    assert.strictEqual(at("PythonMod(u0, -3)", { u0: 7n }), -2n)
    assert.strictEqual(at("ModularIndexing(s0, 4, 3)", { s0: 22n }), 2n)
    assert.strictEqual(at("CeilToInt(IntTrueDiv(s0, 4))", { s0: 9n }), 3n)
    assert.strictEqual(at("RoundToInt(IntTrueDiv(s0, 2))", { s0: 5n }), 2n)
    assert.strictEqual(at("CeilDiv(s0, 4)", { s0: 9n }), 3n)
    assert.strictEqual(at("PowByNatural(s0, s1)", { s0: 3n, s1: 40n }), 3n ** 40n)
    assert.strictEqual(at("Where(u0 > 0, u0, 1)", { u0: -2n }), 1n)
    assert.strictEqual(at("(u0 >= 0) & (u0 <= 10)", { u0: 4n }), true)
    assert.strictEqual(at("~(Eq(s0, 2))", { s0: 2n }), false)
    assert.strictEqual(at("s0/2 + s0/2", { s0: 3n }), 3n)
    assert.strictEqual(at("sqrt(s0)", { s0: 16n }), 4n)
  })
  it("is undefined without a value, outside a domain, or for a non-integer", () => {
    assert.isUndefined(at("s0 + s1", { s0: 1n }))
    assert.isUndefined(at("(s0//s1)", { s0: 1n, s1: 0n }))
    assert.isUndefined(at("Mod(u0, 3)", { u0: -1n }))
    assert.isUndefined(at("s0/2", { s0: 3n }))
    assert.isUndefined(at("ToFloat(s0)", { s0: 3n }))
    assert.isUndefined(at("1/s0", { s0: 0n }))
    assert.isUndefined(at("sqrt(s0)", { s0: 15n }))
  })
})
