"""AI Lab template ``image-throughput``: image-classification throughput in images per hour.

A small convolutional classifier (two 3x3 convolutions with ReLU and 2x2 pooling, global
average pooling, a linear layer over 10 classes; NumPy, im2col) classifies procedurally drawn
images (stripes, rings, checks and dots of 10 kinds, made from a seed: no downloads). It
reports what this node measured (images per hour, achieved GFLOP/s) and scales the figure to
the centre: ``peak PFLOPS x utilisation / FLOPs per image``, for this model and for ResNet-50
inference (4.1 GMACs = 8.2 GFLOPs per 224x224 image), the unit the centres quote.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

RESNET50_FLOPS = 8.2e9
CLASSES = 10


def draw(count: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` RGB images (N, 3, size, size) of 10 pattern kinds, and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, count)
    yy, xx = np.mgrid[0:size, 0:size] / size
    images = np.empty((count, 3, size, size), dtype=np.float32)
    for i, label in enumerate(labels):
        freq = 2 + label % 5
        pattern = np.sin(2 * np.pi * freq * (xx if label < 5 else np.hypot(xx - 0.5, yy - 0.5)))
        colour = rng.random(3)[:, None, None]
        images[i] = colour * pattern + rng.normal(0, 0.1, (3, size, size))
    return images, labels


def conv3x3(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Same-padded 3x3 convolution via im2col: x (N, C, H, W), w (K, C, 3, 3)."""
    n, c, h, wd = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack(
        [padded[:, :, i : i + h, j : j + wd] for i in range(3) for j in range(3)], axis=2
    )
    cols = cols.reshape(n, c * 9, h * wd)
    out = np.einsum("kc,ncp->nkp", w.reshape(w.shape[0], -1), cols, optimize=True)
    return np.asarray(out).reshape(n, w.shape[0], h, wd)


def pool2(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return np.asarray(x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5)))


class SmallCnn:
    def __init__(self, seed: int, width: int = 16) -> None:
        rng = np.random.default_rng(seed)
        self.w1 = rng.normal(0, 0.2, (width, 3, 3, 3)).astype(np.float32)
        self.w2 = rng.normal(0, 0.1, (2 * width, width, 3, 3)).astype(np.float32)
        self.fc = rng.normal(0, 0.1, (2 * width, CLASSES)).astype(np.float32)

    def flops(self, size: int) -> float:
        """Multiply-adds x 2 of one image's forward pass (convolutions and the linear layer)."""
        k1, k2 = self.w1.shape[0], self.w2.shape[0]
        conv1 = size * size * k1 * 3 * 9
        conv2 = (size // 2) ** 2 * k2 * k1 * 9
        return 2.0 * float(conv1 + conv2 + k2 * CLASSES)

    def classify(self, x: np.ndarray) -> np.ndarray:
        h = pool2(np.maximum(conv3x3(x, self.w1), 0))
        h = pool2(np.maximum(conv3x3(h, self.w2), 0))
        return np.asarray((h.mean(axis=(2, 3)) @ self.fc).argmax(axis=1))


def run(args: argparse.Namespace) -> dict[str, object]:
    images, _ = draw(args.images, args.size, args.seed)
    model = SmallCnn(args.seed)
    model.classify(images[: args.batch])  # warm-up
    started = time.perf_counter()
    classes = [
        model.classify(images[i : i + args.batch]) for i in range(0, args.images, args.batch)
    ]
    seconds = time.perf_counter() - started
    per_s = args.images / seconds
    flops = model.flops(args.size)
    centre_flops = args.centre_pflops * 1e15 * args.utilisation
    return {
        "images": args.images, "image_size": args.size, "batch": args.batch,
        "seconds": round(seconds, 4), "images_per_hour": round(per_s * 3600),
        "flops_per_image": flops, "achieved_gflops": round(per_s * flops / 1e9, 3),
        "classes_seen": len(set(np.concatenate(classes).tolist())),
        "centre_pflops": args.centre_pflops, "utilisation": args.utilisation,
        "centre_images_per_hour": round(centre_flops / flops * 3600),
        "centre_resnet50_images_per_hour": round(centre_flops / RESNET50_FLOPS * 3600),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--centre-pflops", type=float, default=3000.0)
    parser.add_argument("--utilisation", type=float, default=0.35)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="outputs")
    metrics = run(parser.parse_args())
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
