"""The audit chain: appends, filters, and verify naming every kind of tampering."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelport.errors import InvalidInput
from modelport.registry import db
from modelport.registry.tables import utcnow
from modelport.registry.tables_security import audit_log
from modelport.security.audit import (
    GENESIS,
    AuditEvent,
    append_audit,
    append_events,
    chain_hash,
    list_audit,
    verify_audit,
)
from modelport.security.audit_writer import AuditWriter


def fill(engine: Engine, n: int = 5) -> None:
    for i in range(1, n + 1):
        append_audit(engine, action="model.register", actor="alice" if i % 2 else "bob",
                     target=f"fraud:{i}", details={"sha256": f"{i:064x}"})


def test_rows_chain_from_genesis_and_verify(engine: Engine) -> None:
    first = append_audit(engine, action="model.register", actor="alice", target="fraud:1",
                         details={"flavor": "xgboost"})
    second = append_audit(engine, action="alias.move", actor="bob", target="fraud@production")
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    report = verify_audit(engine)
    assert report.ok and report.rows == 2
    assert (report.head_seq, report.head_hash) == (2, second.hash)


def test_secret_looking_details_are_masked(lite: Engine) -> None:
    entry = append_audit(lite, action="key.create", actor="alice",
                         details={"token": "mp_abc_secret", "nested": {"api_key": "x"}, "n": 1})
    assert entry.details == {"token": "***", "nested": {"api_key": "***"}, "n": 1}
    assert "mp_abc_secret" not in str(list_audit(lite)[0].to_dict())


def test_list_filters_by_time_actor_and_action(lite: Engine) -> None:
    fill(lite)
    append_audit(lite, action="key.revoke", actor="alice", target="key:1")
    assert [e.seq for e in list_audit(lite, actor="bob")] == [2, 4]
    assert [e.action for e in list_audit(lite, action="key.")] == ["key.revoke"]
    assert len(list_audit(lite, since=utcnow() - timedelta(days=1))) == 6
    assert list_audit(lite, since=utcnow() + timedelta(minutes=1)) == []
    assert [e.seq for e in list_audit(lite, limit=2)] == [5, 6]
    with pytest.raises(InvalidInput, match="limit"):
        list_audit(lite, limit=0)


def test_bad_action_is_refused(lite: Engine) -> None:
    with pytest.raises(InvalidInput, match=r"model.register"):
        append_audit(lite, action="drop table; --", actor="x")


def _update(engine: Engine, seq: int, **values: object) -> None:
    with db.transaction(engine, write=True) as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == seq).values(**values))


def test_an_edited_row_is_named(engine: Engine) -> None:
    fill(engine)
    _update(engine, 3, actor="mallory")
    report = verify_audit(engine)
    assert [(p.seq, p.kind) for p in report.problems] == [(3, "edited")]
    assert "row 3 was edited" in report.problems[0].message


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(lite: Engine) -> None:
    fill(lite)
    with db.transaction(lite, write=True) as conn:
        row = conn.execute(sa.select(audit_log).where(audit_log.c.seq == 3)).mappings().one()
        forged = chain_hash(seq=3, at=row["at"], actor="mallory", action=row["action"],
                            target=row["target"], details=row["details"],
                            prev_hash=row["prev_hash"])
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 3)
                     .values(actor="mallory", hash=forged))
    problems = verify_audit(lite).problems
    assert [(p.seq, p.kind) for p in problems] == [(4, "out_of_chain")]
    assert "row 3 was replaced" in problems[0].message


def test_a_deleted_row_is_named(lite: Engine) -> None:
    fill(lite)
    with db.transaction(lite, write=True) as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq.in_([2, 3])))
    problems = verify_audit(lite).problems
    assert [(p.seq, p.kind) for p in problems] == [(4, "missing")]
    assert "rows 2-3 missing" in problems[0].message


def test_an_inserted_row_is_named(lite: Engine) -> None:
    fill(lite)
    with db.transaction(lite, write=True) as conn:  # shift 4..5 up, forge a row 4
        for seq in (5, 4):
            conn.execute(sa.update(audit_log).where(audit_log.c.seq == seq)
                         .values(seq=seq + 1))
        prev = conn.execute(sa.select(audit_log.c.hash).where(audit_log.c.seq == 3)).scalar()
        at, details = utcnow(), "{}"
        digest = chain_hash(seq=4, at=at, actor="mallory", action="model.register",
                            target="evil:1", details=details, prev_hash=prev)
        conn.execute(sa.insert(audit_log).values(
            seq=4, at=at, actor="mallory", action="model.register", target="evil:1",
            details=details, prev_hash=prev, hash=digest))
    problems = verify_audit(lite).problems
    assert problems[0].seq == 5
    assert "row 5 was row 4: a row was inserted before it" in problems[0].message


def test_a_row_appended_out_of_chain_is_named(lite: Engine) -> None:
    fill(lite, 3)
    at = utcnow()
    digest = chain_hash(seq=4, at=at, actor="m", action="x", target="", details="{}",
                        prev_hash=GENESIS)
    with db.transaction(lite, write=True) as conn:
        conn.execute(sa.insert(audit_log).values(seq=4, at=at, actor="m", action="x", target="",
                                                 details="{}", prev_hash=GENESIS, hash=digest))
    assert [(p.seq, p.kind) for p in verify_audit(lite).problems] == [(4, "out_of_chain")]


def test_an_anchor_catches_rows_cut_from_the_end(lite: Engine) -> None:
    fill(lite)
    head = verify_audit(lite)
    anchor = (head.head_seq or 0, head.head_hash or "")
    assert verify_audit(lite, anchor=anchor).ok
    with db.transaction(lite, write=True) as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == 5))
    assert verify_audit(lite).ok  # undetectable without the anchor...
    problems = verify_audit(lite, anchor=anchor).problems
    assert [(p.seq, p.kind) for p in problems] == [(5, "anchor")]  # ...caught with it


def test_concurrent_appends_never_fork_the_chain(engine: Engine) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                append_audit(engine, action="predict", actor=f"t{n}", target=str(i))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_audit(engine)
    assert report.ok and report.rows == 60 and report.head_seq == 60


def test_the_writer_appends_in_batches_and_counts_drops(engine: Engine) -> None:
    writer = AuditWriter(engine, max_queue=5, flush_interval_s=0.01)
    accepted = [writer.submit("predict", "key:1", "fraud:1", {"n": i}) for i in range(8)]
    assert accepted.count(True) == 5 and writer.dropped == 3
    writer.start()
    writer.close()
    assert [e.details["n"] for e in list_audit(engine)] == [0, 1, 2, 3, 4]
    assert verify_audit(engine).ok


def test_append_events_runs_inside_a_callers_transaction(lite: Engine) -> None:
    def work(conn: sa.Connection) -> None:
        append_events(conn, [AuditEvent(action="a.b", actor="x"),
                             AuditEvent(action="a.c", actor="y")])
        raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        db.run_write(lite, work)
    assert list_audit(lite) == []
