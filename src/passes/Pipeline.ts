/**
 * Pipelines: passes composed in order, each pass's output the next one's input, checked by the types and,
 * at run time, by each pass's states. A pipeline is a value: users insert their own passes (say between
 * inlining and lifting) and run the whole inside their own Effect programs.
 *
 * @since 0.1.0
 */
import { Effect, Pipeable, Ref } from "effect"
import * as Pass from "./Pass.ts"
import type { PassError } from "./PassError.ts"

// ===== Models =====

/**
 * Passes from `I` to `O`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pipeline<in I, out O, out R = never> extends Pipeable.Pipeable {
  readonly passes: ReadonlyArray<Pass.Pass<any, any, any>>
  /** Phantom: keeps `I` and `O` in the type. */
  readonly "~types"?: (i: I) => O
  readonly "~services"?: R
}

// ===== Constructors =====

/**
 * A pipeline of one pass.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <I, O, R>(pass: Pass.Pass<I, O, R>): Pipeline<I, O, R> => fromPasses([pass])

const PipelineProto = {
  pipe(this: unknown) {
    return Pipeable.pipeArguments(this, arguments)
  }
}

const fromPasses = <I, O, R>(passes: ReadonlyArray<Pass.Pass<any, any, any>>): Pipeline<I, O, R> =>
  Object.assign(Object.create(PipelineProto), { passes })

// ===== Combinators =====

/**
 * Appends a pass, or a pipeline, whose input is this pipeline's output.
 *
 * @since 0.1.0
 * @category combinators
 */
export const andThen = <O, O2, R2>(next: Pass.Pass<O, O2, R2> | Pipeline<O, O2, R2>) =>
<I, R>(self: Pipeline<I, O, R>): Pipeline<I, O2, R | R2> =>
  "passes" in next ? fromPasses([...self.passes, ...next.passes]) : fromPasses([...self.passes, next])

/**
 * The names of the passes, in order.
 *
 * @since 0.1.0
 * @category getters
 */
export const names = (self: Pipeline<any, any, any>): Array<string> => self.passes.map((p) => p.name)

// ===== Running =====

/**
 * Runs a pipeline on an input, pass after pass. The run's span lists the passes.
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = <I, O, R>(self: Pipeline<I, O, R>, input: I): Effect.Effect<O, PassError, R> => {
  const planned = self.passes
  return Effect.suspend(() => {
    let state: Effect.Effect<unknown, PassError, any> = Effect.succeed(input)
    let ensured: Pass.State<any> | undefined
    for (const pass of planned) {
      // A state that the previous pass's output was just decoded with need not be checked again.
      const checked = ensured === pass.requires
      state = Effect.flatMap(state, (value) => Pass.apply(pass, value, { checked }))
      ensured = pass.ensures
    }
    return state as Effect.Effect<O, PassError, R>
  }).pipe(Effect.withSpan("trtx.pipeline", { attributes: { "trtx.passes": planned.map((p) => p.name).join(",") } }))
}

/**
 * Runs a pipeline and returns, with its output, what each pass did (nodes before and after, milliseconds).
 *
 * @since 0.1.0
 * @category combinators
 */
export const runWithReport = <I, O, R>(
  self: Pipeline<I, O, R>,
  input: I
): Effect.Effect<{ readonly output: O; readonly reports: ReadonlyArray<Pass.PassReport> }, PassError, R> =>
  Effect.gen(function*() {
    const reports = yield* Ref.make<ReadonlyArray<Pass.PassReport>>([])
    const outer = yield* Pass.PassObserver
    const output = yield* run(self, input).pipe(
      Effect.provideService(Pass.PassObserver, (report) =>
        Ref.update(reports, (rs) => [...rs, report]).pipe(Effect.andThen(outer(report))))
    )
    return { output, reports: yield* Ref.get(reports) }
  })
