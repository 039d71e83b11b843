"""The programs of trtx's conformance corpus: small real ``torch.nn`` models, each with its example inputs,
dynamic shapes and the operators that run in PyTorch once it is compiled.

Every :class:`ProgramSpec` names a model factory, deterministic example ``(args, kwargs)``, the
``dynamic_shapes`` to export it with (or None), the ``torch_executed_ops`` of the imitation of Torch-TensorRT
(``build.py``: nodes of these operators run in PyTorch fallback segments, the rest in stand-in engines) and a
short description with what it covers. ``build.py`` exports, compiles, dumps and runs them; ``check.py`` runs
trtx's programs against what ``build.py`` recorded.

Models are small (hidden sizes 8-64, one or two layers) so that the corpus stays small. Two are torchvision's
own (resnet18, mobilenet_v3_small); their weights are rounded to a coarse grid (:func:`_coarse_weights`) so
that their ``.pt2`` archives, which hold every weight, compress well (the ``.tgm`` holds only the weights of
fallback segments, none for these two). Two are tiny Hugging Face models built from configs (no download).

Importing this module registers the pytree types the programs use (a namedtuple and dataclasses, with
serialized type names): ``check.py`` imports it before loading any archive or ``.io.pt`` file, since both name
these types. Import it as the top-level module ``models`` (the scripts put this folder on ``sys.path``): the
``.io.pt`` files pickle the types under that module name.

Conventions: a factory takes the device and returns the model on it, in eval mode; an ``inputs`` function takes
the device and returns ``(args, kwargs)``; randomness comes from fixed seeds (model weights: ``build.py`` seeds
torch's global generator with the program's name before calling the factory; inputs: a local generator).
"""
from __future__ import annotations

import collections
import dataclasses
import importlib
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ProgramSpec", "SkipProgram", "PROGRAMS", "by_name", "register_pytree_types"]

Args = Tuple[Tuple[Any, ...], Dict[str, Any]]


class SkipProgram(Exception):
    """The program cannot be built here (an optional package is missing); the message says why."""


@dataclasses.dataclass(frozen=True)
class ProgramSpec:
    name: str  # file stem of every artifact: <name>.tgm, <name>.training.pt2, ...
    description: str
    factory: Callable[[torch.device], nn.Module]  # the model on the device, in eval mode
    inputs: Callable[[torch.device], Args]  # example (args, kwargs), deterministic
    dynamic_shapes: Optional[Callable[[], Any]] = None  # builds the dynamic_shapes argument of torch.export.export
    executed_ops: Tuple[str, ...] = ()  # torch_executed_ops: "aten.gelu" (any overload) or "aten.gelu.default"
    covers: Tuple[str, ...] = ()  # short tags of what the program exercises
    min_block_size: int = 1  # engines with fewer operator nodes run in PyTorch (Torch-TensorRT's min_block_size)
    max_test_size: int = 64  # the largest value a dynamic dim takes in the "max" case (the range's max if lower)


# ------------------------------------------------------------------------------------------- helpers


def _gen(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


def _randn(g: torch.Generator, *shape: int, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=g).to(device=device, dtype=dtype)


def _randint(g: torch.Generator, high: int, *shape: int, device: torch.device, dtype: torch.dtype = torch.int64) -> torch.Tensor:
    return torch.randint(0, high, shape, generator=g).to(device=device, dtype=dtype)


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 - an ImportError, or a broken install that fails on import
        raise SkipProgram(f"{module} is not importable here: {type(e).__name__}: {e}") from None


def _trained_norms(model: nn.Module, seed: int) -> nn.Module:
    """Gives BatchNorm / LayerNorm layers trained-looking state (running stats, affine parameters).

    With their initial state (mean 0, var 1, weight 1, bias 0) a norm's output has zero mean per row, and the
    stand-in engines, which only see the means of their inputs, would give the same output whatever ran before.
    """
    g = _gen(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.running_mean is not None:
                    m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) - 0.5)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                if m.weight is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                    m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
            elif isinstance(m, nn.LayerNorm) and m.weight is not None:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
    return model


def _coarse_weights(model: nn.Module, step_in_stds: float = 2.0) -> nn.Module:
    """Rounds every large weight to multiples of ``step_in_stds`` of its standard deviation: most become 0, the
    rest ±step. The network still computes (its BatchNorms rescale), and its archives compress many times."""
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2 and p.numel() >= 1024:
                step = float(p.float().std()) * step_in_stds
                if step > 0:
                    p.copy_(torch.round(p / step) * step)
    return model


def _on(model: nn.Module, device: torch.device, seed: int = 0) -> nn.Module:
    return _trained_norms(model, seed).to(device).eval()


# ------------------------------------------------------------------------------------------- pytree types

# A namedtuple and dataclasses crossing the program boundary. torch.export flattens them by their pytree
# registration; the serialized type name is what the .pt2 (and the .tgm in_spec / out_spec) records.
Pair = collections.namedtuple("Pair", ["left", "right"])
Gated = collections.namedtuple("Gated", ["fused", "gate"])


@dataclasses.dataclass
class Batch:
    features: torch.Tensor  # [B, T, 16]
    mask: torch.Tensor  # bool [B, T]


@dataclasses.dataclass
class Prediction:
    logits: torch.Tensor
    confidence: torch.Tensor


PYTREE_TYPES = {
    Pair: "trtx_corpus.Pair",
    Gated: "trtx_corpus.Gated",
    Batch: "trtx_corpus.Batch",
    Prediction: "trtx_corpus.Prediction",
}


def register_pytree_types() -> Dict[str, str]:
    """Registers the corpus's namedtuples and dataclasses with torch's pytree (idempotent). Returns, per type,
    ``"registered"``, ``"already registered"`` or the error met."""
    from torch.utils import _pytree as pytree

    status: Dict[str, str] = {}
    for cls, name in PYTREE_TYPES.items():
        if cls in pytree.SUPPORTED_NODES:
            status[name] = "already registered"
            continue
        try:
            if dataclasses.is_dataclass(cls):
                torch.export.register_dataclass(cls, serialized_type_name=name)
            else:
                pytree._register_namedtuple(cls, serialized_type_name=name)
            status[name] = "registered"
        except Exception as e:  # noqa: BLE001 - recorded by build.py / check.py
            status[name] = f"{type(e).__name__}: {e}"
    return status


REGISTRATION = register_pytree_types()

# ------------------------------------------------------------------------------------------- models


class SmallConvBN(nn.Module):
    """Two conv + BatchNorm + ReLU stages, global average pool, Linear head."""

    def __init__(self, c: int = 16, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(2 * c)
        self.head = nn.Linear(2 * c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.head(x.mean((2, 3)))


class EncoderLayer(nn.Module):
    """One ``nn.TransformerEncoderLayer`` (batch first, no dropout)."""

    def __init__(self, d: int = 32):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class SelfAttention(nn.Module):
    """``nn.MultiheadAttention`` self-attention with a key padding mask, returning output and weights."""

    def __init__(self, d: int = 32):
        super().__init__()
        self.mha = nn.MultiheadAttention(d, num_heads=4, batch_first=True)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        out, weights = self.mha(x, x, x, key_padding_mask=key_padding_mask, need_weights=True)
        return out, weights


class TokenEncoder(nn.Module):
    """Token + position embeddings, LayerNorm, masked mean pooling and a projection."""

    def __init__(self, vocab: int = 100, d: int = 32, max_len: int = 16):
        super().__init__()
        self.tokens = nn.Embedding(vocab, d)
        self.positions = nn.Embedding(max_len, d)
        self.norm = nn.LayerNorm(d)
        self.proj = nn.Linear(d, 16)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        pos = torch.arange(ids.shape[1], device=ids.device)
        h = self.norm(self.tokens(ids) + self.positions(pos))
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.proj(pooled), h.masked_fill(~mask.unsqueeze(-1), 0.0)


class LSTMTagger(nn.Module):
    """A one-layer ``nn.LSTM`` over a sequence, a Linear tag head; returns tags and the final (h, c)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32, batch_first=True)
        self.head = nn.Linear(32, 5)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out, (h, c) = self.lstm(x)
        return self.head(out), h, c


class GRUEncoder(nn.Module):
    """A two-layer ``nn.GRU``; returns the last step through a Linear and the final hidden state."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 24, num_layers=2, batch_first=True)
        self.head = nn.Linear(24, 4)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        out, h = self.gru(x)
        return self.head(out[:, -1]), h


class MLP(nn.Module):
    """Linear-GELU-Linear-GELU-Linear."""

    def __init__(self, d_in: int = 16, d: int = 32, d_out: int = 8):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d)
        self.fc2 = nn.Linear(d, d)
        self.fc3 = nn.Linear(d, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.gelu(self.fc2(F.gelu(self.fc1(x)))))


class SeqClassifier(nn.Module):
    """Embedding, one TransformerEncoderLayer, mean over the sequence, Linear."""

    def __init__(self, vocab: int = 50, d: int = 32):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.enc = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(d, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.emb(ids)).mean(1))


class KwargsHeads(nn.Module):
    """Called with keyword arguments (a tensor and a dict of tensors); returns a dict holding a list."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(16, 32)
        self.head_a = nn.Linear(32, 4)
        self.head_b = nn.Linear(32, 2)

    def forward(self, x: torch.Tensor, *, scale: torch.Tensor, offsets: Dict[str, torch.Tensor]) -> Dict[str, Any]:
        h = F.relu(self.trunk(x)) * scale
        a = self.head_a(h) + offsets["a"]
        b = self.head_b(h) + offsets["b"]
        return {"logits": torch.cat([a, b], dim=-1), "parts": [a, b], "scale_sum": scale.sum()}


class TiedLM(nn.Module):
    """Embedding whose weight is also the decoder's (tied weights), with a LayerNorm between."""

    def __init__(self, vocab: int = 64, d: int = 32):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.norm = nn.LayerNorm(d)
        self.decoder = nn.Linear(d, vocab, bias=False)
        self.decoder.weight = self.emb.weight  # tied: one Parameter under two names

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.norm(self.emb(ids)))


class StridedParams(nn.Module):
    """Parameters that are not plain contiguous tensors: a transposed weight (strides (1, 16)) and a weight that
    is a view at storage offset 8 into a larger storage. Built on the device directly: ``Module.to`` would copy
    them into fresh storages and drop the offset."""

    def __init__(self, device: torch.device, seed: int = 13):
        super().__init__()
        g = _gen(seed)
        w = _randn(g, 32, 16, device=device) * 0.25
        self.w_t = nn.Parameter(w.t())  # [16, 32], stride (1, 16)
        base = _randn(g, 72, device=device) * 0.25
        self.w_offset = nn.Parameter(base[8:].view(8, 8))  # storage offset 8 in a 72-element storage
        self.bias = nn.Parameter(_randn(g, 32, device=device) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(x @ self.w_t + self.bias)
        return h[:, :8] @ self.w_offset


class MixedBuffers(nn.Module):
    """Buffers of float16, bfloat16, int8 and bool read next to a float32 Linear."""

    def __init__(self, seed: int = 14):
        super().__init__()
        g = _gen(seed)
        self.lin = nn.Linear(16, 16)
        self.register_buffer("bias_f16", torch.randn(16, generator=g).half())
        self.register_buffer("gain_bf16", (1 + 0.1 * torch.randn(16, generator=g)).bfloat16())
        self.register_buffer("shift_i8", torch.randint(-5, 6, (16,), generator=g, dtype=torch.int8))
        self.register_buffer("keep", torch.rand(16, generator=g) > 0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lin(x) + self.bias_f16.float()
        h = h * self.gain_bf16.float() + 0.1 * self.shift_i8.float()
        h = torch.where(self.keep, h, torch.zeros_like(h))
        return torch.tanh(h)


class NormMLP(nn.Module):
    """Linear, LayerNorm, GELU, Linear (made float16 or bfloat16 end to end by its factory)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.norm = nn.LayerNorm(32)
        self.fc2 = nn.Linear(32, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.norm(self.fc1(x))))


class SmallCNN(nn.Module):
    """Conv, BatchNorm, ReLU, Conv, global average pool (made bfloat16 by its factory)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.bn(self.conv1(x)))).mean((2, 3))


class CondOnData(nn.Module):
    """``torch.cond`` on a data-dependent predicate (the sign of a sum), Linear layers around and inside."""

    def __init__(self):
        super().__init__()
        self.pre = nn.Linear(16, 16)
        self.a = nn.Linear(16, 16)
        self.b = nn.Linear(16, 16)
        self.post = nn.Linear(16, 4)

    def _positive(self, h: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.a(h))

    def _negative(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.b(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pre(x)
        out = torch.cond(h.sum() > 0, self._positive, self._negative, (h,))
        return self.post(out)


class CondOnShape(nn.Module):
    """``torch.cond`` whose predicate is a symbolic shape test (a SymBool: batch > 4)."""

    def __init__(self):
        super().__init__()
        self.big = nn.Linear(16, 8)
        self.small = nn.Linear(16, 8)

    def _big(self, x: torch.Tensor) -> torch.Tensor:
        return self.big(x)

    def _small(self, x: torch.Tensor) -> torch.Tensor:
        return self.small(x) * 2.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cond(x.shape[0] > 4, self._big, self._small, (x,))


def _while_loop_fn() -> Callable:
    return importlib.import_module("torch._higher_order_ops.while_loop").while_loop


def _map_fn() -> Callable:
    # importlib returns the module even where torch._higher_order_ops rebinds the name "map" to the function.
    return importlib.import_module("torch._higher_order_ops.map").map


class WhileLoopModel(nn.Module):
    """``while_loop``: three steps of h = tanh(Linear(h)), with an int64 counter carried along."""

    def __init__(self):
        super().__init__()
        self.pre = nn.Linear(16, 16)
        self.step = nn.Linear(16, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        while_loop = _while_loop_fn()

        def cond_fn(i: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
            return i < 3

        def body_fn(i: torch.Tensor, h: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
            return i + 1, torch.tanh(self.step(h))

        i0 = torch.zeros((), dtype=torch.int64, device=x.device)
        steps, h = while_loop(cond_fn, body_fn, (i0, self.pre(x)))
        return self.head(h), steps


class MapModel(nn.Module):
    """``map`` over the leading dim: each slice through tanh(x @ w + b), weights passed as extra arguments."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(16, 8) * 0.25)
        self.b = nn.Parameter(torch.randn(8) * 0.1)
        self.post = nn.Linear(8, 4)

    def forward(self, xs: torch.Tensor) -> torch.Tensor:
        def body(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.tanh(x @ w + b)

        ys = _map_fn()(body, xs, self.w, self.b)
        return self.post(ys.sum(0))


class NoGradRegion(nn.Module):
    """A ``with torch.no_grad():`` region (``wrap_with_set_grad_enabled`` in the training dialect)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16)
        self.b = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            h = torch.relu(self.a(x))
        return self.b(h)


class AutocastRegion(nn.Module):
    """A ``torch.autocast`` region (bfloat16 on CUDA; ``wrap_with_autocast`` in the training dialect)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 32)
        self.b = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            h = self.a(x)
        return self.b(h.float()), h


class NonzeroSelect(nn.Module):
    """``nonzero`` on the input (an unbacked size), rows gathered with it, summed back to a static shape."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 8)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h = self.proj(x)
        idx = torch.nonzero(x[:, 0] > 0)  # [u0, 1]
        rows = h.index_select(0, idx.squeeze(1))  # [u0, 8]
        return rows.sum(0), idx


class ItemNarrow(nn.Module):
    """``.item()`` of an input with ``torch._check`` bounds, used as a length: an unbacked size in the graph."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor, k: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        n = k.item()
        torch._check(n >= 1)
        torch._check(n <= 16)
        y = self.proj(x).narrow(1, 0, n)  # [B, u0]
        return torch.relu(y), y.sum(1)


class SymIntOutput(nn.Module):
    """An int input marked dynamic, and SymInt outputs (the batch size, and n + 1)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 8)

    def forward(self, x: torch.Tensor, n: int) -> Tuple[torch.Tensor, int, int]:
        return self.lin(x) * n, x.shape[0], n + 1


class NamedTupleModel(nn.Module):
    """Takes a ``Pair`` namedtuple, returns a ``Gated`` namedtuple (both registered with serialized names)."""

    def __init__(self):
        super().__init__()
        self.left = nn.Linear(16, 16)
        self.right = nn.Linear(16, 16)
        self.gate = nn.Linear(16, 1)

    def forward(self, pair: Pair) -> Gated:
        fused = self.left(pair.left) + self.right(pair.right)
        gate = torch.sigmoid(self.gate(fused))
        return Gated(fused * gate, gate)


class DataclassModel(nn.Module):
    """Takes a ``Batch`` dataclass (features and a bool mask), returns a ``Prediction`` dataclass."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(16, 5)

    def forward(self, batch: Batch) -> Prediction:
        m = batch.mask.unsqueeze(-1).to(batch.features.dtype)
        pooled = (batch.features * m).sum(1) / m.sum(1).clamp(min=1.0)
        logits = self.head(pooled)
        return Prediction(logits=logits, confidence=torch.softmax(logits, -1).amax(-1))


class HFBert(nn.Module):
    """A tiny ``transformers.BertModel`` (from a config, random weights); returns (last_hidden_state, pooler)."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask)
        return out.last_hidden_state, out.pooler_output


class HFGPT2(nn.Module):
    """A tiny ``transformers.GPT2Model`` (from a config, random weights, no KV cache); returns the last hidden state."""

    def __init__(self, gpt2: nn.Module):
        super().__init__()
        self.gpt2 = gpt2

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.gpt2(input_ids=input_ids, use_cache=False).last_hidden_state


class ZeroDimAndNone(nn.Module):
    """0-d outputs (a sum and a norm) and a None among the outputs."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, None, torch.Tensor, torch.Tensor]:
        h = self.lin(x)
        return h.sum(), None, torch.linalg.vector_norm(h), torch.relu(h)


class ScalarArgs(nn.Module):
    """Python float arguments, one positional and one keyword (torch.export specializes them as constants)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 8)

    def forward(self, x: torch.Tensor, alpha: float, *, beta: float = 0.5) -> torch.Tensor:
        return self.lin(x) * alpha + beta


class DerivedDims(nn.Module):
    """Three inputs with a shared batch dim (equal dims) and y one longer than x (a derived dim L + 1)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        d = y[:, 1:] - y[:, :-1]  # [B, L, 8]
        h = self.lin(x + d)
        return h.mean(1) + z, torch.cat([x, y], dim=1)  # the cat is [B, 2L + 1, 8]


class MultiOutput(nn.Module):
    """An engine with several outputs (two user outputs and one feeding a PyTorch cumsum)."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(16, 16)
        self.l2 = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a = self.l1(x)
        b = torch.relu(a)
        c = torch.sigmoid(a)
        return a, c, self.l2(torch.cumsum(b, dim=1))


class FirstOpFallback(nn.Module):
    """The first operation (atan2 of the two inputs) runs in PyTorch, then an engine."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 8)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.lin(torch.atan2(x, y)))


class DynamicHWConv(nn.Module):
    """Convs over a dynamic height and width: a 'same' conv keeps them, a stride-2 conv halves them."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.head = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn(self.c1(x)))
        h = F.relu(self.c2(h))
        return self.head(h.mean((2, 3)))


# ------------------------------------------------------------------------------------------- factories


def _resnet18(device: torch.device) -> nn.Module:
    tv = _require("torchvision")
    model = tv.models.resnet18(weights=None, num_classes=10)
    return _coarse_weights(_trained_norms(model, 2)).to(device).eval()


def _mobilenet(device: torch.device) -> nn.Module:
    tv = _require("torchvision")
    model = tv.models.mobilenet_v3_small(weights=None, num_classes=10)
    return _coarse_weights(_trained_norms(model, 3)).to(device).eval()


def _hf_config(transformers: Any, cls_name: str, **kw: Any) -> Any:
    cls = getattr(transformers, cls_name)
    try:
        return cls(**kw, attn_implementation="eager")
    except TypeError:  # a version whose config does not take it: set the private field instead
        config = cls(**kw)
        try:
            config._attn_implementation = "eager"
        except Exception:  # noqa: BLE001 - the default implementation then
            pass
        return config


def _bert(device: torch.device) -> nn.Module:
    transformers = _require("transformers")
    config = _hf_config(
        transformers, "BertConfig", vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return _on(HFBert(transformers.BertModel(config)), device, 28)


def _gpt2(device: torch.device) -> nn.Module:
    transformers = _require("transformers")
    config = _hf_config(
        transformers, "GPT2Config", vocab_size=64, n_positions=32, n_embd=32, n_layer=2, n_head=2, n_inner=64,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, use_cache=False,
    )
    return _on(HFGPT2(transformers.GPT2Model(config)), device, 29)


def _frozen(model: nn.Module) -> nn.Module:
    """Parameters without requires_grad: while_loop's body must return what it is given (no autograd there)."""
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _half(device: torch.device) -> nn.Module:
    return _on(NormMLP(), device, 15).half()


def _bf16_cnn(device: torch.device) -> nn.Module:
    return _on(SmallCNN(), device, 16).to(torch.bfloat16)


# ------------------------------------------------------------------------------------------- inputs


def _x(shape: Tuple[int, ...], seed: int, dtype: torch.dtype = torch.float32) -> Callable[[torch.device], Args]:
    def make(device: torch.device) -> Args:
        return (_randn(_gen(seed), *shape, device=device, dtype=dtype),), {}

    return make


def _xs(*shapes: Tuple[int, ...], seed: int) -> Callable[[torch.device], Args]:
    def make(device: torch.device) -> Args:
        g = _gen(seed)
        return tuple(_randn(g, *s, device=device) for s in shapes), {}

    return make


def _mha_inputs(device: torch.device) -> Args:
    g = _gen(105)
    x = _randn(g, 2, 6, 32, device=device)
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[1, 4:] = True  # the last two keys of the second sequence are padding
    return (x, mask.to(device)), {}


def _token_inputs(device: torch.device) -> Args:
    g = _gen(106)
    ids = _randint(g, 100, 2, 8, device=device)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[0, 6:] = False
    mask[1, 3:] = False
    return (ids, mask.to(device)), {}


def _ids(high: int, shape: Tuple[int, ...], seed: int) -> Callable[[torch.device], Args]:
    def make(device: torch.device) -> Args:
        return (_randint(_gen(seed), high, *shape, device=device),), {}

    return make


def _kwargs_inputs(device: torch.device) -> Args:
    g = _gen(111)
    x = _randn(g, 3, 16, device=device)
    scale = _randn(g, 32, device=device).abs() + 0.5
    offsets = {"a": _randn(g, 4, device=device), "b": _randn(g, 2, device=device)}
    return (x,), {"scale": scale, "offsets": offsets}


def _item_inputs(device: torch.device) -> Args:
    g = _gen(124)
    return (_randn(g, 2, 16, device=device), torch.tensor(5, dtype=torch.int64, device=device)), {}


def _nonzero_inputs(device: torch.device) -> Args:
    x = _randn(_gen(123), 4, 16, device=device)
    x[0, 0] = 1.0  # at least one row selected
    x[1, 0] = -1.0  # and at least one not
    return (x,), {}


def _symint_inputs(device: torch.device) -> Args:
    return (_randn(_gen(125), 4, 16, device=device), 3), {}


def _pair_inputs(device: torch.device) -> Args:
    g = _gen(126)
    return (Pair(_randn(g, 3, 16, device=device), _randn(g, 3, 16, device=device)),), {}


def _batch_inputs(device: torch.device) -> Args:
    g = _gen(127)
    mask = torch.rand(2, 6, generator=g) > 0.3
    mask[:, 0] = True
    return (Batch(features=_randn(g, 2, 6, 16, device=device), mask=mask.to(device)),), {}


def _bert_inputs(batch: int, seq: int, seed: int) -> Callable[[torch.device], Args]:
    def make(device: torch.device) -> Args:
        g = _gen(seed)
        ids = _randint(g, 64, batch, seq, device=device)
        mask = torch.ones(batch, seq, dtype=torch.int64)
        mask[-1, seq - 2:] = 0  # padding at the end of the last sequence
        return (ids, mask.to(device)), {}

    return make


def _scalar_inputs(device: torch.device) -> Args:
    return (_randn(_gen(132), 3, 16, device=device), 0.75), {"beta": 0.25}


def _derived_inputs(device: torch.device) -> Args:
    g = _gen(133)
    return (_randn(g, 3, 6, 8, device=device), _randn(g, 3, 7, 8, device=device), _randn(g, 3, 8, device=device)), {}


def _atan_inputs(device: torch.device) -> Args:
    g = _gen(135)
    return (_randn(g, 4, 16, device=device), _randn(g, 4, 16, device=device)), {}


# ------------------------------------------------------------------------------------------- dynamic shapes


def _dim(name: str, lo: int, hi: int) -> Any:
    return torch.export.Dim(name, min=lo, max=hi)


def _ds_batch(lo: int = 2, hi: int = 64, n_inputs: int = 1) -> Callable[[], Any]:
    def make() -> Any:
        batch = _dim("batch", lo, hi)
        return tuple({0: batch} for _ in range(n_inputs))

    return make


def _ds_seq_classifier() -> Any:
    return ({0: _dim("batch", 2, 16), 1: _dim("seq", 2, 48)},)


def _ds_bert() -> Any:
    batch, seq = _dim("batch", 2, 8), _dim("seq", 4, 32)
    return ({0: batch, 1: seq}, {0: batch, 1: seq})


def _ds_symint() -> Any:
    return {"x": {0: _dim("batch", 2, 32)}, "n": torch.export.Dim.DYNAMIC}


def _ds_derived() -> Any:
    batch, length = _dim("batch", 2, 16), _dim("length", 3, 40)
    return ({0: batch, 1: length}, {0: batch, 1: length + 1}, {0: batch})


def _ds_hw() -> Any:
    return ({2: _dim("height", 8, 64), 3: _dim("width", 8, 64)},)


# ------------------------------------------------------------------------------------------- the programs

LAYER_NORM = "aten.native_layer_norm"
MATMULS = ("aten.mm", "aten.addmm", "aten.bmm", "aten.matmul", "aten.t", "aten.permute")

PROGRAMS: List[ProgramSpec] = [
    ProgramSpec(
        "cnn_bn_small",
        "Two conv + BatchNorm + ReLU stages and a Linear head; the BatchNorms run in PyTorch, so their parameters "
        "and running-stat buffers are in fallback segments (the seed exporter's missing persistent flag).",
        lambda d: _on(SmallConvBN(), d, 1), _x((2, 3, 16, 16), 101),
        executed_ops=("aten._native_batch_norm_legit_no_training",),
        covers=("conv", "batchnorm", "buffers in fallback", "static"),
    ),
    ProgramSpec(
        "resnet18",
        "torchvision resnet18 (10 classes, weights rounded to a coarse grid) at 32x32; the stem max-pool and the "
        "global average pool (mean) run in PyTorch.",
        _resnet18, _x((1, 3, 32, 32), 102),
        executed_ops=("aten.max_pool2d_with_indices", "aten.mean.dim"),
        covers=("torchvision", "conv", "batchnorm", "residual", "static"),
    ),
    ProgramSpec(
        "mobilenet_v3_small",
        "torchvision mobilenet_v3_small (10 classes, coarse weights) at 64x64; every squeeze-excitation pool and "
        "the final pool (mean) run in PyTorch, giving many alternating segments.",
        _mobilenet, _x((2, 3, 64, 64), 103),
        executed_ops=("aten.mean.dim",),
        covers=("torchvision", "conv", "batchnorm", "hardswish", "squeeze-excitation", "static"),
    ),
    ProgramSpec(
        "transformer_encoder_layer",
        "One nn.TransformerEncoderLayer (d=32, 4 heads) over a dynamic sequence length; LayerNorms in PyTorch.",
        lambda d: _on(EncoderLayer(), d, 4), _x((2, 10, 32), 104),
        dynamic_shapes=lambda: ({1: _dim("seq", 2, 64)},),
        executed_ops=(LAYER_NORM,),
        covers=("transformer", "attention", "layernorm", "dynamic seq"),
        min_block_size=2,
    ),
    ProgramSpec(
        "multihead_attention",
        "nn.MultiheadAttention self-attention with a bool key padding mask, returning output and averaged "
        "weights; the softmax runs in PyTorch.",
        lambda d: _on(SelfAttention(), d, 5), _mha_inputs,
        executed_ops=("aten._softmax",),
        covers=("attention", "bool input", "two outputs", "static"),
    ),
    ProgramSpec(
        "embedding_layernorm_mask",
        "Token and position Embeddings (in PyTorch, with an arange feeding one), LayerNorm, masked mean pooling: "
        "an int64 token input and a bool mask input.",
        lambda d: _on(TokenEncoder(), d, 6), _token_inputs,
        executed_ops=("aten.embedding",),
        covers=("embedding", "layernorm", "int64 input", "bool input", "engine without inputs avoided"),
    ),
    ProgramSpec(
        "lstm_dynamic_batch",
        "One-layer nn.LSTM (unrolled over 6 steps by torch's decomposition) with a dynamic batch; the step "
        "outputs' stack/cat runs in PyTorch.",
        lambda d: _on(LSTMTagger(), d, 7), _x((3, 6, 16), 107),
        dynamic_shapes=_ds_batch(2, 16),
        executed_ops=("aten.stack", "aten.cat"),
        covers=("lstm", "rnn", "dynamic batch", "three outputs"),
        min_block_size=2,
    ),
    ProgramSpec(
        "gru_two_layer",
        "Two-layer nn.GRU over 5 steps, static shapes; the stack/cat of step outputs runs in PyTorch.",
        lambda d: _on(GRUEncoder(), d, 8), _x((2, 5, 16), 108),
        executed_ops=("aten.stack", "aten.cat"),
        covers=("gru", "rnn", "static"),
    ),
    ProgramSpec(
        "mlp_dynamic_batch",
        "Linear-GELU MLP with a dynamic batch declared up to 1024 (the max tested is clamped to 64); GELU in "
        "PyTorch.",
        lambda d: _on(MLP(), d, 9), _x((4, 16), 109),
        dynamic_shapes=_ds_batch(2, 1024),
        executed_ops=("aten.gelu",),
        covers=("mlp", "dynamic batch", "clamped max"),
    ),
    ProgramSpec(
        "seq_classifier_dynamic",
        "Embedding + TransformerEncoderLayer + mean + Linear over int64 tokens with a dynamic batch and a dynamic "
        "sequence length; LayerNorms in PyTorch.",
        lambda d: _on(SeqClassifier(), d, 10), _ids(50, (3, 12), 110),
        dynamic_shapes=_ds_seq_classifier,
        executed_ops=(LAYER_NORM,),
        covers=("transformer", "embedding", "dynamic batch", "dynamic seq"),
        min_block_size=2,
    ),
    ProgramSpec(
        "kwargs_dict_output",
        "Called with keyword arguments (a tensor and a dict of tensors); returns a dict with a list and a 0-d sum; "
        "ReLU in PyTorch.",
        lambda d: _on(KwargsHeads(), d, 11), _kwargs_inputs,
        executed_ops=("aten.relu",),
        covers=("kwargs", "dict input", "dict output", "list output"),
    ),
    ProgramSpec(
        "tied_embedding_decoder",
        "Embedding whose weight is the decoder Linear's too; the embedding and the decoder's matmul run in "
        "PyTorch, so the one tied Parameter is read by two fallback segments.",
        lambda d: _on(TiedLM(), d, 12), _ids(64, (2, 8), 112),
        executed_ops=("aten.embedding",) + MATMULS,
        covers=("tied weights", "embedding", "layernorm"),
    ),
    ProgramSpec(
        "noncontiguous_params",
        "A transposed weight (strides (1, 16)) and a weight at storage offset 8, both read by matmuls in PyTorch.",
        lambda d: StridedParams(d).eval(), _x((3, 16), 113),
        executed_ops=("aten.mm",),
        covers=("non-contiguous parameter", "storage offset"),
    ),
    ProgramSpec(
        "buffers_mixed_dtypes",
        "Buffers of float16, bfloat16, int8 and bool; their conversions and the where run in PyTorch, so the "
        "buffers are in fallback segments.",
        lambda d: _on(MixedBuffers(), d, 14), _x((3, 16), 114),
        executed_ops=("aten._to_copy", "aten.where"),
        covers=("float16 buffer", "bfloat16 buffer", "int8 buffer", "bool buffer"),
    ),
    ProgramSpec(
        "half_mlp",
        "A float16 model end to end (Linear, LayerNorm, GELU, Linear); the LayerNorm and its float16 parameters "
        "in PyTorch.",
        _half, _x((4, 16), 115, torch.float16),
        executed_ops=(LAYER_NORM,),
        covers=("float16", "layernorm"),
    ),
    ProgramSpec(
        "bf16_cnn",
        "A bfloat16 CNN end to end; the convolutions (bfloat16 weights) run in PyTorch, BatchNorm and ReLU in "
        "engines.",
        _bf16_cnn, _x((2, 3, 12, 12), 116, torch.bfloat16),
        executed_ops=("aten.convolution",),
        covers=("bfloat16", "conv", "batchnorm"),
    ),
    ProgramSpec(
        "cond_data_pred",
        "torch.cond on the sign of a sum (data-dependent predicate), Linear layers inside both branches.",
        lambda d: _on(CondOnData(), d, 17), _x((3, 16), 117),
        covers=("torch.cond", "higher-order op", "subgraphs"),
    ),
    ProgramSpec(
        "cond_symbolic_pred",
        "torch.cond whose predicate is batch > 4 on a dynamic batch (a SymBool); min and max take different "
        "branches.",
        lambda d: _on(CondOnShape(), d, 18), _x((6, 16), 118),
        dynamic_shapes=_ds_batch(2, 16),
        covers=("torch.cond", "SymBool", "dynamic batch"),
    ),
    ProgramSpec(
        "while_loop_counter",
        "torch._higher_order_ops.while_loop running three tanh(Linear) steps with an int64 counter; returns the "
        "result and the counter (parameters frozen).",
        lambda d: _frozen(_on(WhileLoopModel(), d, 19)), _x((3, 16), 119),
        covers=("while_loop", "higher-order op", "int64 0-d output"),
    ),
    ProgramSpec(
        "map_over_rows",
        "torch._higher_order_ops.map over the leading dim, weights passed as extra arguments.",
        lambda d: _on(MapModel(), d, 20), _x((3, 2, 16), 120),
        covers=("map", "higher-order op"),
    ),
    ProgramSpec(
        "no_grad_region",
        "A `with torch.no_grad():` region (wrap_with_set_grad_enabled in the training dialect); ReLU in PyTorch.",
        lambda d: _on(NoGradRegion(), d, 21), _x((3, 16), 121),
        executed_ops=("aten.relu",),
        covers=("no_grad", "wrap_with_set_grad_enabled"),
    ),
    ProgramSpec(
        "autocast_region",
        "A torch.autocast(cuda, bfloat16) region (wrap_with_autocast in the training dialect); its dtype "
        "conversions run in PyTorch; returns a float32 and a bfloat16 tensor.",
        lambda d: _on(AutocastRegion(), d, 22), _x((3, 16), 122),
        executed_ops=("aten._to_copy",),
        covers=("autocast", "wrap_with_autocast", "bfloat16"),
    ),
    ProgramSpec(
        "nonzero_select",
        "nonzero on the input gives an unbacked size u0; rows are gathered with it and summed (an engine input "
        "and an output with a dim u0).",
        lambda d: _on(NonzeroSelect(), d, 23), _nonzero_inputs,
        covers=("nonzero", "unbacked symbol", "data-dependent"),
    ),
    ProgramSpec(
        "item_narrow",
        ".item() of an int64 input, bounded with torch._check, narrows a tensor: an unbacked size in an engine's "
        "input and output.",
        lambda d: _on(ItemNarrow(), d, 24), _item_inputs,
        covers=(".item()", "torch._check", "unbacked symbol", "_assert_scalar"),
    ),
    ProgramSpec(
        "symint_output",
        "An int input marked Dim.DYNAMIC, a dynamic batch, and SymInt outputs (x.shape[0] and n + 1).",
        lambda d: _on(SymIntOutput(), d, 25), _symint_inputs,
        dynamic_shapes=_ds_symint,
        covers=("SymInt input", "SymInt output", "dynamic batch"),
    ),
    ProgramSpec(
        "namedtuple_io",
        "A namedtuple input and a namedtuple output, registered with serialized type names; sigmoid in PyTorch.",
        lambda d: _on(NamedTupleModel(), d, 26), _pair_inputs,
        executed_ops=("aten.sigmoid",),
        covers=("namedtuple input", "namedtuple output", "pytree"),
    ),
    ProgramSpec(
        "dataclass_io",
        "A dataclass input (features and a bool mask) and a dataclass output, registered with "
        "torch.export.register_dataclass; softmax in PyTorch.",
        lambda d: _on(DataclassModel(), d, 27), _batch_inputs,
        executed_ops=("aten._softmax",),
        covers=("dataclass input", "dataclass output", "pytree", "bool input"),
    ),
    ProgramSpec(
        "hf_bert_tiny",
        "A tiny Hugging Face BertModel from a config (2 layers, hidden 32, eager attention, random weights); "
        "LayerNorms in PyTorch. Non-persistent int64 buffers (position and token type ids).",
        _bert, _bert_inputs(2, 10, 128),
        executed_ops=(LAYER_NORM,),
        covers=("transformers", "bert", "non-persistent buffers", "static"),
        min_block_size=2,
    ),
    ProgramSpec(
        "hf_gpt2_tiny",
        "A tiny Hugging Face GPT2Model from a config (2 layers, hidden 32, eager attention, no cache); "
        "LayerNorms in PyTorch.",
        _gpt2, _ids(64, (2, 12), 129),
        executed_ops=(LAYER_NORM,),
        covers=("transformers", "gpt2", "causal mask", "static"),
        min_block_size=2,
    ),
    ProgramSpec(
        "hf_bert_dynamic",
        "The tiny BertModel with a dynamic batch and a dynamic sequence length (up to 32).",
        _bert, _bert_inputs(3, 10, 130),
        dynamic_shapes=_ds_bert,
        executed_ops=(LAYER_NORM,),
        covers=("transformers", "bert", "dynamic batch", "dynamic seq"),
        min_block_size=2,
    ),
    ProgramSpec(
        "zero_dim_and_none",
        "Outputs a 0-d sum (engine), None, a 0-d vector norm (PyTorch) and a tensor.",
        lambda d: _on(ZeroDimAndNone(), d, 31), _x((3, 16), 131),
        executed_ops=("aten.linalg_vector_norm",),
        covers=("0-d output", "None output"),
    ),
    ProgramSpec(
        "scalar_float_arg",
        "Python float arguments (alpha positional, beta keyword), specialized as constants by torch.export; the "
        "multiplication by alpha runs in PyTorch.",
        lambda d: _on(ScalarArgs(), d, 32), _scalar_inputs,
        executed_ops=("aten.mul.Tensor",),
        covers=("float argument", "constant input", "kwargs"),
    ),
    ProgramSpec(
        "derived_and_equal_dims",
        "Three inputs sharing a dynamic batch (equal dims), y's length is x's + 1 (a derived dim); the cat of x "
        "and y (length 2L + 1) runs in PyTorch.",
        lambda d: _on(DerivedDims(), d, 33), _derived_inputs,
        dynamic_shapes=_ds_derived,
        executed_ops=("aten.cat",),
        covers=("derived dim", "equal dims", "dynamic batch"),
    ),
    ProgramSpec(
        "multi_output_engine",
        "An engine with three outputs (two are user outputs, one feeds a cumsum in PyTorch), then another engine.",
        lambda d: _on(MultiOutput(), d, 34), _x((3, 16), 134),
        executed_ops=("aten.cumsum",),
        covers=("multi-output engine", "getitem"),
    ),
    ProgramSpec(
        "first_op_fallback",
        "The first operation (atan2 of both inputs) runs in PyTorch, then one engine: the fallback's placeholders "
        "share the root's names (the seed's duplicate-placeholder path).",
        lambda d: _on(FirstOpFallback(), d, 35), _atan_inputs,
        executed_ops=("aten.atan2",),
        covers=("first segment in PyTorch", "two inputs"),
    ),
    ProgramSpec(
        "cnn_dynamic_hw",
        "Convs over a dynamic height and width: the 'same' conv keeps them (an engine output i0.2 x i0.3); the "
        "stride-2 conv's output size is not an input size, so it runs in PyTorch.",
        lambda d: _on(DynamicHWConv(), d, 36), _x((2, 3, 16, 24), 136),
        dynamic_shapes=_ds_hw,
        covers=("conv", "dynamic height/width", "symbolic output dims"),
    ),
]


def by_name() -> Dict[str, ProgramSpec]:
    return {p.name: p for p in PROGRAMS}


def _check_names() -> None:
    names = [p.name for p in PROGRAMS]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise RuntimeError(f"duplicate program names: {sorted(dup)}")
    bad = [n for n in names if not n.isidentifier() or n.endswith(("_cross", "_loaded"))]
    if bad:  # check.py tells files apart by these suffixes
        raise RuntimeError(f"program names must be identifiers not ending in _cross / _loaded: {bad}")


_check_names()
