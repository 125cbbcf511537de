"""Targeted assertions on what a reviewer of the stacks cares about."""

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from mlops_core import pipeline_states as states
from mlops_core.naming import served_model_run_id, training_job_name
from mlops_core.settings import Settings
from mlops_stacks.constructs.training_pipeline import SIGNAL_MARGIN
from monitoring import metrics as m

from .conftest import cdk_json_context, synthesize
from .state_machines import definition


def _template(synthesized, suffix: str) -> Template:
    return Template.from_json(synthesized.template(suffix))


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="module")
def variant(tmp_path_factory):
    """The app with non-default settings: e-mail alerts, provisioned concurrency, retained data."""
    return synthesize(
        tmp_path_factory.mktemp("variant"),
        {
            "alert_email": "ops@example.com",
            "serverless_max_concurrency": "4",
            "serverless_provisioned_concurrency": "2",
            "serverless_memory_size": "3072",
            "removal_policy": "retain",
            "github_repository": "octo-org/mlops",
            "monthly_budget_usd": "50",
        },
        nag=False,
    )


# Manual approval: the deploy waits for a person's decision too.
MANUAL = {"approval_mode": "manual", "approval_wait_hours": "6", "training_max_runtime_minutes": "120"}


@pytest.fixture(scope="module")
def manual(tmp_path_factory):
    """The app in manual approval mode with a longer job."""
    return synthesize(tmp_path_factory.mktemp("manual"), MANUAL, nag=False)


# --- endpoint -------------------------------------------------------------------------------------
def _deployer_environment(synthesized) -> dict[str, Any]:
    (function,) = [
        f["Properties"]
        for f in _resources(synthesized.template("endpoint"), "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "mlops_stacks.handlers.deployment.handler"
    ]
    return function["Environment"]["Variables"]


def test_the_endpoint_stack_holds_the_deployment_pipeline_its_run_and_its_clean_up(synthesized):
    # that it holds no SageMaker model, config or endpoint: tests/test_pipeline_definitions.py
    template = synthesized.template("endpoint")
    for kind in ("AWS::StepFunctions::StateMachine", "Custom::PipelineRun", "Custom::EndpointCleanup"):
        assert len(_resources(template, kind)) == 1, kind


def test_the_deployer_serves_with_the_default_memory_and_concurrency(synthesized):
    environment = _deployer_environment(synthesized)
    assert environment["ENDPOINT_NAME"] == "mlops-showcase-endpoint"
    assert (environment["MEMORY_MB"], environment["MAX_CONCURRENCY"]) == ("2048", "1")
    assert environment["PROVISIONED_CONCURRENCY"] == "0"
    assert environment["MODEL_PACKAGE_GROUP"] == "mlops-showcase-models"


def test_provisioned_concurrency_and_memory_come_from_the_settings(variant):
    environment = _deployer_environment(variant)
    assert (environment["MEMORY_MB"], environment["MAX_CONCURRENCY"]) == ("3072", "4")
    assert environment["PROVISIONED_CONCURRENCY"] == "2"


def test_the_endpoint_is_removed_before_its_log_group_and_after_the_pipeline_that_writes_it(synthesized):
    template = synthesized.template("endpoint")
    (cleanup_id, cleanup), *_ = _resources(template, "Custom::EndpointCleanup").items()
    (log_id,) = [
        k
        for k, v in _resources(template, "AWS::Logs::LogGroup").items()
        if v["Properties"].get("LogGroupName") == "/aws/sagemaker/Endpoints/mlops-showcase-endpoint"
    ]
    assert log_id in cleanup["DependsOn"]
    # CloudFormation deletes dependents first: the state machine and the approval rule go before the clean-up.
    for kind in ("AWS::StepFunctions::StateMachine", "AWS::Events::Rule"):
        for resource in _resources(template, kind).values():
            assert cleanup_id in resource["DependsOn"], kind


def test_the_deploy_starts_the_deployment_pipeline_for_the_registrys_training_run_and_waits(synthesized):
    template = synthesized.template("endpoint")
    (run_id, run), *_ = _resources(template, "Custom::PipelineRun").items()
    props = run["Properties"]
    registry = synthesized.stacks.registry
    assert props["RunId"] == served_model_run_id(Settings.from_context(cdk_json_context()), registry.training_run_id)
    assert json.loads(props["Input"]) == {"trigger": "deploy", "training_run": registry.training_run_id}
    (machine_id,) = _resources(template, "AWS::StepFunctions::StateMachine")
    assert props["StateMachineArn"] == {"Ref": machine_id}
    (condition,) = _resources(template, "AWS::CloudFormation::WaitCondition").values()
    assert condition["DependsOn"] == [run_id]
    assert condition["Properties"]["Handle"] == props["WaitHandle"]
    assert int(condition["Properties"]["Timeout"]) <= 12 * 3600
    # the default CDK deploy role may read only the bootstrap version parameter
    ssm_parameters = [n for n, p in template["Parameters"].items() if p["Type"].startswith("AWS::SSM::Parameter")]
    assert ssm_parameters == ["BootstrapVersion"]


def test_nothing_that_changes_per_training_run_crosses_stacks_as_an_export(synthesized):
    exports = {
        name: output
        for name, template in synthesized.templates.items()
        for output in template.get("Outputs", {}).values()
        if "Export" in output
    }
    text = json.dumps(exports)
    assert "ModelPackageArn" not in text and "TrainingRun" not in text
    for suffix in ("endpoint", "observability"):
        imports = json.dumps(synthesized.template(suffix)).count("Fn::ImportValue")
        registry_imports = json.dumps(synthesized.template(suffix)).count("mlops-showcase-registry")
        assert registry_imports == 0, f"{suffix} imports a value from the registry stack ({imports} imports)"


def test_capture_subscribes_to_the_endpoint_log_group_with_a_dead_letter_queue(synthesized):
    template = _template(synthesized, "endpoint")
    template.has_resource_properties(
        "AWS::Logs::SubscriptionFilter",
        {"LogGroupName": {"Ref": Match.string_like_regexp("EndpointLogs")}, "FilterPattern": '"MLOPS_CAPTURE"'},
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "mlops_stacks.handlers.capture_writer.handler",
            "DeadLetterConfig": {"TargetArn": Match.any_value()},
        },
    )


def test_capture_table_projects_hour_partitions_without_a_crawler(synthesized):
    template = synthesized.template("endpoint")
    (table,) = _resources(template, "AWS::Glue::Table").values()
    params = table["Properties"]["TableInput"]["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.dt.format"] == "yyyy/MM/dd/HH"
    assert params["projection.dt.interval.unit"] == "HOURS"
    assert not _resources(template, "AWS::Glue::Crawler")


# --- registry -------------------------------------------------------------------------------------
def _training(synthesized) -> dict[str, Any]:
    return definition(synthesized.templates, "training")


def test_training_runs_in_the_xgboost_3_0_5_container_in_script_mode(synthesized):
    train = _training(synthesized)["States"][states.TRAIN]
    assert train["Resource"].endswith(":states:::sagemaker:createTrainingJob.sync")
    request = train["Parameters"]
    assert request["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:3.0-5")
    assert request["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert request["StoppingCondition"]["MaxRuntimeInSeconds"] == 30 * 60
    assert request["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert "XgboostImageAccount" in synthesized.template("registry")["Mappings"]
    (register,) = [
        f["Properties"]["Environment"]["Variables"]
        for f in _resources(synthesized.template("registry"), "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "mlops_stacks.handlers.register_version.handler"
    ]
    assert float(register["MIN_VALIDATION_AUC"]) == 0.75
    assert register["APPROVAL_MODE"] == "automatic"


def test_the_deploy_waits_for_its_training_run_as_long_as_the_job_may_run_and_no_longer_than_12_hours(
    synthesized, manual
):
    timeouts = []
    for app, settings in ((synthesized, Settings()), (manual, Settings.from_context(MANUAL))):
        (condition,) = _resources(app.template("registry"), "AWS::CloudFormation::WaitCondition").values()
        timeout = int(condition["Properties"]["Timeout"])
        assert timeout == settings.training_wait_minutes * 60 <= 12 * 3600
        max_runtime = settings.training_max_runtime_minutes * 60
        train = definition(app.templates, "training")["States"][states.TRAIN]
        assert train["Parameters"]["StoppingCondition"]["MaxRuntimeInSeconds"] == max_runtime
        # Train times out early enough for the run to explain the failure, notify and signal it.
        assert max_runtime < train["TimeoutSeconds"] <= timeout - SIGNAL_MARGIN.to_seconds()
        timeouts.append(timeout)
    # manual mode also waits for the approval
    assert timeouts[1] >= 120 * 60 + 6 * 3600


def test_the_deploys_training_run_trains_on_the_storage_stacks_data_once_per_run_id(synthesized):
    template = synthesized.template("registry")
    (run,) = _resources(template, "Custom::PipelineRun").values()
    props = run["Properties"]
    assert props["RunId"] == synthesized.stacks.registry.training_run_id
    run_input = json.dumps(props["Input"])
    data_prefix = synthesized.stacks.storage.data_prefix
    assert f"/{data_prefix}/train/" in run_input and f"/{data_prefix}/validation/" in run_input
    # a new run gets a new handle and condition: both carry the run id in their logical IDs
    (handle_id,) = _resources(template, "AWS::CloudFormation::WaitConditionHandle")
    (condition_id,) = _resources(template, "AWS::CloudFormation::WaitCondition")
    assert props["RunId"] in handle_id and props["RunId"] in condition_id


def test_job_name_changes_exactly_when_what_shapes_the_model_changes():
    base = Settings()
    name = training_job_name(base, "data1", "code1")
    assert name == training_job_name(Settings(), "data1", "code1")
    assert len(name) <= 63 and name.startswith("mlops-showcase-")
    assert name != training_job_name(base, "data2", "code1")
    assert name != training_job_name(base, "data1", "code2")
    tuned = Settings.from_context({"hyperparameters": '{"eta": "0.3"}'})
    assert name != training_job_name(tuned, "data1", "code1")
    retrained = Settings.from_context({"retrain_token": "capacity-retry-1"})
    assert name != training_job_name(retrained, "data1", "code1")
    alerted = Settings.from_context({"alert_email": "ops@example.com"})
    assert name == training_job_name(alerted, "data1", "code1")


def test_the_registry_clean_up_runs_after_the_pipeline_and_before_the_group_it_empties(synthesized):
    template = synthesized.template("registry")
    (group_id,) = _resources(template, "AWS::SageMaker::ModelPackageGroup")
    (cleanup_id, cleanup), *_ = _resources(template, "Custom::RegistryCleanup").items()
    assert group_id in cleanup["DependsOn"]
    for kind in ("AWS::StepFunctions::StateMachine", "AWS::Events::Rule"):
        for resource in _resources(template, kind).values():
            assert cleanup_id in resource["DependsOn"], kind
    assert cleanup["Properties"]["JobNamePrefix"] == "mlops-showcase-"


def test_each_pipeline_logs_everything_but_execution_data_to_its_own_vended_log_group(synthesized):
    for suffix, purpose in (("registry", "training"), ("endpoint", "deployment")):
        template = synthesized.template(suffix)
        (machine,) = _resources(template, "AWS::StepFunctions::StateMachine").values()
        props = machine["Properties"]
        assert props["StateMachineName"] == f"mlops-showcase-{purpose}"
        assert props["TracingConfiguration"] == {"Enabled": True}
        logging = props["LoggingConfiguration"]
        assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False
        group_id = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        group = template["Resources"][group_id]["Properties"]
        assert group["LogGroupName"] == f"/aws/vendedlogs/states/mlops-showcase-{purpose}"


# --- storage --------------------------------------------------------------------------------------
def test_buckets_are_private_tls_only_encrypted_and_emptied_on_destroy(synthesized):
    template = synthesized.template("storage")
    buckets = _resources(template, "AWS::S3::Bucket")
    assert len(buckets) == 2
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert "BucketEncryption" in props
        assert bucket["DeletionPolicy"] == "Delete"
    # checkov's S3 logging/versioning skips rely on this: only the access-log bucket lacks them
    (artifacts,) = [b["Properties"] for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert artifacts["VersioningConfiguration"] == {"Status": "Enabled"}
    policies = json.dumps(_resources(template, "AWS::S3::BucketPolicy"))
    assert policies.count('"aws:SecureTransport": "false"') == 2
    emptied = {json.dumps(r["Properties"]["Bucket"]) for r in _resources(template, "Custom::EmptyBucket").values()}
    assert emptied == {json.dumps({"Ref": logical_id}) for logical_id in buckets}


def test_the_artifact_bucket_sends_its_events_to_eventbridge_without_a_custom_resource(synthesized):
    template = synthesized.template("storage")
    (artifacts,) = [
        b["Properties"]
        for b in _resources(template, "AWS::S3::Bucket").values()
        if "LoggingConfiguration" in b["Properties"]
    ]
    assert artifacts["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert not _resources(template, "Custom::S3BucketNotifications")


def test_retain_keeps_buckets_and_registry_and_empties_nothing(variant):
    storage = variant.template("storage")
    assert {b["DeletionPolicy"] for b in _resources(storage, "AWS::S3::Bucket").values()} == {"Retain"}
    assert not _resources(storage, "Custom::EmptyBucket")
    (group,) = _resources(variant.template("registry"), "AWS::SageMaker::ModelPackageGroup").values()
    assert group["DeletionPolicy"] == "Retain"


def test_capture_expires_after_the_retention_setting(synthesized):
    template = synthesized.template("storage")
    rules = [
        rule
        for bucket in _resources(template, "AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    ]
    capture = [r for r in rules if r.get("Prefix") == "capture/"]
    assert capture and capture[0]["ExpirationInDays"] == 90


def test_every_log_group_has_retention_and_is_removed_on_destroy(synthesized):
    groups = [g for t in synthesized.templates.values() for g in _resources(t, "AWS::Logs::LogGroup").values()]
    assert len(groups) >= 6
    assert all(g["Properties"]["RetentionInDays"] == 30 and g["DeletionPolicy"] == "Delete" for g in groups)


def test_every_lambda_has_its_own_log_group_and_the_newest_python(synthesized):
    functions = [
        f
        for t in synthesized.templates.values()
        for f in _resources(t, "AWS::Lambda::Function").values()
        if str(f["Properties"].get("Runtime", "")).startswith("python")
    ]
    assert len(functions) >= 5
    assert all(f["Properties"]["Runtime"] == "python3.14" for f in functions)
    assert all("LoggingConfig" in f["Properties"] for f in functions)


def test_each_lambdas_log_group_is_where_the_provider_framework_points_a_failed_deploy(synthesized):
    # The framework appends "Logs: /aws/lambda/<function name>" to a handler's error.
    for template in synthesized.templates.values():
        groups = _resources(template, "AWS::Logs::LogGroup")
        for function in _resources(template, "AWS::Lambda::Function").values():
            properties = function["Properties"]
            if not str(properties.get("Runtime", "")).startswith("python"):
                continue
            group = groups[properties["LoggingConfig"]["LogGroup"]["Ref"]]
            assert group["Properties"]["LogGroupName"] == f"/aws/lambda/{properties['FunctionName']}"


# --- observability --------------------------------------------------------------------------------
def _alarm(template: dict[str, Any], metric: str) -> dict[str, Any]:
    (alarm,) = [
        a
        for a in _resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == metric
    ]
    return alarm["Properties"]


def test_latency_alarm_threshold_is_in_microseconds(synthesized):
    alarm = _alarm(synthesized.template("observability"), m.MODEL_LATENCY)
    assert alarm["Threshold"] == 5_000_000
    assert alarm["Statistic"] == "Average"
    assert alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("metric", [m.INVOCATION_4XX, m.INVOCATION_5XX])
def test_error_rate_alarms_use_the_average_of_the_one_zero_metric(synthesized, metric):
    alarm = _alarm(synthesized.template("observability"), metric)
    assert alarm["Threshold"] == pytest.approx(0.05)
    assert alarm["Statistic"] == "Average"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert {d["Name"] for d in alarm["Dimensions"]} == {"EndpointName", "VariantName"}


def test_cold_start_and_drift_alarms_exist_with_their_units(synthesized):
    template = synthesized.template("observability")
    assert _alarm(template, m.MODEL_SETUP_TIME)["Threshold"] == 20_000_000
    drift = _alarm(template, m.MAX_PSI)
    assert drift["Namespace"] == m.DRIFT_NAMESPACE
    assert drift["Threshold"] == 0.2


def test_every_alarm_notifies_the_encrypted_topic_of_the_storage_stack(synthesized):
    storage = synthesized.template("storage")
    (topic_id, topic), *_ = _resources(storage, "AWS::SNS::Topic").items()
    assert "KmsMasterKeyId" in topic["Properties"]
    alarms = _resources(synthesized.template("observability"), "AWS::CloudWatch::Alarm").values()
    assert len(alarms) >= 8
    actions = {json.dumps(alarm["Properties"]["AlarmActions"]) for alarm in alarms}
    (action,) = actions
    assert "mlops-showcase-storage" in action and topic_id in action
    assert not _resources(synthesized.template("observability"), "AWS::SNS::Topic")


def test_only_real_recoveries_of_the_endpoint_alarms_are_told_no_ok_on_every_deploy(synthesized):
    template = synthesized.template("observability")
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    assert not any("OKActions" in a["Properties"] for a in alarms.values())
    (rule,) = [
        r["Properties"]
        for r in _resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.cloudwatch"]
    ]
    pattern = rule["EventPattern"]
    assert pattern["detail"] == {"previousState": {"value": ["ALARM"]}, "state": {"value": ["OK"]}}
    recovering = {alarms[r["Fn::GetAtt"][0]]["Properties"].get("MetricName") for r in pattern["resources"]}
    assert recovering == {m.MODEL_LATENCY, m.INVOCATION_5XX, m.INVOCATION_4XX}


def test_a_failed_drift_run_is_not_retried_by_lambda(synthesized):
    template = synthesized.template("observability")
    (config,) = _resources(template, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["MaximumRetryAttempts"] == 0
    (function_id,) = [
        k
        for k, f in _resources(template, "AWS::Lambda::Function").items()
        if "drift" in f["Properties"]["FunctionName"]
    ]
    assert config["Properties"]["FunctionName"] == {"Ref": function_id}


def test_versions_take_their_tags_from_the_group_which_carries_the_project_tags(synthesized):
    (group,) = _resources(synthesized.template("registry"), "AWS::SageMaker::ModelPackageGroup").values()
    assert {t["Key"]: t["Value"] for t in group["Properties"]["Tags"]}["project"] == "mlops-showcase"


def test_email_subscription_only_when_alert_email_is_set(synthesized, variant):
    assert not _resources(synthesized.template("storage"), "AWS::SNS::Subscription")
    Template.from_json(variant.template("storage")).has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_a_failed_training_run_is_told_by_its_pipeline_not_by_a_second_rule(synthesized):
    rules = _resources(synthesized.template("observability"), "AWS::Events::Rule").values()
    assert not any("aws.sagemaker" in json.dumps(r["Properties"].get("EventPattern", {})) for r in rules)
    training = _training(synthesized)["States"]
    explain = training[states.EXPLAIN_FAILURE]
    assert training[states.TRAIN]["Catch"][0]["Next"] == states.EXPLAIN_FAILURE
    notify = training[explain["Next"]]
    assert notify["Resource"].endswith(":states:::sns:publish")
    assert notify["Parameters"]["TopicArn"].endswith(":mlops-showcase-storage-Alerts91F83244-generated")


def test_drift_job_runs_on_the_schedule_with_its_thresholds(synthesized):
    template = _template(synthesized, "observability")
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(1 hour)"})
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "mlops_stacks.handlers.drift_job.handler",
            "Environment": {
                "Variables": Match.object_like(
                    {"DRIFT_PSI_WARN": "0.1", "DRIFT_PSI_ALERT": "0.2", "DRIFT_MEAN_SHIFT_SD": "0.25"}
                )
            },
        },
    )


def test_dashboard_shows_latency_in_ms_and_drift_per_feature(synthesized):
    template = synthesized.template("observability")
    (dashboard,) = _resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "latency / 1000" in body
    for feature in synthesized.stacks.storage.feature_names:
        assert feature in body


def test_every_resource_that_takes_tags_carries_the_project_tag(synthesized):
    for template in synthesized.templates.values():
        for resource in template["Resources"].values():
            tags = resource.get("Properties", {}).get("Tags")
            if isinstance(tags, list) and tags and isinstance(tags[0], dict) and "Key" in tags[0]:
                assert {"Key": "project", "Value": "mlops-showcase"} in tags


def test_github_oidc_stack_and_budget_exist_only_when_their_settings_are_set(synthesized, variant):
    assert not any(name.endswith("-github-oidc") for name in synthesized.templates)
    assert any(name.endswith("-github-oidc") for name in variant.templates)
    assert not _resources(synthesized.template("observability"), "AWS::Budgets::Budget")
    (budget,) = _resources(variant.template("observability"), "AWS::Budgets::Budget").values()
    assert budget["Properties"]["Budget"]["BudgetLimit"]["Amount"] == 50


def test_training_and_serving_code_live_at_an_immutable_key_in_our_bucket(synthesized):
    code_key = synthesized.stacks.storage.sourcedir_uri.split("/", 3)[-1]
    assert code_key.startswith("code/") and code_key.endswith("/sourcedir.tar.gz")
    train = _training(synthesized)["States"][states.TRAIN]
    assert train["Parameters"]["HyperParameters"]["sagemaker_submit_directory"].endswith(f'/{code_key}"')
    (register,) = [
        f["Properties"]["Environment"]["Variables"]
        for f in _resources(synthesized.template("registry"), "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "mlops_stacks.handlers.register_version.handler"
    ]
    assert code_key in json.dumps(register["SERVING_ENVIRONMENT"])
    # nothing of ours reads the CDK asset bucket, whose keys a later deploy or `cdk gc` may drop
    assert "cdk-hnb659fds-assets" not in json.dumps(_resources(synthesized.template("registry"), "AWS::IAM::Policy"))


def test_retain_keeps_the_registry_versions_and_destroy_cleans_training_logs(synthesized, variant):
    def cleanup(s):
        (resource,) = _resources(s.template("registry"), "Custom::RegistryCleanup").values()
        return resource["Properties"]

    assert cleanup(synthesized)["RetainVersions"] == "false"
    assert cleanup(variant)["RetainVersions"] == "true"
    assert cleanup(synthesized)["TrainingLogGroup"] == "/aws/sagemaker/TrainingJobs"
