import pytest

from mlops_core.settings import Settings
from monitoring import metrics as m
from monitoring.alarm_rules import alarm_rules, drift_alarm_name, guard_alarm_names


def _rule(metric: str):
    (rule,) = [r for r in alarm_rules(Settings()) if r.metric_name == metric]
    return rule


def test_latency_rule_compares_microseconds_strictly():
    rule = _rule(m.MODEL_LATENCY)
    assert rule.threshold == 5_000_000
    assert not rule.breached_by([5_000_000, 5_000_000])
    assert rule.breached_by([4_000_000, 6_000_001])


def test_error_rate_rule_is_the_share_of_ones():
    rule = _rule(m.INVOCATION_4XX)
    assert not rule.breached_by([1] * 5 + [0] * 95)
    assert rule.breached_by([1] * 6 + [0] * 94)


def test_no_data_is_not_a_breach():
    assert not any(rule.breached_by([]) for rule in alarm_rules(Settings()))


def test_drift_rule_breaches_at_the_alert_psi_inclusive():
    rule = _rule(m.MAX_PSI)
    assert rule.breached_by([0.05, 0.2])
    assert not rule.breached_by([0.19])


def test_every_rule_becomes_a_cloudwatch_alarm_with_the_same_threshold(synthesized):
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in synthesized.template("observability")["Resources"].values()
        if a["Type"] == "AWS::CloudWatch::Alarm" and "MetricName" in a["Properties"]
    }
    for rule in alarm_rules(Settings()):
        alarm = alarms[rule.metric_name]
        assert alarm["Threshold"] == pytest.approx(rule.threshold)
        assert alarm["Statistic"] == rule.statistic
        assert alarm["Namespace"] == rule.namespace
        assert alarm["Period"] == rule.period_minutes * 60
        expected = "GreaterThanOrEqualToThreshold" if rule.inclusive else "GreaterThanThreshold"
        assert alarm["ComparisonOperator"] == expected


@pytest.mark.parametrize(
    ("schedule", "minutes"),
    [("rate(1 hour)", 60), ("rate(6 hours)", 360), ("rate(3 days)", 1440), ("cron(0 * * * ? *)", 1440)],
)
def test_drift_alarm_period_follows_the_drift_schedule(schedule, minutes):
    (rule,) = [r for r in alarm_rules(Settings(drift_schedule=schedule)) if r.metric_name == m.MAX_PSI]
    assert rule.period_minutes == minutes


def test_the_rollout_is_guarded_by_latency_errors_and_cold_starts_not_by_drift():
    settings = Settings()
    guards = {rule.metric_name for rule in alarm_rules(settings) if rule.guards_rollout}
    assert guards == {m.MODEL_LATENCY, m.INVOCATION_5XX, m.INVOCATION_4XX, m.MODEL_SETUP_TIME}
    assert guard_alarm_names(settings) == [
        "mlops-showcase-LatencyAlarm",
        "mlops-showcase-ServerErrorRateAlarm",
        "mlops-showcase-ClientErrorRateAlarm",
        "mlops-showcase-ColdStartAlarm",
    ]
    assert drift_alarm_name(settings) == "mlops-showcase-DriftAlarm"


def test_the_longest_guard_window_is_what_the_bake_setting_is_checked_against():
    for period in (1, 5, 60):
        settings = Settings(alarm_period_minutes=period, bake_minutes=max(15, 2 * period))
        longest = max(r.period_minutes * r.evaluation_periods for r in alarm_rules(settings) if r.guards_rollout)
        assert longest == settings.guard_window_minutes
