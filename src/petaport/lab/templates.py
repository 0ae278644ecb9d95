"""AI Lab templates: parameterised, versioned job recipes, as data.

A template names the program it runs (a module under ``petaport.lab.programs``), its
parameters with types, defaults and bounds, and the resources it asks for. ``resolve`` checks
the caller's parameters; ``command`` turns them into an argument list (never a shell string).
Standard library only: the server reads these, the programs run inside jobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from petaport.domain.errors import NotFound, ValidationFailed

Value = int | float | str


@dataclass(frozen=True)
class Param:
    name: str
    kind: type[int] | type[float] | type[str]
    default: Value
    help: str
    minimum: float | None = None
    maximum: float | None = None

    def check(self, raw: Value) -> Value:
        if self.kind is str:
            if not isinstance(raw, str) or len(raw) > 500 or "\x00" in raw:
                raise ValidationFailed(f"{self.name} must be text of at most 500 characters")
            return raw
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValidationFailed(f"{self.name} must be a number")
        try:
            value: Value = self.kind(raw)
        except ValueError as exc:
            raise ValidationFailed(f"{self.name} must be a {self.kind.__name__}") from exc
        if (self.minimum is not None and float(value) < self.minimum) or (
            self.maximum is not None and float(value) > self.maximum
        ):
            raise ValidationFailed(f"{self.name} must be between {self.minimum} and {self.maximum}")
        return value


@dataclass(frozen=True)
class Template:
    name: str
    version: str
    title: str
    description: str
    program: str  # module under petaport.lab.programs
    params: tuple[Param, ...]
    cpus: int = 1
    memory_mb: int = 1024
    gpus: int = 0
    walltime_s: int = 600
    mpi_ranks_param: str | None = None  # an MPI program: mpirun -n <this parameter>

    def resolve(self, given: Mapping[str, Value]) -> dict[str, Value]:
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValidationFailed(f"{self.name} has no parameter {', '.join(unknown)}")
        return {p.name: p.check(given[p.name]) if p.name in given else p.default
                for p in self.params}  # fmt: skip

    def cpus_for(self, values: Mapping[str, Value]) -> int:
        if self.mpi_ranks_param is not None:
            return int(values[self.mpi_ranks_param])
        return self.cpus

    def command(self, python: str, values: Mapping[str, Value]) -> tuple[str, ...]:
        args = [python, "-m", f"petaport.lab.programs.{self.program}"]
        for name, value in values.items():
            if name == self.mpi_ranks_param or value == "":
                continue
            args += [f"--{name.replace('_', '-')}", str(value)]
        if self.mpi_ranks_param is None:
            return tuple(args)
        ranks = str(values[self.mpi_ranks_param])
        return ("mpirun", "--oversubscribe", "-n", ranks, *args)


FINETUNE = Template(
    "finetune-charlm", "1", "Fine-tune a small language model",
    "Fine-tunes a character-level language model (NumPy) from the shipped base model, or from a "
    "catalogue model given as 'base', on Hong Kong weather bulletins or a catalogue dataset "
    "given as 'data'; reports held-out perplexity before and after and writes the model to "
    "outputs/model, ready to register in the catalogue.",
    "finetune",
    (Param("steps", int, 300, "Training steps (batches of 256).", 1, 20_000),
     Param("lr", float, 0.003, "Adam learning rate.", 1e-5, 1.0),
     Param("seed", int, 1, "Random seed.", 0, 2**31),
     Param("base", str, "", "Base model directory, e.g. $PETAPORT_MODEL_X; empty: shipped."),
     Param("data", str, "", "Text file or directory with corpus.txt; empty: shipped corpus.")),
    cpus=1, memory_mb=1024, walltime_s=1800,
)  # fmt: skip
IMAGE_BENCH = Template(
    "image-throughput", "1", "Image-classification throughput (images per hour)",
    "Classifies procedurally drawn images with a small CNN and reports images per hour on the "
    "node it ran on, then scales the figure to the centre's peak PFLOPS at a utilisation, for "
    "this model and for ResNet-50 inference.",
    "imagebench",
    (Param("images", int, 512, "Images to classify.", 16, 1_000_000),
     Param("batch", int, 64, "Batch size.", 1, 4096),
     Param("size", int, 32, "Image side in pixels (a multiple of 4).", 8, 512),
     Param("centre_pflops", float, 0.0, "Peak PFLOPS to scale to; 0: the centre's.", 0, 1e6),
     Param("utilisation", float, 0.35, "Share of peak a real run reaches.", 0.01, 1.0),
     Param("seed", int, 1, "Random seed.", 0, 2**31)),
    cpus=1, memory_mb=1024, walltime_s=900,
)  # fmt: skip
THERMAL = Template(
    "thermal-mpi", "1", "Chip thermal solve across MPI ranks",
    "A steady-state finite-difference thermal solve of a chip die (2-D heat equation, Jacobi "
    "iterations) split across MPI ranks on the CPU pool, as microelectronics design runs.",
    "thermal",
    (Param("ranks", int, 2, "MPI ranks (one CPU each).", 1, 256),
     Param("n", int, 128, "Grid cells per side.", 8, 8192),
     Param("iterations", int, 2000, "Jacobi iterations.", 1, 1_000_000),
     Param("power", float, 4.0, "Heat source strength.", 0, 1000)),
    memory_mb=1024, walltime_s=1800, mpi_ranks_param="ranks",
)  # fmt: skip
ASSESS = Template(
    "assess-model", "1", "Model risk assessment suite",
    "Runs the evaluation suite that fits a model (quality on held-out data, robustness to "
    "perturbed inputs, disparity across groups, provenance). Started by a risk assessment.",
    "assess",
    (Param("model", str, "", "The model directory."),
     Param("expect_sha256", str, "", "The registered SHA-256 of the model version."),
     Param("data", str, "", "Labelled held-out data (TSV group/text); empty: shipped.")),
    walltime_s=1800,
)  # fmt: skip
TEMPLATES: dict[str, Template] = {t.name: t for t in (FINETUNE, IMAGE_BENCH, THERMAL, ASSESS)}


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise NotFound(f"no AI Lab template named {name}") from None
