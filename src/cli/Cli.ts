/**
 * The `trtx` command line: the root command and its subcommands. Only this folder renders anything; the
 * library never prints.
 *
 * - `trtx export IN.tgm -o OUT.pt2 [--cross-compile] [--schemas FILE]`: read, run the exporter, write; prints
 *   the per-pass table and a summary. Operator schemas: those of `--schemas` (custom operators), then those
 *   the archive carries (`op_schemas.json`), then trtx's built-in ones (TensorRT's, and every operator torch
 *   2.11 registers).
 * - `trtx load IN.pt2 -o OUT.pt2 [--check-gpu]`: the load side of a cross-compiled program (no-op placeholders
 *   back to `execute_engine`); `--check-gpu` first checks every engine against this machine's GPU (the
 *   native addon's `Cuda` layer) and fails, naming the engine, where one cannot run.
 * - `trtx inspect FILE [--json]`: the summary of a `.tgm` or `.pt2` (`Summary.ts`).
 * - `trtx verify FILE`: reads and checks a `.tgm` or `.pt2`; exit 0 when valid, 1 with the located error.
 * - `trtx report FILE -o OUT.html`: the partition picture and tables as one self-contained page.
 *
 * A failure prints its located message once, without a stack trace. Every command exits 0 when its work is
 * done, 1 when the work failed (a broken file, a program that does not export or does not lint, an output
 * that cannot be written) and 2 when it cannot start (a bad command line, conflicting flags, a file of the
 * wrong kind, an unreadable `--schemas` file, an output that is an input, a directory or a file of another
 * kind): `CommandError.ts`. Files are checked by their contents before anything is read (`Files.ts`).
 *
 * This module defines the commands, their flags and their help; what each does is `Commands.ts`, imported when
 * a command runs.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type * as Commands from "./Commands.ts"
import * as LimitFlags from "./LimitFlags.ts"

/**
 * The trtx version.
 *
 * @since 0.1.0
 * @category models
 */
export const version = "0.1.0"

// What the commands do, imported when one runs: `--help`, `--version` and a command line that does not parse
// start without the archive, graph and pass modules (in the bundle, a chunk of their own).
const commands: Effect.Effect<typeof Commands> = Effect.promise(() => import("./Commands.ts"))

const run = <A>(f: (c: typeof Commands) => Effect.Effect<A>): Effect.Effect<A> => Effect.flatMap(commands, f)

// ===== Flags =====

const verbosityFlags = {
  quiet: Flag.Boolean("quiet").pipe(Flag.withAlias("q"), Flag.withDefault(false), Flag.withDescription("Print nothing but errors")),
  verbose: Flag.Boolean("verbose").pipe(Flag.withDefault(false), Flag.withDescription("Print every table of the summary"))
}

const output = Flag.String("output").pipe(Flag.withAlias("o"), Flag.withDescription("The .pt2 file to write"))

// ===== Commands =====

const exportCommand = Command.make("export", {
  input: Argument.File("input", { mustExist: true }).pipe(Argument.withDescription("The compiled module (.tgm)")),
  output,
  crossCompile: Flag.Boolean("cross-compile").pipe(
    Flag.withDefault(false),
    Flag.withDescription("Pack engines into no_op_placeholder_for_execute_engine nodes, as for another machine")
  ),
  schemas: Flag.String("schemas").pipe(
    Flag.optional,
    Flag.withDescription(
      "A JSON array of torch schema strings for custom operators trtx does not know (torch 2.11's and TensorRT's are built in); they win over the archive's own"
    )
  ),
  ...verbosityFlags,
  ...LimitFlags.flags
}, (args) => run((c) => c.exportProgram(args))).pipe(
  Command.withDescription("Export a compiled module (.tgm) as a torch.export program (.pt2)")
)

const loadCommand = Command.make("load", {
  input: Argument.File("input", { mustExist: true }).pipe(Argument.withDescription("A cross-compiled program (.pt2)")),
  output,
  schemas: Flag.String("schemas").pipe(Flag.optional, Flag.withDescription("As for export")),
  checkGpu: Flag.Boolean("check-gpu").pipe(
    Flag.withDefault(false),
    Flag.withDescription("First check every engine against this machine's GPU and platform (needs CUDA)")
  ),
  ...verbosityFlags,
  ...LimitFlags.flags
}, (args) => run((c) => c.load(args))).pipe(
  Command.withDescription("Put the engines of a cross-compiled program back in place (execute_engine)")
)

const inspectCommand = Command.make("inspect", {
  file: Argument.File("file", { mustExist: true }).pipe(Argument.withDescription("A .tgm or .pt2 file")),
  json: Flag.Boolean("json").pipe(Flag.withDefault(false), Flag.withDescription("Print the summary as JSON (the fields of Summary.ts)")),
  ...LimitFlags.flags
}, (args) => run((c) => c.inspect(args))).pipe(Command.withDescription("Show a file's graph, engines, signature and weights"))

const reportCommand = Command.make("report", {
  file: Argument.File("file", { mustExist: true }).pipe(Argument.withDescription("A .tgm (exported first) or .pt2 file")),
  output: Flag.String("output").pipe(Flag.withAlias("o"), Flag.withDescription("The .html file to write")),
  ...LimitFlags.flags
}, (args) => run((c) => c.report(args))).pipe(
  Command.withDescription("Write a self-contained HTML page picturing the program's engines, fallback ops and data flow")
)

const verifyCommand = Command.make("verify", {
  file: Argument.File("file", { mustExist: true }).pipe(Argument.withDescription("A .tgm or .pt2 file")),
  ...LimitFlags.flags
}, (args) => run((c) => c.verify(args))).pipe(
  Command.withDescription("Check a file: exit 0 when valid, 1 with the located error, 2 when it is not a .tgm or .pt2")
)

/**
 * The root command.
 *
 * @since 0.1.0
 * @category models
 */
export const app = Command.make("trtx").pipe(
  Command.withDescription(
    "Export Torch-TensorRT compiled modules (.tgm) as torch.export programs (.pt2), inspect and verify them. " +
      "Every command exits 0 when its work is done, 1 when the work failed, and 2 when it cannot start " +
      "(a bad command line, a file of the wrong kind, an output that is an input or a file of another kind)"
  ),
  Command.withSubcommands([exportCommand, loadCommand, inspectCommand, verifyCommand, reportCommand])
)

/**
 * Runs the CLI on explicit arguments (for tests).
 *
 * @since 0.1.0
 * @category running
 */
export const runWith = Command.runWith(app, { version })
