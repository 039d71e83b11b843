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
  /** Fused passes that run in place of the passes they stand for, where those are in a row here. */
  readonly fusions: ReadonlyArray<Fusion>
  /** Phantom: keeps `I` and `O` in the type. */
  readonly "~types"?: (i: I) => O
  readonly "~services"?: R
}

/**
 * A pass that does the work of several passes in a row at once and gives the same result (`copyAndInline`
 * for `deepCopy`, `inlineTrtModules` and `inlineTorchModules`). A pipeline that holds `passes` in a row, the
 * very pass values, runs `pass` instead, reported under its own name; a pass of the user's put between
 * them keeps them apart, and they run one by one.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fusion {
  readonly passes: ReadonlyArray<Pass.Pass<any, any, any>>
  readonly pass: Pass.Pass<any, any, any>
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

const fromPasses = <I, O, R>(passes: ReadonlyArray<Pass.Pass<any, any, any>>, fusions: ReadonlyArray<Fusion> = []): Pipeline<I, O, R> =>
  Object.assign(Object.create(PipelineProto), { passes, fusions })

// ===== Combinators =====

/**
 * Appends a pass, or a pipeline, whose input is this pipeline's output.
 *
 * @since 0.1.0
 * @category combinators
 */
export const andThen = <O, O2, R2>(next: Pass.Pass<O, O2, R2> | Pipeline<O, O2, R2>) =>
<I, R>(self: Pipeline<I, O, R>): Pipeline<I, O2, R | R2> =>
  "fusions" in next
    ? fromPasses([...self.passes, ...next.passes], [...self.fusions, ...next.fusions])
    : fromPasses([...self.passes, next], self.fusions)

/**
 * Lets the pipeline run a fused pass in place of the passes it stands for, wherever they are in a row.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withFusion = (fusion: Fusion) => <I, O, R>(self: Pipeline<I, O, R>): Pipeline<I, O, R> =>
  fromPasses(self.passes, [...self.fusions, fusion])

/**
 * The pipeline without its fusions: every pass runs on its own, reported under its own name (to time each
 * pass, or to compare with the fused run).
 *
 * @since 0.1.0
 * @category combinators
 */
export const unfused = <I, O, R>(self: Pipeline<I, O, R>): Pipeline<I, O, R> => fromPasses(self.passes)

/**
 * The passes a run runs: the pipeline's, with every row of passes that a fusion stands for replaced by its
 * fused pass.
 *
 * @since 0.1.0
 * @category getters
 */
export const plan = (self: Pipeline<any, any, any>): Array<Pass.Pass<any, any, any>> => {
  const planned: Array<Pass.Pass<any, any, any>> = []
  for (let i = 0; i < self.passes.length;) {
    const fusion = self.fusions.find((f) => f.passes.length > 0 && f.passes.every((p, k) => self.passes[i + k] === p))
    planned.push(fusion === undefined ? self.passes[i]! : fusion.pass)
    i += fusion === undefined ? 1 : fusion.passes.length
  }
  return planned
}

/**
 * The names of the passes, in order.
 *
 * @since 0.1.0
 * @category getters
 */
export const names = (self: Pipeline<any, any, any>): Array<string> => self.passes.map((p) => p.name)

// ===== Running =====

/**
 * Runs a pipeline on an input, pass after pass (fused passes in place of the rows they stand for, see
 * {@link plan}). The run's span lists the passes that ran.
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = <I, O, R>(self: Pipeline<I, O, R>, input: I): Effect.Effect<O, PassError, R> => {
  const planned = plan(self)
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
