/**
 * A pass: a named, typed step from one module state to the next, as a value (torch.fx's `PassBase` with
 * `requires` / `ensures`, ir-py's pass contracts). Running a pass decodes its input with the state it
 * requires, does its work, then decodes its output with the state it ensures; a broken state fails with a
 * `PassError` naming the pass, the phase and the invariant. Each run is a span (`trtx.pass.<name>`) with the
 * node counts before and after as attributes, and is reported to the {@link PassObserver}.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Result, Schema, SchemaIssue } from "effect"
import * as GraphState from "./GraphState.ts"
import { PassError } from "./PassError.ts"

// ===== Models =====

/**
 * A state schema: decodes (checks) a value of type `A`.
 *
 * @since 0.1.0
 * @category models
 */
export type State<A> = Schema.Codec<A, any, never, never>

/**
 * A pass from state `I` to state `O`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pass<in I, out O, out R = never> {
  readonly name: string
  /** The upstream function the pass mirrors (`torch_tensorrt.dynamo._exporter.lift`). */
  readonly upstream: string
  readonly requires: State<any>
  readonly ensures: State<any>
  /**
   * Whether the pass changes the module it is given (ir-py's `changes_input`): `true`, it works on its
   * input's module and returns that module, changed (`Pass.apply` holds it to returning it); `false`, it
   * leaves its input as it was (`test/passes/Modes.test.ts` holds each of trtx's passes to its word).
   */
  readonly changesInput: boolean
  readonly run: (input: I) => Effect.Effect<O, PassError, R>
  /** Phantom: keeps `I` and `O` in the type. */
  readonly "~types"?: (i: I) => O
}

/**
 * What one pass run did.
 *
 * @since 0.1.0
 * @category models
 */
export interface PassReport {
  readonly pass: string
  readonly nodesBefore: number | undefined
  readonly nodesAfter: number | undefined
  readonly millis: number
}

/**
 * Receives a report after each pass run; by default nobody listens. Provide it to collect timings (the CLI
 * prints them).
 *
 * @since 0.1.0
 * @category services
 */
export const PassObserver = Context.Reference<(report: PassReport) => Effect.Effect<void>>("trtx/PassObserver", {
  defaultValue: () => () => Effect.void
})

// ===== Constructors =====

/**
 * Makes a pass.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <I, O, R = never>(options: {
  readonly name: string
  readonly upstream: string
  readonly requires: State<I>
  readonly ensures: State<O>
  readonly changesInput: boolean
  readonly run: (input: I) => Effect.Effect<O, PassError, R>
}): Pass<I, O, R> => options

// ===== Running =====

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const check = <A>(pass: string, phase: "requires" | "ensures", state: State<A>, value: unknown) => {
  const result = Schema.decodeUnknownResult(state)(value)
  if (Result.isSuccess(result)) return Effect.succeed(result.success)
  const issue = formatter(result.failure.issue).issues[0]
  return Effect.fail(new PassError({ pass, phase, detail: issue?.message ?? "invalid state" }))
}

/**
 * Runs a pass on an input: requires, run, ensures, in a span, reported to the observer.
 *
 * @since 0.1.0
 * @category combinators
 */
export const apply = <I, O, R>(
  pass: Pass<I, O, R>,
  input: I,
  options?: {
    /** The input was just ensured by the same state schema (a pipeline's previous pass): do not check it again. */
    readonly checked?: boolean
  }
): Effect.Effect<O, PassError, R> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeNanos
    const before = GraphState.nodeCount(input)
    const ensured = yield* checkedRun(pass, input, options?.checked === true)
    const after = GraphState.nodeCount(ensured)
    if (after !== undefined) yield* Effect.annotateCurrentSpan("trtx.nodes.after", after)
    const observer = yield* PassObserver
    const end = yield* Clock.currentTimeNanos
    yield* observer({ pass: pass.name, nodesBefore: before, nodesAfter: after, millis: Number(end - start) / 1e6 })
    return ensured
  }).pipe(span(pass, input))

/**
 * Runs a pass as {@link apply} does, in its span, but reports nothing: for a fused pass that runs the
 * passes it stands for, and reports once for them all.
 *
 * @since 0.1.0
 * @category combinators
 */
export const applyQuietly = <I, O, R>(
  pass: Pass<I, O, R>,
  input: I,
  options?: { readonly checked?: boolean }
): Effect.Effect<O, PassError, R> => checkedRun(pass, input, options?.checked === true).pipe(span(pass, input))

const checkedRun = <I, O, R>(pass: Pass<I, O, R>, input: I, inputChecked: boolean): Effect.Effect<O, PassError, R> =>
  Effect.gen(function*() {
    const checked = inputChecked ? input : yield* check<I>(pass.name, "requires", pass.requires, input)
    const output = yield* pass.run(checked)
    if (pass.changesInput && GraphState.moduleOf(output) !== GraphState.moduleOf(checked)) {
      return yield* Effect.fail(new PassError({
        pass: pass.name,
        phase: "ensures",
        detail: "the pass says it changes its input, but returned another module than the one it was given"
      }))
    }
    const ensured = yield* check<O>(pass.name, "ensures", pass.ensures, output)
    if (yield* GraphState.LintBetweenPasses) {
      const module = GraphState.moduleOf(ensured)
      const lint = module === undefined ? undefined : GraphState.lintMessage(module)
      if (lint !== undefined) return yield* Effect.fail(new PassError({ pass: pass.name, phase: "ensures", detail: lint }))
    }
    return ensured
  })

const span = (pass: Pass<any, any, any>, input: unknown) =>
  Effect.withSpan(`trtx.pass.${pass.name}`, {
    attributes: { "trtx.pass.upstream": pass.upstream, "trtx.nodes.before": GraphState.nodeCount(input) ?? -1 }
  })

