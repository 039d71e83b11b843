/**
 * The signature of an exported program: torch.export's `ExportGraphSignature` (`torch/export/graph_signature.py`)
 * as trtx builds it. Input specs say what each placeholder of the graph is (a user input, or a lifted
 * parameter, buffer, constant tensor or custom object with its original FQN); output specs say what each
 * element of the output is.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

// ===== Arguments =====

/** A tensor value, by the graph name that carries it. @since 0.1.0 @category models */
export const TensorArgument = Schema.TaggedStruct("TensorArgument", { name: Schema.String })
/** A symbolic int value. @since 0.1.0 @category models */
export const SymIntArgument = Schema.TaggedStruct("SymIntArgument", { name: Schema.String })
/** A symbolic float value. @since 0.1.0 @category models */
export const SymFloatArgument = Schema.TaggedStruct("SymFloatArgument", { name: Schema.String })
/** A symbolic bool value. @since 0.1.0 @category models */
export const SymBoolArgument = Schema.TaggedStruct("SymBoolArgument", { name: Schema.String })
/** An effect token (programs with side-effecting custom ops thread one through). @since 0.1.0 @category models */
export const TokenArgument = Schema.TaggedStruct("TokenArgument", { name: Schema.String })
/** A custom (torchbind) object, with its class. @since 0.1.0 @category models */
export const CustomObjArgument = Schema.TaggedStruct("CustomObjArgument", {
  name: Schema.String,
  classFqn: Schema.String
})

/**
 * A constant in an input or output position (`None`, an int...), which has no graph value.
 *
 * @since 0.1.0
 * @category models
 */
export const ConstantArgument = Schema.TaggedStruct("ConstantArgument", {
  name: Schema.String,
  value: Schema.Union([Schema.Null, Schema.Boolean, Schema.Number, Schema.String])
})

/** @since 0.1.0 @category models */
export const ArgumentSpec = Schema.Union([
  TensorArgument,
  SymIntArgument,
  SymFloatArgument,
  SymBoolArgument,
  CustomObjArgument,
  TokenArgument,
  ConstantArgument
])
/** @since 0.1.0 @category models */
export type ArgumentSpec = typeof ArgumentSpec.Type

// ===== Specs =====

/**
 * What a placeholder is. Lifted kinds carry the FQN of the state they stand for (`target`).
 *
 * @since 0.1.0
 * @category models
 */
export const InputSpec = Schema.Union([
  Schema.TaggedStruct("UserInput", { arg: ArgumentSpec }),
  Schema.TaggedStruct("Parameter", { arg: TensorArgument, target: Schema.String }),
  Schema.TaggedStruct("Buffer", { arg: TensorArgument, target: Schema.String, persistent: Schema.Boolean }),
  Schema.TaggedStruct("ConstantTensor", { arg: TensorArgument, target: Schema.String }),
  Schema.TaggedStruct("CustomObj", { arg: CustomObjArgument, target: Schema.String }),
  Schema.TaggedStruct("Token", { arg: TokenArgument })
])
/** @since 0.1.0 @category models */
export type InputSpec = typeof InputSpec.Type

/**
 * What an element of the output is: torch's `OutputKind`s. A user output has no target (upstream wrote the
 * node's target object there; torch reads nothing from it); the others name the state or input they stand
 * for (a training-dialect program returns its buffer mutations, a joint one its gradients).
 *
 * @since 0.1.0
 * @category models
 */
export const OutputSpec = Schema.Union([
  Schema.TaggedStruct("UserOutput", { arg: ArgumentSpec }),
  Schema.TaggedStruct("LossOutput", { arg: TensorArgument }),
  Schema.TaggedStruct("BufferMutation", { arg: TensorArgument, target: Schema.String }),
  Schema.TaggedStruct("ParameterMutation", { arg: TensorArgument, target: Schema.String }),
  Schema.TaggedStruct("GradientToParameter", { arg: TensorArgument, target: Schema.String }),
  Schema.TaggedStruct("GradientToUserInput", { arg: TensorArgument, target: Schema.String }),
  Schema.TaggedStruct("UserInputMutation", { arg: TensorArgument, target: Schema.String }),
  Schema.TaggedStruct("Token", { arg: TokenArgument })
])
/** @since 0.1.0 @category models */
export type OutputSpec = typeof OutputSpec.Type

/** @since 0.1.0 @category models */
export const GraphSignature = Schema.Struct({
  inputSpecs: Schema.Array(InputSpec),
  outputSpecs: Schema.Array(OutputSpec)
})
/** @since 0.1.0 @category models */
export type GraphSignature = typeof GraphSignature.Type

// ===== Module call graph =====

/**
 * How a module is called: the pytree specs (`treespec_dumps` strings) of its inputs and outputs.
 *
 * @since 0.1.0
 * @category models
 */
export const ModuleCallSignature = Schema.Struct({
  inputs: Schema.Array(ArgumentSpec),
  outputs: Schema.Array(ArgumentSpec),
  inSpec: Schema.String,
  outSpec: Schema.String,
  forwardArgNames: Schema.NullOr(Schema.Array(Schema.String))
})

/** @since 0.1.0 @category models */
export const ModuleCallEntry = Schema.Struct({ fqn: Schema.String, signature: Schema.NullOr(ModuleCallSignature) })
/** @since 0.1.0 @category models */
export type ModuleCallEntry = typeof ModuleCallEntry.Type

/**
 * The value range of a symbol (`min` or `max` null: unbounded on that side, torch's `-int_oo` / `int_oo`).
 *
 * @since 0.1.0
 * @category models
 */
export const RangeConstraint = Schema.Struct({ min: Schema.NullOr(Schema.Number), max: Schema.NullOr(Schema.Number) })
/** @since 0.1.0 @category models */
export type RangeConstraint = typeof RangeConstraint.Type

// ===== Getters =====

/**
 * The user inputs' names, in order.
 *
 * @since 0.1.0
 * @category getters
 */
export const userInputs = (sig: GraphSignature): Array<string> =>
  sig.inputSpecs.flatMap((s) => (s._tag === "UserInput" ? [s.arg.name] : []))

/**
 * The lifted inputs (everything but user inputs), in order.
 *
 * @since 0.1.0
 * @category getters
 */
export const liftedInputs = (sig: GraphSignature): Array<Exclude<InputSpec, { readonly _tag: "UserInput" }>> =>
  sig.inputSpecs.flatMap((s) => (s._tag === "UserInput" ? [] : [s]))

/**
 * The rank of an input kind in trtx's canonical order: parameters, buffers, constant tensors, custom objects,
 * then user inputs.
 *
 * @since 0.1.0
 * @category getters
 */
export const canonicalRank = (spec: InputSpec): number =>
  ({ Token: -1, Parameter: 0, Buffer: 1, ConstantTensor: 2, CustomObj: 3, UserInput: 4 })[spec._tag]
