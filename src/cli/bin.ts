#!/usr/bin/env node
/**
 * The `trtx` executable: runs the CLI on Node with the platform services.
 *
 * Exit codes: 0 on success, 1 when the work failed (a located error, printed once), 2 for a usage error
 * (effect/cli has already printed the help and the error; it would exit 1).
 *
 * @since 0.1.0
 */
// The two modules by their own paths: the package's barrel would load its HTTP, socket and worker layers too.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { CliError, Command } from "effect/cli"
import { app, version } from "./Cli.ts"

app.pipe(
  Command.run({ version }),
  Effect.catchIf(CliError.isCliError, () => Effect.sync(() => void (process.exitCode = 2))),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
