"""The A/B report: per-arm outcomes with confidence intervals and a significance test.

Each request an A/B deployment answered is an exposure of its arm. Outcomes join on the
request id: conversions give a rate per exposure (Wilson interval, two-proportion z-test),
values give a mean (t interval, Welch's t-test), labels give the accuracy of the arm's
predictions (as a rate). Duplicate feedback for one request keeps the newest value.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelport.errors import InvalidInput, NotFound
from modelport.registry import db
from modelport.registry import tables_routing as t
from modelport.routing import store
from modelport.routing.records import DeploymentRecord

__all__ = ["ABReport", "ArmReport", "MeanStat", "RateStat", "SignificanceTest", "ab_report"]


@dataclass(frozen=True, slots=True)
class RateStat:
    n: int
    successes: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class MeanStat:
    n: int
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True, slots=True)
class ArmReport:
    arm: str
    target: str
    weight: float
    exposures: int
    conversion: RateStat
    value: MeanStat
    accuracy: RateStat


@dataclass(frozen=True, slots=True)
class SignificanceTest:
    metric: str
    test: str
    difference: float | None
    """Candidate minus stable."""
    statistic: float | None
    p_value: float | None
    significant: bool


@dataclass(frozen=True, slots=True)
class ABReport:
    endpoint: str
    deployment_id: int
    status: str
    confidence: float
    arms: list[ArmReport]
    tests: list[SignificanceTest]
    unmatched_outcomes: int
    """Outcomes whose request id no arm answered (yet: assignments are written each second)."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson(successes: int, n: int, confidence: float) -> RateStat:
    """The rate and its Wilson score interval."""
    if n == 0:
        return RateStat(0, 0, None, None, None)
    from scipy import stats

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return RateStat(n, successes, p, max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: list[float], confidence: float) -> MeanStat:
    """The mean and its t-distribution interval."""
    n = len(values)
    if n == 0:
        return MeanStat(0, None, None, None, None)
    mean = sum(values) / n
    if n == 1:
        return MeanStat(1, mean, None, None, None)
    from scipy import stats

    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return MeanStat(n, mean, std, mean - half, mean + half)


def two_proportion(a: RateStat, b: RateStat, metric: str, alpha: float) -> SignificanceTest:
    """Two-proportion z-test (pooled) of b against a."""
    name = "two-proportion z-test"
    if a.n == 0 or b.n == 0 or a.rate is None or b.rate is None:
        return SignificanceTest(metric, name, None, None, None, False)
    from scipy import stats

    pooled = (a.successes + b.successes) / (a.n + b.n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n))
    diff = b.rate - a.rate
    if se == 0:
        return SignificanceTest(metric, name, diff, None, None, False)
    z = diff / se
    p = float(2 * stats.norm.sf(abs(z)))
    return SignificanceTest(metric, name, diff, z, p, p < alpha)


def welch(a: list[float], b: list[float], metric: str, alpha: float) -> SignificanceTest:
    """Welch's unequal-variance t-test of b against a."""
    name = "Welch's t-test"
    if len(a) < 2 or len(b) < 2:
        return SignificanceTest(metric, name, None, None, None, False)
    from scipy import stats

    result = stats.ttest_ind(b, a, equal_var=False)
    diff = sum(b) / len(b) - sum(a) / len(a)
    stat, p = float(result.statistic), float(result.pvalue)
    if math.isnan(p):
        return SignificanceTest(metric, name, diff, None, None, False)
    return SignificanceTest(metric, name, diff, stat, p, p < alpha)


def ab_report(engine: Engine, endpoint: str, *, confidence: float = 0.95) -> ABReport:
    """The report of the endpoint's newest A/B deployment."""
    if not 0 < confidence < 1:
        raise InvalidInput(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    with db.transaction(engine) as conn:
        record = store.current(conn, endpoint)
        if record is None or record.strategy != "ab":
            raise NotFound(f"endpoint {endpoint!r} has no A/B deployment; apply one with "
                           "strategy: ab")
        assigned = conn.execute(
            sa.select(t.ab_assignments.c.request_id, t.ab_assignments.c.arm,
                      t.ab_assignments.c.prediction)
            .where(t.ab_assignments.c.deployment_id == record.id)
        ).all()
        outcomes = conn.execute(
            sa.select(t.ab_outcomes.c.request_id, t.ab_outcomes.c.conversion,
                      t.ab_outcomes.c.value, t.ab_outcomes.c.label)
            .where(t.ab_outcomes.c.endpoint == endpoint,
                   t.ab_outcomes.c.at >= record.created_at)
            .order_by(t.ab_outcomes.c.id)
        ).all()
    arm_of = {r.request_id: (r.arm, r.prediction) for r in assigned}
    latest: dict[str, dict[str, Any]] = {}
    for row in outcomes:
        entry = latest.setdefault(row.request_id, {})
        for name in ("conversion", "value", "label"):
            if getattr(row, name) is not None:
                entry[name] = getattr(row, name)
    return _report(record, arm_of, latest, confidence)


def _report(record: DeploymentRecord, arm_of: dict[str, tuple[str, str | None]],
            latest: dict[str, dict[str, Any]], confidence: float) -> ABReport:
    alpha = 1 - confidence
    exposures = {"stable": 0, "candidate": 0}
    conversions = {"stable": 0, "candidate": 0}
    values: dict[str, list[float]] = {"stable": [], "candidate": []}
    labelled = {"stable": 0, "candidate": 0}
    correct = {"stable": 0, "candidate": 0}
    for arm, _ in arm_of.values():
        exposures[arm] = exposures.get(arm, 0) + 1
    unmatched = 0
    for request_id, entry in latest.items():
        found = arm_of.get(request_id)
        if found is None:
            unmatched += 1
            continue
        arm, prediction = found
        if entry.get("conversion"):
            conversions[arm] += 1
        if "value" in entry:
            values[arm].append(float(entry["value"]))
        if "label" in entry:
            labelled[arm] += 1
            correct[arm] += int(_same(entry["label"], prediction))
    targets = {"stable": record.stable, "candidate": record.candidate}
    stable_w, candidate_w = record.spec.ab_weights()
    weights = {"stable": float(stable_w), "candidate": float(candidate_w)}
    arms = [
        ArmReport(arm, str(targets[arm]), weights.get(arm, 0.0), exposures[arm],
                  wilson(conversions[arm], exposures[arm], confidence),
                  mean_interval(values[arm], confidence),
                  wilson(correct[arm], labelled[arm], confidence))
        for arm in ("stable", "candidate")
    ]
    stable, candidate = arms
    tests = [two_proportion(stable.conversion, candidate.conversion, "conversion", alpha)]
    if values["stable"] or values["candidate"]:
        tests.append(welch(values["stable"], values["candidate"], "value", alpha))
    if labelled["stable"] or labelled["candidate"]:
        tests.append(two_proportion(stable.accuracy, candidate.accuracy, "accuracy", alpha))
    notes = []
    if min(exposures.values()) < 30:
        notes.append("fewer than 30 exposures in an arm: intervals and tests are rough")
    return ABReport(record.endpoint, record.id, record.status.value, confidence, arms, tests,
                    unmatched, notes)


def _same(label: str, prediction: str | None) -> bool:
    if prediction is None:
        return False
    if label == prediction:
        return True
    try:
        return float(label) == float(prediction)
    except ValueError:
        return False
