"""What the demo is expected to show, each expectation next to what it showed and the step that produced it."""

from __future__ import annotations

from dataclasses import dataclass

from local.demo.results import CANDIDATE_VERSION, PHASE_TITLES, DemoResult


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
    return [*_traffic_checks(result), *retrain_checks(result)]


def _traffic_checks(result: DemoResult) -> list[Check]:
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


def retrain_checks(result: DemoResult) -> list[Check]:
    """After the retrain phase: version 2 serves, no request was lost on the way, and the drift alert is gone."""
    retrained = result.retrain
    serving = retrained.serving_version if retrained else 0
    update = retrained.update_requests if retrained else []
    after = retrained.drift.get(CANDIDATE_VERSION) if retrained else None
    before = retrained.drift.get(1) if retrained else None
    status = after.report["status"] if after else "not computed"
    alarm = retrained.drift_alarm_after if retrained and retrained.drift_alarm_after else "not evaluated"
    observed_drift = f"{status} against version 2's baseline"
    if before is not None:
        observed_drift += f" ({before.report['status']} against version 1's)"
    return [
        Check(
            "Version 2 serves",
            f"version {CANDIDATE_VERSION}",
            f"version {serving}" if serving else "not rolled out",
            serving == CANDIDATE_VERSION,
            "rollout",
        ),
        Check(
            "Requests during the blue/green update",
            "all answered by version 1",
            f"{sum(r.status == 200 for r in update)} of {len(update)} answered",
            bool(update) and all(r.status == 200 for r in update),
            "rollout",
        ),
        Check(
            "Drift alert gone after retraining",
            "bake traffic not in alert against version 2's baseline; DriftAlarm OK",
            f"{observed_drift}; DriftAlarm {alarm}",
            after is not None and status != "alert" and alarm == "OK",
            "rollout",
        ),
    ]
