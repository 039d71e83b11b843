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

// ===== Rules =====

/**
 * A broken signature rule: the spec that breaks it (an input or output spec, by index) and why, in torch's
 * words where torch's verifier has the rule.
 *
 * @since 0.1.0
 * @category models
 */
export interface Violation {
  readonly spec: "input" | "output"
  readonly index: number
  readonly detail: string
}

/**
 * What a signature's targets name: the program's state, by FQN.
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly stateDict: ReadonlyMap<string, unknown>
  readonly constants: ReadonlyMap<string, { readonly _tag: "Tensor" | "ScriptObject" }>
}

// An attribute path: names joined by dots, none empty (nn.Module refuses an empty attribute name).
const isAttributePath = (target: string): boolean => target.split(".").every((name) => name !== "")

/**
 * Why a signature's targets do not name what exists, or undefined. The rules, spec by spec:
 * 1. A lifted input's target is an attribute path: non-empty names joined by dots (torch assigns it into
 *    the unflattened module, and `nn.Module` refuses an empty name).
 * 2. The state it names exists where torch's verifier looks for it: a parameter or persistent buffer in the
 *    state dict ("Parameter w is not in the state dict."), a non-persistent buffer in the constants and not
 *    the state dict ("Non-persistent buffer b is in the state dict, it should not be."), a constant tensor or
 *    custom object in the constants ("Custom object c is not in the constants dictionary."), of its kind.
 * 3. An output that mutates or is the gradient of a buffer, parameter or user input names one the inputs
 *    have ("Buffer output b_1 does not point to a buffer that exists.").
 *
 * @since 0.1.0
 * @category getters
 */
export const check = (sig: GraphSignature, state: State): Violation | undefined => {
  const parameters = new Set<string>()
  const buffers = new Set<string>()
  const userInputs = new Set<string>()
  for (let index = 0; index < sig.inputSpecs.length; index++) {
    const spec = sig.inputSpecs[index]!
    const refuse = (detail: string): Violation => ({ spec: "input", index, detail })
    if (spec._tag === "UserInput") {
      userInputs.add(spec.arg.name)
      continue
    }
    if (spec._tag === "Token") continue
    const t = spec.target
    if (!isAttributePath(t)) {
      return refuse(`target ${JSON.stringify(t)} is not an attribute path: names joined by dots, none of them empty`)
    }
    const constant = state.constants.get(t)
    switch (spec._tag) {
      case "Parameter":
        parameters.add(t)
        if (!state.stateDict.has(t)) return refuse(`Parameter ${t} is not in the state dict.`)
        break
      case "Buffer":
        buffers.add(t)
        if (spec.persistent && !state.stateDict.has(t)) return refuse(`Buffer ${t} is not in the state dict.`)
        if (!spec.persistent && state.stateDict.has(t)) return refuse(`Non-persistent buffer ${t} is in the state dict, it should not be.`)
        if (!spec.persistent && constant?._tag !== "Tensor") return refuse(`Non-persistent buffer ${t} is not a tensor of the constants dictionary.`)
        break
      case "ConstantTensor":
        if (constant?._tag !== "Tensor") return refuse(`Constant tensor ${t} is not in the constants dictionary.`)
        break
      case "CustomObj":
        if (constant?._tag !== "ScriptObject") return refuse(`Custom object ${t} is not in the constants dictionary.`)
        break
    }
  }
  for (let index = 0; index < sig.outputSpecs.length; index++) {
    const spec = sig.outputSpecs[index]!
    const refuse = (detail: string): Violation => ({ spec: "output", index, detail })
    switch (spec._tag) {
      case "BufferMutation":
        if (!buffers.has(spec.target)) return refuse(`Buffer output ${spec.arg.name} does not point to a buffer that exists.`)
        break
      case "ParameterMutation":
        if (!parameters.has(spec.target)) return refuse(`Parameter output ${spec.arg.name} does not point to a parameter that exists.`)
        break
      case "UserInputMutation":
        if (!userInputs.has(spec.target)) return refuse(`User input output ${spec.arg.name} does not point to a user input that exists.`)
        break
      case "GradientToParameter":
        if (!parameters.has(spec.target)) return refuse(`the gradient ${spec.arg.name} is of ${spec.target}, which is no parameter of the inputs`)
        break
      case "GradientToUserInput":
        if (!userInputs.has(spec.target)) return refuse(`the gradient ${spec.arg.name} is of ${spec.target}, which is no user input`)
        break
    }
  }
  return undefined
}

/**
 * The rank of an input kind in trtx's canonical order: parameters, buffers, constant tensors, custom objects,
 * then user inputs.
 *
 * @since 0.1.0
 * @category getters
 */
export const canonicalRank = (spec: InputSpec): number =>
  ({ Token: -1, Parameter: 0, Buffer: 1, ConstantTensor: 2, CustomObj: 3, UserInput: 4 })[spec._tag]
