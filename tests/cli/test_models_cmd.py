"""`modelport models ...` end to end on a real (SQLite) registry in a private home."""

from __future__ import annotations

import pickle
from pathlib import Path

import xgboost as xgb

from tests.cli.conftest import Run, run_json


def test_register_list_show_alias_roundtrip(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster]
) -> None:
    model, train, _ = tiny_xgb
    code, out, err = run(
        "models",
        "register",
        str(model),
        "--name",
        "fraud",
        "--metric",
        "auc=0.97",
        "--param",
        "depth=3",
        "--tag",
        "team=risk",
        "--train-data",
        str(train),
        "--alias",
        "staging",
    )
    assert code == 0, err
    assert "registered fraud:1" in out and "staging" in out

    shown = run_json(run, "models", "show", "fraud@staging")
    assert isinstance(shown, dict)
    assert shown["version"] == 1 and shown["flavor"] == "xgboost"
    assert shown["metrics"] == {"auc": 0.97}
    assert shown["params"] == {"depth": "3"} and shown["tags"] == {"team": "risk"}
    assert shown["registered_by"] == "alice"
    assert [i["name"] for i in shown["signature"]["inputs"]] == ["amount", "hour", "velocity"]
    assert {o["name"] for o in shown["signature"]["outputs"]} == {"predict", "predict_proba"}
    lineage = shown["lineage"]
    assert lineage["training_data_uri"].endswith("train.parquet")
    assert len(lineage["training_data_sha256"]) == 64
    assert lineage["reference_uri"], "the reference sample of the training data is kept"

    assert run("models", "register", str(model), "--name", "fraud")[0] == 0
    code, out, _ = run("models", "alias", "fraud", "production", "2")
    assert code == 0 and "fraud@production" in out
    listed = run_json(run, "models", "list")
    assert listed == [
        {
            **listed[0],
            "name": "fraud",
            "latest_version": 2,
            "versions": 2,
            "aliases": {"staging": 1, "production": 2},
        }
    ]
    versions = run_json(run, "models", "versions", "fraud")
    assert [v["version"] for v in versions] == [1, 2]
    code, out, _ = run("models", "show", "fraud")
    assert code == 0 and "fraud:2" in out and "predict_proba" in out


def test_delete_refused_while_aliased(run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster]) -> None:
    model, _, _ = tiny_xgb
    run("models", "register", str(model), "--name", "m", "--alias", "production")
    run("models", "register", str(model), "--name", "m")
    code, _, err = run("models", "delete", "m:1", "--yes")
    assert code == 1 and "production" in err and "Traceback" not in err
    code, _, err = run("models", "delete", "m:2", "--yes")
    assert code == 0, err
    assert [v["version"] for v in run_json(run, "models", "versions", "m")] == [1]
    code, _, err = run("models", "delete", "m", "--yes")
    assert code == 1 and "exact version" in err


def test_unknown_model_and_alias_are_one_line_errors(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster]
) -> None:
    code, out, err = run("models", "show", "nope")
    assert code == 1 and "no registry at" in err and "Traceback" not in err + out
    run("models", "register", str(tiny_xgb[0]), "--name", "m", "--alias", "staging")
    code, out, err = run("models", "show", "nope")
    assert code == 1 and "nope" in err and "Traceback" not in err + out
    code, _, err = run("models", "show", "m@production")
    assert code == 1 and "production" in err and "staging" in err  # names the known aliases
    code, _, err = run("models", "alias", "m", "production", "9")
    assert code == 1 and "9" in err


def test_bad_artifacts_are_refused_without_a_row(run: Run, tmp_path: Path) -> None:
    code, _, err = run("models", "register", str(tmp_path / "missing.json"), "--name", "m")
    assert code == 1 and "does not exist" in err
    garbage = tmp_path / "weights.bin"
    garbage.write_bytes(b"\x00\x01 not a model at all")
    code, _, err = run("models", "register", str(garbage), "--name", "m")
    assert code == 1 and "no runtime recognises" in err and "--flavor" in err
    assert run_json(run, "models", "list") == []


def test_pickle_refused_unless_trusted(run: Run, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression().fit([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]], [0, 1, 0, 1])
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(clf))
    code, _, err = run("models", "register", str(path), "--name", "clf")
    assert code == 1 and "pickle" in err.lower() and "--trust-pickle" in err
    assert run_json(run, "models", "list") == []
    code, _, err = run("models", "register", str(path), "--name", "clf", "--trust-pickle")
    assert code == 0, err
    assert run_json(run, "models", "show", "clf:1")["trust_pickle"] is True


def test_bad_options_and_dead_database(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], monkeypatch: object
) -> None:
    model = str(tiny_xgb[0])
    code, _, err = run("models", "register", model, "--name", "m", "--metric", "auc")
    assert code == 1 and "KEY=VALUE" in err
    code, _, err = run("models", "register", model, "--name", "m", "--metric", "auc=high")
    assert code == 1 and "number" in err
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("MODELPORT_DATABASE_URL", "postgresql+psycopg://u:secret@127.0.0.1:1/none")
    code, out, err = run("models", "list")
    assert code == 1 and "secret" not in err and "Traceback" not in err + out
    assert "127.0.0.1" in err


def test_register_with_training_data_derives_the_data_contract(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster]
) -> None:
    model, train, _ = tiny_xgb
    assert run("models", "register", str(model), "--name", "c", "--train-data", str(train))[0] == 0
    from modelport.cli.common import open_registry
    from modelport.monitoring.contract_store import load_contract

    with open_registry() as registry:
        contract = load_contract(registry.engine, "c")
    assert contract is not None
    assert "amount" in contract.to_yaml()


def test_a_malformed_signature_file_is_a_clear_error(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster], tmp_path: Path
) -> None:
    bad = tmp_path / "sig.json"
    bad.write_text('{"inputs": [{"name": "amount"}], "outputs": []}')
    code, _, err = run(
        "models", "register", str(tiny_xgb[0]), "--name", "m", "--signature", str(bad)
    )
    assert code == 1 and "is not a signature" in err and "unexpected" not in err
    assert run_json(run, "models", "list") == []


def test_delete_guard_names_the_commands_that_free_the_version(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster]
) -> None:
    model, _, _ = tiny_xgb
    run("models", "register", str(model), "--name", "m", "--alias", "production")
    code, _, err = run("models", "delete", "m:1", "--yes")
    assert code == 1
    assert "modelport models alias m production VERSION" in err
    assert "modelport models unalias m production" in err
    assert "set_alias" not in err and "delete_alias" not in err
    code, out, err = run("models", "unalias", "m", "production")
    assert code == 0 and "m@production removed (was version 1)" in out, err
    code, _, err = run("models", "delete", "m:1", "--yes")
    assert code == 0, err


def test_show_a_bare_name_gives_the_model_overview(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster]
) -> None:
    model, _, _ = tiny_xgb
    run("models", "register", str(model), "--name", "m", "--alias", "production",
        "--metric", "auc=0.91")
    run("models", "register", str(model), "--name", "m", "--metric", "auc=0.93")
    code, out, err = run("models", "show", "m")
    assert code == 0, err
    assert "m: 2 version(s)" in out
    assert "production" in out and "auc=0.91" in out and "auc=0.93" in out  # every version
    assert "m:2" in out  # then the latest version's details
    assert "request forms: one FP32 tensor of shape [N, 3]" in out
    doc = run_json(run, "models", "show", "m")
    assert [v["version"] for v in doc["versions"]] == [1, 2]
    assert doc["latest"]["version"] == 2
    one = run_json(run, "models", "show", "m@production")
    assert one["version"] == 1 and one["aliases"] == ["production"]


def test_bracketed_text_in_errors_is_printed_as_it_is(run: Run) -> None:
    """Rich markup must not eat user text such as ``modelport[redis]``."""
    code, _, err = run("models", "show", "x[redis]")
    assert code == 1
    assert "'x[redis]'" in err, err


def test_re_registering_an_identical_artifact_says_so(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster]
) -> None:
    code, out, _ = run("models", "register", str(tiny_xgb[0]), "--name", "fraud")
    assert code == 0 and "identical" not in out
    code, out, _ = run("models", "register", str(tiny_xgb[0]), "--name", "fraud")
    assert code == 0 and "registered fraud:2" in out
    assert "the artifact is identical to version 1 of fraud" in out


def test_a_piped_table_keeps_every_cell_whole(
    run: Run, tiny_xgb: tuple[Path, Path, xgb.Booster]
) -> None:
    run("models", "register", str(tiny_xgb[0]), "--name", "fraud")
    aliases = [f"{kind}-traffic-from-the-eu-west-region" for kind in ("canary", "shadow", "live")]
    for alias in aliases:
        assert run("models", "alias", "fraud", alias, "1")[0] == 0
    code, out, _ = run("models", "list")  # captured: not a terminal, like `| less` or a file
    assert code == 0 and max(len(line) for line in out.splitlines()) > 80
    for alias in aliases:
        assert f"{alias}→1" in out
    assert "…" not in out
