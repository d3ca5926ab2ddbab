from __future__ import annotations

from datetime import timedelta

import pytest

from modelport.errors import InvalidInput
from modelport.security.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "want"),
    [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), ("1.5m", timedelta(seconds=90)),
     ("2w", timedelta(weeks=2)), (" 45s ", timedelta(seconds=45))],
)
def test_parse(text: str, want: timedelta) -> None:
    assert parse_duration(text) == want


@pytest.mark.parametrize("text", ["", "90", "d", "3 days", "-1d", "0s"])
def test_bad_durations_teach(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"e.g. 30m|longer than zero"):
        parse_duration(text, option="--expires")
