"""The numpy all-MiniLM-L6-v2 gives sentence-transformers' own vectors, without torch."""

from __future__ import annotations

import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from agent_ops.errors import ConfigError
from agent_ops.models._embedder import Embedder, default_model_dir, shared_embedder

REFERENCE = json.loads((Path(__file__).with_name("reference_embeddings.json")).read_text())


def test_embeddings_match_sentence_transformers_reference() -> None:
    # reference_embeddings.json: written by make_reference_embeddings.py with
    # sentence-transformers + torch (CPU) over the same packaged model files.
    ours = shared_embedder().encode(REFERENCE["sentences"], batch_size=4)
    theirs = np.array(REFERENCE["embeddings"], dtype=np.float32)
    assert ours.shape == theirs.shape == (len(REFERENCE["sentences"]), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    assert (ours * theirs).sum(axis=1).min() > 0.99999


def test_batched_and_single_encodings_agree_despite_padding() -> None:
    sentences = REFERENCE["sentences"]
    embedder = shared_embedder()
    together = embedder.encode(sentences, batch_size=len(sentences))
    alone = np.stack([embedder.encode([s])[0] for s in sentences])
    assert np.abs(together - alone).max() < 1e-5
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_router_runs_without_torch_or_sentence_transformers() -> None:
    shared_embedder().encode(["hello"])
    assert "torch" not in sys.modules
    assert "sentence_transformers" not in sys.modules


def test_model_loads_once_per_process_even_when_threads_race(tmp_path: Path) -> None:
    # A fresh model folder (its files linked) so this test sees the first load, not a cached one.
    for item in default_model_dir().iterdir():
        (tmp_path / item.name).symlink_to(item)
    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(lambda _: shared_embedder(tmp_path), range(8)))
    assert all(embedder is loaded[0] for embedder in loaded)
    assert loaded[0] is not shared_embedder()


def test_missing_model_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    shutil.copy(default_model_dir() / "tokenizer.json", tmp_path)
    with pytest.raises(ConfigError, match="model.safetensors is missing"):
        Embedder(tmp_path)
