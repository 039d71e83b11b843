/**
 * The `trtx` command line: the root command and its subcommands. Only this folder renders anything; the
 * library never prints.
 *
 * @since 0.1.0
 */
import { Command } from "effect/cli"

/**
 * The trtx version.
 *
 * @since 0.1.0
 * @category models
 */
export const version = "0.1.0"

/**
 * The root command.
 *
 * @since 0.1.0
 * @category models
 */
export const app = Command.make("trtx").pipe(
  Command.withDescription(
    "Export Torch-TensorRT compiled modules (.tgm) as torch.export programs (.pt2), inspect and verify them"
  )
)
