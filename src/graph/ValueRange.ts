/**
 * The value range of a symbol of a symbolic size, and the rules it keeps: torch's `ValueRanges`
 * (`torch/utils/_sympy/value_ranges.py`) as a program's `range_constraints` and a module's symbols
 * (`Module.SymbolInfo`) hold it, with a null end for torch's `-int_oo` / `int_oo`.
 *
 * Both readers and the `.pt2` writer hold every range to {@link check}, so that what trtx writes it reads
 * back, and what it reads torch's loader would build.
 *
 * @since 0.1.0
 */

// ===== Models =====

/**
 * A symbol's range: `min` and `max` ints, or null where unbounded on that side.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValueRange {
  readonly min: number | null
  readonly max: number | null
}

/**
 * A broken range rule: which field breaks it and why.
 *
 * @since 0.1.0
 * @category models
 */
export interface Violation {
  readonly field: "min" | "max" | "hint"
  readonly detail: string
}

// ===== Getters =====

const end = (x: number | bigint | null, sign: "-" | ""): string => (x === null ? `${sign}int_oo` : String(x))

/**
 * Why a range (with the symbol's hint, where it has one) is not one torch holds, or undefined:
 * 1. Each bound is an int that trtx holds exactly (a safe integer; a reader passes a larger one as the
 *    `bigint` it parsed, so that it is refused as it was written, never rounded).
 * 2. `min <= max`: torch's `ValueRanges` refuses anything else ("Invalid ranges [5:3]").
 * 3. The hint, the value the program was traced with, lies in the range: torch's `ShapeEnv` keeps every
 *    symbol's example value inside its range, and guards built from the range would refuse it.
 *
 * @since 0.1.0
 * @category getters
 */
export const check = (
  range: { readonly min: number | bigint | null; readonly max: number | bigint | null },
  hint?: number | null
): Violation | undefined => {
  for (const field of ["min", "max"] as const) {
    const x = range[field]
    const exact = typeof x === "bigint" ? x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) : Number.isSafeInteger(x)
    if (x !== null && !exact) {
      return { field, detail: `bound ${x} is not an integer trtx holds exactly (at most 2^53 in magnitude)` }
    }
  }
  if (range.min !== null && range.max !== null && range.min > range.max) {
    return { field: "min", detail: `min ${range.min} is above max ${range.max}: torch refuses it ("Invalid ranges [${range.min}:${range.max}]")` }
  }
  if (hint !== undefined && hint !== null) {
    if (!Number.isSafeInteger(hint)) return { field: "hint", detail: `hint ${hint} is not an integer trtx holds exactly (at most 2^53 in magnitude)` }
    if ((range.min !== null && hint < range.min) || (range.max !== null && hint > range.max)) {
      return {
        field: "hint",
        detail: `hint ${hint} is not in the symbol's range [${end(range.min, "-")}, ${end(range.max, "")}]: torch keeps every ` +
          "symbol's example value in its range"
      }
    }
  }
  return undefined
}
