"""The journal of a run inside its output folder: what is done, and the final manifest.

Layout of an output folder (names starting with ``_`` are skipped by Parquet readers, so
``pd.read_parquet(folder)`` reads the scores only)::

    part-FFFFF-CCCCC-BBBBB.parquet   batch B of chunk C (row group) of input file F
    _manifest.json                   written last: the run is complete when it exists
    _rejects.jsonl                   rejected rows, in input order (unless --rejects elsewhere)
    _batch/job.json                  the job's fingerprint, written when a run starts
    _batch/rejects/<part>.jsonl      rejected rows of one batch
    _batch/done/<part>.json          one finished batch: row counts and the part's sha256
    _batch/units/<unit>.json         one finished work unit: the records of all its batches

Each batch writes its rejects, then its part, then its ``done`` record, each atomically; a
unit record follows its last batch. Whatever a ``kill -9`` interrupts is simply redone by the
next run, and redoing a batch writes the same bytes, so the output equals a clean run's. The
``_batch`` folder is deleted once the manifest is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from modelport.batch.folder import OutputFolder, atomic_writer, remove_stale_temporaries
from modelport.batch.sources import WorkUnit
from modelport.errors import Conflict, Unavailable

STATE = "_batch"
MANIFEST = "_manifest.json"
REJECTS = "_rejects.jsonl"
_TMP = f"{STATE}/tmp"


@dataclass(frozen=True, slots=True, kw_only=True)
class PartRecord:
    """One finished batch and the part file it wrote."""

    part: str
    rows_read: int
    rows_written: int
    rows_rejected: int
    sha256: str
    bytes: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartRecord:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def part_name(unit: WorkUnit, batch: int) -> str:
    return f"part-{unit.key}-{batch:05d}.parquet"


class RunFolder:
    """Reads and writes the journal of one output folder."""

    def __init__(self, output: str) -> None:
        self.folder = OutputFolder(output)

    # -- the workers' side ---------------------------------------------------------------

    def part_record(self, part: str) -> PartRecord | None:
        """The record of a batch a previous run finished, or None."""
        data = self.folder.read(f"{STATE}/done/{_stem(part)}.json")
        return PartRecord.from_dict(orjson.loads(data)) if data is not None else None

    def write_part(self, record: PartRecord, data: bytes, rejects: bytes) -> None:
        """Rejects first, then the part, then the record saying both are complete."""
        if rejects:
            self.folder.write(f"{STATE}/rejects/{_stem(record.part)}.jsonl", rejects, temp_dir=_TMP)
        self.folder.write(record.part, data, temp_dir=_TMP)
        done = orjson.dumps(asdict(record))
        self.folder.write(f"{STATE}/done/{_stem(record.part)}.json", done, temp_dir=_TMP)

    def write_unit(self, unit: WorkUnit, records: Sequence[PartRecord]) -> None:
        data = orjson.dumps([asdict(r) for r in records])
        self.folder.write(f"{STATE}/units/{unit.key}.json", data, temp_dir=_TMP)

    # -- the driver's side ---------------------------------------------------------------

    def claim(self, fingerprint: Mapping[str, Any], *, overwrite: bool) -> dict[str, Any] | None:
        """Prepare the folder for this job; the manifest instead when it is finished already.

        A finished or unfinished run of the *same* job is kept (finished: nothing to do;
        unfinished: it resumes). Output of a different job is refused unless ``overwrite``.
        """
        manifest = self._json(MANIFEST)
        if manifest is not None:
            theirs = {key: manifest.get(key) for key in fingerprint}
            if theirs == fingerprint:
                self.folder.remove(STATE)  # leftovers of a run killed while cleaning up
                return manifest
            self._refuse_or_clear(theirs, fingerprint, overwrite, "finished")
        else:
            job = self._json(f"{STATE}/job.json")
            if job is not None and job.get("fingerprint") == fingerprint:
                return None
            if job is not None and self._has_work():
                self._refuse_or_clear(job["fingerprint"], fingerprint, overwrite, "unfinished")
            elif job is not None:  # a run that stopped before scoring anything: take over
                self._clear()
            elif any(n.startswith("part-") for n in self.folder.names()):
                if not overwrite:
                    raise Conflict(
                        f"output {self.folder.url} already holds part files of an unknown run; "
                        "choose an empty --output, or pass --overwrite to replace them"
                    )
                self._clear()
        self.folder.write(f"{STATE}/job.json", orjson.dumps({"fingerprint": fingerprint}))
        return None

    def finished_units(self) -> set[str]:
        return {n.removesuffix(".json") for n in self.folder.names(f"{STATE}/units")}

    def finalize(
        self, units: Sequence[WorkUnit], header: Mapping[str, Any], rejects_url: str | None
    ) -> dict[str, Any]:
        """Merge the rejects, write the manifest, drop the journal; returns the manifest."""
        records: list[PartRecord] = []
        for unit in units:
            data = self.folder.read(f"{STATE}/units/{unit.key}.json")
            if data is None:
                raise Unavailable(f"work unit {unit.key} has not finished; run the job again")
            records += [PartRecord.from_dict(r) for r in orjson.loads(data)]
        present = set(self.folder.names())
        lost = [r.part for r in records if r.part not in present]
        if lost:
            raise Unavailable(
                f"{len(lost)} output part(s) recorded as done are missing from "
                f"{self.folder.url} (first: {lost[0]}); were they deleted? Run again with "
                "--overwrite to score the job from scratch"
            )
        rejects = self._merge_rejects(records, rejects_url)
        manifest: dict[str, Any] = {
            **header,
            "rows": {
                "read": sum(r.rows_read for r in records),
                "written": sum(r.rows_written for r in records),
                "rejected": sum(r.rows_rejected for r in records),
            },
            "parts": [
                {"path": r.part, "rows": r.rows_written, "sha256": r.sha256, "bytes": r.bytes}
                for r in records
            ],
            "rejects": rejects,
        }
        self.folder.write(
            MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2), temp_dir=_TMP
        )
        self.folder.remove(STATE)
        return manifest

    def rejects_url(self, rejects: str | None) -> str:
        return rejects or self.folder.url_of(REJECTS)

    def _merge_rejects(self, records: list[PartRecord], rejects: str | None) -> dict[str, Any]:
        url = self.rejects_url(rejects)
        remove_stale_temporaries(url)
        digest = hashlib.sha256()
        count = 0
        temp = self.folder.url_of(_TMP) if self.folder.local and rejects is None else None
        with atomic_writer(url, temp_dir=temp) as out:
            for record in records:
                if not record.rows_rejected:
                    continue
                piece = self.folder.read(f"{STATE}/rejects/{_stem(record.part)}.jsonl")
                if piece is None:
                    raise Unavailable(f"the rejects of {record.part} are missing; run again")
                out.write(piece)
                digest.update(piece)
                count += record.rows_rejected
        return {
            "path": REJECTS if rejects is None else rejects,
            "rows": count,
            "sha256": digest.hexdigest(),
        }

    def _json(self, name: str) -> dict[str, Any] | None:
        data = self.folder.read(name)
        if data is None:
            return None
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    def _refuse_or_clear(
        self, theirs: Mapping[str, Any], ours: Mapping[str, Any], overwrite: bool, state: str
    ) -> None:
        if not overwrite:
            differences = _differences(theirs, ours)
            finish = (
                "re-run that job's exact command to finish it, " if state == "unfinished" else ""
            )
            raise Conflict(
                f"output {self.folder.url} holds the {state} output of a different job "
                f"({differences}); choose another --output, {finish}"
                "or pass --overwrite to replace it",
                details={"differences": differences},
            )
        self._clear()

    def _has_work(self) -> bool:
        """Whether any batch was scored here (a part file or a batch record exists)."""
        if any(n.startswith("part-") for n in self.folder.names()):
            return True
        return bool(self.folder.names(f"{STATE}/done"))

    def _clear(self) -> None:
        for name in self.folder.names():
            if name.startswith("part-") or name in (MANIFEST, REJECTS):
                self.folder.remove(name)
        self.folder.remove(STATE)


def _stem(part: str) -> str:
    return part.removesuffix(".parquet")


def _differences(theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> str:
    out = []
    for key in sorted(set(theirs) | set(ours)):
        if theirs.get(key) == ours.get(key):
            continue
        if key == "inputs":
            out.append("the input files differ")
        elif key == "model":
            old, new = theirs.get(key) or {}, ours.get(key) or {}
            out.append(
                f"model {old.get('name')}:{old.get('version')} vs now "
                f"{new.get('name')}:{new.get('version')}"
            )
        else:
            out.append(f"{key} {theirs.get(key)!r} vs now {ours.get(key)!r}")
    return "; ".join(out) or "unknown differences"
