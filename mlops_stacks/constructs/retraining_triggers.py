"""The rules that start a training run on the labelled data, each switched by its setting.

- `retrain_schedule`: an EventBridge schedule (off by default);
- `retrain_on_new_data`: the ready marker `<labelled_data_prefix>/_ready` written to the data bucket
  (on by default): put the CSVs under `train/` and `validation/` first, then the marker;
- `retrain_on_drift`: the drift alarm going to ALARM (off by default: drift brings no labels, and
  a run on the same labelled data trains the same model again).

Every run they start trains on `<labelled_data_prefix>/train/` and `/validation/`; the first deploy
trains on the storage stack's data set.
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlops_core.event_patterns import drift_alarm_fired, new_labelled_data
from mlops_core.settings import Settings
from mlops_stacks.constructs.event_rules import event_pattern, start_pipeline
from monitoring.alarm_rules import drift_alarm_name


def labelled_data(bucket_name: str, settings: Settings) -> dict[str, str]:
    """The data a triggered run trains on (the execution input's `data`)."""
    prefix = f"s3://{bucket_name}/{settings.labelled_data_prefix}"
    return {"train": f"{prefix}/train/", "validation": f"{prefix}/validation/"}


class RetrainingTriggers(Construct):
    """The schedule, new-data and drift rules that the settings switch on."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        state_machine: sfn.IStateMachine,
        bucket_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        data = {"data": labelled_data(bucket_name, settings)}
        self.rules: dict[str, events.Rule] = {}
        if settings.retrain_schedule:
            self.rules["schedule"] = events.Rule(
                self,
                "Schedule",
                description="Retrains on the labelled data on a schedule (retrain_schedule)",
                schedule=events.Schedule.expression(settings.retrain_schedule),
                targets=[start_pipeline(state_machine, "schedule", data)],
            )
        if settings.retrain_on_new_data:
            self.rules["new-data"] = events.Rule(
                self,
                "NewLabelledData",
                description="Retrains when the ready marker of new labelled data is written (retrain_on_new_data)",
                event_pattern=event_pattern(new_labelled_data(bucket_name, settings.labelled_data_prefix)),
                targets=[start_pipeline(state_machine, "new-data", data)],
            )
        if settings.retrain_on_drift:
            self.rules["drift"] = events.Rule(
                self,
                "DriftAlarm",
                description="Retrains on the labelled data when the drift alarm fires (retrain_on_drift)",
                event_pattern=event_pattern(drift_alarm_fired(drift_alarm_name(settings))),
                targets=[start_pipeline(state_machine, "drift", data)],
            )
