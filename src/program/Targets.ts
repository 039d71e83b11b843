/**
 * The qualified names of the calls a Torch-TensorRT program holds beside aten's: the TensorRT engine call,
 * its cross-compiled stand-in, and Python's `operator.getitem` that takes one of several outputs. One place
 * for the passes that write them, the archive code that reads and writes them and the summaries that count
 * them.
 *
 * @since 0.1.0
 */

/**
 * `torch.ops.tensorrt.execute_engine`: runs an engine on a list of tensors (Torch-TensorRT's runtime).
 *
 * @since 0.1.0
 * @category constants
 */
export const EXECUTE_ENGINE = "torch.ops.tensorrt.execute_engine.default"

/**
 * `torch.ops.tensorrt.no_op_placeholder_for_execute_engine`: an engine packed as text for another machine,
 * replaced by {@link EXECUTE_ENGINE} at load time.
 *
 * @since 0.1.0
 * @category constants
 */
export const NO_OP_PLACEHOLDER = "torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default"

/**
 * `operator.getitem` as fx names it: one element of a call's tuple of outputs.
 *
 * @since 0.1.0
 * @category constants
 */
export const GETITEM = "_operator.getitem"
