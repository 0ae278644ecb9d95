"""AI Lab template ``finetune-charlm``: fine-tune a small character-level language model.

Starts from a base model (the one the project ships, or a catalogue model the job uses), trains
on a text corpus (the shipped Hong Kong weather bulletins, or a catalogue dataset's
``corpus.txt``), and reports held-out loss, perplexity and accuracy before and after. Writes
``outputs/model/`` (weights, model.json, a model card) and ``outputs/metrics.json``.

``--pretrain`` makes the shipped base model from Python's own docstrings (general English).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import time
from pathlib import Path

from petaport.lab.programs.charmodel import (
    BASE_MODEL,
    DATA_DIR,
    CharLM,
    encode,
    resolve_path,
    train,
    windows,
)

STDLIB_CORPUS = ("json", "os", "pathlib", "collections", "itertools", "functools", "argparse",
                 "datetime", "decimal", "email", "http.client", "logging", "re", "subprocess",
                 "textwrap", "typing", "unittest", "urllib.request", "zipfile", "csv")  # fmt: skip


def _stdlib_text() -> str:
    parts = []
    for name in STDLIB_CORPUS:
        module = importlib.import_module(name)
        parts += [module.__doc__ or ""]
        parts += [getattr(module, a).__doc__ or "" for a in sorted(dir(module))
                  if not a.startswith("_") and callable(getattr(module, a))]  # fmt: skip
    return "\n".join(p for p in parts if isinstance(p, str) and p)


def _corpus(path: str) -> str:
    p = Path(resolve_path(path)) if path else DATA_DIR / "hk-weather.txt"
    return (p / "corpus.txt" if p.is_dir() else p).read_text(encoding="utf-8")


def run(args: argparse.Namespace) -> dict[str, object]:
    text = _stdlib_text() if args.pretrain else _corpus(args.data)
    cut = int(len(text) * 0.9)
    x, y = windows(encode(text[:cut]))
    hx, hy = windows(encode(text[cut:]))
    model = (
        CharLM.new(args.seed)
        if args.pretrain
        else CharLM.load(Path(resolve_path(args.base) or BASE_MODEL))
    )
    before = model.evaluate(hx, hy)
    started = time.perf_counter()
    losses = train(model, x, y, args.steps, args.lr, args.seed)
    seconds = time.perf_counter() - started
    after = model.evaluate(hx, hy)
    metrics = {
        "steps": args.steps, "train_seconds": round(seconds, 3),
        "train_chars": cut, "heldout_chars": len(text) - cut,
        "heldout_loss_before": before[0], "heldout_loss_after": after[0],
        "perplexity_before": math.exp(before[0]), "perplexity_after": math.exp(after[0]),
        "accuracy_before": before[1], "accuracy_after": after[1],
        "final_train_loss": sum(losses[-20:]) / max(1, len(losses[-20:])),
    }  # fmt: skip
    out = Path(args.out)
    model.save(out / "model", {"trained_on": args.data or "hk-weather.txt", **metrics})
    (out / "model" / "card.md").write_text(
        "# Character-level weather-bulletin model\n\nFine-tuned by the AI Lab template "
        f"finetune-charlm for {args.steps} steps. Held-out perplexity "
        f"{metrics['perplexity_before']:.2f} -> {metrics['perplexity_after']:.2f}.\n"
    )
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--base", default="", help="A model directory (default: shipped base).")
    parser.add_argument("--data", default="", help="A text file or a directory with corpus.txt.")
    parser.add_argument("--out", default="outputs")
    parser.add_argument("--pretrain", action="store_true", help=argparse.SUPPRESS)
    metrics = run(parser.parse_args())
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
