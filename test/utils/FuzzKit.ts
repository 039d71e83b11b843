/**
 * What the fuzz families share: the size of a run, the outcome of one case, what a family expects of its
 * cases, and the tally of outcomes per family.
 *
 * - **Size.** Every family's case count is its base count times `TRTX_FUZZ_SCALE` (1 by default, what
 *   `npm test` runs; `npm run fuzz` runs 10). Timeouts grow with it.
 * - **Outcome.** A case ends in a result or in a located error of the project's types: an `ArchiveError` of
 *   the closed set whose location is filled in, or (where a case runs the exporter) a `PassError`. A
 *   defect, any other exception, an interruption or a hang fails the case, naming it.
 * - **Tally.** Outcomes are counted per family (`ok` or the fault), printed after each file, and each
 *   family's count is held to its plan, so that no family can silently run no cases.
 */
import { assert } from "@effect/vitest"
import { Cause, Duration, Effect } from "effect"
import { ArchiveError, ArchiveFault } from "../../src/archive/ArchiveError.ts"
import { PassError } from "../../src/passes/PassError.ts"
import { seedOf } from "./Mutate.ts"
import { type Prng, prng } from "./TgmCraft.ts"

// ===== Size of a run =====

/** The run's scale: `TRTX_FUZZ_SCALE`, 1 unless set. */
export const scale: number = (() => {
  const s = Number(process.env["TRTX_FUZZ_SCALE"] ?? "1")
  return Number.isFinite(s) && s > 0 ? s : 1
})()

/** A family's case count at this scale. */
export const cases = (base: number): number => Math.max(1, Math.round(base * scale))

/** A test's timeout at this scale. */
export const timeout = (millis: number): number => Math.round(millis * Math.max(1, scale))

// ===== Outcomes =====

/** How one case ended. */
export type Outcome<A> =
  | { readonly _tag: "ok"; readonly value: A; readonly millis: number }
  | { readonly _tag: "error"; readonly error: ArchiveError | PassError; readonly millis: number }

/** The outcome's name in a tally: `ok`, an archive fault, or `PassError`. */
export const nameOf = (o: Outcome<unknown>): string =>
  o._tag === "ok" ? "ok" : o.error instanceof ArchiveError ? o.error.fault : "PassError"

const faults: ReadonlySet<string> = new Set(ArchiveFault.literals)

/** Checks that an archive error is of the closed set and located; `archive` is the label it must name. */
export const assertLocated = (e: ArchiveError, label: string, archive?: string): void => {
  assert.strictEqual(e._tag, "ArchiveError", label)
  assert.isTrue(faults.has(e.fault), `${label}: fault ${e.fault} is not in the closed set`)
  if (archive !== undefined) assert.strictEqual(e.archive, archive, `${label}: the error names another archive`)
  assert.isAbove(e.archive.length, 0, `${label}: no archive named`)
  assert.isAbove(e.detail.length, 0, `${label}: no detail`)
  if (e.entry !== undefined) assert.isAbove(e.entry.length, 0, `${label}: an empty entry`)
  if (e.path !== undefined) assert.match(e.path, /^(\$|[^/]+\/)/, `${label}: path ${e.path}`)
  if (e.node !== undefined) assert.isAbove(e.node.length, 0, `${label}: an empty node`)
}

/**
 * Runs one case: its result, or its located error. Fails the test on a defect, an interruption, a hang
 * (past `limit`), an error outside the project's types, or an archive error that names another archive
 * than `archive` (when given). `PassError`s are allowed only with `passErrors`.
 */
export const outcome = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  label: string,
  options?: { readonly archive?: string; readonly limit?: Duration.Input; readonly passErrors?: boolean }
): Effect.Effect<Outcome<A>, never, R> =>
  Effect.gen(function*() {
    const start = performance.now()
    const exit = yield* Effect.exit(effect.pipe(Effect.timeout(options?.limit ?? "10 seconds")))
    const millis = performance.now() - start
    if (exit._tag === "Success") return { _tag: "ok", value: exit.value, millis } as const
    const cause = exit.cause
    if (Cause.hasDies(cause)) assert.fail(`${label}: a defect: ${Cause.pretty(cause).slice(0, 800)}`)
    if (Cause.hasInterrupts(cause)) assert.fail(`${label}: interrupted`)
    const found = Cause.findErrorOption(cause)
    if (found._tag !== "Some") return assert.fail(`${label}: no error in ${Cause.pretty(cause).slice(0, 400)}`)
    const e: unknown = found.value
    if (Cause.isTimeoutError(e)) assert.fail(`${label}: hung (no outcome in ${Duration.format(Duration.fromInputUnsafe(options?.limit ?? "10 seconds"))})`)
    if (e instanceof PassError) {
      assert.isTrue(options?.passErrors === true, `${label}: an unexpected PassError: ${e.message}`)
      assert.isAbove(e.detail.length, 0, `${label}: a PassError without detail`)
      return { _tag: "error", error: e, millis } as const
    }
    if (!(e instanceof ArchiveError)) return assert.fail(`${label}: not an ArchiveError: ${String(e)}`)
    assertLocated(e, label, options?.archive)
    return { _tag: "error", error: e, millis } as const
  })

/** The value of an outcome that must be a success. */
export const expectOk = <A>(o: Outcome<A>, label: string): A => {
  if (o._tag === "error") return assert.fail(`${label}: expected a result, got ${o.error.message.slice(0, 600)}`)
  return o.value
}

/** The error of an outcome that must be an archive error, of one of `allowed` when given. */
export const expectFault = (o: Outcome<unknown>, label: string, allowed?: ReadonlyArray<ArchiveFault>): ArchiveError => {
  if (o._tag === "ok") return assert.fail(`${label}: expected a located error, but it was accepted`)
  if (!(o.error instanceof ArchiveError)) return assert.fail(`${label}: expected an ArchiveError, got ${o.error.message}`)
  if (allowed !== undefined) {
    assert.include(allowed, o.error.fault, `${label}: ${o.error.message.slice(0, 400)}`)
  }
  return o.error
}

// ===== Running a family =====

/** CPU seconds each family's cases took in this file, by case prefix. */
export const seconds = new Map<string, number>()

const messageOf = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 700)
}

/**
 * Runs `n` cases named `<prefix>/<i>`, each with a PRNG seeded by its name (so any case reruns alone, by
 * name). A failing case does not stop the family: the test fails at the end, with the count of failed
 * cases and the first of them.
 */
export const runCases = <R>(
  n: number,
  prefix: string,
  body: (label: string, r: Prng, i: number) => Effect.Effect<unknown, unknown, R>
): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    const failures: Array<string> = []
    const cpu = process.cpuUsage()
    for (let i = 0; i < n; i++) {
      const label = `${prefix}/${i}`
      const exit = yield* Effect.exit(Effect.suspend(() => body(label, prng(seedOf(label)), i)))
      if (exit._tag === "Failure") failures.push(messageOf(exit.cause))
    }
    const used = process.cpuUsage(cpu)
    seconds.set(prefix, (used.user + used.system) / 1e6)
    if (failures.length > 0) {
      assert.fail(`${failures.length} of ${n} cases failed; the first:\n  ${failures.slice(0, 3).join("\n  ")}`)
    }
  })

// ===== Tally =====

/** Outcomes counted per family, in the order families first appear. */
export class Tally {
  readonly title: string
  readonly byFamily = new Map<string, Map<string, number>>()
  constructor(title: string) {
    this.title = title
  }

  add(family: string, outcome: string): void {
    let m = this.byFamily.get(family)
    if (m === undefined) this.byFamily.set(family, m = new Map())
    m.set(outcome, (m.get(outcome) ?? 0) + 1)
  }

  /** Records an outcome under its name. */
  count(family: string, o: Outcome<unknown>): void {
    this.add(family, nameOf(o))
  }

  total(family?: string): number {
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)
    if (family !== undefined) return sum(this.byFamily.get(family) ?? new Map())
    return [...this.byFamily.values()].reduce((n, m) => n + sum(m), 0)
  }

  /** The count of one outcome of a family. */
  of(family: string, outcome: string): number {
    return this.byFamily.get(family)?.get(outcome) ?? 0
  }

  /** Each family's count is at least its plan. */
  assertPlanned(plan: ReadonlyMap<string, number>): void {
    for (const [family, n] of plan) assert.isAtLeast(this.total(family), n, `${this.title}: family ${family} ran too few cases`)
  }

  lines(): Array<string> {
    const line = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")
    const cpu = [...seconds.values()].reduce((a, b) => a + b, 0)
    const out = [`${this.title}: ${this.total()} cases (scale ${scale}), ${cpu.toFixed(1)} s of CPU`]
    for (const [family, m] of this.byFamily) out.push(`  ${family}: ${this.total(family)}: ${line(m)}`)
    if (process.env["TRTX_FUZZ_CPU"] !== undefined) for (const [prefix, s] of seconds) out.push(`  cpu ${prefix}: ${s.toFixed(2)} s`)
    return out
  }
}

/** A plan: how many cases each family runs at this scale, from its base count. */
export class Plan {
  readonly counts = new Map<string, number>()
  /** Registers a family and returns its case count. */
  family(name: string, base: number): number {
    const n = cases(base)
    this.counts.set(name, (this.counts.get(name) ?? 0) + n)
    return n
  }
  /** Registers a family of a fixed count (a few large cases that do not grow with the scale). */
  fixed(name: string, n: number): number {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n)
    return n
  }
}

// ===== Comparing =====

const show = (v: unknown): string => {
  const s = JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x)) ?? String(v)
  return s.length > 300 ? `${s.slice(0, 300)}…` : s
}

/** Where two plain values first differ (`[2][0][1]: "a" vs "b"`), or undefined when they are equal. */
export const firstDifference = (a: unknown, b: unknown, at = ""): string | undefined => {
  if (Object.is(a, b)) return undefined
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) return `${at}[${i}]: ${i >= a.length ? "missing" : show(a[i])} vs ${i >= b.length ? "missing" : show(b[i])}`
      const d = firstDifference(a[i], b[i], `${at}[${i}]`)
      if (d !== undefined) return d
    }
    return undefined
  }
  return `${at === "" ? "$" : at}: ${show(a)} vs ${show(b)}`
}

/** Asserts two plain values equal, naming the first place they differ. */
export const assertSame = (actual: unknown, expected: unknown, label: string): void => {
  const d = firstDifference(actual, expected)
  if (d !== undefined) assert.fail(`${label}: ${d} (got vs expected)`)
}
