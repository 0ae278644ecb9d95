"""AI Lab template ``assess-model``: the model risk assessment suite that fits the model.

Reads the model's ``model.json`` to choose the suite (``charlm-npz`` is the one shipped; any
other format gets only the provenance check, so its quality checks are reported missing and
the assessment fails). Checks:
- provenance: the content's SHA-256 (as ``petaport.checksums`` computes it) is the registered one;
- quality: next-character accuracy on held-out, labelled data at least ``--min-accuracy``;
- robustness: accuracy when 10% of context characters are replaced at random is at least
  ``--min-robust-ratio`` of the clean accuracy;
- disparity: where the data has groups, the largest accuracy gap between groups is at most
  ``--max-gap``.
Writes ``outputs/assessment.json``; the service adds the licence check and stores the result.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from petaport.checksums import tree_digest
from petaport.lab.programs.charmodel import (
    DATA_DIR,
    VOCAB,
    CharLM,
    encode,
    resolve_path,
    windows,
)


def _check(name: str, passed: bool | None, value: object, detail: str) -> dict[str, Any]:
    return {"name": name, "passed": passed, "value": value, "detail": detail}


def _groups(path: Path) -> dict[str, str]:
    texts: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        group, _, text = line.partition("\t")
        texts.setdefault(group or "all", []).append(text)
    return {g: "\n".join(t) + "\n" for g, t in texts.items()}


def _perturbed(x: np.ndarray, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = x.copy()
    mask = rng.random(x.shape) < rate
    noisy[mask] = rng.integers(1, len(VOCAB), mask.sum())
    return noisy


def charlm_suite(model_dir: Path, data: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    model = CharLM.load(model_dir)
    per_group = {g: windows(encode(t)) for g, t in _groups(data).items()}
    x = np.concatenate([v[0] for v in per_group.values()])
    y = np.concatenate([v[1] for v in per_group.values()])
    _, accuracy = model.evaluate(x, y)
    _, noisy = model.evaluate(_perturbed(x, 0.1, args.seed), y)
    ratio = noisy / accuracy if accuracy else 0.0
    checks = [
        _check("quality", accuracy >= args.min_accuracy, round(accuracy, 4),
               f"held-out next-character accuracy (threshold {args.min_accuracy})"),
        _check("robustness", ratio >= args.min_robust_ratio, round(ratio, 4),
               f"accuracy kept with 10% of characters perturbed: {noisy:.3f} "
               f"(threshold {args.min_robust_ratio} of clean)"),
    ]  # fmt: skip
    if len(per_group) > 1:
        by_group = {g: model.evaluate(*v)[1] for g, v in per_group.items()}
        gap = max(by_group.values()) - min(by_group.values())
        shown = ", ".join(f"{g} {a:.3f}" for g, a in sorted(by_group.items()))
        checks.append(_check("disparity", gap <= args.max_gap, round(gap, 4),
                             f"accuracy by group: {shown} (max gap {args.max_gap})"))  # fmt: skip
    else:
        checks.append(_check("disparity", None, "", "the data has no groups: not applicable"))
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="The model's directory.")
    parser.add_argument("--expect-sha256", required=True)
    parser.add_argument("--data", default=str(DATA_DIR / "hk-weather-eval.tsv"))  # or $VAR
    parser.add_argument("--min-accuracy", type=float, default=0.5)
    parser.add_argument("--min-robust-ratio", type=float, default=0.6)
    parser.add_argument("--max-gap", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="outputs")
    args = parser.parse_args()
    model_dir = Path(resolve_path(args.model))
    _, digest = tree_digest(model_dir)
    checks = [_check("provenance", digest == args.expect_sha256, digest,
                     "content matches the registered SHA-256")]  # fmt: skip
    meta_path = model_dir / "model.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    suite = meta.get("format", "unknown")
    if suite == "charlm-npz":
        checks += charlm_suite(model_dir, Path(resolve_path(args.data)), args)
    result = {"suite": suite, "checks": checks, "metrics": {"trained_on": meta.get("trained_on")}}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "assessment.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
