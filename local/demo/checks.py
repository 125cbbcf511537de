"""What the demo is expected to show, each expectation next to what it showed and the step that produced it."""

from __future__ import annotations

from dataclasses import dataclass

from local.demo.results import PHASE_TITLES, DemoResult


@dataclass(frozen=True)
class Check:
    """One expectation of the demo and what was observed."""

    what: str
    expected: str
    observed: str
    passed: bool
    step: str  # the demo step whose outcome this is


def checks(result: DemoResult) -> list[Check]:
    """What the demo is expected to show, next to what it showed."""
    from dataset import DRIFTED_FEATURES

    fired = {name: sorted(a.rule.id for a in result.fired if a.phase == name) for name in PHASE_TITLES}
    drifted = result.drift.get("drifted")
    alerted = drifted.alerted_features if drifted else []
    requests = [r for p in result.phases for r in p.requests]
    malformed = [r for r in requests if r.malformed]
    client_errors = [r for r in requests if r.client_error]
    return [
        Check("Normal traffic", "no alarm", ", ".join(fired["normal"]) or "no alarm", not fired["normal"], "alarms"),
        Check(
            "Drifted traffic",
            "DriftAlarm",
            ", ".join(fired["drifted"]) or "no alarm",
            "DriftAlarm" in fired["drifted"],
            "alarms",
        ),
        Check(
            "Features in drift alert (drifted phase)",
            ", ".join(sorted(DRIFTED_FEATURES)),
            ", ".join(sorted(alerted)) or "none",
            set(alerted) == set(DRIFTED_FEATURES),
            "drift",
        ),
        Check(
            "Bad client",
            "ClientErrorRateAlarm",
            ", ".join(fired["bad-client"]) or "no alarm",
            "ClientErrorRateAlarm" in fired["bad-client"],
            "alarms",
        ),
        Check(
            "Malformed requests",
            f"{len(malformed)} answered 4xx",
            f"{sum(r.client_error for r in malformed)} answered 4xx; {len(client_errors)} 4xx in all",
            all(r.client_error for r in malformed) and len(client_errors) == len(malformed),
            "traffic",
        ),
        Check(
            "Server errors",
            "none",
            f"{sum(r.server_error for r in requests)} 5xx",
            not any(r.server_error for r in requests),
            "traffic",
        ),
        Check(
            "Notifications (SNS → SQS)",
            f"{len(result.fired)} delivered",
            f"{len(result.notifications)} of {result.published} delivered",
            len(result.notifications) == result.published == len(result.fired),
            "alarms",
        ),
    ]
