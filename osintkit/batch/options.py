"""Batch stage: how to run a batch (below every other module of osintkit/batch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CLAIM_TIMEOUT = 600.0


@dataclass
class BatchOptions:
    """How to run a batch. `verify` holds VerifyOptions fields, passed to every claim."""

    out_dir: Path
    jobs: int | None = None  # None: all cores
    claim_timeout: float | None = DEFAULT_CLAIM_TIMEOUT
    resume: bool = False
    fail_on: str = "contradicted"
    db_url: str | None = None
    dask: str | None = None  # tcp://HOST:PORT of an existing scheduler
    verify: dict[str, Any] = field(default_factory=dict)
