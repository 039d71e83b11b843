"""Tests of python/trtx_dump.py: dump small hand-built partitioned modules and read the archive back.

Run from the repository root: ``python3 -m unittest discover -s python/tests -v`` (torch 2.11; a CPU build is
enough). The last test also runs on the stand-in TensorRT runtime when ``TRTX_REFERENCE`` names the reference
tools folder (``shared/reference`` with ``import os`` added to the shim's ``_settings.py``) and a GPU is there.
"""
from __future__ import annotations

import base64
import io
import json
import math
import os
import sys
import unittest
import zipfile

import torch
import torch.fx
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.graph import _PyTreeCodeGen, _PyTreeInfo
from torch.utils import _pytree as pytree

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import trtx_dump  # noqa: E402

aten = torch.ops.aten
ENGINE = b"TRTSTUB1 uid=test/_run_on_acc_0 outs=float32:4x8\n" + bytes(range(256))


class FakeEngine:
    """A live engine object: ``__getstate__()`` gives the record with the engine base64-encoded."""

    def __init__(self, record):
        self.record = record

    def __getstate__(self):
        return list(self.record)


class FakeTrtModule(torch.nn.Module):
    """What the dumper needs of a TensorRT module: ``_pack_engine_info()``, the bindings and a live engine."""

    def __init__(self, name, engine, inputs, outputs):
        super().__init__()
        self.name = name
        self.serialized_engine = engine
        self.input_binding_names = inputs
        self.output_binding_names = outputs
        self.unowned = False
        record = self._pack_engine_info()
        record[3] = base64.b64encode(engine).decode()
        self.engine = FakeEngine(record)  # built before any flag is set, as setup_engine does

    def _pack_engine_info(self):
        return ["7", self.name + "_engine", "0%9%0%0%Test GPU", self.serialized_engine, "%".join(self.input_binding_names),
                "%".join(self.output_binding_names), "0", f"metadata unowned={self.unowned}", "linux_x86_64", "0"]


def read(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    return z, json.loads(z.read("module.json"))


def fake_vals(*shapes):
    mode = FakeTensorMode()
    with mode:
        return [torch.empty(*s) for s in shapes]


def demo(unowned=False):
    """x -> _run_on_acc_0 (an engine) -> _run_on_gpu_1 (relu(y) * scale) -> (z,), as in the reference README."""
    y_val, x_val, r_val, z_val, s_val = fake_vals((4, 8), (4, 8), (4, 8), (4, 8), (8,))
    acc = FakeTrtModule("_run_on_acc_0", ENGINE, ["x"], ["output0"])
    acc.unowned = unowned
    holder = torch.nn.Module()
    holder.register_parameter("scale", torch.nn.Parameter(torch.arange(8, dtype=torch.float32) / 2, requires_grad=False))
    sg = torch.fx.Graph()
    y = sg.placeholder("y")
    y.meta["val"] = y_val
    scale = sg.get_attr("scale")
    scale.meta["val"] = s_val
    r = sg.call_function(aten.relu.default, (y,))
    r.meta["val"] = r_val
    r.meta["stack_trace"] = 'File "model.py", line 3, in forward'
    r.meta["nn_module_stack"] = {"L__self__": ("", "model.Net")}
    r.meta["torch_fn"] = ("relu_1", "function.relu")
    r.meta["ignored"] = object()  # not a key of the format: dropped
    z = sg.call_function(aten.mul.Tensor, (r, scale))
    z.meta["val"] = z_val
    sg.output(z)
    gpu = torch.fx.GraphModule(holder, sg)
    root = torch.nn.Module()
    root.add_module("_run_on_acc_0", acc)
    root.add_module("_run_on_gpu_1", gpu)
    g = torch.fx.Graph()
    x = g.placeholder("x")
    x.meta["val"] = x_val
    a = g.call_module("_run_on_acc_0", (x,))
    a.meta["val"] = [y_val]
    b = g.call_module("_run_on_gpu_1", (a,))
    g.output((b,))
    gm = torch.fx.GraphModule(root, g)
    in_spec = pytree.tree_flatten(((torch.empty(0),), {}))[1]
    out_spec = pytree.tree_flatten((torch.empty(0),))[1]
    gm.graph._codegen = _PyTreeCodeGen(_PyTreeInfo(["x"], in_spec, out_spec))
    gm.recompile()
    return gm, in_spec, out_spec


class DemoModule(unittest.TestCase):
    def setUp(self):
        self.gm, self.in_spec, self.out_spec = demo()
        self.data = trtx_dump.to_bytes(self.gm)
        self.zip, self.root = read(self.data)

    def test_entries_and_format(self):
        self.assertEqual(self.zip.namelist(), ["format.json", "module.json", "op_schemas.json", "engines/0", "tensors/0"])
        fmt = json.loads(self.zip.read("format.json"))
        self.assertEqual(fmt["format"], "torch-tensorrt-compiled-module")
        self.assertEqual(fmt["version"], 1)
        self.assertEqual(fmt["producer"]["torch"], torch.__version__)
        stored = {i.filename: i.compress_type for i in self.zip.infolist()}
        self.assertEqual(stored["engines/0"], zipfile.ZIP_STORED)
        self.assertEqual(stored["tensors/0"], zipfile.ZIP_STORED)
        self.assertEqual(stored["module.json"], zipfile.ZIP_DEFLATED)

    def test_root_graph(self):
        self.assertEqual(self.root["kind"], "graph_module")
        self.assertEqual(list(self.root), ["kind", "graph", "children", "parameters", "buffers", "constants"])
        graph = self.root["graph"]
        self.assertEqual(list(graph), ["nodes", "in_spec", "out_spec"])  # no symbols: all shapes are static
        self.assertEqual(graph["in_spec"], pytree.treespec_dumps(self.in_spec))
        self.assertEqual(graph["out_spec"], pytree.treespec_dumps(self.out_spec))
        nodes = graph["nodes"]
        self.assertEqual([(n["name"], n["op"], n["target"]) for n in nodes], [
            ("x", "placeholder", "x"),
            ("_run_on_acc_0", "call_module", "_run_on_acc_0"),
            ("_run_on_gpu_1", "call_module", "_run_on_gpu_1"),
            ("output", "output", "output"),
        ])
        self.assertEqual(nodes[1]["args"], [{"node": "x"}])
        self.assertEqual(nodes[3]["args"], [{"tuple": [{"node": "_run_on_gpu_1"}]}])
        tensor = {"shape": [4, 8], "stride": [8, 1], "storage_offset": 0, "dtype": "float32", "device": "cpu",
                  "requires_grad": False}
        self.assertEqual(nodes[0]["meta"], {"val": {"tensor": tensor}})
        self.assertEqual(nodes[1]["meta"], {"val": [{"tensor": tensor}]})
        self.assertEqual(nodes[2]["meta"], {})
        self.assertEqual(list(self.root["children"]), ["_run_on_acc_0", "_run_on_gpu_1"])

    def test_trt_module(self):
        acc = self.root["children"]["_run_on_acc_0"]
        self.assertEqual(list(acc), ["kind", "name", "packed_engine_info", "input_binding_names", "output_binding_names"])
        expected = self.gm._run_on_acc_0._pack_engine_info()
        expected[3] = {"engine": "engines/0"}
        self.assertEqual(acc["packed_engine_info"], expected)
        self.assertEqual(self.zip.read("engines/0"), ENGINE)
        self.assertEqual((acc["input_binding_names"], acc["output_binding_names"]), (["x"], ["output0"]))

    def test_fallback_module(self):
        gpu = self.root["children"]["_run_on_gpu_1"]
        self.assertEqual(gpu["kind"], "graph_module")
        self.assertIsNone(gpu["graph"]["in_spec"])  # a submodule's graph has no pytree codegen
        nodes = gpu["graph"]["nodes"]
        self.assertEqual([n["target"] for n in nodes], ["y", "scale", "torch.ops.aten.relu.default", "torch.ops.aten.mul.Tensor", "output"])
        self.assertEqual(nodes[3]["args"], [{"node": nodes[2]["name"]}, {"node": "scale"}])
        self.assertEqual(nodes[2]["meta"]["stack_trace"], 'File "model.py", line 3, in forward')
        self.assertEqual(nodes[2]["meta"]["nn_module_stack"], {"L__self__": ["", "model.Net"]})
        self.assertEqual(nodes[2]["meta"]["torch_fn"], ["relu_1", "function.relu"])
        self.assertEqual(list(nodes[2]["meta"]), ["val", "stack_trace", "nn_module_stack", "torch_fn"])
        ref = gpu["parameters"]["scale"]
        self.assertEqual(ref, {"storage": "tensors/0", "dtype": "float32", "shape": [8], "stride": [1], "storage_offset": 0,
                               "device": "cpu", "requires_grad": False})
        self.assertEqual(self.zip.read("tensors/0"), self.gm._run_on_gpu_1.scale.detach().numpy().tobytes())

    def test_op_schemas(self):
        schemas = json.loads(self.zip.read("op_schemas.json"))
        self.assertEqual(schemas, sorted([str(aten.relu.default._schema), str(aten.mul.Tensor._schema)]))
        self.assertEqual(trtx_dump.op_schemas(self.gm), schemas)
        self.assertNotIn("op_schemas.json", zipfile.ZipFile(io.BytesIO(trtx_dump.to_bytes(self.gm, schemas=False))).namelist())

    def test_deterministic_and_atomic(self):
        self.assertEqual(trtx_dump.to_bytes(self.gm), self.data)
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.tgm")
            trtx_dump.dump(self.gm, path)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), self.data)
            self.assertEqual(os.listdir(d), ["m.tgm"])


class EngineState(unittest.TestCase):
    def test_unowned_engine_keeps_its_live_record(self):
        gm, _, _ = demo(unowned=True)
        z, root = read(trtx_dump.to_bytes(gm))
        acc = root["children"]["_run_on_acc_0"]
        self.assertEqual(list(acc), ["kind", "name", "packed_engine_info", "engine_state", "input_binding_names",
                                     "output_binding_names"])
        self.assertEqual(acc["packed_engine_info"][7], "metadata unowned=True")
        self.assertEqual(acc["engine_state"][7], "metadata unowned=False")
        # The engine is decoded from base64 and written once: both records name the same entry.
        self.assertEqual(acc["engine_state"][3], {"engine": "engines/0"})
        self.assertEqual([f for i, f in enumerate(acc["engine_state"]) if i != 7],
                         [f for i, f in enumerate(acc["packed_engine_info"]) if i != 7])
        self.assertEqual([n for n in z.namelist() if n.startswith("engines/")], ["engines/0"])

    def test_two_byte_fields_are_refused(self):
        gm, _, _ = demo()
        pack = gm._run_on_acc_0._pack_engine_info
        gm._run_on_acc_0._pack_engine_info = lambda: [b"x" if i == 1 else f for i, f in enumerate(pack())]
        with self.assertRaisesRegex(trtx_dump.DumpError, "2 byte fields"):
            trtx_dump.to_bytes(gm)


class State(unittest.TestCase):
    @staticmethod
    def graph_module(graph, fill):
        """A GraphModule whose attributes are set as given: GraphModule(root, graph) would copy every tensor
        that a get_attr reads as a persistent buffer."""
        gm = torch.fx.GraphModule(torch.nn.Module(), torch.fx.Graph())
        fill(gm)
        gm.graph = graph
        return gm

    def test_shared_storages_views_buffers_and_constants(self):
        w = torch.nn.Parameter(torch.arange(12, dtype=torch.float32).reshape(4, 3))
        big = torch.arange(10, dtype=torch.float64)

        def fill(m):
            m.register_parameter("w", w)
            m.register_buffer("wt", w.detach().t())  # a transposed view of the same storage
            m.register_buffer("scratch", torch.zeros(2, dtype=torch.int64), persistent=False)
            m.c = big[2:5]  # a plain tensor attribute that a get_attr reads: a constant
            m.unused = torch.ones(3)  # read by no get_attr: not written

        g = torch.fx.Graph()
        g.output(tuple(g.get_attr(t) for t in ("w", "wt", "scratch", "c")))
        z, root = read(trtx_dump.to_bytes(self.graph_module(g, fill)))
        self.assertEqual(root["parameters"]["w"]["storage"], "tensors/0")
        wt = root["buffers"]["wt"]
        self.assertEqual((wt["storage"], wt["shape"], wt["stride"]), ("tensors/0", [3, 4], [1, 3]))
        self.assertNotIn("persistent", wt)
        self.assertEqual(root["buffers"]["scratch"]["persistent"], False)
        self.assertEqual(root["buffers"]["scratch"]["dtype"], "int64")
        c = root["constants"]["c"]
        self.assertEqual((c["storage"], c["dtype"], c["shape"], c["stride"], c["storage_offset"]), ("tensors/2", "float64", [3], [1], 2))
        self.assertEqual(list(root["constants"]), ["c"])
        self.assertEqual(z.read("tensors/2"), big.numpy().tobytes())  # the whole storage, not the view
        self.assertEqual(len(z.read("tensors/0")), 48)
        self.assertEqual([n for n in z.namelist() if n.startswith("tensors/")], ["tensors/0", "tensors/1", "tensors/2"])

    def test_children_in_registration_order_and_plain_modules(self):
        inner = torch.nn.Module()
        inner.register_parameter("b", torch.nn.Parameter(torch.ones(2)))

        def fill(m):
            m.add_module("z_first", inner)
            m.add_module("7", torch.nn.Linear(1, 1))

        g = torch.fx.Graph()
        g.output((g.get_attr("z_first.b"),))
        _, rec = read(trtx_dump.to_bytes(self.graph_module(g, fill)))
        self.assertEqual(list(rec["children"]), ["z_first", "7"])
        self.assertEqual(rec["children"]["z_first"]["kind"], "module")
        self.assertEqual(rec["children"]["z_first"]["type"], "torch.nn.modules.module.Module")
        self.assertEqual(rec["children"]["7"]["type"], "torch.nn.modules.linear.Linear")
        self.assertEqual(list(rec["children"]["7"]["parameters"]), ["weight", "bias"])
        # Children before their parent's own state: z_first.b is the first storage met.
        self.assertEqual(rec["children"]["z_first"]["parameters"]["b"]["storage"], "tensors/0")


class Arguments(unittest.TestCase):
    def test_every_form(self):
        enc = trtx_dump.encode_argument
        self.assertEqual(enc(None), None)
        self.assertEqual(enc(True), True)
        self.assertEqual(enc(3), 3)
        self.assertEqual(enc(2**53 - 1), 2**53 - 1)
        self.assertEqual(enc(2**63 - 1), {"int": "9223372036854775807"})
        self.assertEqual(enc(-(2**60)), {"int": str(-(2**60))})
        self.assertEqual(enc(1.0), {"float": 1.0})
        self.assertEqual(enc(math.inf), {"float": "inf"})
        self.assertEqual(enc(-math.inf), {"float": "-inf"})
        self.assertEqual(enc(math.nan), {"float": "nan"})
        self.assertEqual(enc("s"), "s")
        self.assertEqual(enc([1, (2, 3)]), [1, {"tuple": [2, 3]}])
        self.assertEqual(enc({"a": 1, 2: None}), {"dict": [["a", 1], [2, None]]})
        self.assertEqual(enc(torch.float16), {"dtype": "float16"})
        self.assertEqual(enc(torch.device("cuda", 1)), {"device": "cuda:1"})
        self.assertEqual(enc(torch.strided), {"layout": "strided"})
        self.assertEqual(enc(torch.channels_last), {"memory_format": "channels_last"})
        self.assertEqual(enc(slice(None, 5, 2)), {"slice": [None, 5, 2]})
        g = torch.fx.Graph()
        self.assertEqual(enc(g.placeholder("p")), {"node": "p"})
        json.dumps([enc(math.nan)], allow_nan=False)  # every form is plain JSON

    def test_unknown_values_are_located_errors(self):
        g = torch.fx.Graph()
        x = g.placeholder("x")
        add = g.call_function(aten.add.Tensor, (x, 1))
        g.output(add)
        gm = torch.fx.GraphModule(torch.nn.Module(), g)
        add.args = (x, object())  # after codegen, which could not print it
        with self.assertRaisesRegex(trtx_dump.DumpError, rf"node {add.name}\) args\[1\]: a builtins.object"):
            trtx_dump.to_bytes(gm)

    def test_the_root_must_be_a_graph_module(self):
        with self.assertRaisesRegex(trtx_dump.DumpError, "torch.fx.GraphModule"):
            trtx_dump.to_bytes(torch.nn.Linear(2, 2))

    def test_weights_must_be_real(self):
        holder = torch.nn.Module()
        holder.register_buffer("m", torch.empty(3, device="meta"))
        g = torch.fx.Graph()
        g.output((g.get_attr("m"),))
        with self.assertRaisesRegex(trtx_dump.DumpError, r"buffers\.m: a tensor without data"):
            trtx_dump.to_bytes(torch.fx.GraphModule(holder, g))


class Symbols(unittest.TestCase):
    def test_symbolic_dims_and_their_ranges(self):
        class Triple(torch.nn.Module):
            def forward(self, x):
                return torch.cat([x, x, x])

        batch = torch.export.Dim("batch", min=2, max=64)
        ep = torch.export.export(Triple(), (torch.randn(4, 8),), dynamic_shapes={"x": {0: batch}}, strict=False)
        gm = ep.module()
        _, root = read(trtx_dump.to_bytes(gm))
        nodes = {n["name"]: n for n in root["graph"]["nodes"]}
        x = next(n for n in gm.graph.nodes if n.op == "placeholder")
        sym = str(x.meta["val"].shape[0])
        self.assertEqual(nodes[x.name]["meta"]["val"]["tensor"]["shape"], [sym, 8])
        cat = next(n for n in gm.graph.nodes if n.target is aten.cat.default)
        self.assertEqual(nodes[cat.name]["meta"]["val"]["tensor"]["shape"], [f"3*{sym}", 8])
        self.assertEqual(
            root["graph"]["symbols"],
            {sym: {"hint": 4, "min": 2, "max": 64, "assumptions": {"positive": True, "integer": True}}},
        )

    def test_unbacked_symbols_and_symbolic_bools(self):
        class Nonzero(torch.nn.Module):
            def forward(self, x):
                return torch.nonzero(x > 0)

        gm = torch.export.export(Nonzero(), (torch.randn(4, 3),), strict=False).module()
        _, root = read(trtx_dump.to_bytes(gm))
        unbacked = [s for s in root["graph"]["symbols"] if s.startswith("u")]
        self.assertTrue(unbacked)
        for s in unbacked:
            self.assertIsNone(root["graph"]["symbols"][s]["hint"])
            self.assertEqual(root["graph"]["symbols"][s]["assumptions"], {"integer": True})


class SerializerMetadata(unittest.TestCase):
    """The passed-through metas are what torch.export's serializer writes for the same nodes."""

    def test_exported_model(self):
        from torch._export.serde.serialize import GraphModuleSerializer

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Linear(4, 4)
                self.norm = torch.nn.LayerNorm(4)

            def forward(self, x):
                return torch.nn.functional.gelu(self.norm(self.lin(x)))

        gm = torch.export.export(Net(), (torch.randn(2, 4),), strict=False).run_decompositions().module()
        _, root = read(trtx_dump.to_bytes(gm))
        serializer = GraphModuleSerializer(None, None)
        checked = set()
        for node, rec in zip(gm.graph.nodes, root["graph"]["nodes"]):
            self.assertEqual(rec["name"], node.name)
            expected = serializer.serialize_metadata(node)
            meta = rec["meta"]
            joined = {}
            if "stack_trace" in meta:
                joined["stack_trace"] = meta["stack_trace"]
            if "nn_module_stack" in meta:
                joined["nn_module_stack"] = ";".join(f"{k},{p},{t}" for k, (p, t) in meta["nn_module_stack"].items())
            if "source_fn_stack" in meta:
                joined["source_fn_stack"] = ";".join(f"{n},{t}" for n, t in meta["source_fn_stack"])
            if "torch_fn" in meta:
                joined["torch_fn"] = ";".join(meta["torch_fn"])
            for key in ("from_node", "custom"):
                if key in meta:
                    joined[key] = meta[key]
                if key in expected:
                    expected[key] = json.loads(expected[key])
            expected = {k: v for k, v in expected.items() if k in trtx_dump.META_KEYS}
            self.assertEqual(joined, expected, node.name)
            checked |= set(expected)
        self.assertTrue({"stack_trace", "nn_module_stack", "torch_fn"} <= checked, checked)


@unittest.skipUnless(os.environ.get("TRTX_REFERENCE") and torch.cuda.is_available(), "needs TRTX_REFERENCE and a GPU")
class StandInRuntime(unittest.TestCase):
    """The real shim's TorchTensorRTModule over the stand-in tensorrt::Engine."""

    def test_packed_info_and_engine_state(self):
        ref = os.path.abspath(os.environ["TRTX_REFERENCE"])
        os.environ.setdefault("TRTSTUB_SRC", os.path.join(ref, "trtstub", "trtstub.cpp"))
        os.environ.setdefault("TRTSTUB_BUILD_DIR", "/tmp/trtstub")
        sys.path.insert(0, os.path.join(ref, "shim"))
        from torch_tensorrt.dynamo.runtime._TorchTensorRTModule import ENGINE_IDX, TorchTensorRTModule

        acc = TorchTensorRTModule(ENGINE, ["x"], ["output0"], name="_run_on_acc_0")
        acc.set_output_tensors_as_unowned(True)
        root = torch.nn.Module()
        root.add_module("_run_on_acc_0", acc)
        g = torch.fx.Graph()
        x = g.placeholder("x")
        g.output((g.call_module("_run_on_acc_0", (x,)),))
        gm = torch.fx.GraphModule(root, g)
        z, rec = read(trtx_dump.to_bytes(gm))
        self.assertIsNotNone(json.loads(z.read("format.json"))["producer"]["torch_tensorrt"])
        acc_rec = rec["children"]["_run_on_acc_0"]
        packed = acc._pack_engine_info()
        state = trtx_dump._getstate(acc.engine)
        self.assertEqual(acc_rec["packed_engine_info"], [{"engine": "engines/0"} if i == ENGINE_IDX else f for i, f in enumerate(packed)])
        self.assertEqual(acc_rec["engine_state"], [{"engine": "engines/0"} if i == ENGINE_IDX else f for i, f in enumerate(state)])
        self.assertNotEqual(acc_rec["engine_state"], acc_rec["packed_engine_info"])
        self.assertEqual(base64.b64decode(state[ENGINE_IDX]), z.read("engines/0"))
        self.assertEqual(z.read("engines/0"), ENGINE)


if __name__ == "__main__":
    unittest.main()
