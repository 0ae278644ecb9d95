"""A small character-level language model in NumPy (Bengio et al. 2003: embeddings of the last
``CONTEXT`` characters, one tanh layer, softmax over the vocabulary), trained with Adam.

Used by the fine-tuning template and by the model risk assessment suite for such models.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

VOCAB = "\n" + "".join(chr(i) for i in range(32, 127))
INDEX = {c: i for i, c in enumerate(VOCAB)}
CONTEXT = 6
EMBED, HIDDEN = 16, 128
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BASE_MODEL = DATA_DIR / "base-charlm"
Array = NDArray[np.float64]
Ints = NDArray[np.int64]


def resolve_path(text: str) -> str:
    """``$PETAPORT_MODEL_X`` (a catalogue entry's variable) -> its value; else ``text``."""
    return os.environ.get(text[1:], "") if text.startswith("$") else text


def encode(text: str) -> Ints:
    return np.array([INDEX.get(c, INDEX[" "]) for c in text], dtype=np.int64)


def windows(ids: Ints) -> tuple[Ints, Ints]:
    """Every (previous ``CONTEXT`` characters, next character) pair of ``ids``."""
    idx = np.arange(CONTEXT)[None, :] + np.arange(len(ids) - CONTEXT)[:, None]
    return ids[idx], ids[CONTEXT:]


class CharLM:
    def __init__(self, params: dict[str, Array]) -> None:
        self.p = params
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    @classmethod
    def new(cls, seed: int) -> CharLM:
        rng = np.random.default_rng(seed)
        n_in = CONTEXT * EMBED
        return cls({
            "E": rng.normal(0, 0.1, (len(VOCAB), EMBED)),
            "W1": rng.normal(0, 1 / np.sqrt(n_in), (n_in, HIDDEN)), "b1": np.zeros(HIDDEN),
            "W2": rng.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, len(VOCAB))),
            "b2": np.zeros(len(VOCAB)),
        })  # fmt: skip

    @classmethod
    def load(cls, directory: Path) -> CharLM:
        with np.load(directory / "weights.npz") as f:
            return cls({k: f[k].astype(np.float64) for k in f.files})

    def save(self, directory: Path, meta: dict[str, object]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {k: v.astype(np.float32) for k, v in self.p.items()}
        np.savez(directory / "weights.npz", **arrays)  # type: ignore[arg-type]
        meta = {"format": "charlm-npz", "context": CONTEXT, "vocab": len(VOCAB), **meta}
        (directory / "model.json").write_text(json.dumps(meta, indent=2) + "\n")

    def _forward(self, x: Ints) -> tuple[Array, Array, Array]:
        flat = self.p["E"][x].reshape(len(x), -1)
        hidden = np.tanh(flat @ self.p["W1"] + self.p["b1"])
        logits = hidden @ self.p["W2"] + self.p["b2"]
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return flat, hidden, probs

    def evaluate(self, x: Ints, y: Ints) -> tuple[float, float]:
        """(mean cross-entropy in nats, next-character accuracy)."""
        _, _, probs = self._forward(x)
        loss = -np.log(probs[np.arange(len(y)), y] + 1e-12).mean()
        return float(loss), float((probs.argmax(axis=1) == y).mean())

    def train_step(self, x: Ints, y: Ints, lr: float) -> float:
        flat, hidden, probs = self._forward(x)
        n = len(y)
        loss = float(-np.log(probs[np.arange(n), y] + 1e-12).mean())
        d_logits = probs
        d_logits[np.arange(n), y] -= 1
        d_logits /= n
        d_hidden = (d_logits @ self.p["W2"].T) * (1 - hidden**2)
        d_flat = d_hidden @ self.p["W1"].T
        d_embed = np.zeros_like(self.p["E"])
        np.add.at(d_embed, x, d_flat.reshape(n, CONTEXT, EMBED))
        grads = {"W2": hidden.T @ d_logits, "b2": d_logits.sum(0), "W1": flat.T @ d_hidden,
                 "b1": d_hidden.sum(0), "E": d_embed}  # fmt: skip
        self._adam(grads, lr)
        return loss

    def _adam(self, grads: dict[str, Array], lr: float, b1: float = 0.9, b2: float = 0.999) -> None:
        self.t += 1
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat = self.m[k] / (1 - b1**self.t)
            v_hat = self.v[k] / (1 - b2**self.t)
            self.p[k] -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)


def train(model: CharLM, x: Ints, y: Ints, steps: int, lr: float, seed: int,
          batch: int = 256) -> list[float]:  # fmt: skip
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        pick = rng.integers(0, len(y), batch)
        losses.append(model.train_step(x[pick], y[pick], lr))
    return losses
