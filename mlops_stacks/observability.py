"""Observability stack: alarms, dashboard and the drift job, told to the alert topic.

Failed training runs are told by the training pipeline itself (every training job of the project
is one of its runs), so no rule here watches training jobs.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlops_core.naming import ATHENA_RESULTS_PREFIX, CAPTURE_PREFIX, DRIFT_REPORTS_PREFIX, REGISTRY_PREFIX
from mlops_core.settings import Settings
from mlops_stacks.budget import ProjectBudget
from mlops_stacks.constructs.python_function import PythonFunction
from mlops_stacks.storage import artifact_bucket
from monitoring import metrics as m
from monitoring.alarm_rules import ENDPOINT_DIMENSIONS, AlarmRule, alarm_rules
from monitoring.drift_run import DRIFT_SETTINGS

# Athena stops a drift query that scans more than this: a guard against a runaway window.
ATHENA_SCAN_LIMIT_BYTES = 10 * 1024**3


class ObservabilityStack(Stack):
    """Everything that watches the endpoint and tells a person when something is wrong."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        endpoint_name: str,
        feature_names: Sequence[str],
        capture_database: str,
        capture_table: str,
        capture_writer: lambda_.IFunction,
        capture_failures: sqs.IQueue,
        topic: sns.Topic,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        bucket = artifact_bucket(self, settings)
        self.settings = settings
        self.endpoint_name = endpoint_name
        self.period = Duration.minutes(settings.alarm_period_minutes)

        self.topic = topic
        self.drift_job = self._drift_job(bucket, capture_database, capture_table)
        rule_alarms = self._rule_alarms()
        self.alarms = [*rule_alarms.values(), *self._pipeline_alarms(capture_writer, capture_failures)]
        action = cw_actions.SnsAction(self.topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
        # No OK actions: every new alarm goes INSUFFICIENT_DATA -> OK, an e-mail per alarm per deploy.
        self._recovery_notices([alarm for rule, alarm in rule_alarms.items() if rule.notify_recovery])
        if settings.monthly_budget_usd is not None:
            ProjectBudget(self, "Budget", settings, self.topic)
        dashboard = self._dashboard(feature_names)

        CfnOutput(
            self,
            "DashboardUrl",
            value=f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={dashboard.dashboard_name}",
        )

    # --- alerting ---------------------------------------------------------------------------------
    def _endpoint_metric(self, name: str, statistic: str, namespace: str = m.SAGEMAKER_NAMESPACE) -> cw.Metric:
        return cw.Metric(
            namespace=namespace,
            metric_name=name,
            dimensions_map={m.DIM_ENDPOINT: self.endpoint_name, m.DIM_VARIANT: m.VARIANT_NAME},
            statistic=statistic,
            period=self.period,
        )

    def _rule_alarms(self) -> dict[AlarmRule, cw.Alarm]:
        """Latency, error rates, cold starts and drift, from the rules the local mode evaluates too.

        An idle serverless endpoint emits nothing, and a window without traffic publishes no drift:
        missing data is not a breach.
        """
        alarms = {}
        for rule in alarm_rules(self.settings):
            dimensions = {m.DIM_ENDPOINT: self.endpoint_name}
            if rule.dimensions == ENDPOINT_DIMENSIONS:
                dimensions[m.DIM_VARIANT] = m.VARIANT_NAME
            metric = cw.Metric(
                namespace=rule.namespace,
                metric_name=rule.metric_name,
                dimensions_map=dimensions,
                statistic=rule.statistic,
                period=Duration.minutes(rule.period_minutes),
            )
            operator = (
                cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                if rule.inclusive
                else cw.ComparisonOperator.GREATER_THAN_THRESHOLD
            )
            alarms[rule] = cw.Alarm(
                self,
                rule.id,
                alarm_description=rule.description,
                metric=metric,
                threshold=rule.threshold,
                comparison_operator=operator,
                evaluation_periods=rule.evaluation_periods,
                datapoints_to_alarm=rule.evaluation_periods,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
        return alarms

    def _recovery_notices(self, alarms: Sequence[cw.Alarm]) -> None:
        """An alarm that was in ALARM and is OK again tells the topic; a new alarm's first OK does not."""
        field = events.EventField.from_path
        events.Rule(
            self,
            "AlarmRecoveries",
            description="Endpoint alarms that went from ALARM back to OK",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                resources=[alarm.alarm_arn for alarm in alarms],
                detail={"previousState": {"value": ["ALARM"]}, "state": {"value": ["OK"]}},
            ),
            targets=[
                targets.SnsTopic(
                    self.topic,
                    message=events.RuleTargetInput.from_text(
                        f"Recovered: {field('$.detail.alarmName')} is OK again. {field('$.detail.state.reason')}"
                    ),
                )
            ],
        )

    def _pipeline_alarms(self, capture_writer: lambda_.IFunction, capture_failures: sqs.IQueue) -> list[cw.Alarm]:
        """Capture records that could not be delivered, and drift runs that failed."""
        quiet = cw.TreatMissingData.NOT_BREACHING
        return [
            cw.Alarm(
                self,
                "CaptureDeliveryAlarm",
                alarm_description="Capture records failed delivery to S3 and wait in the dead-letter queue",
                metric=capture_failures.metric_approximate_number_of_messages_visible(
                    period=self.period, statistic="Maximum"
                ),
                threshold=0,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=quiet,
            ),
            cw.Alarm(
                self,
                "CaptureWriterErrorsAlarm",
                alarm_description="The capture Lambda failed (it is retried; see the dead-letter queue alarm)",
                metric=capture_writer.metric_errors(period=self.period, statistic="Sum"),
                threshold=0,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=quiet,
            ),
            cw.Alarm(
                self,
                "DriftJobErrorsAlarm",
                alarm_description="The scheduled drift job failed",
                metric=self.drift_job.function.metric_errors(period=Duration.hours(1), statistic="Sum"),
                threshold=0,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=quiet,
            ),
        ]

    # --- drift ------------------------------------------------------------------------------------
    def _drift_job(self, bucket: s3.IBucket, database: str, table: str) -> PythonFunction:
        """Scheduled: one Athena aggregation over the window, statistics in the Lambda, metrics out."""
        s = self.settings
        workgroup = athena.CfnWorkGroup(
            self,
            "DriftWorkGroup",
            name=s.name("drift"),
            description="Drift queries over captured requests",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=ATHENA_SCAN_LIMIT_BYTES,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{bucket.bucket_name}/{ATHENA_RESULTS_PREFIX}/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
        job = PythonFunction(
            self,
            "DriftJob",
            function_name=s.name("drift-job"),
            handler="mlops_stacks.handlers.drift_job.handler",
            description="Computes drift of captured requests against the served model's baseline",
            log_retention_days=s.log_retention_days,
            timeout=Duration.minutes(10),
            memory_size=512,
            environment={
                "ENDPOINT_NAME": self.endpoint_name,
                "CAPTURE_DATABASE": database,
                "CAPTURE_TABLE": table,
                "ATHENA_WORKGROUP": workgroup.name,
                "REPORT_BUCKET": bucket.bucket_name,
                **{name.upper(): str(getattr(s, name)) for name in DRIFT_SETTINGS},
            },
        )
        arn = f"arn:{self.partition}"
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        statements = [
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                ],
                resources=[f"{arn}:athena:{region_account}:workgroup/{workgroup.name}"],
            ),
            iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
                resources=[
                    f"{arn}:glue:{region_account}:catalog",
                    f"{arn}:glue:{region_account}:database/{database}",
                    f"{arn}:glue:{region_account}:table/{database}/{table}",
                ],
            ),
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket"],
                resources=[bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[
                    bucket.arn_for_objects(f"{CAPTURE_PREFIX}/{self.endpoint_name}/*"),
                    bucket.arn_for_objects(f"{REGISTRY_PREFIX}/*"),
                    bucket.arn_for_objects(f"{ATHENA_RESULTS_PREFIX}/*"),
                ],
            ),
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[
                    bucket.arn_for_objects(f"{ATHENA_RESULTS_PREFIX}/*"),
                    bucket.arn_for_objects(f"{DRIFT_REPORTS_PREFIX}/{self.endpoint_name}/*"),
                ],
            ),
            # Endpoint -> config -> model -> model package: where the served model's baseline is.
            iam.PolicyStatement(
                actions=[
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeModel",
                    "sagemaker:DescribeModelPackage",
                ],
                resources=[
                    f"{arn}:sagemaker:{region_account}:endpoint/{self.endpoint_name}",
                    f"{arn}:sagemaker:{region_account}:endpoint-config/*",
                    f"{arn}:sagemaker:{region_account}:model/*",
                    f"{arn}:sagemaker:{region_account}:model-package/{s.model_package_group_name}/*",
                ],
            ),
            # PutMetricData has no resource-level permissions; the namespace condition scopes it.
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": m.DRIFT_NAMESPACE}},
            ),
        ]
        for statement in statements:
            job.role.add_to_policy(statement)
        # One run per window: a failed run is reported by its alarm, not repeated by Lambda's two
        # asynchronous retries (each another Athena scan). EventBridge's own retries resend only an
        # invocation that Lambda did not accept, so the function still runs at most once.
        job.function.configure_async_invoke(retry_attempts=0)
        events.Rule(
            self,
            "DriftSchedule",
            description="Runs the drift job",
            schedule=events.Schedule.expression(s.drift_schedule),
            targets=[targets.LambdaFunction(job.function, retry_attempts=2)],
        )
        return job

    # --- dashboard --------------------------------------------------------------------------------
    def _dashboard(self, feature_names: Sequence[str]) -> cw.Dashboard:
        """Traffic, latency in ms, error rates in %, cold starts, memory, drift per feature, alarms."""
        endpoint = self._endpoint_metric
        latency_ms = cw.MathExpression(
            expression=f"latency / {m.MICROSECONDS_PER_MS}",
            using_metrics={"latency": endpoint(m.MODEL_LATENCY, "Average")},
            label="ModelLatency avg (ms)",
            period=self.period,
        )
        latency_max_ms = cw.MathExpression(
            expression=f"latencymax / {m.MICROSECONDS_PER_MS}",
            using_metrics={"latencymax": endpoint(m.MODEL_LATENCY, "Maximum")},
            label="ModelLatency max (ms)",
            period=self.period,
        )
        error_rates = [
            cw.MathExpression(
                expression=f"100 * e{kind}",
                using_metrics={f"e{kind}": endpoint(name, "Average")},
                label=f"{kind} error rate (%)",
                period=self.period,
            )
            for kind, name in (("4xx", m.INVOCATION_4XX), ("5xx", m.INVOCATION_5XX))
        ]
        cold_start_ms = cw.MathExpression(
            expression=f"setup / {m.MICROSECONDS_PER_MS}",
            using_metrics={"setup": endpoint(m.MODEL_SETUP_TIME, "Maximum")},
            label="ModelSetupTime max (ms)",
            period=self.period,
        )
        drift_metrics = [
            cw.Metric(
                namespace=m.DRIFT_NAMESPACE,
                metric_name=m.PSI,
                dimensions_map={m.DIM_ENDPOINT: self.endpoint_name, m.DIM_FEATURE: name},
                statistic="Maximum",
                period=Duration.hours(1),
                label=name,
            )
            for name in [*feature_names, m.SCORE_FEATURE]
        ]
        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=self.settings.name("dashboard"))
        dashboard.add_widgets(
            cw.GraphWidget(title="Invocations", left=[endpoint(m.INVOCATIONS, "Sum")], width=8),
            cw.GraphWidget(
                title="Model latency (ms)",
                left=[latency_ms, latency_max_ms],
                left_annotations=[cw.HorizontalAnnotation(value=self.settings.latency_threshold_ms, label="alarm")],
                width=8,
            ),
            cw.GraphWidget(
                title="Error rate (%)",
                left=error_rates,
                left_annotations=[
                    cw.HorizontalAnnotation(value=self.settings.error_rate_threshold_percent, label="alarm")
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Cold starts (ms)",
                left=[cold_start_ms],
                right=[endpoint(m.MODEL_SETUP_TIME, "SampleCount")],
                width=8,
            ),
            cw.GraphWidget(
                title="Memory utilization (%)",
                left=[endpoint(m.MEMORY_UTILIZATION, "Maximum", namespace=m.ENDPOINT_INSTANCE_NAMESPACE)],
                width=8,
            ),
            cw.GraphWidget(
                title="Drift: PSI per feature",
                left=drift_metrics,
                left_annotations=[
                    cw.HorizontalAnnotation(value=self.settings.drift_psi_warn, label="warn"),
                    cw.HorizontalAnnotation(value=self.settings.drift_psi_alert, label="alert"),
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))
        return dashboard
