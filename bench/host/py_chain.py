"""The Python path of bench/host/run.py for the chain module of ``bench/chain.ts``: one fresh process, each
step timed.

    python3 py_chain.py --nodes N --reference REF --out DIR [--cross] [--load]

with TRTSTUB_LIB set to the stand-in TensorRT runtime built from ``REF/trtstub/trtstub.cpp`` (run.py builds it
and sets it; the shim can also build it itself from TRTSTUB_SRC). REF is the folder of reference tools.

Steps: ``import torch``; ``import torch_tensorrt`` (the shim, ``REF/shim``, on the stand-in runtime) and the
seed exporter (``REF/seed_exporter.py``, loaded as ``torch_tensorrt.dynamo._exporter``); CUDA start; building
the compiled module; the seed's ``export(gm)``; ``torch.export.save``; with --cross, the cross-compiled
``export(gm, cross_compile_module=True)`` and its save; with --load, ``torch.export.load`` of the plain
archive. Prints a JSON line after every step and a last one at the end (the last line of stdout):
``{"steps": [[name, ms], ...], "info": {...}, "error": ...}``.

The module is the one ``bench/chain.ts`` builds: root graph ``x -> _run_on_acc_0 -> _run_on_gpu_1 -> (out,)``,
one stand-in engine ``TRTSTUB1 uid=chain outs=float32:8x64\\n`` (bindings ``x0`` / ``y0``), and a fallback
GraphModule whose graph is a chain of ``aten.add.Tensor`` / ``mul.Tensor`` / ``relu`` / ``neg`` in turn, each
reading the previous node, with a parameter ``blocks.<k>.weight`` (float32 [8, 64] on cuda:0) read by
``get_attr`` and added every 64 nodes. Every chain op has a ``stack_trace``. It differs from chain.ts's in
three ways: every node's ``meta["val"]`` is a FakeTensor float32 [8, 64] on cuda:0 of its own, as a trace
makes them (chain.ts gives every node the same value); the engine call's is a list of one (the seed exporter
requires it); node names are the ones torch.fx gives.
"""
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

STEPS = []
INFO = {}


def timed(name, fn):
    t0 = time.perf_counter()
    value = fn()
    STEPS.append([name, (time.perf_counter() - t0) * 1000.0])
    # A line after every step, so that a process killed at the deadline still tells how far it got.
    print(json.dumps({"steps": STEPS, "info": INFO, "partial": True}), flush=True)
    return value


def build(torch, TorchTensorRTModule, n, dev):
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.graph import _PyTreeCodeGen, _PyTreeInfo
    from torch.utils import _pytree as pytree

    aten = torch.ops.aten
    ops = [aten.add.Tensor, aten.mul.Tensor, aten.relu.default, aten.neg.default]
    fake = FakeTensorMode()
    chain = max(1, n - 6)
    # One FakeTensor per node: root x, engine call, fallback call, fallback placeholder, the chain's nodes.
    with fake:
        vals = [torch.empty_strided((8, 64), (64, 1), dtype=torch.float32, device=dev) for _ in range(chain + 8)]
    vi = iter(vals)

    engine = b"TRTSTUB1 uid=chain outs=float32:8x64\n"
    acc = TorchTensorRTModule(engine, ["x0"], ["y0"], name="_run_on_acc_0")

    holder = torch.nn.Module()
    blocks = torch.nn.Module()
    holder.add_module("blocks", blocks)
    sg = torch.fx.Graph()
    prev = sg.placeholder("run_on_acc_0")
    prev.meta["val"] = next(vi)
    i = 0
    while i < chain:
        stack_trace = f'File "model.py", line {10 + (i % 200)}, in forward'
        if i % 64 == 63:
            k = (i - 63) // 64
            block = torch.nn.Module()
            block.register_parameter(
                "weight", torch.nn.Parameter(torch.zeros((8, 64), dtype=torch.float32, device=dev), requires_grad=False)
            )
            blocks.add_module(str(k), block)
            w = sg.get_attr(f"blocks.{k}.weight")
            w.meta["val"] = next(vi)
            prev = sg.call_function(aten.add.Tensor, (prev, w))
            prev.meta["val"] = next(vi)
            prev.meta["stack_trace"] = stack_trace
            i += 2
            continue
        op = ops[i % 4]
        args = (prev, prev) if i % 4 < 2 else (prev,)
        prev = sg.call_function(op, args)
        prev.meta["val"] = next(vi)
        prev.meta["stack_trace"] = stack_trace
        i += 1
    sg.output(prev)
    gpu = torch.fx.GraphModule(holder, sg)

    root = torch.nn.Module()
    root.add_module("_run_on_acc_0", acc)
    root.add_module("_run_on_gpu_1", gpu)
    g = torch.fx.Graph()
    x = g.placeholder("x")
    x.meta["val"] = next(vi)
    a = g.call_module("_run_on_acc_0", (x,))
    a.meta["val"] = [next(vi)]  # one entry per engine output
    b = g.call_module("_run_on_gpu_1", (a,))
    b.meta["val"] = next(vi)
    g.output((b,))
    gm = torch.fx.GraphModule(root, g)
    in_spec = pytree.tree_flatten(((torch.empty(0),), {}))[1]  # forward(x)
    out_spec = pytree.tree_flatten((torch.empty(0),))[1]  # returns (out,)
    gm.graph._codegen = _PyTreeCodeGen(_PyTreeInfo(["x"], in_spec, out_spec))
    gm.recompile()
    INFO["module_nodes"] = len(g.nodes) + len(sg.nodes)
    INFO["fallback_nodes"] = len(sg.nodes)
    INFO["parameters"] = len(list(gpu.named_parameters()))
    return gm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cross", action="store_true", help="also the cross-compiled export and its save")
    ap.add_argument("--load", action="store_true", help="also torch.export.load of the plain archive")
    ap.add_argument("--device", default="cuda:0")
    args = ap.parse_args()
    ref = os.path.abspath(args.reference)
    os.makedirs(args.out, exist_ok=True)
    error = None
    try:
        torch = timed("import torch", lambda: __import__("torch"))

        def import_shim():
            sys.path.insert(0, os.path.join(ref, "shim"))
            import torch_tensorrt  # noqa: F401  (loads TRTSTUB_LIB, registers the fake kernels and classes)
            from torch_tensorrt.dynamo.runtime._TorchTensorRTModule import TorchTensorRTModule

            spec = importlib.util.spec_from_file_location(
                "torch_tensorrt.dynamo._exporter", os.path.join(ref, "seed_exporter.py")
            )
            seed = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = seed
            spec.loader.exec_module(seed)
            return TorchTensorRTModule, seed

        TorchTensorRTModule, seed = timed("import shim + seed", import_shim)
        dev = torch.device(args.device)

        def cuda_start():
            torch.zeros(1, device=dev)
            if dev.type == "cuda":
                torch.cuda.synchronize()
                INFO["gpu"] = torch.cuda.get_device_name(dev)
            INFO["torch"] = torch.__version__

        timed("CUDA start", cuda_start)
        gm = timed("build module", lambda: build(torch, TorchTensorRTModule, args.nodes, dev))
        ep = timed("seed export", lambda: seed.export(gm))
        INFO["exported_nodes"] = len(ep.graph.nodes)
        plain = os.path.join(args.out, f"py_chain_{args.nodes}.pt2")
        timed("torch.export.save", lambda: torch.export.save(ep, plain))
        INFO["pt2_bytes"] = os.path.getsize(plain)
        del ep
        if args.cross:
            ep_cross = timed("seed export (cross)", lambda: seed.export(gm, cross_compile_module=True))
            cross = os.path.join(args.out, f"py_chain_{args.nodes}_cross.pt2")
            timed("torch.export.save (cross)", lambda: torch.export.save(ep_cross, cross))
            del ep_cross
        if args.load:
            loaded = timed("torch.export.load", lambda: torch.export.load(plain))
            INFO["loaded_nodes"] = len(loaded.graph.nodes)
    except BaseException as e:  # noqa: BLE001
        error = f"{type(e).__name__}: {e}"[:2000] + "\n" + traceback.format_exc()[-4000:]
    STEPS.append(["in process (first line to end)", (time.perf_counter() - T_START) * 1000.0])
    sys.stdout.flush()
    print(json.dumps({"steps": STEPS, "info": INFO, "error": error}))
    sys.stdout.flush()
    sys.exit(0 if error is None else 1)  # a normal exit, teardown included, as a user's process has


if __name__ == "__main__":
    main()
