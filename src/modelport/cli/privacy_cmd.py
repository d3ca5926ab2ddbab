"""``modelport privacy``: erase a data subject, apply log retention, manage log encryption."""

from __future__ import annotations

import base64
import os

import fsspec
import pyarrow.parquet as pq
import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry
from modelport.cli.monitor_cmd import LOG_OPTION, _log_root
from modelport.cli.output import console, print_fields, print_json
from modelport.errors import InvalidInput
from modelport.monitoring.erasure import erase_subject, parse_selector
from modelport.monitoring.log_crypto import KEY_ENV, KEY_FILE_ENV, log_keys
from modelport.monitoring.log_reader import log_files, read_log_file
from modelport.monitoring.retention import apply_retention
from modelport.security.audit import append_audit
from modelport.security.durations import parse_duration

__all__ = ["app"]

app = typer.Typer(help="Data subjects' erasure, log retention, log encryption keys.",
                  no_args_is_help=True)


@app.command("erase")
def erase(
    subject: str = typer.Option(
        ..., "--subject", help="VALUE (the requests' subject_id) or COLUMN=VALUE (an input)."),
    model: list[str] = typer.Option([], "--model", help="Only these models (repeatable)."),
    log: str | None = LOG_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go; change nothing."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove a data subject's rows from the inference log and their feedback (from disk)."""
    selector = parse_selector(subject)
    root = _log_root(log)
    actor = current_actor()
    with open_registry() as registry:
        report = erase_subject(root, selector, engine=registry.engine,
                               models=model or None, dry_run=dry_run)
        if not dry_run:  # the audit names what was matched and removed, never the value
            append_audit(registry.engine, action="privacy.erase", actor=actor,
                         target=selector.describe(), details=report.to_dict())
    doc = {**report.to_dict(), "dry_run": dry_run, "prediction_cache": (
        "requests naming a subject are never cached; other entries expire after the cache "
        "ttl")}
    if as_json:
        print_json(doc)
        return
    verb = "would remove" if dry_run else "removed"
    print_fields([("log rows", report.log_rows), ("requests", len(report.requests)),
                  ("files rewritten", len(report.files_rewritten)),
                  ("files deleted", len(report.files_deleted)),
                  ("feedback rows", report.feedback_rows),
                  ("prediction cache", doc["prediction_cache"])],
                 title=f"erasure ({verb})")


@app.command("retention")
def retention(
    older_than: str = typer.Option(..., "--older-than", help="Age limit, e.g. 30d."),
    log: str | None = LOG_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would go."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete inference log days older than the limit (what the server's scheduler does)."""
    age = parse_duration(older_than, option="--older-than")
    removed = apply_retention(_log_root(log), age, dry_run=dry_run)
    if not dry_run and removed:
        with open_registry() as registry:
            append_audit(registry.engine, action="privacy.retention", actor=current_actor(),
                         target=_log_root(log), details={"files": len(removed),
                                                         "older_than": older_than})
    if as_json:
        print_json({"files": removed, "dry_run": dry_run})
        return
    console.print(f"{'would delete' if dry_run else 'deleted'} {len(removed)} log file(s) "
                  f"older than {older_than}")


@app.command("new-key")
def new_key(key_id: str = typer.Argument("k1", help="Id of the new master key.")) -> None:
    """Print a new AES-256 master key line for the log key file (ID=BASE64)."""
    print(f"{key_id}={base64.b64encode(os.urandom(32)).decode()}")


@app.command("rotate-key")
def rotate_key(log: str | None = LOG_OPTION) -> None:
    """Re-encrypt every inference log file with the current (last) master key."""
    keys = log_keys()
    if keys is None:
        raise InvalidInput(f"no log keys: set {KEY_FILE_ENV} or {KEY_ENV} (the last key is "
                           "the one files are re-encrypted with)")
    root = _log_root(log)
    fs, _ = fsspec.core.url_to_fs(root)
    files = log_files(root)
    for path, *_ in files:
        table = read_log_file(fs, path)
        folder, name = path.rsplit("/", 1)
        temp = f"{folder}/_rotate-{os.urandom(4).hex()}-{name}"
        with fs.open(temp, "wb") as f:
            pq.write_table(table, f, compression="zstd", encryption_properties=keys.encryption())
        fs.mv(temp, path)
    with open_registry(create=True) as registry:  # the audit row is written wherever it runs
        append_audit(registry.engine, action="privacy.rotate_key", actor=current_actor(),
                     target=root, details={"files": len(files), "key": keys.current})
    console.print(f"re-encrypted {len(files)} log file(s) with key {keys.current}")
