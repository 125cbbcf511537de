"""TrainingPipeline: train, register behind the quality gate, wait for a person's decision, notify, signal.

The Train state waits for the job itself (`sagemaker:createTrainingJob.sync`), so a job may run
for `training_max_runtime_minutes` (up to 11 hours), not a custom resource's hour; Train times out
SIGNAL_MARGIN before the deploy's wait ends, so that even then the run signals its reason. A run's input names its
data (`data.train`, `data.validation`) and, when a deploy waits on it, the wait handle; the job
is named `<project>-<MD5 of the execution ARN>` (`naming.pipeline_job_name`). docs/pipeline.md
draws the states; their names are `mlops_core.pipeline_states`.
"""

from __future__ import annotations

import json

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlops_core import pipeline_states as states
from mlops_core.naming import MODELS_PREFIX, REGISTRY_PREFIX, TRAINING_LOG_GROUP
from mlops_core.quality_gate import APPROVED, PENDING_MANUAL_APPROVAL, REJECTED
from mlops_core.sagemaker_inputs import serving_environment, training_hyperparameters, training_job_request
from mlops_core.settings import RUN_OVERHEAD_MINUTES, Settings
from mlops_stacks.constructs.pipeline_state_machine import (
    ERROR,
    PipelineStateMachine,
    arn,
    error_from,
    failed,
    invoke,
    notify,
    state_parameters,
    succeeded,
    wait_signal_function,
)
from mlops_stacks.constructs.python_function import PythonFunction
from mlops_stacks.xgboost_image import xgboost_image_uri
from model_code.metric_definitions import METRIC_DEFINITIONS

APPROVAL_POLL = Duration.minutes(1)
SIGNAL_MARGIN = Duration.minutes(10)
# SageMaker's managed rule through which `.sync` learns that a training job ended
# (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html).
SYNC_RULE = "StepFunctionsGetEventsForSageMakerTrainingJobsRule"


class TrainingPipeline(Construct):
    """The training pipeline: its state machine, role, log group and the three Lambdas it calls."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        bucket: s3.IBucket,
        execution_role: iam.IRole,
        group_name: str,
        sourcedir_uri: str,
        topic: sns.ITopic,
        topic_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.topic = topic
        image = xgboost_image_uri(Stack.of(self))
        self.output_path = f"s3://{bucket.bucket_name}/{MODELS_PREFIX}"
        self.job_name_prefix = f"{settings.project_name}-"
        self._functions(bucket, group_name, image, sourcedir_uri)

        request = training_job_request(
            settings,
            job_name="$.run.job_name",
            role_arn=execution_role.role_arn,
            image=image,
            hyperparameters={
                **training_hyperparameters(settings, sourcedir_uri, Aws.REGION),
                # The SageMaker SDK sets it too; the container's environment names the job with it.
                "sagemaker_job_name": "States.JsonToString($.run.job_name)",
            },
            metric_definitions=METRIC_DEFINITIONS,
            train_uri="$.data.train",
            validation_uri="$.data.validation",
            output_path=self.output_path,
        )
        max_runtime = settings.training_max_runtime_minutes * 60
        train = sfn.CustomState(
            self,
            states.TRAIN,
            state_json={
                "Type": "Task",
                "Resource": f"arn:{Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync",
                "Parameters": state_parameters(request),
                "ResultSelector": {
                    "job_name.$": "$.TrainingJobName",
                    "model_data_url.$": "$.ModelArtifacts.S3ModelArtifacts",
                },
                "ResultPath": "$.training",
                # The job's own MaxRuntime stops it; the state allows for the instance's start as well,
                # and times out SIGNAL_MARGIN before the deploy's wait ends, so the run can still
                # explain the failure, notify and signal it.
                "TimeoutSeconds": max_runtime + RUN_OVERHEAD_MINUTES * 60 - int(SIGNAL_MARGIN.to_seconds()),
            },
        )
        definition = self._definition(train)
        group_arn = arn(self, "sagemaker", f"model-package/{group_name.lower()}/*")
        jobs_arn = arn(self, "sagemaker", f"training-job/{self.job_name_prefix.lower()}*")
        statements = [
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                resources=[jobs_arn],
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[arn(self, "events", f"rule/{SYNC_RULE}")],
            ),
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[f.function.function_arn for f in (self.register, self.explain, self.signal)],
            ),
            iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=[group_arn]),
        ]
        self.pipeline = PipelineStateMachine(
            self,
            "StateMachine",
            settings=settings,
            purpose="training",
            definition=definition,
            timeout=Duration.minutes(settings.training_wait_minutes),
            statements=statements,
            topic=topic,
            topic_key=topic_key,
        )
        self.state_machine = self.pipeline.state_machine

    def _functions(self, bucket: s3.IBucket, group_name: str, image: str, sourcedir_uri: str) -> None:
        """RegisterVersion, ExplainFailure and the wait signal, each with exactly its own permissions."""
        s = self.settings
        common = {"log_retention_days": s.log_retention_days}
        self.register = PythonFunction(
            self,
            "RegisterVersion",
            function_name=s.name("register-version"),
            handler="mlops_stacks.handlers.register_version.handler",
            description="Registers a trained model behind the quality gate (Approved, pending or Rejected)",
            timeout=Duration.minutes(5),
            memory_size=512,
            environment={
                "MODEL_PACKAGE_GROUP": group_name,
                "TRAINING_IMAGE": image,
                "SERVING_ENVIRONMENT": Stack.of(self).to_json_string(serving_environment(s, sourcedir_uri, Aws.REGION)),
                "MIN_VALIDATION_AUC": repr(s.min_validation_auc),
                "APPROVAL_MODE": s.approval_mode,
                "ARTIFACT_BUCKET": bucket.bucket_name,
                "ARTIFACT_PREFIX": REGISTRY_PREFIX,
            },
            **common,
        )
        self.explain = PythonFunction(
            self,
            "ExplainFailure",
            function_name=s.name("explain-failure"),
            handler="mlops_stacks.handlers.training_failure.handler",
            description="Turns a failed training run's error into its reason (train.py's own, from the job's log)",
            **common,
        )
        self.signal = wait_signal_function(self, s, "training")
        group_arn = arn(self, "sagemaker", f"model-package/{group_name.lower()}/*")
        jobs_arn = arn(self, "sagemaker", f"training-job/{self.job_name_prefix.lower()}*")
        training_logs = arn(self, "logs", f"log-group:{TRAINING_LOG_GROUP}")
        for statement in (
            iam.PolicyStatement(actions=["sagemaker:DescribeTrainingJob"], resources=[jobs_arn]),
            # No AddTags: a version takes its group's tags (CreateModelPackage sends none).
            iam.PolicyStatement(
                actions=["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"],
                resources=[group_arn, arn(self, "sagemaker", f"model-package-group/{group_name.lower()}")],
            ),
            # ListModelPackages has no resource-level permissions.
            iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"]),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{MODELS_PREFIX}/*")]),
            # Without ListBucket a missing artifact answers 403 instead of 404.
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{MODELS_PREFIX}/*"]}},
            ),
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{REGISTRY_PREFIX}/*")]),
        ):
            self.register.role.add_to_policy(statement)
        for statement in (
            iam.PolicyStatement(actions=["sagemaker:DescribeTrainingJob"], resources=[jobs_arn]),
            # DescribeLogStreams is authorized on the group's `:*` ARN (botocore logs LogGroup.arn).
            iam.PolicyStatement(actions=["logs:DescribeLogStreams"], resources=[f"{training_logs}:*"]),
            iam.PolicyStatement(
                actions=["logs:GetLogEvents"],
                resources=[f"{training_logs}:log-stream:{self.job_name_prefix}*"],
            ),
        ):
            self.explain.role.add_to_policy(statement)

    def _definition(self, train: sfn.CustomState) -> sfn.IChainable:
        """Apply settings → Train → Register → gate decision → (approval) → notify → signal."""
        s = self.settings
        polls = max(1, int(s.approval_wait_hours * 3600 // APPROVAL_POLL.to_seconds()))
        apply_settings = sfn.Pass(
            self,
            states.APPLY_SETTINGS,
            parameters=state_parameters(
                {
                    "job_name": f"States.Format('{s.project_name}-{{}}', States.Hash($$.Execution.Id, 'MD5'))",
                    "timing": {"approval_poll_seconds": int(APPROVAL_POLL.to_seconds()), "approval_polls": polls},
                    "waited": {"polls": 0},
                }
            ),
            result_path="$.run",
        )
        topic, fn = self.topic, self.signal.function
        sink = notify(
            self,
            states.NOTIFY_NOT_REGISTERED,
            topic,
            f"States.Format('{s.project_name}: training run {{}} registered no approved version. {{}}: {{}}', "
            f"$$.Execution.Name, {ERROR}.Error, {ERROR}.Cause)",
            failed(self, fn, states.NOT_REGISTERED),
        )
        explain = invoke(
            self,
            states.EXPLAIN_FAILURE,
            self.explain.function,
            {"job_name": "$.run.job_name", "error": ERROR},
            ERROR,
        )
        # Even the explanation may fail (a Lambda error): the run still ends with a reason.
        explain.add_catch(sink, errors=[sfn.Errors.ALL], result_path=ERROR)
        explain.next(sink)
        train.add_catch(explain, errors=[sfn.Errors.ALL], result_path=ERROR)

        register = invoke(
            self,
            states.REGISTER,
            self.register.function,
            {"job_name": "$.run.job_name", "training_run": "$.run_id"},
            "$.version",
        )
        register.add_catch(explain, errors=[sfn.Errors.ALL], result_path=ERROR)
        registered = notify(
            self,
            states.NOTIFY_REGISTERED,
            topic,
            f"States.Format('{s.project_name}: version {{}} is Approved ({{}}); the deployment pipeline rolls it "
            "out.', $.version.version, $.version.reason)",
            succeeded(
                self,
                fn,
                "States.Format('version {} of training job {} is Approved', $.version.version, $.run.job_name)",
                states.REGISTERED,
            ),
        )
        rejected_by_gate = error_from(
            self,
            states.REJECTED_BY_GATE,
            "RejectedByQualityGate",
            "States.Format('the model of training job {} is registered as version {}, Rejected: {}', "
            "$.run.job_name, $.version.version, $.version.reason)",
        ).next(sink)

        read = tasks.CallAwsService(
            self,
            states.READ_APPROVAL,
            service="sagemaker",
            action="describeModelPackage",
            parameters={"ModelPackageName": sfn.JsonPath.string_at("$.version.arn")},
            iam_resources=[arn(self, "sagemaker", "model-package/*")],
            result_selector={"status": sfn.JsonPath.string_at("$.ModelApprovalStatus")},
            result_path="$.approval",
        )
        read.add_catch(explain, errors=[sfn.Errors.ALL], result_path=ERROR)
        wait = sfn.Wait(
            self,
            states.WAIT_FOR_DECISION,
            time=sfn.WaitTime.seconds_path("$.run.timing.approval_poll_seconds"),
        )
        count = sfn.Pass(
            self,
            states.COUNT_WAIT,
            parameters=state_parameters({"polls": "States.MathAdd($.run.waited.polls, 1)"}),
            result_path="$.run.waited",
        )
        decided = (
            sfn.Choice(self, states.DECIDED)
            .when(sfn.Condition.string_equals("$.approval.status", APPROVED), registered)
            .when(
                sfn.Condition.string_equals("$.approval.status", REJECTED),
                error_from(
                    self,
                    states.REJECTED_BY_PERSON,
                    "RejectedByPerson",
                    "States.Format('version {} was rejected in the registry', $.version.version)",
                ).next(sink),
            )
            .when(
                sfn.Condition.number_greater_than_equals_json_path("$.run.waited.polls", "$.run.timing.approval_polls"),
                error_from(
                    self,
                    states.NO_DECISION,
                    "NoDecision",
                    f"States.Format('nobody approved or rejected version {{}} within {s.approval_wait_hours} h "
                    "(approval_wait_hours); it stays PendingManualApproval', $.version.version)",
                ).next(sink),
            )
            .otherwise(count.next(wait))
        )
        wait.next(read).next(decided)
        awaiting = notify(
            self,
            states.NOTIFY_AWAITING_APPROVAL,
            topic,
            f"States.Format('{s.project_name}: version {{}} ({{}}) awaits approval: `mlops approve {{}}` or "
            "`mlops reject {}`', $.version.version, $.version.reason, $.version.version, $.version.version)",
            sfn.Choice(self, states.DEPLOY_WAITING)
            .when(sfn.Condition.is_present("$.wait_handle"), wait)
            .otherwise(sfn.Succeed(self, states.AWAITING_APPROVAL)),
        )
        gate = (
            sfn.Choice(self, states.GATE_DECISION)
            .when(sfn.Condition.string_equals("$.version.status", APPROVED), registered)
            .when(sfn.Condition.string_equals("$.version.status", PENDING_MANUAL_APPROVAL), awaiting)
            .otherwise(rejected_by_gate)
        )
        return apply_settings.next(train).next(register).next(gate)

    def cleanup_properties(self) -> dict[str, str]:
        """What the registry's clean-up needs to find this pipeline's jobs and their log streams."""
        return {
            "JobNamePrefix": self.job_name_prefix,
            "OutputPath": self.output_path,
            "TrainingLogGroup": TRAINING_LOG_GROUP,
            "RetainVersions": json.dumps(self.settings.removal_policy == "retain"),
        }
