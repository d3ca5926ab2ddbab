"""How the server watches its models: one small frozen value object per concern.

Composed into :class:`MonitoringConfig`, which ``modelport serve`` builds from its options.
Every check happens here, at construction, with a message saying what to type instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from modelport.errors import InvalidInput

__all__ = [
    "AlertConfig",
    "ContractPolicy",
    "DriftConfig",
    "LogConfig",
    "MonitoringConfig",
    "PerformanceConfig",
]

ContractPolicy = Literal["reject", "flag", "off"]
POLICIES: tuple[str, ...] = ("reject", "flag", "off")


def _seconds(label: str, value: float, *, zero_ok: bool = True) -> None:
    ok = isinstance(value, int | float) and not math.isnan(value)
    if not ok or value < 0 or (value == 0 and not zero_ok):
        low = ">= 0" if zero_ok else "> 0"
        raise InvalidInput(f"{label} must be a number of seconds {low}, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogConfig:
    """The inference log: which requests are kept, where, and what is hidden."""

    root: str | None = None
    """Local folder or fsspec URL (s3://...) of the Parquet log; None turns the log off."""

    sample: float = 1.0
    """Share of requests logged, 0 to 1 (1 = every request)."""

    redact: tuple[str, ...] = ()
    """Input or output names whose values are never written (the column is left out)."""

    hash: tuple[str, ...] = ()
    """Input or output names written as a salted sha256 instead of the value."""

    hash_salt: str = ""
    """Salt for hashed fields, so a hash cannot be looked up in a table of common values."""

    queue_size: int = 20_000
    """Records waiting for the writer; beyond this, new records are dropped (and counted)."""

    flush_rows: int = 2_000
    """The writer wakes early once this many records wait."""

    flush_interval_s: float = 1.0
    """The writer writes at least this often while records wait."""

    retention_s: float | None = None
    """Log days older than this are deleted by the scheduler; None keeps everything."""

    def __post_init__(self) -> None:
        if not isinstance(self.sample, int | float) or not 0.0 <= self.sample <= 1.0:
            raise InvalidInput(
                f"log sample must be between 0 and 1, got {self.sample!r}; "
                "use 1 to log every request, 0.1 for one in ten"
            )
        for label, value in (("queue_size", self.queue_size), ("flush_rows", self.flush_rows)):
            if type(value) is not int or value < 1:
                raise InvalidInput(f"log {label} must be an integer >= 1, got {value!r}")
        _seconds("log flush_interval_s", self.flush_interval_s, zero_ok=False)
        if self.retention_s is not None:
            _seconds("log retention_s", self.retention_s, zero_ok=False)
        both = sorted(set(self.redact) & set(self.hash))
        if both:
            raise InvalidInput(
                f"field(s) {', '.join(both)} are both redacted and hashed; choose one"
            )

    @property
    def enabled(self) -> bool:
        return self.root is not None and self.sample > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftConfig:
    """Drift tests of live traffic against the version's reference data."""

    interval_s: float = 300.0
    """How often the server runs the drift check; 0 turns the schedule off."""

    window_s: float = 3600.0
    """Live traffic of the last this-many seconds is compared with the reference."""

    alpha: float = 0.05
    """Significance level after the multiple-testing correction."""

    correction: Literal["bh", "holm"] = "bh"
    """Benjamini-Hochberg (false discovery rate) or Holm (family-wise error)."""

    min_rows: int = 50
    """Features with fewer live rows are reported as not tested."""

    bins: int = 10
    """Bins of the population stability index (PSI) for numeric features."""

    def __post_init__(self) -> None:
        _seconds("drift interval_s", self.interval_s)
        _seconds("drift window_s", self.window_s, zero_ok=False)
        if not isinstance(self.alpha, int | float) or not 0.0 < self.alpha < 1.0:
            raise InvalidInput(
                f"drift alpha must be between 0 and 1, e.g. 0.05; got {self.alpha!r}"
            )
        if self.correction not in ("bh", "holm"):
            raise InvalidInput(f"drift correction must be 'bh' or 'holm', got {self.correction!r}")
        if type(self.min_rows) is not int or self.min_rows < 2:
            raise InvalidInput(f"drift min_rows must be an integer >= 2, got {self.min_rows!r}")
        if type(self.bins) is not int or self.bins < 2:
            raise InvalidInput(f"drift bins must be an integer >= 2, got {self.bins!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PerformanceConfig:
    """Live quality from feedback, against the version's registered metrics."""

    margin: float = 0.05
    """Degraded when a metric is this share worse than its baseline (0.05 = 5%)."""

    min_labels: int = 30
    """No verdict on fewer labelled predictions than this."""

    window_s: float = 7 * 86400.0
    """Feedback received in the last this-many seconds counts."""

    def __post_init__(self) -> None:
        if not isinstance(self.margin, int | float) or not 0.0 <= self.margin < 1.0:
            raise InvalidInput(
                f"performance margin must be in [0, 1), e.g. 0.05; got {self.margin!r}"
            )
        if type(self.min_labels) is not int or self.min_labels < 1:
            raise InvalidInput(f"performance min_labels must be >= 1, got {self.min_labels!r}")
        _seconds("performance window_s", self.window_s, zero_ok=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertConfig:
    """Where alerts go, and how hard delivery is tried."""

    webhooks: tuple[str, ...] = ()
    """URLs that receive a JSON POST for every drift or degradation event."""

    retrain_webhooks: tuple[str, ...] = ()
    """URLs told to retrain when performance falls below the baseline."""

    attempts: int = 4
    """Tries per delivery (the first plus retries)."""

    backoff_s: float = 0.5
    """Wait before the first retry; doubled before each next one."""

    timeout_s: float = 5.0
    """Per-attempt HTTP timeout."""

    def __post_init__(self) -> None:
        for url in (*self.webhooks, *self.retrain_webhooks):
            if not url.startswith(("http://", "https://")):
                raise InvalidInput(f"webhook {url!r} must be an http:// or https:// URL")
        if type(self.attempts) is not int or self.attempts < 1:
            raise InvalidInput(f"webhook attempts must be an integer >= 1, got {self.attempts!r}")
        _seconds("webhook backoff_s", self.backoff_s)
        _seconds("webhook timeout_s", self.timeout_s, zero_ok=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringConfig:
    """Everything the server's monitoring needs."""

    metrics: bool = True
    """Count requests and serve Prometheus metrics at ``GET /metrics``."""

    contract_policy: ContractPolicy = "flag"
    """``reject`` answers 422 on a contract violation, ``flag`` serves and counts it."""

    contract_refresh_s: float = 10.0
    """How often edited contracts are re-read from the registry."""

    log: LogConfig = field(default_factory=LogConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    performance: PerformanceConfig = field(default_factory=PerformanceConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)

    def __post_init__(self) -> None:
        if self.contract_policy not in POLICIES:
            raise InvalidInput(
                f"contract policy must be one of {', '.join(POLICIES)}, "
                f"got {self.contract_policy!r}"
            )
        _seconds("contract_refresh_s", self.contract_refresh_s, zero_ok=False)

    @classmethod
    def from_options(
        cls,
        *,
        home: Path,
        inference_log: str | None = None,
        log_enabled: bool = True,
        sample: float = 1.0,
        redact: Sequence[str] = (),
        hash_fields: Sequence[str] = (),
        hash_salt: str = "",
        contract_policy: str = "flag",
        drift_interval_s: float = 300.0,
        drift_window_s: float = 3600.0,
        alpha: float = 0.05,
        margin: float = 0.05,
        webhooks: Sequence[str] = (),
        retrain_webhooks: Sequence[str] = (),
        metrics: bool = True,
        retention_s: float | None = None,
    ) -> MonitoringConfig:
        """What ``modelport serve`` builds from its options; the log defaults to
        ``<home>/inference-log``."""
        root = inference_log or str((home / "inference-log").resolve())
        return cls(
            metrics=metrics,
            contract_policy=contract_policy,  # type: ignore[arg-type]
            log=LogConfig(root=root if log_enabled else None, sample=sample,
                          redact=tuple(redact), hash=tuple(hash_fields), hash_salt=hash_salt,
                          retention_s=retention_s),
            drift=DriftConfig(interval_s=drift_interval_s, window_s=drift_window_s, alpha=alpha),
            performance=PerformanceConfig(margin=margin),
            alerts=AlertConfig(webhooks=tuple(webhooks), retrain_webhooks=tuple(retrain_webhooks)),
        )
