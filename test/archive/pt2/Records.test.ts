import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { ArchiveError } from "../../../src/archive/ArchiveError.ts"
import * as Json from "../../../src/archive/Json.ts"
import * as R from "../../../src/archive/pt2/Records.ts"
import * as TreeSpec from "../../../src/archive/TreeSpec.ts"
import * as Zip from "../../../src/archive/zip/Zip.ts"

// ===== Fixtures =====

const SAMPLES = nodePath.join(import.meta.dirname, "../../fixtures/samples")
const PT2 = nodePath.join(import.meta.dirname, "../../fixtures/pt2")

const sampleNames = fs.readdirSync(SAMPLES).filter((d) => fs.statSync(nodePath.join(SAMPLES, d)).isDirectory()).sort()
const sampleFiles = (ext: string) =>
  sampleNames.flatMap((d) =>
    fs.readdirSync(nodePath.join(SAMPLES, d))
      .filter((f) => f.startsWith("ep") && f.endsWith(ext))
      .sort()
      .map((f) => `${d}/${f}`)
  )
const programJsons = sampleFiles(".json")
const archives = sampleFiles(".pt2")

// JSON as torch wrote it, without rounding: an integer literal beyond the safe range becomes a bigint
// (JSON.parse source text access, Node >= 21).
const parseExact = (text: string): unknown =>
  JSON.parse(text, function(_key: string, value: unknown, context?: { readonly source?: string }) {
    return typeof value === "number" && !Number.isSafeInteger(value) && context?.source !== undefined &&
        /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value
  } as (key: string, value: unknown) => unknown)

const rawJSON = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON
// The JSON text of a value, bigints written exactly; two values give equal texts iff they are equal with the
// same key order.
const stringifyExact = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? rawJSON(v.toString()) : v))

const readText = (file: string) => fs.readFileSync(file, "utf8")
const clone = <A>(value: A): any => parseExact(stringifyExact(value))

const decode = <T, E>(schema: Schema.Codec<T, E>, value: unknown) => Schema.decodeUnknownEffect(schema)(value)
const encode = <T, E>(schema: Schema.Codec<T, E>, value: T) => Schema.encodeEffect(schema)(value)

// Decodes, encodes, and checks that the encoding is the input, key order included.
const roundTrip = <T, E>(schema: Schema.Codec<T, E>, input: unknown) =>
  Effect.gen(function*() {
    const decoded = yield* decode(schema, input)
    const encoded = yield* encode(schema, decoded)
    assert.strictEqual(stringifyExact(encoded), stringifyExact(input))
    return decoded
  })

const LOCATION = { archive: "test.pt2", entry: "models/model.json" }

// Json.decode of a value (as its JSON bytes), which must fail at `path`.
const rejects = <T, E>(schema: Schema.Codec<T, E>, value: unknown, path: string) =>
  Effect.gen(function*() {
    const e = yield* Effect.flip(Json.decode(schema, new TextEncoder().encode(stringifyExact(value)), LOCATION))
    assert.instanceOf(e, ArchiveError)
    assert.deepStrictEqual({ fault: e.fault, entry: e.entry, path: e.path }, {
      fault: "SchemaMismatch",
      entry: LOCATION.entry,
      path
    })
    assert.isAbove(e.detail.length, 0)
    return e
  })

const example = () => parseExact(readText(nodePath.join(PT2, "example_model.json"))) as any

interface Pt2Content {
  readonly root: string
  readonly model: unknown
  readonly weights: R.PayloadConfig
  readonly constants: R.PayloadConfig
  readonly weightsText: string
  readonly constantsText: string
}

const readPt2 = (file: string) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open({ _tag: "Bytes", bytes: fs.readFileSync(file), label: file })
    const names = [...zip.entries.keys()]
    const root = names[0]!.slice(0, names[0]!.indexOf("/"))
    const read = (name: string) => zip.read(`${root}/${name}`)
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
    const weightsName = "data/weights/model_weights_config.json"
    const constantsName = "data/constants/model_constants_config.json"
    const weightsBytes = yield* read(weightsName)
    const constantsBytes = yield* read(constantsName)
    const content: Pt2Content = {
      root,
      model: parseExact(text(yield* read("models/model.json"))),
      weights: yield* Json.decode(R.PayloadConfig, weightsBytes, { archive: file, entry: weightsName }),
      constants: yield* Json.decode(R.PayloadConfig, constantsBytes, { archive: file, entry: constantsName }),
      weightsText: text(weightsBytes),
      constantsText: text(constantsBytes)
    }
    return content
  }))

const sorted = (xs: Iterable<string>) => [...xs].sort()

// Checks a payload config against the signature: the same FQNs, and each entry of the kind its spec says.
const checkPayloads = (program: R.ExportedProgram, weights: R.PayloadConfig, constants: R.PayloadConfig) => {
  const targets = R.payloadTargets(program.graph_module.signature)
  // Torch writes a config in state-dict order, which need not be the signature's (trt_like.pt2 has
  // `scale` before `linear.weight`): compare as sets.
  assert.deepStrictEqual(sorted(Object.keys(weights.config)), sorted(targets.weights))
  assert.deepStrictEqual(sorted(Object.keys(constants.config)), sorted(targets.constants))
  for (const spec of program.graph_module.signature.input_specs) {
    if (spec.parameter !== undefined) {
      const meta = weights.config[spec.parameter.parameter_name]!
      assert.isTrue(meta.is_param)
      assert.match(meta.path_name, /^weight_\d+$/)
      assert.isNotNull(meta.tensor_meta)
    } else if (spec.buffer !== undefined) {
      const meta = (spec.buffer.persistent ? weights : constants).config[spec.buffer.buffer_name]!
      assert.isFalse(meta.is_param)
      assert.match(meta.path_name, spec.buffer.persistent ? /^weight_\d+$/ : /^tensor_\d+$/)
      assert.isNotNull(meta.tensor_meta)
    } else if (spec.custom_obj !== undefined) {
      const meta = constants.config[spec.custom_obj.custom_obj_name]!
      assert.deepStrictEqual({ ...meta, path_name: meta.path_name.replace(/\d+$/, "N") }, {
        path_name: "custom_obj_N",
        is_param: false,
        use_pickle: true,
        tensor_meta: null
      })
    } else if (spec.tensor_constant !== undefined) {
      const meta = constants.config[spec.tensor_constant.tensor_constant_name]!
      assert.match(meta.path_name, /^tensor_\d+$/)
    }
  }
}

// ===== Torch-written programs =====

describe("the sample programs written by torch 2.11", () => {
  it("there are fourteen: seven samples, plain and cross-compiled", () => {
    assert.strictEqual(programJsons.length, 14)
    assert.strictEqual(archives.length, 14)
  })

  for (const name of programJsons) {
    it.effect(`${name}: decodes, and encodes back to the same JSON, key order included`, () =>
      Effect.gen(function*() {
        const program = yield* roundTrip(R.ExportedProgram, parseExact(readText(nodePath.join(SAMPLES, name))))
        assert.deepStrictEqual(program.schema_version, R.SCHEMA_VERSION)
        assert.isTrue(R.isLoadableSchemaVersion(program.schema_version))
        const { graph, signature } = program.graph_module
        assert.strictEqual(graph.inputs.length, signature.input_specs.length)
        assert.strictEqual(graph.outputs.length, signature.output_specs.length)
      }))
  }

  it.effect("torch writes every key that has a default, so nothing is added on the way back", () =>
    Effect.gen(function*() {
      for (const name of programJsons) {
        const raw = parseExact(readText(nodePath.join(SAMPLES, name))) as any
        const has = (o: object, keys: ReadonlyArray<string>) =>
          assert.deepStrictEqual(keys.filter((k) => !Object.hasOwn(o, k)), [], name)
        has(raw, ["verifiers", "torch_version", "guards_code"])
        has(raw.graph_module, ["metadata", "treespec_namedtuple_fields"])
        has(raw.graph_module.graph, ["is_single_tensor_return", "custom_obj_values", "sym_float_values"])
        for (const node of raw.graph_module.graph.nodes) {
          has(node, ["is_hop_single_tensor_return", "name"])
          for (const input of node.inputs) has(input, ["kind"])
        }
        for (const meta of Object.values<any>(raw.graph_module.graph.tensor_values)) has(meta.device, ["index"])
        for (const entry of raw.graph_module.module_call_graph) {
          has(entry, ["signature"])
          if (entry.signature !== null) has(entry.signature, ["forward_arg_names"])
        }
      }
    }))

  it.effect("what the samples hold: the values torch 2.11 writes", () =>
    Effect.gen(function*() {
      for (const name of programJsons) {
        const program = yield* decode(R.ExportedProgram, parseExact(readText(nodePath.join(SAMPLES, name))))
        assert.deepStrictEqual(program.opset_version, { aten: 10 })
        assert.deepStrictEqual(program.verifiers, ["ATEN"])
        assert.strictEqual(program.torch_version, "2.11.0+cu130")
        assert.deepStrictEqual(program.guards_code, [])
        assert.deepStrictEqual(program.range_constraints, {})
        assert.isFalse(program.graph_module.graph.is_single_tensor_return)
        assert.deepStrictEqual(program.graph_module.module_call_graph.map((e) => e.fqn), [""])
        for (const node of program.graph_module.graph.nodes) {
          assert.isNull(node.is_hop_single_tensor_return)
          assert.isNotNull(node.name)
          for (const input of node.inputs) {
            assert.include([R.ArgumentKind.POSITIONAL, R.ArgumentKind.KEYWORD], input.kind)
          }
        }
        for (const spec of program.graph_module.signature.input_specs) {
          if (spec.custom_obj !== undefined) assert.strictEqual(spec.custom_obj.arg.class_fqn, "")
        }
      }
    }))

  it.effect("the in_spec and out_spec strings are pytree treespecs", () =>
    Effect.gen(function*() {
      const program = yield* decode(
        R.ExportedProgram,
        parseExact(readText(nodePath.join(SAMPLES, "kwargs_pytree/ep.json")))
      )
      const signature = program.graph_module.module_call_graph[0]!.signature!
      const inSpec = yield* Schema.decodeUnknownEffect(TreeSpec.TreeSpec)(JSON.parse(signature.in_spec))
      assert.deepStrictEqual(inSpec[1].children_spec.map((c) => c.type), ["builtins.tuple", "builtins.dict"])
      assert.strictEqual(inSpec[1].children_spec[1]!.context, JSON.stringify(["scale", "extra"]).replace(",", ", "))
      const outSpec = yield* Schema.decodeUnknownEffect(TreeSpec.TreeSpec)(JSON.parse(signature.out_spec))
      assert.strictEqual(outSpec[1].type, "builtins.dict")
    }))

  it.effect("int64 literals: slice's end 9223372036854775807 is kept exactly, as a bigint", () =>
    Effect.gen(function*() {
      const program = yield* decode(
        R.ExportedProgram,
        parseExact(readText(nodePath.join(SAMPLES, "multi_out/ep.json")))
      )
      const slice = program.graph_module.graph.nodes.find((n) => n.target === "torch.ops.aten.slice.Tensor")!
      assert.deepStrictEqual(slice.inputs.map((i) => [i.name, i.arg.as_int]), [
        ["self", undefined],
        ["dim", 1],
        ["start", 1],
        ["end", 9223372036854775807n]
      ])
      const encoded = yield* encode(R.ExportedProgram, program)
      assert.include(stringifyExact(encoded), `{"as_int":9223372036854775807}`)
    }))

  it.effect("Json.decode never rounds the int64 silently: it keeps it exactly, or refuses it where it is", () =>
    Effect.gen(function*() {
      const bytes = fs.readFileSync(nodePath.join(SAMPLES, "multi_out/ep.json"))
      const raw = parseExact(bytes.toString("utf8")) as any
      const index = raw.graph_module.graph.nodes.findIndex((n: any) => n.target === "torch.ops.aten.slice.Tensor")
      const result = yield* Effect.result(Json.decode(R.ExportedProgram, bytes, LOCATION))
      if (result._tag === "Success") {
        assert.strictEqual(result.success.graph_module.graph.nodes[index]!.inputs[3]!.arg.as_int, 9223372036854775807n)
      } else {
        assert.strictEqual(result.failure.path, `$.graph_module.graph.nodes[${index}].inputs[3].arg.as_int`)
      }
    }))
})

describe("the sample archives (.pt2) written by torch 2.11", () => {
  for (const name of archives) {
    it.effect(`${name}: model.json is the sample's JSON; both configs decode and match the signature`, () =>
      Effect.gen(function*() {
        const file = nodePath.join(SAMPLES, name)
        const pt2 = yield* readPt2(file)
        assert.strictEqual(pt2.root, nodePath.basename(name, ".pt2"))
        const json = parseExact(readText(file.replace(/\.pt2$/, ".json")))
        assert.deepStrictEqual(pt2.model, json)
        const program = yield* roundTrip(R.ExportedProgram, pt2.model)
        checkPayloads(program, pt2.weights, pt2.constants)
        // The configs are written with Python's json.dumps separators; compare the values.
        assert.strictEqual(
          stringifyExact(yield* encode(R.PayloadConfig, pt2.weights)),
          stringifyExact(JSON.parse(pt2.weightsText))
        )
        assert.strictEqual(
          stringifyExact(yield* encode(R.PayloadConfig, pt2.constants)),
          stringifyExact(JSON.parse(pt2.constantsText))
        )
      }))
  }

  it.effect("cnn_bn: weights are parameters and persistent buffers, with their own (CUDA) tensor metas", () =>
    Effect.gen(function*() {
      const pt2 = yield* readPt2(nodePath.join(SAMPLES, "cnn_bn/ep.persistent_patch.pt2"))
      assert.deepStrictEqual(
        Object.entries(pt2.weights.config).map(([k, m]) => [k, m.path_name, m.is_param, m.tensor_meta?.requires_grad]),
        [
          ["bn.weight", "weight_0", true, true],
          ["bn.bias", "weight_1", true, true],
          ["bn.running_mean", "weight_2", false, false],
          ["bn.running_var", "weight_3", false, false]
        ]
      )
      for (const meta of Object.values(pt2.weights.config)) {
        assert.deepStrictEqual(meta.tensor_meta?.device, { type: "cuda", index: 0 })
      }
      // ...while the lifted placeholders' metas in the graph are CPU float32 with all-one strides.
      const program = yield* decode(R.ExportedProgram, pt2.model)
      const lifted = program.graph_module.graph.tensor_values["bn_weight_1"]!
      assert.deepStrictEqual(lifted.device, { type: "cpu", index: null })
    }))
})

// ===== The §2.11 example =====

describe("the spec's example (test/fixtures/pt2)", () => {
  const file = (name: string) => fs.readFileSync(nodePath.join(PT2, name))

  it.effect("model.json and both configs decode with Json.decode, round trip, and agree", () =>
    Effect.gen(function*() {
      const program = yield* Json.decode(R.ExportedProgram, file("example_model.json"), LOCATION)
      const weights = yield* Json.decode(R.PayloadConfig, file("example_model_weights_config.json"), LOCATION)
      const constants = yield* Json.decode(R.PayloadConfig, file("example_model_constants_config.json"), LOCATION)
      yield* roundTrip(R.ExportedProgram, example())
      yield* roundTrip(R.PayloadConfig, parseExact(file("example_model_weights_config.json").toString("utf8")))
      yield* roundTrip(R.PayloadConfig, parseExact(file("example_model_constants_config.json").toString("utf8")))
      checkPayloads(program, weights, constants)
      assert.deepStrictEqual(R.payloadTargets(program.graph_module.signature), {
        weights: ["weight", "scale"],
        constants: ["engine"]
      })
      assert.deepStrictEqual(program.graph_module.graph.inputs.map(R.variant), [
        "as_tensor",
        "as_tensor",
        "as_custom_obj",
        "as_tensor"
      ])
      assert.deepStrictEqual(program.graph_module.signature.input_specs.map(R.variant), [
        "parameter",
        "buffer",
        "custom_obj",
        "user_input"
      ])
      const graph = program.graph_module.graph
      assert.deepStrictEqual(weights.config["weight"]!.tensor_meta, graph.tensor_values["p_weight"])
    }))

  it.effect("the minimal form torch also loads: omitted keys take their defaults, and encoding writes them all", () =>
    Effect.gen(function*() {
      const full = example()
      const minimal = clone(full)
      for (const k of ["verifiers", "torch_version", "guards_code"]) delete minimal[k]
      delete minimal.graph_module.metadata
      delete minimal.graph_module.treespec_namedtuple_fields
      delete minimal.graph_module.graph.sym_float_values
      delete minimal.graph_module.graph.is_single_tensor_return
      delete minimal.graph_module.module_call_graph[0].signature.forward_arg_names
      for (const node of minimal.graph_module.graph.nodes) {
        delete node.name
        delete node.is_hop_single_tensor_return
        for (const input of node.inputs) delete input.kind
      }
      for (const meta of Object.values<any>(minimal.graph_module.graph.tensor_values)) delete meta.device.index
      const program = yield* decode(R.ExportedProgram, minimal)
      assert.deepStrictEqual(program.verifiers, [])
      assert.strictEqual(program.torch_version, "<=2.4")
      assert.deepStrictEqual(program.guards_code, [])
      assert.deepStrictEqual(program.graph_module.metadata, {})
      assert.deepStrictEqual(program.graph_module.treespec_namedtuple_fields, {})
      assert.deepStrictEqual(program.graph_module.graph.sym_float_values, {})
      assert.isFalse(program.graph_module.graph.is_single_tensor_return)
      assert.isNull(program.graph_module.module_call_graph[0]!.signature!.forward_arg_names)
      for (const node of program.graph_module.graph.nodes) {
        assert.isNull(node.name)
        assert.isNull(node.is_hop_single_tensor_return)
        for (const input of node.inputs) assert.isNull(input.kind)
      }
      // Defaults filled in, the program is the full example but for the three values torch wrote itself.
      const expected = clone(full)
      expected.verifiers = []
      expected.torch_version = "<=2.4"
      for (const node of expected.graph_module.graph.nodes) {
        node.name = null
        for (const input of node.inputs) input.kind = null
      }
      assert.strictEqual(stringifyExact(yield* encode(R.ExportedProgram, program)), stringifyExact(expected))
      // A missing custom_obj_values defaults to {} as well.
      delete minimal.graph_module.graph.custom_obj_values
      assert.deepStrictEqual((yield* decode(R.ExportedProgram, minimal)).graph_module.graph.custom_obj_values, {})
    }))

  it.effect("unknown keys of a record are ignored, and not written back", () =>
    Effect.gen(function*() {
      const input = example()
      input.extra = 1
      input.graph_module.graph.nodes[0].future_field = { a: 1 }
      input.graph_module.graph.tensor_values.x.extra = null
      const program = yield* decode(R.ExportedProgram, input)
      assert.strictEqual(stringifyExact(yield* encode(R.ExportedProgram, program)), stringifyExact(example()))
    }))
})

// ===== Every variant =====

const GRAPH: R.GraphEncoded = {
  inputs: [{ as_tensor: { name: "a" } }],
  outputs: [{ as_tensor: { name: "a" } }],
  nodes: [],
  tensor_values: {},
  sym_int_values: {},
  sym_bool_values: {},
  is_single_tensor_return: false,
  custom_obj_values: {},
  sym_float_values: {}
}

// One value of every Argument variant, as JSON.
const ARGUMENTS: { readonly [K in keyof R.ArgumentVariantsEncoded]: R.ArgumentVariantsEncoded[K] } = {
  as_none: true,
  as_tensor: { name: "x" },
  as_tensors: [{ name: "x" }, { name: "y" }],
  as_int: -3,
  as_ints: [1, 2, 9007199254740991],
  as_float: 0.5,
  as_floats: [1e-5, "Infinity"],
  as_string: "mean",
  as_strings: ["a", ""],
  as_sym_int: { as_name: "sym_size_int" },
  as_sym_ints: [{ as_name: "s0" }, { as_int: 3 }],
  as_scalar_type: 13,
  as_memory_format: 2,
  as_layout: 7,
  as_device: { type: "cuda", index: 1 },
  as_bool: false,
  as_bools: [true, false],
  as_sym_bool: { as_bool: true },
  as_sym_bools: [{ as_name: "eq" }],
  as_graph: { name: "true_graph_0", graph: GRAPH },
  as_optional_tensors: [{ as_tensor: { name: "x" } }, { as_none: true }],
  as_custom_obj: { name: "engine", class_fqn: "__torch__.torch.classes.tensorrt.Engine" },
  as_operator: "torch.ops.aten.add.Tensor",
  as_sym_float: { as_float: "-Infinity" },
  as_sym_floats: [{ as_name: "f" }, { as_float: 2.5 }],
  as_optional_tensor: { as_none: true },
  as_complex: { real: 1, imag: -0.5 },
  as_nested_tensors: [[{ name: "x" }], []],
  as_int_lists: [[1, 2], []],
  as_string_to_argument: { k: { as_tensor: { name: "x" } }, l: { as_string_to_argument: { m: { as_int: 1 } } } }
}

describe("Argument", () => {
  it("ARGUMENT_KEYS lists every variant, in the schema's order", () => {
    assert.deepStrictEqual<ReadonlyArray<string>>(R.ARGUMENT_KEYS, Object.keys(ARGUMENTS))
    assert.strictEqual(R.ARGUMENT_KEYS.length, 30)
  })

  for (const [key, value] of Object.entries(ARGUMENTS)) {
    it.effect(`${key}: decodes and round trips`, () =>
      Effect.gen(function*() {
        const arg = yield* roundTrip(R.Argument, { [key]: value })
        assert.strictEqual(R.variant(arg), key)
      }))
  }

  it.effect("floats: the strings torch writes for non-finite values decode to numbers and encode back", () =>
    Effect.gen(function*() {
      const arg = yield* decode(R.Argument, { as_floats: ["Infinity", "-Infinity", "NaN", -0, 1e-5] })
      assert.deepStrictEqual(arg.as_floats, [Infinity, -Infinity, NaN, -0, 1e-5])
      assert.deepStrictEqual(yield* encode(R.Argument, { as_float: NaN }), { as_float: "NaN" })
      yield* rejects(R.Argument, { as_float: "inf" }, "$.as_float")
    }))

  it.effect("an int's -0 is the int 0, read and written: the text is 0, never the float -0.0", () =>
    Effect.gen(function*() {
      // `-0` parses as JavaScript's negative zero, which the JSON writer keeps as `-0.0` for floats.
      const read = yield* decode(R.Argument, JSON.parse("{\"as_ints\": [-0, 3]}"))
      const first = read.as_ints?.[0]
      assert.isTrue(Object.is(first, 0), `read as ${Object.is(first, -0) ? "-0" : String(first)}`)
      const written = yield* encode(R.Argument, { as_int: -0 })
      assert.strictEqual(Json.stringify(written), "{\"as_int\":0}")
      assert.strictEqual(Json.stringify(yield* encode(R.Argument, { as_sym_ints: [{ as_int: -0 }] })), "{\"as_sym_ints\":[{\"as_int\":0}]}")
      // A float's -0 keeps its sign.
      assert.strictEqual(Json.stringify(yield* encode(R.Argument, { as_float: -0 })), "{\"as_float\":-0.0}")
    }))

  it.effect("a whole node, with a higher-order op's subgraph, round trips", () =>
    Effect.gen(function*() {
      const node: R.NodeEncoded = {
        target: "torch.ops.higher_order.cond",
        inputs: [
          { name: "", arg: { as_tensor: { name: "pred" } }, kind: 1 },
          { name: "", arg: { as_graph: { name: "true_graph_0", graph: GRAPH } }, kind: 1 },
          { name: "dim", arg: { as_int: 0 }, kind: 2 }
        ],
        outputs: [{ as_tensor: { name: "cond" } }],
        metadata: { stack_trace: "File \"m.py\", line 1" },
        is_hop_single_tensor_return: true,
        name: "cond"
      }
      yield* roundTrip(R.Node, node)
    }))
})

describe("the other unions", () => {
  const symExpr = { expr_str: "Symbol('s77', positive=True, integer=True)", hint: { as_int: 4 } }
  const cases: ReadonlyArray<readonly [string, Schema.Codec<any, any>, ReadonlyArray<unknown>]> = [
    ["SymExprHint", R.SymExprHint, [{ as_int: 4 }, { as_bool: true }, { as_float: "NaN" }]],
    ["SymInt", R.SymInt, [{ as_int: 0 }, { as_expr: symExpr }, { as_expr: { expr_str: "s0", hint: null } }]],
    ["SymFloat", R.SymFloat, [{ as_float: 1.5 }, { as_expr: { expr_str: "s0/2", hint: { as_float: 0.5 } } }]],
    ["SymBool", R.SymBool, [{ as_bool: false }, { as_expr: { expr_str: "Eq(s0, 2)", hint: { as_bool: true } } }]],
    ["SymIntArgument", R.SymIntArgument, [{ as_name: "s0" }, { as_int: 9223372036854775807n }]],
    ["SymFloatArgument", R.SymFloatArgument, [{ as_name: "f" }, { as_float: 0.25 }]],
    ["SymBoolArgument", R.SymBoolArgument, [{ as_name: "b" }, { as_bool: true }]],
    ["OptionalTensorArgument", R.OptionalTensorArgument, [{ as_tensor: { name: "x" } }, { as_none: true }]],
    ["ConstantValue", R.ConstantValue, [
      { as_none: true },
      { as_int: 2 },
      { as_float: "-Infinity" },
      { as_string: "s" },
      { as_bool: false }
    ]],
    ["InputSpec", R.InputSpec, [
      { user_input: { arg: { as_sym_int: { as_name: "s0" } } } },
      { parameter: { arg: { name: "p_w" }, parameter_name: "w" } },
      { buffer: { arg: { name: "b_nbuf" }, buffer_name: "nbuf", persistent: false } },
      { tensor_constant: { arg: { name: "c_t" }, tensor_constant_name: "t" } },
      { custom_obj: { arg: { name: "engine_1", class_fqn: "" }, custom_obj_name: "engine" } },
      { token: { arg: { name: "token" } } },
      { constant_input: { name: "flag", value: { as_bool: true } } }
    ]],
    ["OutputSpec", R.OutputSpec, [
      { user_output: { arg: { as_none: true } } },
      { loss_output: { arg: { name: "loss" } } },
      { buffer_mutation: { arg: { name: "add" }, buffer_name: "buf" } },
      { gradient_to_parameter: { arg: { name: "g" }, parameter_name: "w" } },
      { gradient_to_user_input: { arg: { name: "g" }, user_input_name: "x" } },
      { user_input_mutation: { arg: { name: "m" }, user_input_name: "x" } },
      { token: { arg: { name: "token" } } },
      { parameter_mutation: { arg: { name: "m" }, parameter_name: "w" } }
    ]]
  ]
  for (const [name, schema, values] of cases) {
    it.effect(`${name}: every variant round trips; two keys are refused at the object`, () =>
      Effect.gen(function*() {
        for (const value of values) yield* roundTrip(schema, value)
        yield* rejects(schema, { ...(values[0] as object), ...(values[1] as object) }, "$")
        yield* rejects(schema, {}, "$")
        yield* rejects(schema, [], "$")
      }))
  }

  it.effect("a symbolic program: sizes as expressions, range constraints with an unbounded end", () =>
    Effect.gen(function*() {
      const input = example()
      input.graph_module.graph.tensor_values.x.sizes[0] = { as_expr: symExpr }
      input.graph_module.graph.sym_int_values = { sym_size_int: { as_expr: { expr_str: "s77", hint: { as_int: 4 } } } }
      input.range_constraints = {
        s77: { min_val: 2, max_val: null },
        u0: { min_val: null, max_val: 9223372036854775806n }
      }
      const program = yield* roundTrip(R.ExportedProgram, input)
      assert.deepStrictEqual(program.range_constraints["u0"], { min_val: null, max_val: 9223372036854775806n })
    }))
})

// ===== Rejections =====

describe("faults are located at their JSON path", () => {
  const NODE0 = "$.graph_module.graph.nodes[0]"

  it.effect("an Argument with two keys: at the argument", () =>
    Effect.gen(function*() {
      const input = example()
      input.graph_module.graph.nodes[0].inputs[0].arg = { as_tensor: { name: "x" }, as_int: 1 }
      yield* rejects(R.ExportedProgram, input, `${NODE0}.inputs[0].arg`)
    }))

  it.effect("an Argument with an unknown key: at that key", () =>
    Effect.gen(function*() {
      const input = example()
      input.graph_module.graph.nodes[1].outputs[0] = { as_tensor_list: [] }
      yield* rejects(R.ExportedProgram, input, "$.graph_module.graph.nodes[1].outputs[0].as_tensor_list")
    }))

  it.effect("a fault inside a variant: under the variant's key", () =>
    Effect.gen(function*() {
      const input = example()
      input.graph_module.graph.nodes[1].inputs[0].arg.as_tensors[1] = { name: 3 }
      yield* rejects(R.ExportedProgram, input, "$.graph_module.graph.nodes[1].inputs[0].arg.as_tensors[1].name")
    }))

  it.effect("an unknown dtype code, and UNKNOWN (0): at the dtype", () =>
    Effect.gen(function*() {
      for (const code of [14, 0, 7.5, "float32"]) {
        const input = example()
        input.graph_module.graph.tensor_values.x.dtype = code
        yield* rejects(R.ExportedProgram, input, "$.graph_module.graph.tensor_values.x.dtype")
      }
      const arg = { as_scalar_type: 27 }
      yield* rejects(R.Argument, arg, "$.as_scalar_type")
    }))

  it.effect("a wrong enum value: layout, memory format, argument kind", () =>
    Effect.gen(function*() {
      const layout = example()
      layout.graph_module.graph.tensor_values.p_weight.layout = 8
      yield* rejects(R.ExportedProgram, layout, "$.graph_module.graph.tensor_values.p_weight.layout")
      const kind = example()
      kind.graph_module.graph.nodes[0].inputs[1].kind = 3
      yield* rejects(R.ExportedProgram, kind, `${NODE0}.inputs[1].kind`)
      yield* rejects(R.Argument, { as_memory_format: 5 }, "$.as_memory_format")
    }))

  it.effect("a missing required key: at the key", () =>
    Effect.gen(function*() {
      const target = example()
      delete target.graph_module.graph.nodes[1].target
      yield* rejects(R.ExportedProgram, target, "$.graph_module.graph.nodes[1].target")
      const persistent = example()
      delete persistent.graph_module.signature.input_specs[1].buffer.persistent
      yield* rejects(R.ExportedProgram, persistent, "$.graph_module.signature.input_specs[1].buffer.persistent")
      // Optional in type, but without a default: both keys of a range are required, and so is tensor_meta.
      const range = example()
      range.range_constraints = { s0: { max_val: 8 } }
      yield* rejects(R.ExportedProgram, range, "$.range_constraints.s0.min_val")
      yield* rejects(
        R.PayloadConfig,
        { config: { engine: { path_name: "custom_obj_0", is_param: false, use_pickle: true } } },
        "$.config.engine.tensor_meta"
      )
    }))

  it.effect("an input spec with two variants: at the spec", () =>
    Effect.gen(function*() {
      const input = example()
      input.graph_module.signature.input_specs[0].user_input = { arg: { as_tensor: { name: "p_weight" } } }
      yield* rejects(R.ExportedProgram, input, "$.graph_module.signature.input_specs[0]")
    }))

  it.effect("a treespec string that is not a treespec: at the string", () =>
    Effect.gen(function*() {
      const leaf = { type: null, context: null, children_spec: [] }
      for (const bad of [JSON.stringify([1, { type: null }]), JSON.stringify([2, leaf]), "{"]) {
        const input = example()
        input.graph_module.module_call_graph[0].signature.in_spec = bad
        yield* rejects(R.ExportedProgram, input, "$.graph_module.module_call_graph[0].signature.in_spec")
      }
    }))

  it.effect("ints: a fraction, a rounded int64, and a bigint outside int64 are refused where they are", () =>
    Effect.gen(function*() {
      yield* rejects(R.Argument, { as_int: 1.5 }, "$.as_int")
      yield* rejects(R.Argument, { as_ints: [1, 2 ** 63] }, "$.as_ints[1]")
      // A bigint cannot travel through JSON text: decoded directly, it is refused all the same.
      assert.isTrue(Schema.isSchemaError(yield* Effect.flip(decode(R.Argument, { as_int: 2n ** 63n }))))
      yield* decode(R.Argument, { as_int: 2n ** 63n - 1n })
      yield* decode(R.Argument, { as_int: -(2n ** 63n) })
      const sizes = example()
      sizes.graph_module.graph.tensor_values.x.sizes[1] = { as_int: true }
      yield* rejects(R.ExportedProgram, sizes, "$.graph_module.graph.tensor_values.x.sizes[1].as_int")
    }))

  it.effect("a device index must be a non-negative int or null", () =>
    Effect.gen(function*() {
      const input = example()
      input.graph_module.graph.tensor_values.x.device.index = -1
      yield* rejects(R.ExportedProgram, input, "$.graph_module.graph.tensor_values.x.device.index")
    }))
})

// ===== Enum tables =====

describe("enum tables", () => {
  it("dtypes: the spec's codes, and name -> code -> name round trips", () => {
    assert.deepStrictEqual(R.DTYPE_CODES, {
      uint8: 1,
      int8: 2,
      int16: 3,
      int32: 4,
      int64: 5,
      float16: 6,
      float32: 7,
      float64: 8,
      complex32: 9,
      complex64: 10,
      complex128: 11,
      bool: 12,
      bfloat16: 13,
      uint16: 28,
      float8_e4m3fn: 29,
      float8_e5m2: 30,
      float8_e4m3fnuz: 31,
      float8_e5m2fnuz: 32
    })
    for (const [name, code] of Object.entries(R.DTYPE_CODES)) {
      assert.strictEqual(R.dtypeCode(name), code)
      assert.strictEqual(R.dtypeName(code), name)
      assert.isTrue(Schema.is(R.ScalarTypeCode)(code))
    }
    const float32: 7 = R.dtypeCode("float32")
    assert.strictEqual(float32, R.ScalarType.FLOAT)
    for (const name of ["uint32", "uint64", "float4_e2m1fn_x2", "float8_e8m0fnu", "torch.float32", "toString"]) {
      assert.isUndefined(R.dtypeCode(name))
    }
    for (const code of [0, 14, 27, 33, -1]) {
      assert.isUndefined(R.dtypeName(code))
      assert.isFalse(Schema.is(R.ScalarTypeCode)(code))
    }
  })

  it("layouts and memory formats round trip; Unknown (0) has no name", () => {
    for (const [name, code] of Object.entries(R.LAYOUT_CODES)) {
      assert.strictEqual(R.layoutName(R.layoutCode(name)!), name)
      assert.strictEqual(R.layoutCode(R.layoutName(code)), code)
    }
    assert.strictEqual(R.layoutCode("strided"), R.Layout.Strided)
    assert.strictEqual(R.layoutCode("strided"), 7)
    for (const [name, code] of Object.entries(R.MEMORY_FORMAT_CODES)) {
      assert.strictEqual(R.memoryFormatName(R.memoryFormatCode(name)!), name)
      assert.strictEqual(R.memoryFormatCode(R.memoryFormatName(code)), code)
    }
    assert.strictEqual(R.memoryFormatCode("channels_last"), 2)
    assert.isUndefined(R.layoutName(0))
    assert.isUndefined(R.memoryFormatName(0))
    assert.deepStrictEqual(R.ArgumentKind, { UNKNOWN: 0, POSITIONAL: 1, KEYWORD: 2 })
  })
})

// ===== Writer types =====

describe("writer types", () => {
  it.effect("a program built in TypeScript encodes to what torch reads", () =>
    Effect.gen(function*() {
      const meta: R.TensorMeta = {
        dtype: R.dtypeCode("float32"),
        sizes: [{ as_int: 2 }],
        requires_grad: false,
        device: { type: "cpu", index: null },
        strides: [{ as_int: 1 }],
        storage_offset: { as_int: 0 },
        layout: R.layoutCode("strided")
      }
      const program: R.ExportedProgram = {
        graph_module: {
          graph: {
            inputs: [{ as_tensor: { name: "x" } }],
            outputs: [{ as_tensor: { name: "x" } }],
            nodes: [],
            tensor_values: { x: meta },
            sym_int_values: {},
            sym_bool_values: {},
            is_single_tensor_return: false,
            custom_obj_values: {},
            sym_float_values: {}
          },
          signature: {
            input_specs: [{ user_input: { arg: { as_tensor: { name: "x" } } } }],
            output_specs: [{ user_output: { arg: { as_tensor: { name: "x" } } } }]
          },
          module_call_graph: [],
          metadata: {},
          treespec_namedtuple_fields: {}
        },
        opset_version: { aten: 10 },
        range_constraints: {},
        schema_version: R.SCHEMA_VERSION,
        verifiers: ["ATEN"],
        torch_version: "2.11.0",
        guards_code: []
      }
      const encoded = yield* encode(R.ExportedProgram, program)
      assert.deepStrictEqual(yield* decode(R.ExportedProgram, encoded), program)
      // @ts-expect-error an Argument has exactly one key
      const two: R.Argument = { as_int: 1, as_float: 2 }
      // @ts-expect-error an Argument has a key
      const none: R.Argument = {}
      // @ts-expect-error dtype 0 (UNKNOWN) cannot be written
      const unknown: R.TensorMeta = { ...meta, dtype: 0 }
      assert.isDefined([two, none, unknown])
    }))
})
