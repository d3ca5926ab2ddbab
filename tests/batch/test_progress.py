"""The progress bar a person sees on stderr."""

from __future__ import annotations

import io

from rich.console import Console

from modelport.batch import NullProgress, RichProgress


def test_the_bar_shows_rows_rate_and_rejects() -> None:
    out = io.StringIO()
    progress = RichProgress("scoring fraud", console=Console(file=out, width=160))
    progress.started(total_rows=1000, done_rows=200)
    progress.advanced(300, 2)
    progress.advanced(500, 1)
    progress.finished()
    text = out.getvalue()
    assert "scoring fraud" in text
    assert "1,000/1,000 rows" in text
    assert "3 rejected" in text
    assert "rows/s" in text


def test_an_unknown_total_is_shown_as_such() -> None:
    out = io.StringIO()
    progress = RichProgress("scoring", console=Console(file=out, width=160))
    progress.started(total_rows=None, done_rows=0)
    progress.advanced(10, 0)
    progress.finished()
    assert "10/? rows" in out.getvalue()


def test_the_silent_listener_accepts_every_call() -> None:
    quiet = NullProgress()
    quiet.started(total_rows=None, done_rows=0)
    quiet.advanced(1, 0)
    quiet.finished()
    assert isinstance(quiet, NullProgress)
