/**
 * What each command of the `trtx` command line does, once its command line has parsed (`Cli.ts` defines the
 * commands, their flags and their help). `Cli.ts` imports this module when a command runs, so that `--help`,
 * `--version` and a bad command line start without the archive, graph and pass modules it needs: in the
 * bundle, it is a chunk of its own.
 *
 * A failure prints its located message once, without a stack trace, and sets the exit code
 * (`CommandError.ts`). Only this folder renders anything; the library never prints.
 *
 * @since 0.1.0
 */
import { Console, Effect, Option, Result } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { ArchiveError } from "../archive/ArchiveError.ts"
import * as Reader from "../archive/pt2/Reader.ts"
import * as Writer from "../archive/pt2/Writer.ts"
import * as Tgm from "../archive/tgm/Tgm.ts"
import * as Progress from "../archive/zip/Progress.ts"
import * as TempFile from "../archive/zip/TempFile.ts"
import * as Lint from "../graph/Lint.ts"
import * as OpSchema from "../graph/OpSchema.ts"
import * as Exporter from "../passes/Exporter.ts"
import { PassError } from "../passes/PassError.ts"
import * as Summary from "../program/Summary.ts"
import * as CommandError from "./CommandError.ts"
import * as Files from "./Files.ts"
import * as LimitFlags from "./LimitFlags.ts"
import * as Render from "./Render.ts"

// ===== Models =====

/**
 * `--quiet` and `--verbose`, as every writing command takes them.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerbosityFlags {
  readonly quiet: boolean
  readonly verbose: boolean
}

/**
 * The command line of `trtx export`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportArgs extends VerbosityFlags, LimitFlags.Given {
  readonly input: string
  readonly output: string
  readonly crossCompile: boolean
  readonly schemas: Option.Option<string>
}

/**
 * The command line of `trtx load`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadArgs extends VerbosityFlags, LimitFlags.Given {
  readonly input: string
  readonly output: string
  readonly schemas: Option.Option<string>
  readonly checkGpu: boolean
}

/**
 * The command line of `trtx inspect`.
 *
 * @since 0.1.0
 * @category models
 */
export interface InspectArgs extends LimitFlags.Given {
  readonly file: string
  readonly json: boolean
}

/**
 * The command line of `trtx report`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReportArgs extends LimitFlags.Given {
  readonly file: string
  readonly output: string
}

/**
 * The command line of `trtx verify`.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyArgs extends LimitFlags.Given {
  readonly file: string
}

// ===== Failures =====

// The errors a command reports to its user: each already says where, so it is printed as it is.
const isReported = (e: unknown): e is ArchiveError | PassError | OpSchema.OpSchemaError | CommandError.CommandError =>
  e instanceof ArchiveError || e instanceof PassError || e instanceof OpSchema.OpSchemaError || e instanceof CommandError.CommandError

// Every error names its file: an archive's names the archive, a command's its file or flag, and a pass's,
// which knows only its node, is given the command's input.
const reported = <A, E, R>(input: string, effect: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
  effect.pipe(
    Effect.asVoid,
    Effect.catch((e) =>
      isReported(e)
        ? Console.error(Render.error(e instanceof PassError ? { message: `${input}: ${e.message}` } : e).join("\n")).pipe(
          Effect.andThen(Effect.sync(() => void (process.exitCode = e instanceof CommandError.CommandError ? e.exitCode : 1)))
        )
        : Effect.die(e)
    )
  )

// ===== Inputs =====

// A `--schemas` file: its faults name it; a schema string that does not parse keeps its caret.
const schemasFrom = (file: Option.Option<string>): Effect.Effect<OpSchema.OpSchemas, CommandError.CommandError> =>
  Option.match(file, {
    onNone: () => Effect.succeed(new Map()),
    onSome: (path) =>
      Effect.gen(function*() {
        const texts = yield* Effect.try({
          try: () => JSON.parse(fs.readFileSync(path, "utf8")) as unknown,
          catch: (e) => CommandError.usage(path, e instanceof Error ? e.message : String(e))
        })
        if (!Array.isArray(texts) || !texts.every((t): t is string => typeof t === "string")) {
          return yield* Effect.fail(CommandError.usage(path, "expected a JSON array of torch schema strings"))
        }
        const parsed = OpSchema.parseAll(texts)
        if (Result.isSuccess(parsed)) return parsed.success
        const e = parsed.failure
        return yield* Effect.fail(new CommandError.CommandError({
          subject: path,
          detail: e.message,
          exitCode: 2,
          pointed: { text: e.schema, offset: e.offset }
        }))
      })
  })

// The CLI makes the output's folder, as users of `-o out/model.pt2` expect; the library's writers do not.
const parentOf = (output: string): Effect.Effect<void, CommandError.CommandError> =>
  Effect.try({
    try: () => void fs.mkdirSync(nodePath.dirname(output), { recursive: true }),
    catch: (e) => CommandError.usage(output, e instanceof Error ? e.message : String(e))
  })

// ===== Verbosity and progress =====

type Verbosity = "quiet" | "normal" | "verbose"

const verbosityOf = (f: VerbosityFlags): Effect.Effect<Verbosity, CommandError.CommandError> =>
  f.quiet && f.verbose
    ? Effect.fail(CommandError.usage("--quiet", "cannot be given with --verbose"))
    : Effect.succeed(f.quiet ? "quiet" : f.verbose ? "verbose" : "normal")

// A step of a long command, shown on a terminal's stderr as it starts (and replaced by the next); nothing
// when stderr is piped or the command is quiet, so that scripts see only results.
// A step that reads or writes an archive also shows its bytes, at most ten times a second.
const step = <A, E, R>(verbosity: Verbosity, label: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  if (verbosity === "quiet" || process.stderr.isTTY !== true) return effect
  const started = Date.now()
  let shown = 0
  const render = (e: Progress.Event) => {
    const now = Date.now()
    if (now - shown < 100 || e.totalBytes === 0) return
    shown = now
    const percent = Math.floor((100 * e.bytes) / e.totalBytes)
    process.stderr.write(`\r\x1b[2K${label}… ${Summary.bytes(e.bytes)} of ${Summary.bytes(e.totalBytes)} (${percent}%)`)
  }
  return Effect.sync(() => process.stderr.write(`\r\x1b[2K${label}…`)).pipe(
    Effect.andThen(effect.pipe(Effect.provideService(Progress.Progress, render))),
    Effect.tap(() => Effect.sync(() => process.stderr.write(`\r\x1b[2K${label}: ${Date.now() - started} ms\n`))),
    Effect.onError(() => Effect.sync(() => process.stderr.write("\r\x1b[2K")))
  )
}

// What a command prints: nothing when quiet, where the lines are not even made (a summary walks the whole
// program); the headline, or every table when verbose.
const say = (verbosity: Verbosity, lines: (verbose: boolean) => ReadonlyArray<string>) =>
  verbosity === "quiet" ? Effect.void : Effect.suspend(() => Console.log(lines(verbosity === "verbose").join("\n")))

// ===== Commands =====

/**
 * `trtx export`: reads the `.tgm`, runs the exporter, writes the `.pt2`, prints the per-pass table and a
 * summary. Operator schemas: those of `--schemas`, then those the archive carries, then trtx's built-in ones.
 *
 * @since 0.1.0
 * @category commands
 */
export const exportProgram = ({ input, output, crossCompile, schemas, ...flags }: ExportArgs): Effect.Effect<void> =>
  reported(input, LimitFlags.provide(flags, Effect.gen(function*() {
    const v = yield* verbosityOf(flags)
    yield* Files.input(input, "export", ["tgm"])
    yield* Files.output(output, "export", "pt2", [input, ...Option.toArray(schemas)])
    const given = yield* schemasFrom(schemas)
    const module = yield* step(v, `reading ${input}`, Tgm.readFile(input))
    // A schema given on the command line replaces the archive's for the same operator.
    if (given.size > 0) module.opSchemas = new Map([...(module.opSchemas ?? []), ...given])
    const { output: program, reports } = yield* step(
      v,
      "exporting",
      Exporter.runWithReport(Exporter.exportProgram({ crossCompile }), module)
    )
    yield* parentOf(output)
    yield* step(v, `writing ${output}`, Writer.writeFile(output, program))
    yield* say(v, (verbose) => {
      const summary = Render.summary(Summary.ofProgram(program))
      return [...Render.passes(reports), "", ...(verbose ? [...summary, ""] : [summary[0]!]), `wrote ${output}`]
    })
  })))

// The GPU layer (the native addon's wrappers) and the report's page are loaded by the commands that use them,
// so that every other command runs without them: in the bundle they are chunks of their own.
const gpuModules = Effect.promise(() => Promise.all([import("../passes/CheckEngines.ts"), import("../engine/Cuda.ts")]))
const reportModule = Effect.promise(() => import("../report/Report.ts"))

/**
 * `trtx load`: puts the engines of a cross-compiled `.pt2` back in place, after checking each against this
 * machine's GPU where `--check-gpu` asks.
 *
 * @since 0.1.0
 * @category commands
 */
export const load = ({ input, output, schemas, checkGpu, ...flags }: LoadArgs): Effect.Effect<void> =>
  reported(input, LimitFlags.provide(flags, Effect.gen(function*() {
    const v = yield* verbosityOf(flags)
    yield* Files.input(input, "load", ["pt2"])
    yield* Files.output(output, "load", "pt2", [input, ...Option.toArray(schemas)])
    const given = yield* schemasFrom(schemas)
    const read = yield* step(v, `reading ${input}`, Reader.readFile(input))
    const extraFiles = read.extraFiles
    const program = given.size === 0 ? read.program : { ...read.program, opSchemas: new Map([...read.program.opSchemas, ...given]) }
    const loaded = yield* step(
      v,
      checkGpu ? "checking and loading engines" : "loading engines",
      checkGpu
        ? Effect.flatMap(gpuModules, ([{ checkEngines }, { Cuda }]) =>
          Exporter.load(program, { check: checkEngines }).pipe(Effect.provide(Cuda.layer)))
        : Exporter.load(program)
    )
    yield* parentOf(output)
    yield* step(v, `writing ${output}`, Writer.writeFile(output, loaded, { extraFiles }))
    yield* say(v, (verbose) => {
      const summary = Render.summary(Summary.ofProgram(loaded))
      return [...(verbose ? [...summary, ""] : [summary[0]!]), `wrote ${output}`]
    })
  })))

const summarize = (file: string) =>
  Effect.gen(function*() {
    const kind = yield* Files.input(file, "inspect", ["tgm", "pt2"])
    if (kind === "tgm") return Summary.ofModule(yield* Tgm.readFile(file))
    return Summary.ofProgram((yield* Reader.readFile(file)).program)
  })

/**
 * `trtx inspect`: the summary of a `.tgm` or `.pt2`, as tables or as JSON.
 *
 * @since 0.1.0
 * @category commands
 */
export const inspect = ({ file, json, ...limits }: InspectArgs): Effect.Effect<void> =>
  reported(file, LimitFlags.provide(limits, Effect.gen(function*() {
    const summary = yield* summarize(file)
    yield* Console.log(json ? JSON.stringify(summary, null, 2) : Render.summary(summary).join("\n"))
  })))

/**
 * `trtx report`: the partition picture and tables of a `.tgm` (exported first) or `.pt2`, as one
 * self-contained HTML page.
 *
 * @since 0.1.0
 * @category commands
 */
export const report = ({ file, output, ...limits }: ReportArgs): Effect.Effect<void> =>
  reported(file, LimitFlags.provide(limits, Effect.gen(function*() {
    const kind = yield* Files.input(file, "report", ["tgm", "pt2"])
    yield* Files.output(output, "report", "html", [file])
    const program = kind === "tgm"
      ? yield* Exporter.exportModule(yield* Tgm.readFile(file))
      : (yield* Reader.readFile(file)).program
    const Report = yield* reportModule
    const page = yield* Report.html(program, Summary.ofProgram(program), nodePath.basename(file))
    yield* parentOf(output)
    // Written beside, then renamed: a failure leaves no partial page, and a killed run's page is swept later.
    yield* TempFile.sweep(nodePath.dirname(output))
    const temporary = TempFile.make(nodePath.dirname(output))
    yield* Effect.try({
      try: () => {
        fs.writeFileSync(temporary, page)
        fs.renameSync(temporary, output)
      },
      catch: (e) => {
        fs.rmSync(temporary, { force: true })
        return CommandError.failed(output, e instanceof Error ? e.message : String(e))
      }
    })
    yield* Console.log(`wrote ${output}`)
  })))

/**
 * `trtx verify`: reads and checks a `.tgm` (that the exporter takes it) or a `.pt2` (that its graph lints).
 *
 * @since 0.1.0
 * @category commands
 */
export const verify = ({ file, ...limits }: VerifyArgs): Effect.Effect<void> =>
  reported(file, LimitFlags.provide(limits, Effect.gen(function*() {
    const kind = yield* Files.input(file, "verify", ["tgm", "pt2"])
    if (kind === "tgm") {
      const module = yield* Tgm.readFile(file)
      // The exporter's own entry check: the module must be one it can export.
      yield* Exporter.exportModule(module)
    } else {
      const { program } = yield* Reader.readFile(file)
      yield* Effect.try({
        try: () => Lint.lint(program.graphModule.graph),
        catch: (e) => CommandError.failed(file, e instanceof Error ? e.message : String(e))
      })
    }
    yield* Console.log(`${file}: valid`)
  })))
