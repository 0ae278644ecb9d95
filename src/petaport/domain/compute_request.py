"""The compute-request calculator: model size, tokens, precision, mode and utilisation -> FLOPs
and GPU-hours on a GPU model, with every assumption written out (docs/subsidy.md).

Formulas (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", section 2.1; the
usual dense-transformer approximation, attention FLOPs ignored):

- training: ``C = 6·N·D`` (forward 2·N·D, backward 4·N·D) over the training tokens D;
- full fine-tuning: ``6·N·D`` over the fine-tuning tokens (the same passes as training);
- LoRA / adapter fine-tuning: ``4·N·D``: the forward pass (2·N·D) and the backward pass through
  the frozen weights for the activations' gradients (2·N·D); the frozen weights get no
  gradient, which saves the third 2·N·D; the adapters' own FLOPs (< 1% of N) are ignored;
- inference: ``2·N·D`` over the tokens processed (prompt and generated).

``GPU-hours = C / (peak × MFU × 3600)`` where ``peak`` is the GPU model's dense (no structured
sparsity) peak at the chosen precision and MFU the assumed model FLOPs utilisation.

Peak dense FLOP/s per GPU (NVIDIA data sheets; the sparsity figures there are twice these):
- H100 SXM5 (H100 Tensor Core GPU data sheet, 2023): FP32 67 T, TF32 494.7 T, BF16/FP16
  989.4 T, FP8 1,978.9 T. H800 SXM5 and H200 SXM have the same compute (H800: less NVLink
  bandwidth; H200: more memory; H200 data sheet 2024 gives the same Tensor Core figures).
- H20 (HGX H20 product brief, 2024): FP32 44 T, TF32 74 T, BF16/FP16 148 T, FP8 296 T.
- A100 SXM4 (A100 data sheet, 2021): FP32 19.5 T, TF32 156 T, BF16/FP16 312 T, no FP8.
  A800 SXM4 has the same compute (less NVLink bandwidth).
- L40S (L40S data sheet, 2023): FP32 91.6 T, TF32 183 T, BF16/FP16 362.05 T, FP8 733 T.

Everything is exact ``Decimal``; GPU-hours are rounded up to a tenth of an hour.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from petaport.domain.errors import ValidationFailed

T = Decimal(10) ** 12


class Precision(enum.StrEnum):
    FP32 = "fp32"
    TF32 = "tf32"
    BF16 = "bf16"
    FP16 = "fp16"
    FP8 = "fp8"


class Mode(enum.StrEnum):
    TRAINING = "training"
    FINE_TUNING = "fine_tuning"
    INFERENCE = "inference"


class FineTuning(enum.StrEnum):
    FULL = "full"
    LORA = "lora"


def _peaks(fp32: str, tf32: str, bf16: str, fp8: str | None) -> dict[Precision, Decimal]:
    table = {Precision.FP32: Decimal(fp32) * T, Precision.TF32: Decimal(tf32) * T,
             Precision.BF16: Decimal(bf16) * T, Precision.FP16: Decimal(bf16) * T}  # fmt: skip
    if fp8 is not None:
        table[Precision.FP8] = Decimal(fp8) * T
    return table


_HOPPER = _peaks("67", "494.7", "989.4", "1978.9")
_AMPERE = _peaks("19.5", "156", "312", None)
PEAK_FLOPS: dict[str, dict[Precision, Decimal]] = {
    "H100": _HOPPER,
    "H800": _HOPPER,
    "H200": _HOPPER,
    "H20": _peaks("44", "74", "148", "296"),
    "A100": _AMPERE,
    "A800": _AMPERE,
    "L40S": _peaks("91.6", "183", "362.05", "733"),
}
FACTORS = {
    (Mode.TRAINING, FineTuning.FULL): 6,
    (Mode.FINE_TUNING, FineTuning.FULL): 6,
    (Mode.FINE_TUNING, FineTuning.LORA): 4,
    (Mode.INFERENCE, FineTuning.FULL): 2,
}
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class ComputeInput:
    """What the applicant knows. Give ``tokens`` or (``samples``, ``tokens_per_sample``);
    ``epochs`` multiplies the dataset (not used in inference)."""

    parameters: Decimal  # N, e.g. 7e9
    gpu_model: str
    precision: Precision = Precision.BF16
    mode: Mode = Mode.TRAINING
    mfu: Decimal = Decimal("0.40")
    tokens: Decimal | None = None  # D per epoch
    samples: Decimal | None = None
    tokens_per_sample: Decimal | None = None
    epochs: Decimal = Decimal(1)
    batch_size: int | None = None  # sequences per optimiser step
    fine_tuning: FineTuning = FineTuning.FULL


class Assumption(str):
    """One assumption in English, made from ``template`` (its message id for translation:
    English with ``%(name)s`` fields) and ``fields``; the portal shows it translated."""

    template: str
    fields: dict[str, str]

    def __new__(cls, template: str, **fields: str) -> Assumption:
        made = super().__new__(cls, template % fields)
        made.template, made.fields = template, fields
        return made


@dataclass(frozen=True)
class ComputeEstimate:
    flops: Decimal
    peak_flops_per_s: Decimal
    tokens: Decimal  # D over all epochs
    gpu_hours: Decimal
    steps: int | None
    formula: str
    assumptions: tuple[Assumption, ...]


def peak_flops(gpu_model: str, precision: Precision) -> Decimal:
    """Dense peak FLOP/s of one ``gpu_model`` GPU at ``precision`` (ValidationFailed if unknown)."""
    table = PEAK_FLOPS.get(gpu_model.upper())
    if table is None:
        known = ", ".join(sorted(PEAK_FLOPS))
        raise ValidationFailed(f"no peak figures for GPU model {gpu_model!r}; known: {known}")
    if precision not in table:
        raise ValidationFailed(f"{gpu_model} has no {precision.value.upper()} tensor cores")
    return table[precision]


def _positive(value: Decimal | None, what: str) -> Decimal:
    if value is None or not value.is_finite() or value <= 0:
        raise ValidationFailed(f"{what} must be a positive number")
    return value


def total_tokens(i: ComputeInput) -> Decimal:
    """D over every epoch: ``tokens`` or ``samples × tokens_per_sample``, times ``epochs``."""
    if i.tokens is not None:
        per_epoch = _positive(i.tokens, "the number of tokens")
    elif i.samples is not None and i.tokens_per_sample is not None:
        per_epoch = _positive(i.samples, "the dataset size") * _positive(
            i.tokens_per_sample, "the tokens per sample"
        )
    else:
        raise ValidationFailed("give the number of tokens, or dataset size and tokens per sample")
    epochs = _positive(i.epochs, "the number of epochs")
    return per_epoch if i.mode is Mode.INFERENCE else per_epoch * epochs


def _steps(i: ComputeInput, tokens: Decimal) -> int | None:
    if not i.batch_size or not i.tokens_per_sample or i.mode is Mode.INFERENCE:
        return None
    if i.batch_size < 1:
        raise ValidationFailed("the batch size must be at least 1")
    per_step = Decimal(i.batch_size) * i.tokens_per_sample
    return int((tokens / per_step).to_integral_value(rounding=ROUND_CEILING))


def _sci(value: Decimal) -> str:
    return f"{value:.3E}"


def estimate(i: ComputeInput) -> ComputeEstimate:
    """FLOPs and GPU-hours for ``i``, with the assumptions that produced them."""
    n = _positive(i.parameters, "the number of model parameters")
    if not i.mfu.is_finite() or not 0 < i.mfu <= 1:
        raise ValidationFailed("the assumed MFU is a fraction in (0, 1], e.g. 0.40")
    method = i.fine_tuning if i.mode is Mode.FINE_TUNING else FineTuning.FULL
    factor = FACTORS[(i.mode, method)]
    d = total_tokens(i)
    flops = factor * n * d
    peak = peak_flops(i.gpu_model, i.precision)
    hours = flops / (peak * i.mfu * 3600)
    gpu_hours = hours.quantize(TENTH, rounding=ROUND_CEILING)
    formula = f"{factor}·N·D = {factor} × {_sci(n)} × {_sci(d)} = {_sci(flops)} FLOPs"
    return ComputeEstimate(flops, peak, d, gpu_hours, _steps(i, d), formula,
                           _assumptions(i, factor, method, peak))  # fmt: skip


_WHAT = {
    Mode.TRAINING: "training: forward 2·N·D + backward 4·N·D",
    Mode.INFERENCE: "inference: a forward pass, 2·N·D over prompt and generated tokens",
}
_FULL_FT = "full fine-tuning: the same passes as training"
_LORA = ("LoRA fine-tuning: forward 2·N·D + backward through frozen weights 2·N·D; no weight "
         "gradients; adapter FLOPs ignored")  # fmt: skip


def _assumptions(i: ComputeInput, factor: int, method: FineTuning,
                 peak: Decimal) -> tuple[Assumption, ...]:  # fmt: skip
    what = _WHAT.get(i.mode) or (_FULL_FT if method is FineTuning.FULL else _LORA)
    tflops = (peak / T).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    out = [
        Assumption("FLOPs = %(factor)s·N·D; attention FLOPs are ignored", factor=str(factor)),
        Assumption(what),
        Assumption("peak of one %(gpu)s at %(precision)s: %(tflops)s TFLOP/s dense (data-sheet "
                   "figure without sparsity)", gpu=i.gpu_model.upper(),
                   precision=i.precision.value.upper(), tflops=str(tflops)),
        Assumption("model FLOPs utilisation (MFU) %(percent)s%% of peak",
                   percent=f"{(i.mfu * 100).normalize():f}"),
        Assumption("GPU-hours = FLOPs / (peak × MFU × 3600), rounded up to 0.1"),
    ]  # fmt: skip
    if i.mode is not Mode.INFERENCE and i.epochs != 1:
        out.append(Assumption("%(epochs)s epochs over the dataset", epochs=str(i.epochs)))
    if i.batch_size:
        out.append(Assumption("the batch size sets the number of steps, not the FLOPs"))
    out.append(Assumption("no allowance for restarts, evaluation or idle time: add a margin "
                          "if needed"))  # fmt: skip
    return tuple(out)
