"""The one Settings object: ``PETAPORT_*`` environment variables and ``.env``.

Nothing reads the environment at import time: ``Settings()`` is built once at start and passed in.
Insecure defaults (the development secret key) are refused outside dev mode.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused outside dev mode


class DeclaredGpus(BaseModel):
    """GPUs the local backend uses when NVML finds none (the demo declares 8)."""

    count: int = Field(default=8, ge=0, le=64)
    model: str = "H800"
    pflops_per_gpu: Decimal = Decimal("0.99")
    precision: str = "BF16 dense"


class SlurmSettings(BaseModel):
    """The slurm backend (``PETAPORT_SLURM__*``; docs/backends/slurm.md)."""

    bin_dir: Path | None = None  # where sbatch, squeue, ... live; None: on PATH
    conf: Path | None = None  # SLURM_CONF for every command; None: Slurm's default
    command_timeout_s: float = Field(default=30.0, gt=0)
    dry_run: bool = False  # print sbatch/scancel instead of running them
    partition: str | None = None  # None: the partition holding the chosen nodes
    account: str | None = None  # None: the submitting user's default account
    qos: dict[str, str] = Field(default_factory=dict)  # Petaport QoS tier -> Slurm QOS name
    # "petaport": the job sees the GPU indices Petaport allocated (fake or unconstrained
    # devices); "slurm": Slurm's own CUDA_VISIBLE_DEVICES (ConstrainDevices=yes clusters).
    gpu_binding: Literal["petaport", "slurm"] = "petaport"
    lookup_days: int = Field(default=30, ge=1)  # how far back sacct looks for a job by name
    launch_concurrency: int = Field(default=8, ge=1)  # sbatch calls at once in one cycle
    # Metering input: read sacct every interval; re-read this far behind the watermark.
    accounting_interval_s: float = Field(default=30.0, gt=0)
    accounting_overlap_s: int = Field(default=600, ge=0)
    # Run every job as this unprivileged Unix user (sbatch --uid/--gid; the server must be root):
    # catalogue content, owned by the server's user, is then read-only to jobs. None: jobs run
    # as the server's user.
    job_user: str | None = None


class SubsidyReviewSettings(BaseModel):
    """The subsidy workflow (``PETAPORT_SUBSIDY_REVIEW__*``; docs/subsidy.md): attachment size
    limit and the target days per stage of the stage clock (longer: flagged overdue)."""

    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    draft_days: float = Field(default=60, gt=0)
    screening_days: float = Field(default=7, gt=0)
    review_days: float = Field(default=21, gt=0)
    committee_days: float = Field(default=14, gt=0)
    changes_requested_days: float = Field(default=30, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PETAPORT_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    env: Literal["dev", "test", "prod"] = "dev"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # API/portal worker processes; exactly one of them runs the scheduling loop.
    workers: int = Field(default=1, ge=1, le=64)
    data_dir: Path = Path("./var")
    database_url: str | None = None
    secret_key: str = DEV_SECRET
    backend: Literal["local", "fake", "slurm"] = "local"
    slurm: SlurmSettings = SlurmSettings()
    local_node_name: str = "local"
    local_cpus: int | None = None
    local_memory_mb: int | None = None
    gpus: DeclaredGpus = DeclaredGpus()
    use_nvml: bool = True
    scheduler_interval_s: float = Field(default=0.5, gt=0)
    cancel_grace_s: float = Field(default=5.0, ge=0)
    # The scheduling policy (docs/design/): "default" is the product policy; "fifo" and
    # "fifo_backfill" are the simulator's baselines, available live for comparison.
    scheduler_policy: Literal["default", "fifo", "fifo_backfill"] = "default"
    scheduler_backfill: bool = True
    scheduler_preemption: bool = True
    fairshare_half_life_s: float = Field(default=7 * 86_400.0, ge=0)
    # Finished attempts remembered per scheduler for duration prediction.
    prediction_history: int = Field(default=5_000, ge=0, le=1_000_000)
    # Money (docs/billing.md): how often usage is metered and rated; what a running job
    # without a walltime reserves of its budgets beyond what is metered.
    metering_interval_s: float = Field(default=60.0, gt=0)
    budget_default_reservation_s: int = Field(default=3600, gt=0)
    seed_demo: bool = True
    subsidy_review: SubsidyReviewSettings = SubsidyReviewSettings()
    # The backend's own node pool is in Hong Kong (resident-only catalogue data may run on it).
    pool_in_hong_kong: bool = True
    # Where organisations' data lives: <catalogue_root>/<org-slug>/ (and _centre/ for the
    # centre's own entries); None: <data_dir>/storage.
    catalogue_root: Path | None = None
    timezone: str = "Asia/Hong_Kong"
    default_locale: Literal["en", "zh_Hant"] = "en"
    session_ttl_s: int = 12 * 3600
    token_default_ttl_days: int = 90
    secure_cookies: bool = False
    # argon2id cost (RFC 9106 / OWASP: 64 MiB, 3 passes by default); tests lower it.
    argon2_memory_kib: int = Field(default=65536, ge=8, le=4 * 1024 * 1024)
    argon2_time_cost: int = Field(default=3, ge=1, le=20)

    @model_validator(mode="after")
    def _refuse_insecure(self) -> Settings:
        if self.env == "prod" and self.secret_key == DEV_SECRET:
            raise ValueError("PETAPORT_SECRET_KEY must be set outside dev mode")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'petaport.db').resolve()}"

    @property
    def storage_root(self) -> Path:
        return (self.catalogue_root or self.data_dir / "storage").resolve()

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"
