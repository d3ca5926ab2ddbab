"""``modelport convert``: a version to ONNX (or OpenVINO), optionally quantized, parity-checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry
from modelport.cli.output import console, err_console, print_json, print_table
from modelport.edge.convert import (
    CONVERTED_FROM_TAG,
    FORCED_TAG,
    PARITY_TAG,
    ConvertRequest,
    convert_version,
)
from modelport.edge.quantize import check_quantization
from modelport.registry import VersionInfo
from modelport.security.audit import append_audit
from modelport.security.signing import SIGNATURE_TAG, load_signing_key, sign_artifact

__all__ = ["convert", "print_conversion"]


def convert(
    ref: str = typer.Argument(..., help="Version to convert: name:version, name@alias or name."),
    to: str = typer.Option("onnx", "--to", help="Target format: onnx or openvino."),
    quantize: str | None = typer.Option(
        None, "--quantize", help="Shrink the model: int8 (dynamic) or fp16."
    ),
    data: Path | None = typer.Option(
        None, "--data", help="Rows to check parity on (CSV/Parquet/JSONL, or .npz of tensors); "
        "default: the version's reference sample."
    ),
    label: str | None = typer.Option(
        None, "--label", help="Column (or array) of true labels in the data, for the metric delta."
    ),
    tolerance: float | None = typer.Option(
        None, "--tolerance", help="Max absolute output difference (default 1e-5 trees, 1e-3 nets)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Register even when parity fails (the version is marked)."
    ),
    alias: str | None = typer.Option(None, "--alias", help="Point this alias at the new version."),
    sign_key: Path | None = typer.Option(
        None, "--sign-key", help="Ed25519 private key (PEM): sign the converted artifact."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Convert a registered version; the result is registered as the next version.

    The original and the converted model predict the same rows; registration is refused when
    they differ beyond the thresholds, naming the worst rows.
    """
    signer = load_signing_key(sign_key) if sign_key else None
    request = ConvertRequest(
        ref=ref, actor=current_actor(), to=to, quantize=check_quantization(quantize), data=data,
        label=label, tolerance=tolerance, force=force, alias=alias,
    )
    with open_registry() as registry:
        with console.status(f"converting {ref} to {to}, checking parity ..."):
            done = convert_version(registry, request)
        info = done.info
        if signer is not None:
            signed = sign_artifact(signer, name=info.name, version=info.version,
                                   sha256=info.artifact_sha256)
            info = registry.set_tags(info.name, info.version, {SIGNATURE_TAG: signed})
        append_audit(registry.engine, action="model.convert", actor=request.actor,
                     target=info.ref, details={"from": ref, "to": to, "quantize": quantize,
                                               "forced": done.report.forced})
    if json_out:
        print_json({"version": info.to_dict(), "parity": done.report.to_dict()})
        return
    if done.report.forced:
        err_console.print(f"[bold yellow]warning:[/] parity failed ({done.report.summary()}); "
                          f"registered anyway because of --force", highlight=False)
    console.print(f"registered {info.ref} ({to}{', ' + quantize if quantize else ''}), "
                  f"parent {ref}")
    print_conversion(info)


def print_conversion(info: VersionInfo) -> None:
    """The lineage, parity and size/latency tables of a converted version (or nothing)."""
    raw_from, raw_parity = info.tags.get(CONVERTED_FROM_TAG), info.tags.get(PARITY_TAG)
    if raw_from is None or raw_parity is None:
        return
    origin: dict[str, Any] = json.loads(raw_from)
    parity: dict[str, Any] = json.loads(raw_parity)
    versions = ", ".join(f"{k} {v}" for k, v in origin.get("versions", {}).items() if v)
    console.print(
        f"converted from {info.name}:{origin['version']} ({origin['flavor']}) by "
        f"{origin['tool']} [{versions}] options {json.dumps(origin.get('options', {}))}",
        highlight=False, markup=False,
    )
    rows: list[tuple[str, str, str]] = []
    for name, figures in parity["outputs"].items():
        for key, value in figures.items():
            rows.append((name, key, f"{value:.3g}"))
    if parity.get("label_agreement") is not None:
        rows.append(("labels", "agreement", f"{100 * parity['label_agreement']:.2f}%"))
    if parity.get("metric_delta") is not None:
        rows.append(("accuracy", "delta (points)", f"{parity['metric_delta']:+.2f}"))
    status = "FORCED (failed)" if info.tags.get(FORCED_TAG) else "passed"
    print_table(["output", "figure", "value"], rows,
                title=f"parity on {parity['rows']} rows of {parity['source']}: {status}")
    perf = parity.get("performance", {})
    if perf:
        before, after = perf["before"], perf["after"]
        print_table(
            ["", "size (bytes)", "latency 1 row (ms)", "latency 32 rows (ms)"],
            [(side, f"{p['size_bytes']:,}", f"{p['latency_ms_1']:.3f}",
              f"{p['latency_ms_32']:.3f}") for side, p in (("before", before), ("after", after))],
            title="size and latency",
        )
