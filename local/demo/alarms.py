"""The alarm rules on moto: the alarms as the observability stack builds them (step 3), and step 6.

Step 6 evaluates each rule per phase on what was measured, puts the metrics to CloudWatch, sets
the alarm states and publishes one SNS notification per alarm that fires, then reads them back
from the subscribed queue.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from local.demo.emulator import AwsEmulator
from local.demo.results import (
    BAKE,
    CANDIDATE_VERSION,
    PHASE_TITLES,
    AlarmEvaluation,
    DemoResult,
    Notification,
    PhaseTraffic,
)
from mlops_core.settings import Settings
from monitoring import metrics as m

if TYPE_CHECKING:
    from monitoring.alarm_rules import AlarmRule

NOTIFICATION_WAIT_S = 10.0


def rule_dimensions(rule: AlarmRule, endpoint_name: str) -> list[dict[str, str]]:
    """The dimensions the observability stack gives the rule's alarm."""
    from monitoring.alarm_rules import ENDPOINT_DIMENSIONS

    dimensions = [{"Name": m.DIM_ENDPOINT, "Value": endpoint_name}]
    if rule.dimensions == ENDPOINT_DIMENSIONS:
        dimensions.append({"Name": m.DIM_VARIANT, "Value": m.VARIANT_NAME})
    return dimensions


def create_alarms(cloudwatch: Any, settings: Settings, topic_arn: str) -> dict[str, str]:
    """One CloudWatch alarm per rule, shaped as the observability stack builds it (moto never evaluates them)."""
    from monitoring.alarm_rules import alarm_name, alarm_rules

    names = {}
    for rule in alarm_rules(settings):
        name = alarm_name(settings, rule)
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=rule.description,
            Namespace=rule.namespace,
            MetricName=rule.metric_name,
            Dimensions=rule_dimensions(rule, settings.endpoint_name),
            Statistic=rule.statistic,
            Period=rule.period_minutes * 60,
            EvaluationPeriods=rule.evaluation_periods,
            DatapointsToAlarm=rule.evaluation_periods,
            Threshold=rule.threshold,
            ComparisonOperator="GreaterThanOrEqualToThreshold" if rule.inclusive else "GreaterThanThreshold",
            TreatMissingData="notBreaching",
            # As in the observability stack: no OK actions (recoveries are told by an EventBridge rule).
            AlarmActions=[topic_arn],
        )
        names[rule.id] = name
    return names


def measured_values(result: DemoResult, traffic: PhaseTraffic) -> dict[str, list[float]]:
    """Per metric, the data points the phase produced, in CloudWatch's units."""
    values: dict[str, list[float]] = {
        m.MODEL_LATENCY: [r.latency_us for r in traffic.requests],
        m.INVOCATION_4XX: [1.0 if r.client_error else 0.0 for r in traffic.requests],
        m.INVOCATION_5XX: [1.0 if r.server_error else 0.0 for r in traffic.requests],
        m.INVOCATIONS: [1.0 for _ in traffic.requests],
        m.MODEL_SETUP_TIME: [],
        m.MAX_PSI: [],
    }
    if traffic.name == BAKE and result.retrain is not None:
        # Version 2 started during the blue/green update while version 1 answered every request, so no
        # invocation waited for it: the bake has no ModelSetupTime. The drift job compares with v2's baseline.
        setup_time_us, drift = None, result.retrain.drift.get(CANDIDATE_VERSION)
    else:
        # The endpoint started right before the first phase: that phase carries its cold start.
        setup_time_us = result.setup_time_us if traffic is result.phases[0] else None
        drift = result.drift.get(traffic.name)
    if setup_time_us is not None:
        values[m.MODEL_SETUP_TIME] = [setup_time_us]
    worst = (drift.report.get("worst") or {}) if drift is not None else {}
    if worst.get("psi") is not None:
        values[m.MAX_PSI] = [float(worst["psi"])]
    return values


def evaluate_alarms(settings: Settings, result: DemoResult, alarm_names: Mapping[str, str]) -> list[AlarmEvaluation]:
    """Each rule over each phase as one period; ALARM after `evaluation_periods` breaching periods in a row."""
    from monitoring.alarm_rules import alarm_rules

    return evaluate_periods(alarm_rules(settings), result, result.phases, alarm_names)


def evaluate_periods(
    rules: Sequence[AlarmRule], result: DemoResult, periods: Sequence[PhaseTraffic], alarm_names: Mapping[str, str]
) -> list[AlarmEvaluation]:
    """`rules` over `periods` in order, one phase a period, each rule's state carried from one to the next."""
    evaluations = []
    for rule in rules:
        history: list[bool] = []
        state = "OK"
        for traffic in periods:
            values = measured_values(result, traffic)[rule.metric_name]
            breached = rule.breached_by(values)
            history.append(breached)
            recent = history[-rule.evaluation_periods :]
            new_state = "ALARM" if len(recent) == rule.evaluation_periods and all(recent) else "OK"
            evaluations.append(
                AlarmEvaluation(
                    traffic.name,
                    rule,
                    alarm_names[rule.id],
                    len(values),
                    rule.statistic_of(values),
                    breached,
                    new_state,
                    notified=new_state == "ALARM" and state != "ALARM",
                )
            )
            state = new_state
    return evaluations


def endpoint_metric_data(settings: Settings, result: DemoResult, traffic: PhaseTraffic) -> list[dict[str, Any]]:
    """The phase's endpoint metrics as CloudWatch statistic sets (what SageMaker would have published)."""
    dimensions = [
        {"Name": m.DIM_ENDPOINT, "Value": settings.endpoint_name},
        {"Name": m.DIM_VARIANT, "Value": m.VARIANT_NAME},
    ]
    units = {
        m.MODEL_LATENCY: "Microseconds",
        m.MODEL_SETUP_TIME: "Microseconds",
        m.INVOCATION_4XX: "None",
        m.INVOCATION_5XX: "None",
        m.INVOCATIONS: "None",
    }
    data = []
    for name, values in measured_values(result, traffic).items():
        if name not in units or not values:
            continue
        statistics = {
            "SampleCount": len(values),
            "Sum": math.fsum(values),
            "Minimum": min(values),
            "Maximum": max(values),
        }
        data.append(
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": traffic.started,
                "StatisticValues": statistics,
                "Unit": units[name],
            }
        )
    return data


def alarm_message(evaluation: AlarmEvaluation, result: DemoResult, region: str, account: str) -> dict[str, Any]:
    """A notification shaped like CloudWatch's alarm message (AlarmName, NewStateReason, Trigger, …)."""
    rule = evaluation.rule
    operator = "GreaterThanOrEqualToThreshold" if rule.inclusive else "GreaterThanThreshold"
    sign = ">=" if rule.inclusive else ">"
    reason = (
        f"Threshold Crossed: {rule.statistic} {rule.metric_name} of the {PHASE_TITLES[evaluation.phase]} phase "
        f"was {format_metric(rule.metric_name, evaluation.value)} ({evaluation.datapoints} datapoints), "
        f"{sign} the threshold {format_metric(rule.metric_name, rule.threshold)}."
    )
    if rule.metric_name == m.MAX_PSI:
        drift = result.drift[evaluation.phase]
        reason += f" Features in alert: {', '.join(drift.alerted_features) or 'none'}."
        if (drift.report.get("score") or {}).get("status") == "alert":
            reason += " The prediction score drifted too."
    return {
        "AlarmName": evaluation.alarm_name,
        "AlarmDescription": rule.description,
        "AWSAccountId": account,
        "NewStateValue": "ALARM",
        "NewStateReason": reason,
        "StateChangeTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "Region": region,
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": rule.metric_name,
            "Namespace": rule.namespace,
            "Statistic": rule.statistic.upper(),
            "Dimensions": [
                {"name": d["Name"], "value": d["Value"]} for d in rule_dimensions(rule, result.settings.endpoint_name)
            ],
            "Period": rule.period_minutes * 60,
            "EvaluationPeriods": rule.evaluation_periods,
            "ComparisonOperator": operator,
            "Threshold": rule.threshold,
            "TreatMissingData": "notBreaching",
        },
    }


def format_metric(metric_name: str, value: float | None) -> str:
    """A metric value in the unit people read it in (latency in ms, error rates in %)."""
    if value is None:
        return "no data"
    if metric_name in (m.MODEL_LATENCY, m.MODEL_SETUP_TIME):
        return f"{value / m.MICROSECONDS_PER_MS:,.1f} ms"
    if metric_name in (m.INVOCATION_4XX, m.INVOCATION_5XX):
        return f"{100 * value:.1f} %"
    if metric_name == m.MAX_PSI:
        return f"PSI {value:.3f}"
    return f"{value:g}"


def raise_alarms(aws: AwsEmulator, settings: Settings, result: DemoResult) -> None:
    """Evaluate the rules, put the metrics, set the alarm states, notify and read the notifications back."""
    from monitoring.drift_report import METRICS_PER_CALL, metric_data

    registration = result.registration
    assert registration is not None
    cloudwatch, sns = aws.client("cloudwatch"), aws.client("sns")
    result.alarms = evaluate_alarms(settings, result, registration.alarm_names)
    for traffic in result.phases:
        data = endpoint_metric_data(settings, result, traffic)
        cloudwatch.put_metric_data(Namespace=m.SAGEMAKER_NAMESPACE, MetricData=data)
        drift_data = metric_data(result.drift[traffic.name].report, traffic.ended)
        for start in range(0, len(drift_data), METRICS_PER_CALL):
            chunk = drift_data[start : start + METRICS_PER_CALL]
            cloudwatch.put_metric_data(Namespace=m.DRIFT_NAMESPACE, MetricData=chunk)
        result.metric_datapoints += len(data) + len(drift_data)
        for evaluation in (a for a in result.alarms if a.phase == traffic.name):
            cloudwatch.set_alarm_state(
                AlarmName=evaluation.alarm_name,
                StateValue=evaluation.state,
                StateReason=f"{PHASE_TITLES[traffic.name]} phase: "
                f"{format_metric(evaluation.rule.metric_name, evaluation.value)}",
            )
            if evaluation.notified:
                message = alarm_message(evaluation, result, registration.region, registration.account)
                sns.publish(
                    TopicArn=registration.topic_arn,
                    Subject=f'ALARM: "{evaluation.alarm_name}" in {registration.region}'[:100],
                    Message=json.dumps(message),
                    MessageAttributes={"phase": {"DataType": "String", "StringValue": traffic.name}},
                )
                result.published += 1
    result.notifications = read_notifications(aws.client("sqs"), registration.queue_url, result.published)


def read_notifications(sqs: Any, queue_url: str, expected: int) -> list[Notification]:
    """Receive (and delete) what SNS delivered to the queue: until `expected` arrived and the queue is empty."""
    notifications: list[Notification] = []
    deadline = time.monotonic() + NOTIFICATION_WAIT_S
    while True:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        for message in messages:
            envelope = json.loads(message["Body"])
            alarm = json.loads(envelope["Message"])
            phase = envelope.get("MessageAttributes", {}).get("phase", {}).get("Value", "")
            notifications.append(
                Notification(
                    envelope.get("Subject", ""),
                    alarm["AlarmName"],
                    phase,
                    alarm["NewStateValue"],
                    alarm["NewStateReason"],
                )
            )
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and (len(notifications) >= expected or time.monotonic() > deadline):
            return notifications
        if not messages:
            time.sleep(0.1)
