"""Build trtx's bundled example: a small real CNN, compiled into TensorRT stand-in engines and PyTorch fallback
segments, dumped as a ``.tgm``, and exported by the reference (seed) exporter for comparison.

The model (:class:`TinyConvNeXt`) is a ConvNeXt-style network: a patchify conv with BatchNorm, one ConvNeXt
block (7x7 depthwise conv, LayerNorm, pointwise MLP with GELU, residual add) and a LayerNorm + Linear head.
It is compiled the way ``torch_tensorrt.dynamo.compile`` does it, on the stand-in runtime of
``shared/reference`` (no TensorRT can build engines on these machines):

1. ``torch.export.export`` (non-strict), the default decompositions, ``.module()``;
2. partition in graph order, with the block's LayerNorm, GELU and the mean (the global average pool) as
   ``torch_executed_ops``: those run in PyTorch, the rest goes to TensorRT; each maximal run of one kind is
   a segment, split out with ``split_by_tags`` (what Torch-TensorRT's partitioner calls), named
   ``_run_on_acc_<i>`` / ``_run_on_gpu_<i>``;
3. each ``_run_on_acc_<i>`` becomes a ``TorchTensorRTModule`` over a ``tensorrt::Engine``; its engine
   bytes are a placeholder, the stand-in header ``TRTSTUB1 uid=... outs=<dtype>:<dims>...`` that declares
   the segment's outputs, then filler bytes (the stand-in runtime "runs" it); its call node gets the list of
   output metas; engines that feed the graph output get ``set_output_tensors_as_unowned(True)``, as
   Torch-TensorRT does.

The result has 4 engines and 3 fallback segments (the block's LayerNorm with its parameters, GELU, the
mean); the head's LayerNorm and Linear are in the last engine. Stand-in engines compute from the means of
their inputs only, and a LayerNorm over an engine's (constant) output forgets them; the choice of ops keeps
the module's output dependent on its input and on how the engines are wired, so that comparing programs by
their outputs means something. The script then writes, into ``--out``:

- ``example.tgm``: the module, by ``python/trtx_dump.py``;
- ``example_ref.pt2`` / ``example_ref_cross.pt2``: the seed exporter's ``export(gm)`` and
  ``export(gm, cross_compile_module=True)`` of the same in-memory module;
- ``example.manifest.json``: what was built (segments, engines, operator schemas, digests), which trtx's
  tests check the archive against.

Run it on a machine with a CUDA GPU, torch 2.11, a C++ compiler and ninja, with the reference tools
(``check_pt2.py``, ``seed_exporter.py``, ``shim/``, ``trtstub/``; the shim's ``_settings.py`` needs
``import os``)::

    python3 python/examples/make_example.py --reference .device/reference --out OUT
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import operator
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # python/: trtx_dump

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import trtx_dump  # noqa: E402

# ------------------------------------------------------------------------------------------- the model


class Block(nn.Module):
    """A ConvNeXt block: depthwise 7x7 conv, LayerNorm over channels, pointwise MLP with GELU, residual."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)  # NCHW -> NHWC
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class TinyConvNeXt(nn.Module):
    """Patchify conv + BatchNorm + ReLU, one ConvNeXt block, global average pool, LayerNorm, Linear."""

    def __init__(self, dim: int = 16, classes: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(3, dim, kernel_size=4, stride=4)
        self.stem_norm = nn.BatchNorm2d(dim)
        self.block = Block(dim)
        self.head_norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(F.relu(self.stem_norm(self.stem(x))))
        return self.head(self.head_norm(x.mean((2, 3))))


INPUT_SHAPE = (2, 3, 32, 32)

# ------------------------------------------------------------------------------------------- compiling


def runs_in_pytorch(node: torch.fx.Node) -> bool:
    """Whether a node is forced to run in PyTorch (what Torch-TensorRT's ``torch_executed_ops`` decides): the
    block's LayerNorm, GELU, and the global average pool. The head's LayerNorm is the same operator as the
    block's, so it is told apart by its input: only a LayerNorm over 4-d (NHWC) activations falls back."""
    aten = torch.ops.aten
    if node.target is aten.native_layer_norm.default:
        return node.args[0].meta["val"].dim() == 4
    return node.target in (aten.gelu.default, aten.mean.dim)


def exported_module(model: nn.Module, x: torch.Tensor) -> torch.fx.GraphModule:
    ep = torch.export.export(model, (x,), strict=False).run_decompositions()
    try:
        gm = ep.module(check_guards=False)
    except TypeError:  # a torch without the flag
        gm = ep.module()
    # A guard-check call, where torch adds one, is not part of the model's computation.
    for node in list(gm.graph.nodes):
        if node.op == "call_module" and not node.users:
            gm.graph.erase_node(node)
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm


def tag_segments(gm: torch.fx.GraphModule, falls_back) -> list:
    """Tags every call node with its segment, ``_run_on_acc_<i>`` or ``_run_on_gpu_<i>``: a maximal run of
    nodes of one kind, in graph order. A getitem goes with the node it reads."""
    tags = []
    kind = None
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "get_attr", "output"):
            continue
        if node.op != "call_function":
            raise RuntimeError(f"unexpected {node.op} node {node.name} in the exported graph")
        if node.target is operator.getitem:
            node.tag = node.args[0].tag
            continue
        k = "gpu" if falls_back(node) else "acc"
        if k != kind:
            tags.append(f"_run_on_{k}_{len(tags)}")
            kind = k
        node.tag = tags[-1]
    return tags


def stub_engine(uid: str, outputs) -> bytes:
    """A placeholder engine: the stand-in runtime's header declaring the outputs, then filler bytes."""
    outs = ";".join(f"{str(t.dtype).removeprefix('torch.')}:{'x'.join(str(int(d)) for d in t.shape)}" for t in outputs)
    header = f"TRTSTUB1 uid={uid} outs={outs}\n".encode()
    filler = b"".join(hashlib.sha256(f"{uid}/{i}".encode()).digest() for i in range(32))
    return header + filler


def compile_module(model: nn.Module, x: torch.Tensor, TorchTensorRTModule) -> tuple:
    """The imitation of ``torch_tensorrt.dynamo.compile``; returns the partitioned module and its tags."""
    from torch.fx.passes.split_utils import split_by_tags

    gm = exported_module(model, x)
    tags = tag_segments(gm, runs_in_pytorch)
    attr_meta = {n.target: n.meta for n in gm.graph.nodes if n.op == "get_attr"}
    split = split_by_tags(gm, tags)
    calls = {n.target: n for n in split.graph.nodes if n.op == "call_module"}
    for tag in tags:
        sub = split.get_submodule(tag)
        # split_by_tags copies get_attr nodes into the segments without their metas; the exporter's
        # inlining carries them into the exported program, so they are copied here.
        for n in sub.graph.nodes:
            if n.op == "get_attr" and not n.meta and n.target in attr_meta:
                n.meta = dict(attr_meta[n.target])
        if tag.startswith("_run_on_gpu_"):
            continue
        placeholders = [n for n in sub.graph.nodes if n.op == "placeholder"]
        out = next(n for n in sub.graph.nodes if n.op == "output").args[0]
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        vals = [n.meta["val"] for n in outs]
        engine = stub_engine(f"example/{tag}", vals)
        trt = TorchTensorRTModule(
            engine, [p.name for p in placeholders], [f"output{i}" for i in range(len(outs))], name=tag
        )
        setattr(split, tag, trt)
        calls[tag].meta["val"] = vals
    # Engines whose outputs are graph outputs hand them over unowned, as Torch-TensorRT marks them.
    output = next(n for n in split.graph.nodes if n.op == "output")
    feeding = {a for a in output.all_input_nodes}
    feeding |= {a.args[0] for a in list(feeding) if a.op == "call_function" and a.target is operator.getitem}
    for node in feeding:
        if node.op == "call_module" and node.target.startswith("_run_on_acc_"):
            split.get_submodule(node.target).set_output_tensors_as_unowned(True)
    split.recompile()
    return split, tags


# ------------------------------------------------------------------------------------------- the run


def setup_reference(reference: str):
    """The stand-in runtime and the seed exporter, from the reference tools folder."""
    reference = os.path.abspath(reference)
    os.environ.setdefault("TRTSTUB_SRC", os.path.join(reference, "trtstub", "trtstub.cpp"))
    os.environ.setdefault("TRTSTUB_BUILD_DIR", "/tmp/trtstub")
    sys.path.insert(0, os.path.join(reference, "shim"))
    import torch_tensorrt  # noqa: F401
    from torch_tensorrt.dynamo.runtime._TorchTensorRTModule import TorchTensorRTModule

    spec = importlib.util.spec_from_file_location("torch_tensorrt.dynamo._exporter", os.path.join(reference, "seed_exporter.py"))
    seed = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = seed
    spec.loader.exec_module(seed)
    return TorchTensorRTModule, seed


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, help="the reference tools (check_pt2.py, seed_exporter.py, shim/, trtstub/)")
    ap.add_argument("--out", required=True, help="where to write example.tgm, the reference .pt2s and the manifest")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    TorchTensorRTModule, seed = setup_reference(args.reference)

    torch.manual_seed(0)
    dev = torch.device("cuda:0")
    model = TinyConvNeXt().to(dev).eval()
    with torch.no_grad():
        # Trained-looking normalisation state. The LayerNorms run in PyTorch: with their initial weight 1 and
        # bias 0 every row of their output has mean 0, and the stand-in engines, which see only input means,
        # would then give the same output whatever ran before them.
        model.stem_norm.running_mean.uniform_(-0.5, 0.5)
        model.stem_norm.running_var.uniform_(0.5, 1.5)
        for norm in (model.block.norm, model.head_norm):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(*INPUT_SHAPE, device=dev)

    gm, tags = compile_module(model, x, TorchTensorRTModule)
    print(gm.graph)
    engines = [t for t in tags if t.startswith("_run_on_acc_")]
    fallbacks = [t for t in tags if t.startswith("_run_on_gpu_")]
    if len(engines) < 2 or len(fallbacks) < 2:
        raise SystemExit(f"expected several engines and fallback segments, got {tags}")
    with torch.no_grad():
        y = gm(x)  # the compiled module runs on the stand-in runtime
    print("compiled module output:", tuple(y.shape), "engines:", engines, "fallbacks:", fallbacks)

    tgm = os.path.join(args.out, "example.tgm")
    trtx_dump.dump(gm, tgm, tool="trtx python/examples/make_example.py (trtx_dump, stand-in runtime)")

    ref = os.path.join(args.out, "example_ref.pt2")
    ref_cross = os.path.join(args.out, "example_ref_cross.pt2")
    ep = seed.export(gm)
    torch.export.save(ep, ref)
    ep_cross = seed.export(gm, cross_compile_module=True)
    torch.export.save(ep_cross, ref_cross)
    print(ep.graph_module.graph)

    manifest = {
        "model": "TinyConvNeXt (python/examples/make_example.py)",
        "input_shape": list(INPUT_SHAPE),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(dev),
        "segments": tags,
        "engines": engines,
        "fallback_segments": fallbacks,
        "unowned_engines": [t for t in engines if gm.get_submodule(t).are_output_tensors_unowned()],
        "fallback_parameters": sorted(
            f"{t}.{name}" for t in fallbacks for name, _ in gm.get_submodule(t).named_parameters()
        ),
        "root_nodes": len(gm.graph.nodes),
        "op_schemas": trtx_dump.op_schemas(gm),
        "reference_nodes": {"plain": len(ep.graph_module.graph.nodes), "cross": len(ep_cross.graph_module.graph.nodes)},
        "sha256": {os.path.basename(p): sha256(p) for p in (tgm, ref, ref_cross)},
    }
    with open(os.path.join(args.out, "example.manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
