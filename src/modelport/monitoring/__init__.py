"""Monitoring: metrics, data contracts, the inference log, drift, feedback and alerts.

The server gets its pieces through :class:`modelport.serving.worker_monitoring.WorkerMonitoring`;
scripts and notebooks use the functions directly::

    from modelport.monitoring import check_drift, render_html
    from modelport.registry import Registry

    with Registry.open() as registry:
        report = check_drift(registry, ".modelport/inference-log", "fraud@production",
                             window=timedelta(hours=1))
    print(report.drifted, report.drifted_features)
    Path("drift.html").write_text(render_html(report))

Names are imported on first use, so ``import modelport.monitoring`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelport.monitoring.config import (
        AlertConfig,
        DriftConfig,
        LogConfig,
        MonitoringConfig,
        PerformanceConfig,
    )
    from modelport.monitoring.contract import Contract, FieldRule, derive_contract
    from modelport.monitoring.contract_check import ContractCheck, Violation
    from modelport.monitoring.contract_store import ensure_contract, load_contract, save_contract
    from modelport.monitoring.drift import FeatureDrift, adjust_p_values
    from modelport.monitoring.drift_check import DriftReport, check_drift
    from modelport.monitoring.drift_html import render_html
    from modelport.monitoring.events import Event, list_events, record_event
    from modelport.monitoring.feedback import (
        FeedbackItem,
        FeedbackStore,
        Outcome,
        feedback_outcomes,
        parse_feedback,
    )
    from modelport.monitoring.inference_log import InferenceLog, ParquetSink
    from modelport.monitoring.log_reader import read_log
    from modelport.monitoring.metrics import Metrics
    from modelport.monitoring.monitor import Monitor
    from modelport.monitoring.performance import VersionPerformance, evaluate, measure
    from modelport.monitoring.scheduler import Scheduler
    from modelport.monitoring.webhooks import Alerter, deliver

_WHERE = {
    "AlertConfig": "config", "DriftConfig": "config", "LogConfig": "config",
    "MonitoringConfig": "config", "PerformanceConfig": "config",
    "Contract": "contract", "FieldRule": "contract", "derive_contract": "contract",
    "ContractCheck": "contract_check", "Violation": "contract_check",
    "ensure_contract": "contract_store", "load_contract": "contract_store",
    "save_contract": "contract_store",
    "FeatureDrift": "drift", "adjust_p_values": "drift",
    "DriftReport": "drift_check", "check_drift": "drift_check",
    "render_html": "drift_html",
    "Event": "events", "list_events": "events", "record_event": "events",
    "FeedbackItem": "feedback", "FeedbackStore": "feedback", "Outcome": "feedback",
    "feedback_outcomes": "feedback", "parse_feedback": "feedback",
    "InferenceLog": "inference_log", "ParquetSink": "inference_log",
    "read_log": "log_reader",
    "Metrics": "metrics",
    "Monitor": "monitor",
    "VersionPerformance": "performance", "evaluate": "performance", "measure": "performance",
    "Scheduler": "scheduler",
    "Alerter": "webhooks", "deliver": "webhooks",
}

__all__ = [
    "AlertConfig",
    "Alerter",
    "Contract",
    "ContractCheck",
    "DriftConfig",
    "DriftReport",
    "Event",
    "FeatureDrift",
    "FeedbackItem",
    "FeedbackStore",
    "FieldRule",
    "InferenceLog",
    "LogConfig",
    "Metrics",
    "Monitor",
    "MonitoringConfig",
    "Outcome",
    "ParquetSink",
    "PerformanceConfig",
    "Scheduler",
    "VersionPerformance",
    "Violation",
    "adjust_p_values",
    "check_drift",
    "deliver",
    "derive_contract",
    "ensure_contract",
    "evaluate",
    "feedback_outcomes",
    "list_events",
    "load_contract",
    "measure",
    "parse_feedback",
    "read_log",
    "record_event",
    "render_html",
    "save_contract",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'modelport.monitoring' has no attribute {name!r}")
    return getattr(importlib.import_module(f"modelport.monitoring.{module}"), name)
