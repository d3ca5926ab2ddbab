"""Checking a job against its model and inputs, before any row is scored.

The plan resolves the model, lists the input files, reads every file's schema and stops at
once (InvalidInput naming the file and the columns) when a file lacks a column the model
needs or holds one of a type that can never become it. It fixes the output schema and cuts
the work into units. Its *fingerprint* (model version and hash, input files and sizes,
settings, schema) identifies the job: the run id derives from it, and a resumed run must match.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from modelport.batch.convert import ColumnPlan, castable, describe_target, input_target
from modelport.batch.job import BatchJob
from modelport.batch.model import ModelSpec
from modelport.batch.outputs import OutputField, Provenance, output_fields, output_schema
from modelport.batch.readers import probe_schema
from modelport.batch.sources import SourceFile, WorkUnit, discover, plan_units
from modelport.errors import InvalidInput
from modelport.protocol.signature import Signature
from modelport.registry import Registry


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitContext:
    """What every worker needs to score any unit of the job: plain, picklable values."""

    model: ModelSpec
    files: tuple[SourceFile, ...]
    columns: tuple[ColumnPlan, ...]
    """Inputs first (signature order), then the id column, then kept columns."""
    fields: tuple[OutputField, ...]
    schema: pa.Schema
    batch_size: int
    output: str
    provenance: Provenance

    @property
    def read_columns(self) -> list[str]:
        """Distinct column names to read, in plan order."""
        return list(dict.fromkeys(c.name for c in self.columns))


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPlan:
    """A checked job: its context, its units and its identity."""

    job: BatchJob
    context: UnitContext
    units: tuple[WorkUnit, ...]
    fingerprint: dict[str, Any]
    run_id: str

    @property
    def total_rows(self) -> int | None:
        """Rows of the whole input, or None when some file's count is unknown (CSV, JSONL)."""
        counts = [f.rows for f in self.context.files]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)


def build_plan(job: BatchJob, registry: Registry) -> JobPlan:
    """Resolve, discover and check everything; InvalidInput for inputs that cannot fit."""
    info = registry.resolve(job.model)
    signature = info.signature
    inputs = _input_columns(signature)
    files = discover(job.input)
    schemas = [probe_schema(f) for f in files]
    carried = _carried_columns(job, files[0], schemas[0])
    columns = (*inputs, *carried)
    for source, schema in zip(files, schemas, strict=True):
        _check_fits(source, schema, columns, info.ref)
    fields = output_fields(signature)
    schema = output_schema(carried, fields)
    fingerprint: dict[str, Any] = {
        "model": {
            "name": info.name,
            "version": info.version,
            "flavor": info.flavor,
            "sha256": info.artifact_sha256,
        },
        "inputs": [
            {"url": f.url, "format": f.format, "bytes": f.size, "row_groups": list(f.row_groups)}
            for f in files
        ],
        "batch_size": job.batch_size,
        "id_column": job.id_column,
        "keep": list(job.keep),
        "columns": [[field.name, str(field.type)] for field in schema],
    }
    run_id = hashlib.sha256(orjson.dumps(fingerprint, option=orjson.OPT_SORT_KEYS)).hexdigest()
    context = UnitContext(
        model=ModelSpec(info=info, store_root=registry.store.root),
        files=tuple(files),
        columns=columns,
        fields=fields,
        schema=schema,
        batch_size=job.batch_size,
        output=job.output,
        provenance=Provenance(model_name=info.name, model_version=info.version, run_id=run_id[:16]),
    )
    return JobPlan(
        job=job,
        context=context,
        units=tuple(plan_units(files)),
        fingerprint=fingerprint,
        run_id=run_id[:16],
    )


def _input_columns(signature: Signature) -> tuple[ColumnPlan, ...]:
    if not signature.inputs:
        raise InvalidInput("the model's signature has no inputs; register it with a signature")
    return tuple(
        ColumnPlan(name=spec.name, target=input_target(spec), role="input", spec=spec)
        for spec in signature.inputs
    )


def _carried_columns(job: BatchJob, first: SourceFile, schema: pa.Schema) -> tuple[ColumnPlan, ...]:
    """Id and kept columns, typed as in the first file (so every part has one schema)."""
    wanted = ([job.id_column] if job.id_column else []) + list(job.keep)
    out: list[ColumnPlan] = []
    for name in wanted:
        if name not in schema.names:
            option = "--id-column" if name == job.id_column else "--keep"
            raise InvalidInput(
                f"{option} {name!r}: {first.url} has no such column; its columns are: "
                f"{', '.join(schema.names)}"
            )
        kind = schema.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_null(kind):
            kind = pa.string()
        out.append(
            ColumnPlan(name=name, target=kind, role="id" if name == job.id_column else "keep")
        )
    return tuple(out)


def _check_fits(
    source: SourceFile, schema: pa.Schema, columns: tuple[ColumnPlan, ...], ref: str
) -> None:
    missing = [c.name for c in columns if c.name not in schema.names]
    if missing:
        needed = [c.name for c in columns if c.role == "input"]
        raise InvalidInput(
            f"{source.url} does not fit model {ref}: it lacks column(s) "
            f"{', '.join(dict.fromkeys(missing))}; the model needs "
            f"{', '.join(needed)}" + _also(columns),
            details={"file": source.url, "missing": missing},
        )
    for column in columns:
        # CSV columns are read as text and parsed cell by cell, so any CSV type fits.
        read_as = pa.string() if source.format == "csv" else schema.field(column.name).type
        if not castable(read_as, column.target):
            raise InvalidInput(
                f"{source.url} does not fit model {ref}: column {column.name!r} holds "
                f"{read_as} values, which can never be {describe_target(column)}",
                details={"file": source.url, "column": column.name},
            )


def _also(columns: tuple[ColumnPlan, ...]) -> str:
    carried = [c.name for c in columns if c.role != "input"]
    return f" (and {', '.join(carried)} for --id-column/--keep)" if carried else ""
