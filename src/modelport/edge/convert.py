"""``modelport convert``: a registered version to an edge format, as a new, checked version.

The original runs on the check rows next to the converted model; only a conversion that passes
the parity gate is registered (``force`` registers a failing one, marked). The new version has
the same signature, ``parent_version`` = the original, the same reference sample, a
``converted_from`` record (tool, library versions, options) and the parity report with size and
latency before and after, as tags and metrics that ``models show`` prints.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelport.edge.manifest import CHECK_ROWS_TAG, REFERENCE_ROWS
from modelport.edge.onnx_wrap import check_same_signature
from modelport.edge.parity import ParityFailed, ParityReport, compare, thresholds_for
from modelport.edge.perf import measure, predict_all
from modelport.edge.quantize import Quantization, quantize
from modelport.edge.runner import jsonable
from modelport.edge.sample import Sample, read_sample
from modelport.edge.tooling import ToolRecord
from modelport.errors import InvalidInput, UnsupportedArtifact
from modelport.registry import Registry
from modelport.registry.records import VersionInfo
from modelport.runtimes.base import LoadOptions, Runtime
from modelport.runtimes.catalog import create_runtime

__all__ = [
    "CONVERTED_FROM_TAG",
    "FORCED_TAG",
    "PARITY_TAG",
    "TARGETS",
    "Conversion",
    "ConvertRequest",
    "convert_version",
]

CONVERTED_FROM_TAG = "modelport.converted_from"
PARITY_TAG = "modelport.parity"
FORCED_TAG = "modelport.parity.forced"
TARGETS = ("onnx", "openvino")
_TABULAR = ("sklearn", "xgboost", "lightgbm")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvertRequest:
    """What ``modelport convert`` was asked."""

    ref: str
    actor: str
    to: str = "onnx"
    quantize: Quantization | None = None
    data: Path | None = None
    label: str | None = None
    tolerance: float | None = None
    force: bool = False
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Conversion:
    """The registered version and its parity report."""

    info: VersionInfo
    report: ParityReport


def convert_version(registry: Registry, req: ConvertRequest) -> Conversion:
    """Convert, check parity, and register the result as the next version."""
    if req.to not in TARGETS:
        raise InvalidInput(f"--to must be one of {', '.join(TARGETS)}, got {req.to!r}")
    info = registry.resolve(req.ref)
    if info.flavor == req.to and req.quantize is None:
        raise InvalidInput(
            f"{info.ref} is already an {req.to} model; add --quantize int8 or fp16 to shrink it"
        )
    artifact = registry.fetch_artifact(info)
    sample = _sample(registry, info, req)
    original = create_runtime(
        info.flavor, LoadOptions(trust_pickle=info.trust_pickle, signature=info.signature)
    )
    original.load(artifact)
    try:
        model, tool = _to_onnx(info, artifact, sample)
        if req.quantize is not None:
            model, options = quantize(model, req.quantize)
            tool = tool.with_options(**options)
        with tempfile.TemporaryDirectory(prefix="modelport-convert-") as tmp:
            target = _write_target(model, req.to, Path(tmp))
            converted = create_runtime(req.to)  # the graph's own signature, checked below
            converted.load(target)
            check_same_signature(info.signature, converted.signature())
            report = _check(info, req, original, converted, sample)
            report.performance = {
                "before": measure(original, sample, info.artifact_size),
                "after": measure(converted, sample, _size(target)),
            }
            converted.unload()
            if not report.passed and not req.force:
                raise ParityFailed(
                    f"{info.ref} -> {req.to}: parity failed on {report.rows} rows of "
                    f"{report.source}: {report.summary()}; nothing was registered (use --force "
                    "to register it anyway, marked as failing parity)",
                    details=report.to_dict(),
                )
            report.forced = not report.passed
            registered = _register(registry, info, req, target, tool, report, sample)
    finally:
        original.unload()
    return Conversion(registered, report)


def _sample(registry: Registry, info: VersionInfo, req: ConvertRequest) -> Sample:
    if req.data is not None:
        return read_sample(Path(req.data), info.signature, req.label, f"--data {req.data}")
    reference = registry.fetch_reference(info)
    if reference is None:
        raise InvalidInput(
            f"{info.ref} has no reference sample to check the conversion on; pass --data FILE "
            f"(a table with columns {info.signature.input_names[:5]}, or an .npz with one "
            "array per input)"
        )
    return read_sample(reference, info.signature, req.label, f"the reference sample of {info.ref}")


def _to_onnx(info: VersionInfo, artifact: Path, sample: Sample) -> tuple[Any, ToolRecord]:
    if info.flavor in _TABULAR:
        from modelport.edge.tabular_convert import convert_tabular

        return convert_tabular(info.flavor, artifact, info.signature,
                               trust_pickle=info.trust_pickle)
    if info.flavor == "torch":
        from modelport.edge.torch_convert import convert_torch

        return convert_torch(artifact, info.signature, sample.head(2))
    if info.flavor == "onnx":
        import onnx

        return onnx.load(str(artifact)), ToolRecord.of("onnx", {})
    raise UnsupportedArtifact(
        f"{info.ref} is a {info.flavor} model; convert handles sklearn, xgboost, lightgbm, "
        "torch (TorchScript) and onnx. A transformers pipeline takes text, which an ONNX graph "
        "cannot tokenize without custom operators: export its TorchScript module and register "
        "that (token ids in) to convert it"
    )


def _write_target(model: Any, to: str, folder: Path) -> Path:
    import onnx

    path = folder / "model.onnx"
    onnx.save(model, str(path))
    if to == "openvino":
        from modelport.edge.openvino_export import export_openvino

        return export_openvino(path, folder / "openvino")
    return path


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _check(
    info: VersionInfo, req: ConvertRequest, original: Runtime, converted: Runtime, sample: Sample
) -> ParityReport:
    before = predict_all(original, sample)
    after = predict_all(converted, sample)
    thresholds = thresholds_for(info.flavor, req.quantize is not None, req.tolerance)
    return compare(info.signature, before, after, labels=sample.labels,
                   thresholds=thresholds, source=sample.source)


def _register(
    registry: Registry, info: VersionInfo, req: ConvertRequest, target: Path, tool: ToolRecord,
    report: ParityReport, sample: Sample,
) -> VersionInfo:
    converted_from = {"version": info.version, "flavor": info.flavor,
                      "sha256": info.artifact_sha256, "to": req.to,
                      "quantize": req.quantize, **tool.to_dict()}
    tags = {CONVERTED_FROM_TAG: json.dumps(converted_from, sort_keys=True),
            PARITY_TAG: json.dumps(report.to_dict(), sort_keys=True)}
    if report.forced:
        tags[FORCED_TAG] = "true"
    if req.data is not None:  # no reference sample: keep a few rows for edge health checks
        tags[CHECK_ROWS_TAG] = json.dumps(jsonable(dict(sample.head(
            min(REFERENCE_ROWS, sample.rows)))))
    metrics = {f"parity.{name}.{k}": v for name, figures in report.outputs.items()
               for k, v in figures.items()}
    if report.label_agreement is not None:
        metrics["parity.label_agreement"] = report.label_agreement
    if report.metric_delta is not None:
        metrics["parity.accuracy_delta_points"] = report.metric_delta
    for side in ("before", "after"):
        for key, value in report.performance[side].items():
            metrics[f"edge.{side}.{key}"] = float(value)
    lineage = replace(info.lineage, parent_version=info.version, code_revision=None)
    return registry.register(
        info.name, target, flavor=req.to, signature=info.signature, registered_by=req.actor,
        metrics=metrics, tags=tags, lineage=lineage, alias=req.alias,
        params={"converted_from": info.ref},
    )
