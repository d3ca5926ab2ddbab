from __future__ import annotations

import pytest

from modelport.errors import InvalidInput
from modelport.registry.refs import (
    ModelRef,
    check_model_name,
    check_settable_alias,
    parse_ref,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fraud", ModelRef("fraud")),
        ("fraud@production", ModelRef("fraud", alias="production")),
        ("fraud:3", ModelRef("fraud", version=3)),
        ("fraud@latest", ModelRef("fraud")),
        ("team.fraud-v2_x", ModelRef("team.fraud-v2_x")),
        ("7up:12", ModelRef("7up", version=12)),
    ],
)
def test_parse_ref_accepts_the_three_forms(text: str, expected: ModelRef) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize("text", ["fraud", "fraud@production", "fraud:3"])
def test_str_round_trips(text: str) -> None:
    assert str(parse_ref(text)) == text


@pytest.mark.parametrize(
    "text",
    ["", " fraud", "fraud ", "fraud@", "fraud:", "@prod", ":3", "a@b:c", "a:1:2", "fr aud", "a/b"],
)
def test_parse_ref_rejects_bad_syntax_with_the_expected_forms(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_ref(text)
    assert "NAME@ALIAS" in str(info.value) or "invalid model name" in str(info.value)


@pytest.mark.parametrize("version", ["x", "0", "-1", "1.5", "03a"])
def test_bad_version_number_says_what_a_version_is(version: str) -> None:
    with pytest.raises(InvalidInput, match="whole number >= 1"):
        parse_ref(f"fraud:{version}")


def test_alias_must_start_with_a_letter() -> None:
    with pytest.raises(InvalidInput, match="starting with a letter"):
        parse_ref("fraud@1prod")


def test_latest_cannot_be_set_by_hand() -> None:
    with pytest.raises(InvalidInput, match="reserved"):
        check_settable_alias("latest")


def test_model_name_length_is_bounded() -> None:
    assert check_model_name("a" * 128) == "a" * 128
    with pytest.raises(InvalidInput, match="1-128"):
        check_model_name("a" * 129)


def test_ref_with_version_and_alias_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not both"):
        ModelRef("fraud", version=1, alias="prod")
