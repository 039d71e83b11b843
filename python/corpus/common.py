"""Helpers shared by ``build.py`` and ``check.py``: the stand-in runtime and seed exporter (through the reference
tools' own ``check_pt2.py``), numerics settings, moving pytrees between devices, comparing outputs as pytrees,
file digests and error records.

Only the standard library and torch are used; torch is imported by the callers first.
"""
from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
import tempfile
import traceback
from types import ModuleType
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch.utils import _pytree as pytree

PERSISTENT_MESSAGE = "Failed to specify persistent flag on BUFFER"
NO_OP = "no_op_placeholder_for_execute_engine"
DEFAULT_RTOL = 1e-4
DEFAULT_ATOL = 1e-5


def log(message: str = "") -> None:
    print(message, flush=True)


def set_numerics() -> None:
    """The same numerics in every process that makes or checks outputs: no TF32, deterministic cuDNN choices.

    Set by build.py and check.py alike, so that a program's outputs there are compared with outputs computed
    the same way here (matmuls and convolutions otherwise may pick other kernels or precisions)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def load_module(name: str, path: str) -> ModuleType:
    """Imports the Python file ``path`` as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def setup_runtime(reference: str) -> Tuple[ModuleType, ModuleType]:
    """Registers the stand-in runtime (``shim/`` + ``trtstub``) and loads the seed exporter, with the reference
    folder's own ``check_pt2.setup_runtime``. Returns ``(check_pt2, seed)``.

    The stub library is built on first use from ``trtstub/trtstub.cpp`` unless TRTSTUB_LIB names a built one;
    the build folder is TRTSTUB_BUILD_DIR, by default one folder under the temporary directory that build.py and
    check.py share (built once, 20-40 s)."""
    reference = os.path.abspath(reference)
    path = os.path.join(reference, "check_pt2.py")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: --reference must name the reference tools folder")
    check_pt2 = load_module("trtx_corpus_check_pt2", path)
    os.environ.setdefault("TRTSTUB_BUILD_DIR", os.path.join(tempfile.gettempdir(), "trtx_corpus_trtstub"))
    try:
        seed = check_pt2.setup_runtime(os.path.join(reference, "shim"), None, None, None, None)
    except NameError as e:
        if "'os'" in str(e):
            raise RuntimeError(
                f"{e}: the shim's torch_tensorrt/dynamo/_settings.py needs `import os` (use .device/reference, "
                "where it is added, or add it to your copy)"
            ) from e
        raise
    if seed is None:
        raise RuntimeError(f"the seed exporter was not found beside {path}")
    return check_pt2, seed


def engine_nodes(gm: torch.fx.GraphModule) -> int:
    """The number of engine calls in a graph: ``execute_engine`` or cross-compiled no-op placeholders."""
    n = 0
    for node in gm.graph.nodes:
        if node.op == "call_function":
            text = str(node.target)
            if "execute_engine" in text or NO_OP in text:
                n += 1
    return n


def is_cross_compiled(gm: torch.fx.GraphModule) -> bool:
    return any(n.op == "call_function" and NO_OP in str(n.target) for n in gm.graph.nodes)


# ------------------------------------------------------------------------------------------- pytrees


def to_device(tree: Any, device: Any) -> Any:
    return pytree.tree_map(lambda v: v.to(device) if isinstance(v, torch.Tensor) else v, tree)


def to_cpu(tree: Any) -> Any:
    """Detached CPU copies of every tensor leaf (what the ``.io.pt`` files hold)."""
    return pytree.tree_map(lambda v: v.detach().to("cpu", copy=True) if isinstance(v, torch.Tensor) else v, tree)


def describe(tree: Any, limit: int = 12) -> List[str]:
    """A short description of the leaves of a pytree (dtype and shape of tensors, repr of the rest)."""
    leaves = pytree.tree_leaves(tree)
    out = []
    for x in leaves[:limit]:
        if isinstance(x, torch.Tensor):
            out.append(f"{str(x.dtype).removeprefix('torch.')}{list(x.shape)}")
        else:
            out.append(repr(x))
    if len(leaves) > limit:
        out.append(f"... {len(leaves) - limit} more")
    return out


def compare_trees(actual: Any, expected: Any, *, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
                  values: bool = True) -> Dict[str, Any]:
    """Compares two outputs as pytrees: the same structure (treespec), then leaf by leaf the same kind, tensors
    of the same dtype and shape and (``values``) close values (floating: ``rtol`` / ``atol``, NaN equal to NaN;
    integer and bool: exact); Python scalars equal (floats within the tolerances)."""
    la, sa = pytree.tree_flatten(actual)
    lb, sb = pytree.tree_flatten(expected)
    mismatches: List[str] = []
    if str(sa) != str(sb):
        mismatches.append(f"structure: {_short(sa)} vs expected {_short(sb)}")
    if len(la) != len(lb):
        mismatches.append(f"{len(la)} leaves vs expected {len(lb)}")
    worst = 0.0
    for i, (x, y) in enumerate(zip(la, lb)):
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            if x.dtype != y.dtype or tuple(x.shape) != tuple(y.shape):
                mismatches.append(f"leaf {i}: {_tensor_text(x)} vs expected {_tensor_text(y)}")
                continue
            if not values or x.numel() == 0:
                continue
            xc, yc = x.detach().cpu(), y.detach().cpu()
            if xc.dtype.is_floating_point or xc.dtype.is_complex:
                wide = torch.complex128 if xc.dtype.is_complex else torch.float64
                xd, yd = xc.to(wide), yc.to(wide)
                diff = (xd - yd).abs().to(torch.float64).masked_fill(xd == yd, 0.0)  # inf == inf counts as equal
                if not xc.dtype.is_complex:
                    diff = diff.masked_fill(torch.isnan(xd) & torch.isnan(yd), 0.0)
                d = float(diff.nan_to_num(nan=math.inf).max())
                worst = max(worst, d)
                if not torch.allclose(xd, yd, rtol=rtol, atol=atol, equal_nan=True):
                    mismatches.append(f"leaf {i}: {_tensor_text(x)} max abs diff {d:.3g}")
            elif not torch.equal(xc, yc):
                mismatches.append(f"leaf {i}: {_tensor_text(x)} differs ({int((xc != yc).sum())} elements)")
        elif isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            mismatches.append(f"leaf {i}: {type(x).__name__} vs expected {type(y).__name__}")
        elif _is_number(x) and _is_number(y) and (isinstance(x, float) or isinstance(y, float)):
            fx, fy = float(x), float(y)
            if not (math.isnan(fx) and math.isnan(fy)) and not math.isclose(fx, fy, rel_tol=rtol, abs_tol=atol):
                mismatches.append(f"leaf {i}: {x!r} vs expected {y!r}")
        elif type(x) is not type(y) or x != y:
            mismatches.append(f"leaf {i}: {x!r} vs expected {y!r}")
    return {"same": not mismatches, "mismatches": mismatches[:20], "max_abs_diff": worst}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _tensor_text(t: torch.Tensor) -> str:
    return f"{str(t.dtype).removeprefix('torch.')}{list(t.shape)}"


def _short(spec: Any, limit: int = 300) -> str:
    text = " ".join(str(spec).split())
    return text if len(text) <= limit else text[:limit] + "..."


# ------------------------------------------------------------------------------------------- records


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_record(path: str) -> Dict[str, Any]:
    return {"bytes": os.path.getsize(path), "sha256": sha256_file(path)}


def error_text(e: BaseException, limit: int = 4000) -> str:
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= limit else text[:limit] + " ..."


def traceback_tail(lines: int = 30, limit: int = 6000) -> str:
    """The last lines of the traceback being handled."""
    text = "\n".join(traceback.format_exc().rstrip().splitlines()[-lines:])
    return text[-limit:]


def failure(step: str, e: BaseException) -> Dict[str, Any]:
    """A failure record: the step, the error and the last lines of its traceback (call inside ``except``)."""
    return {"step": step, "error": error_text(e), "traceback": traceback_tail()}


def versions() -> Dict[str, Optional[str]]:
    """Versions of the packages that make the corpus (None where one is absent)."""
    out: Dict[str, Optional[str]] = {"python": sys.version.split()[0], "torch": torch.__version__}
    for name in ("sympy", "torchvision", "transformers"):
        try:
            out[name] = getattr(importlib.import_module(name), "__version__", "?")
        except Exception:  # noqa: BLE001 - absent or broken
            out[name] = None
    out["cuda"] = torch.version.cuda
    out["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return out
