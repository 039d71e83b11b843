#!/usr/bin/env node
/**
 * The `trtx` executable: runs the CLI on Node with the platform services.
 *
 * @since 0.1.0
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { app, version } from "./Cli.ts"

app.pipe(Command.run({ version }), Effect.provide(NodeServices.layer), NodeRuntime.runMain)
