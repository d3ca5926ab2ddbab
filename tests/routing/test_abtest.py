"""The A/B report: intervals and tests against textbook values, and a whole experiment through
the data plane with outcomes joined by request id."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from scipy import stats

from modelport.errors import InvalidInput, NotFound
from modelport.registry import Registry
from modelport.routing.abtest import mean_interval, two_proportion, welch, wilson
from modelport.routing.feedback import Outcome, record_outcomes
from modelport.serving.pipeline import CallContext

from .models import deploy_yaml
from .rig import Rig, fraud_request


def test_wilson_interval_matches_the_textbook() -> None:
    rate = wilson(50, 100, 0.95)
    assert rate.rate == 0.5
    assert rate.ci_low == pytest.approx(0.4038, abs=1e-4)
    assert rate.ci_high == pytest.approx(0.5962, abs=1e-4)
    assert wilson(0, 0, 0.95).rate is None


def test_two_proportion_z_test() -> None:
    a, b = wilson(100, 1000, 0.95), wilson(150, 1000, 0.95)
    test = two_proportion(a, b, "conversion", 0.05)
    pooled = 250 / 2000
    z = 0.05 / (pooled * (1 - pooled) * (2 / 1000)) ** 0.5
    assert test.statistic == pytest.approx(z)
    assert test.p_value == pytest.approx(2 * stats.norm.sf(z))
    assert test.significant and test.difference == pytest.approx(0.05)
    same = two_proportion(a, wilson(101, 1000, 0.95), "conversion", 0.05)
    assert not same.significant


def test_welch_t_test_and_mean_interval() -> None:
    a = [1.0, 2.0, 3.0, 4.0, 5.0]
    b = [3.0, 4.0, 5.0, 6.0, 9.0]
    test = welch(a, b, "value", 0.05)
    expected = stats.ttest_ind(b, a, equal_var=False)
    assert test.p_value == pytest.approx(expected.pvalue)
    assert test.difference == pytest.approx(2.4)
    mean = mean_interval(a, 0.95)
    half = stats.t.ppf(0.975, 4) * stats.tstd(a) / 5**0.5
    assert mean.mean == 3 and mean.ci_low == pytest.approx(3 - half)
    assert welch([1.0], b, "value", 0.05).p_value is None


@pytest.fixture
async def rig(sqlite_fraud: Registry) -> AsyncIterator[Rig]:
    made = Rig(sqlite_fraud)
    yield made
    await made.stop()


async def test_an_experiment_end_to_end(rig: Rig) -> None:
    rig.service.apply(deploy_yaml(strategy="ab", stable="fraud:1", candidate="fraud:5",
                                  section="ab:\n  weights: {stable: 50, candidate: 50}\n"),
                      actor="alice")
    await rig.worker.sync.refresh()
    answered: dict[str, str] = {}
    for i in range(400):
        request = fraud_request(i)
        request.id = f"req-{i}"
        ctx = CallContext(name="fraud", headers={"x-ab-key": f"user-{i % 200}"})
        answer = await rig.worker.plane.infer("fraud", None, request, ctx)
        answered[request.id] = answer.model_version or ""
    for i in range(200):  # a user keeps their arm on every visit
        assert answered[f"req-{i}"] == answered[f"req-{i + 200}"]
    await rig.worker.sync.flush()
    outcomes = []
    for i, (request_id, version) in enumerate(answered.items()):
        converted = (i % 10 < 4) if version == "5" else (i % 10 < 1)  # 40% against 10%
        outcomes.append(Outcome(request_id, conversion=converted, value=float(version) + i % 3,
                                label="1"))
    outcomes.append(Outcome("never-answered", conversion=True))
    record_outcomes(rig.registry.engine, "fraud", outcomes)
    report = rig.service.ab_report("fraud")
    stable, candidate = report.arms
    assert (stable.target, candidate.target) == ("fraud:1", "fraud:5")
    assert stable.exposures + candidate.exposures == 400
    assert stable.exposures == sum(v == "1" for v in answered.values())
    assert stable.conversion.rate == pytest.approx(0.1, abs=0.04)
    assert candidate.conversion.rate == pytest.approx(0.4, abs=0.06)
    conv = {t.metric: t for t in report.tests}["conversion"]
    assert conv.significant and conv.p_value is not None and conv.p_value < 1e-6
    assert {t.metric: t for t in report.tests}["value"].difference == pytest.approx(4, abs=0.3)
    assert candidate.accuracy.rate == 1.0  # the shifted model says 1 for everyone
    assert stable.accuracy.rate is not None and stable.accuracy.rate < 0.8
    assert report.unmatched_outcomes == 1


def test_report_needs_an_ab_deployment(sqlite_fraud: Registry) -> None:
    rig = Rig(sqlite_fraud)
    with pytest.raises(NotFound, match="has no A/B deployment"):
        rig.service.ab_report("fraud")
    rig.service.apply(deploy_yaml(), actor="a")
    with pytest.raises(NotFound, match="has no A/B deployment"):
        rig.service.ab_report("fraud")
    with pytest.raises(InvalidInput, match="confidence must be between 0 and 1"):
        rig.service.ab_report("fraud", confidence=95)
