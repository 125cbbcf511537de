"""Cross-field rules that AWS documents for the operations this project calls, and moto skips.

Each rule quotes the sentence of the botocore documentation it enforces (the API reference text,
in `botocore/data/<service>/<version>/service-2.json`) and names the shape and member that
carry it, so a reader can check the rule against its source; `tests/test_request_checks.py`
checks that every quote is still in the installed botocore. A rule applies to the members the
project sends: documented constraints on members the project never sets are left out.

Long on purpose: some 55 rules, each a small check with its quoted sentence, make one table that a
reviewer reads against the botocore documentation, section by service.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Params = Mapping[str, Any]
Check = Callable[[Params], str | None]


@dataclass(frozen=True)
class DocumentedRule:
    """One documented constraint: where AWS states it, the sentence, and the check of a request."""

    service: str
    operations: tuple[str, ...]
    source: str  # "<shape>.<member>" (or "<operation>" for the operation's own text) in botocore
    text: str
    check: Check

    def problem(self, params: Params) -> str | None:
        """What the request does wrong under this rule, quoting the rule; None when it complies."""
        detail = self.check(params)
        if detail is None:
            return None
        return f'{detail}. AWS documents: "{self.text}" (botocore {self.service} {self.source})'


def _given(params: Params, name: str) -> bool:
    return params.get(name) is not None


def _each(value: Any) -> Iterator[Mapping[str, Any]]:
    yield from (item for item in value or () if isinstance(item, Mapping))


def _exactly_one(*names: str) -> Check:
    def check(params: Params) -> str | None:
        given = [name for name in names if _given(params, name)]
        if len(given) == 1:
            return None
        return f"{' and '.join(given)} given together" if given else f"none of {', '.join(names)} given"

    return check


def _not_together(first: str, *others: str) -> Check:
    def check(params: Params) -> str | None:
        clash = [name for name in others if _given(params, name)]
        return f"{first} given with {', '.join(clash)}" if _given(params, first) and clash else None

    return check


# --- SageMaker -------------------------------------------------------------------------------


def _versioned_package_without_tags(params: Params) -> str | None:
    if _given(params, "ModelPackageGroupName") and params.get("Tags"):
        return f"Tags given with ModelPackageGroupName {params['ModelPackageGroupName']!r}"
    return None


def _unversioned_package_lists_instance_types(params: Params) -> str | None:
    if _given(params, "ModelPackageGroupName"):
        return None
    spec = params.get("InferenceSpecification") or {}
    missing = [
        name
        for name in ("SupportedTransformInstanceTypes", "SupportedRealtimeInferenceInstanceTypes")
        if spec and not spec.get(name)
    ]
    return f"an unversioned package without InferenceSpecification.{', '.join(missing)}" if missing else None


def _approval_only_for_versions(params: Params) -> str | None:
    if _given(params, "ModelApprovalStatus") and not _given(params, "ModelPackageGroupName"):
        return "ModelApprovalStatus given for an unversioned package (no ModelPackageGroupName)"
    return None


def _package_containers(params: Params) -> Iterator[Mapping[str, Any]]:
    yield from _each((params.get("InferenceSpecification") or {}).get("Containers"))


def _model_data_is_tar_gz(params: Params) -> str | None:
    for container in _package_containers(params):
        url = container.get("ModelDataUrl")
        if url is not None and not str(url).endswith(".tar.gz"):
            return f"ModelDataUrl {url!r} does not end with .tar.gz"
    return None


def _package_environment_fits(params: Params) -> str | None:
    for container in _package_containers(params):
        environment = container.get("Environment") or {}
        if len(environment) > 16:
            return f"a container Environment with {len(environment)} entries"
        long = [key for key, value in environment.items() if len(key) > 1024 or len(str(value)) > 1024]
        if long:
            return f"Environment entry {long[0]!r} longer than 1024"
    return None


def _group_listing_names_its_type(params: Params) -> str | None:
    if _given(params, "ModelPackageGroupName") and not _given(params, "ModelPackageType"):
        return (
            "a listing of group {!r} without ModelPackageType: AWS lists only unversioned packages "
            "then, and a group holds versions (moto lists them anyway)"
        ).format(params["ModelPackageGroupName"])
    return None


def _one_algorithm_source(params: Params) -> str | None:
    return _exactly_one("TrainingImage", "AlgorithmName")(params.get("AlgorithmSpecification") or {})


def _hyperparameters_fit(params: Params) -> str | None:
    for key, value in (params.get("HyperParameters") or {}).items():
        if len(key) > 256 or len(str(value)) > 256:
            return f"hyperparameter {key!r} has a key or value longer than 256 characters"
    return None


def _augmented_manifest_in_pipe_mode(params: Params) -> str | None:
    default_mode = (params.get("AlgorithmSpecification") or {}).get("TrainingInputMode")
    for channel in _each(params.get("InputDataConfig")):
        source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
        mode = channel.get("InputMode") or default_mode
        if source.get("S3DataType") == "AugmentedManifestFile" and mode != "Pipe":
            return f"channel {channel.get('ChannelName')!r} reads an AugmentedManifestFile in {mode} mode"
    return None


def _wait_covers_runtime(params: Params) -> str | None:
    stopping = params.get("StoppingCondition") or {}
    wait, runtime = stopping.get("MaxWaitTimeInSeconds"), stopping.get("MaxRuntimeInSeconds")
    if wait is not None and runtime is not None and wait < runtime:
        return f"MaxWaitTimeInSeconds {wait} is less than MaxRuntimeInSeconds {runtime}"
    return None


def _unique_tag_keys(params: Params) -> str | None:
    keys = [tag.get("Key") for tag in _each(params.get("Tags"))]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    return f"tag key {duplicated[0]!r} given twice" if duplicated else None


def _serverless_variants(params: Params) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    for variant in _each(params.get("ProductionVariants")):
        serverless = variant.get("ServerlessConfig")
        if isinstance(serverless, Mapping):
            yield variant, serverless


def _memory_in_whole_gigabytes(params: Params) -> str | None:
    for variant, serverless in _serverless_variants(params):
        memory = serverless.get("MemorySizeInMB")
        if memory is not None and memory % 1024:
            return f"variant {variant.get('VariantName')!r} asks for {memory} MB"
    return None


def _provisioned_within_max(params: Params) -> str | None:
    for variant, serverless in _serverless_variants(params):
        provisioned, most = serverless.get("ProvisionedConcurrency"), serverless.get("MaxConcurrency")
        if provisioned is not None and most is not None and provisioned > most:
            return f"variant {variant.get('VariantName')!r} provisions {provisioned} of MaxConcurrency {most}"
    return None


def _serverless_without_instances(params: Params) -> str | None:
    for variant, _ in _serverless_variants(params):
        instance = [name for name in ("InstanceType", "InitialInstanceCount") if _given(variant, name)]
        if instance:
            return f"serverless variant {variant.get('VariantName')!r} also sets {', '.join(instance)}"
    return None


def _no_cross_region_traffic_for_serverless(params: Params) -> str | None:
    if _given(params, "CrossRegionTrafficConfig") and any(True for _ in _serverless_variants(params)):
        return "CrossRegionTrafficConfig given for a serverless endpoint config"
    return None


def _model_environment_fits(params: Params) -> str | None:
    containers = [params.get("PrimaryContainer") or {}, *_each(params.get("Containers"))]
    total = 0
    for container in containers:
        for key, value in (container.get("Environment") or {}).items():
            size = len(key.encode()) + len(str(value).encode())
            if len(key.encode()) > 1024 or len(str(value).encode()) > 1024:
                return f"Environment entry {key!r} longer than 1024 bytes"
            total += size
    return f"Environment maps of {total} bytes in all" if total > 32 * 1024 else None


# --- CloudWatch Logs ---------------------------------------------------------------------------


def _prefix_not_with_event_time_order(params: Params) -> str | None:
    if _given(params, "logStreamNamePrefix") and params.get("orderBy") == "LastEventTime":
        return "logStreamNamePrefix given with orderBy=LastEventTime"
    return None


def _identifiers_only_with_linked_accounts(params: Params) -> str | None:
    if not _given(params, "logGroupIdentifiers"):
        return None
    others = sorted(
        k for k in params if k not in {"logGroupIdentifiers", "includeLinkedAccounts", "nextToken", "limit"}
    )
    return f"logGroupIdentifiers given with {', '.join(others)}" if others else None


def _not_an_aws_log_group(params: Params) -> str | None:
    name = str(params.get("logGroupName", ""))
    return f"log group name {name!r} starts with aws/" if name.startswith("aws/") else None


# --- CloudWatch --------------------------------------------------------------------------------

_METRIC_LIMIT = 2.0**360


def _metric_values_supported(params: Params) -> str | None:
    for datum in _each(params.get("MetricData")):
        statistics = datum.get("StatisticValues") or {}
        values = [datum.get("Value"), *(datum.get("Values") or []), *statistics.values()]
        for value in values:
            if isinstance(value, int | float) and (not math.isfinite(value) or abs(value) > _METRIC_LIMIT):
                return f"metric {datum.get('MetricName')!r} has the value {value}"
    return None


def _counts_match_values(params: Params) -> str | None:
    for datum in _each(params.get("MetricData")):
        counts, values = datum.get("Counts"), datum.get("Values") or []
        if counts is not None and len(counts) != len(values):
            return f"metric {datum.get('MetricName')!r} has {len(values)} Values and {len(counts)} Counts"
    return None


def _dimension_lists(params: Params) -> Iterator[list[Any]]:
    yield params.get("Dimensions") or []
    for datum in _each(params.get("MetricData")):
        yield datum.get("Dimensions") or []
    for query in _each([*(params.get("Metrics") or []), *(params.get("MetricDataQueries") or [])]):
        yield ((query.get("MetricStat") or {}).get("Metric") or {}).get("Dimensions") or []


def _plain_ascii(text: str) -> bool:
    return text.isascii() and bool(text.strip()) and all(ord(c) >= 32 and ord(c) != 127 for c in text)


def _dimension_names_valid(params: Params) -> str | None:
    for dimensions in _dimension_lists(params):
        for dimension in _each(dimensions):
            name = str(dimension.get("Name", ""))
            if not _plain_ascii(name) or name.startswith(":"):
                return f"dimension name {name!r}"
    return None


def _dimension_values_valid(params: Params) -> str | None:
    for dimensions in _dimension_lists(params):
        for dimension in _each(dimensions):
            value = str(dimension.get("Value", ""))
            if not _plain_ascii(value):
                return f"dimension value {value!r} of {dimension.get('Name')!r}"
    return None


def _namespace_ascii(params: Params) -> str | None:
    namespace = params.get("Namespace")
    if namespace is not None and not (namespace.isascii() and all(32 <= ord(c) != 127 for c in namespace)):
        return f"namespace {namespace!r}"
    return None


_SINGLE_METRIC = ("Namespace", "MetricName", "Dimensions", "Period", "Unit", "Statistic", "ExtendedStatistic")


def _one_statistic_kind(params: Params) -> str | None:
    if not _given(params, "MetricName"):
        return None
    return _exactly_one("Statistic", "ExtendedStatistic")(params)


def _valid_alarm_period(params: Params) -> str | None:
    period = params.get("Period")
    if period is None:
        static = _given(params, "MetricName") and _given(params, "Threshold")
        return "an alarm on MetricName with a static Threshold but no Period" if static else None
    return None if period in (10, 20, 30) or period % 60 == 0 else f"Period {period}"


def _evaluation_span_fits(params: Params) -> str | None:
    period, count = params.get("Period"), params.get("EvaluationPeriods")
    if period is None or count is None:
        return None
    span = period * count
    if span > 604_800 or (period < 3600 and span > 86_400):
        return f"Period {period} × EvaluationPeriods {count} = {span} s"
    return None


def _m_out_of_n(params: Params) -> str | None:
    m, n = params.get("DatapointsToAlarm"), params.get("EvaluationPeriods")
    return f"DatapointsToAlarm {m} > EvaluationPeriods {n}" if m is not None and n is not None and m > n else None


def _alarm_name_without_control_characters(params: Params) -> str | None:
    name = str(params.get("AlarmName", ""))
    return f"alarm name {name!r}" if any(ord(c) < 32 or ord(c) == 127 for c in name) else None


def _queries(params: Params) -> list[Mapping[str, Any]]:
    return list(_each(params.get("Metrics") or params.get("MetricDataQueries")))


def _query_ids_valid(params: Params) -> str | None:
    ids = [str(query.get("Id", "")) for query in _queries(params)]
    bad = [i for i in ids if not i[:1].islower() or ids.count(i) > 1]
    return f"query Id {bad[0]!r} (not unique, or not starting with a lowercase letter)" if bad else None


def _query_has_one_source(params: Params) -> str | None:
    for query in _queries(params):
        detail = _exactly_one("Expression", "MetricStat")(query)
        if detail:
            return f"query {query.get('Id')!r}: {detail}"
    return None


def _valid_query_period(params: Params) -> str | None:
    periods = [(query.get("MetricStat") or {}).get("Period") for query in _queries(params)]
    if _given(params, "Period") and not _given(params, "Threshold"):
        periods.append(params["Period"])
    bad = [p for p in periods if p is not None and p not in (1, 5, 10, 20, 30) and p % 60]
    return f"Period {bad[0]}" if bad else None


# --- SNS and SQS -------------------------------------------------------------------------------


def _topic_name_valid(params: Params) -> str | None:
    name = str(params.get("Name", ""))
    fifo = str((params.get("Attributes") or {}).get("FifoTopic", "")).lower() == "true"
    base = name.removesuffix(".fifo") if fifo else name
    valid = 1 <= len(name) <= 256 and base and all(c.isascii() and (c.isalnum() or c in "_-") for c in base)
    return None if valid else f"topic name {name!r}"


def _publish_target(params: Params) -> str | None:
    if any(_given(params, name) for name in ("TopicArn", "TargetArn", "PhoneNumber")):
        return None
    return "none of TopicArn, TargetArn, PhoneNumber given"


def _subject_valid(params: Params) -> str | None:
    subject = params.get("Subject")
    if subject is None:
        return None
    if len(subject) >= 100 or any(ord(c) < 32 or ord(c) == 127 for c in subject):
        return f"subject {subject[:40]!r}… ({len(subject)} characters)"
    return None


def _message_size(params: Params) -> str | None:
    size = len(str(params.get("Message", "")).encode())
    return f"a message of {size} bytes" if size > 262_144 else None


def _json_message_structure(params: Params) -> str | None:
    if params.get("MessageStructure") != "json":
        return None
    try:
        message = json.loads(params.get("Message", ""))
    except json.JSONDecodeError:
        return "MessageStructure=json with a Message that is not JSON"
    if not isinstance(message, dict) or not isinstance(message.get("default"), str):
        return 'MessageStructure=json without a top-level string "default"'
    return None


_SNS_PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")


def _subscription_endpoint(params: Params) -> str | None:
    protocol, endpoint = params.get("Protocol"), str(params.get("Endpoint", ""))
    if protocol not in _SNS_PROTOCOLS:
        return f"protocol {protocol!r}"
    if protocol == "sqs" and not (endpoint.startswith("arn:") and endpoint.split(":")[2:3] == ["sqs"]):
        return f"sqs subscription to {endpoint!r}, not a queue ARN"
    return None


def _queue_name_valid(params: Params) -> str | None:
    name = str(params.get("QueueName", ""))
    fifo = str((params.get("Attributes") or {}).get("FifoQueue", "")).lower() == "true"
    if fifo and not name.endswith(".fifo"):
        return f"FIFO queue name {name!r} without the .fifo suffix"
    base = name.removesuffix(".fifo") if fifo else name
    valid = 1 <= len(name) <= 80 and all(c.isascii() and (c.isalnum() or c in "_-") for c in base)
    return None if valid else f"queue name {name!r}"


def _receive_count(params: Params) -> str | None:
    count = params.get("MaxNumberOfMessages")
    return f"MaxNumberOfMessages {count}" if count is not None and not 1 <= count <= 10 else None


# --- S3, tagging, SSM, Glue, IAM ------------------------------------------------------------


def _quiet_is_true(params: Params) -> str | None:
    delete = params.get("Delete") or {}
    return "Delete.Quiet given as false" if "Quiet" in delete and delete["Quiet"] is not True else None


def _delete_batch_size(params: Params) -> str | None:
    count = len((params.get("Delete") or {}).get("Objects") or [])
    return f"{count} keys in one DeleteObjects" if count > 1000 else None


def _arn_list_alone(params: Params) -> str | None:
    clash = _not_together(
        "ResourceARNList", "TagFilters", "ResourceTypeFilters", "ResourcesPerPage", "TagsPerPage", "PaginationToken"
    )
    return clash(params)


def _compliance_details_first(params: Params) -> str | None:
    if params.get("ExcludeCompliantResources") and not params.get("IncludeComplianceDetails"):
        return "ExcludeCompliantResources without IncludeComplianceDetails"
    return None


def _path_filter_options(params: Params) -> str | None:
    for parameter_filter in _each(params.get("ParameterFilters")):
        option = parameter_filter.get("Option")
        if parameter_filter.get("Key") == "Path" and option is not None and option not in ("Recursive", "OneLevel"):
            return f"the Path filter with Option {option!r}"
    return None


def _attributes_include_name(params: Params) -> str | None:
    attributes = params.get("AttributesToGet")
    if attributes is not None and "NAME" not in attributes:
        return f"AttributesToGet {attributes!r} without NAME"
    return None


def _policy_is_json(params: Params) -> str | None:
    try:
        json.loads(str(params.get("AssumeRolePolicyDocument", "")))
    except json.JSONDecodeError as err:
        return f"AssumeRolePolicyDocument is not JSON ({err.msg})"
    return None


_SAGEMAKER_TAGGED = (
    "CreateTrainingJob",
    "CreateModel",
    "CreateEndpointConfig",
    "CreateEndpoint",
    "CreateModelPackageGroup",
    "CreateModelPackage",
)
_LOG_GROUP_EITHER = "You must include either logGroupIdentifier or logGroupName , but not both."
_DIMENSION_NAMES = (
    "Dimension names must contain only ASCII characters, must include at least one non-whitespace "
    "character, and cannot start with a colon ( : ). ASCII control characters are not supported as part "
    "of dimension names."
)
_DIMENSION_VALUES = (
    "Dimension values must contain only ASCII characters and must include at least one non-whitespace "
    "character. ASCII control characters are not supported as part of dimension values."
)
_QUERY_ID = "This name must be unique within a single call to GetMetricData . If you are performing math expressions on this set of data, this name represents that data and can serve as a variable in the mathematical expression. The valid characters are letters, numbers, and underscore. The first character must be a lowercase letter."  # noqa: E501
_QUERY_SOURCE = "Within one MetricDataQuery object, you must specify either Expression or MetricStat but not both."
_QUERY_PERIOD = "For metrics with regular resolution, a period can be as short as one minute (60 seconds) and must be a multiple of 60. For high-resolution metrics that are collected at intervals of less than one minute, the period can be 1, 5, 10, 20, 30, 60, or any multiple of 60."  # noqa: E501

RULES: tuple[DocumentedRule, ...] = (
    DocumentedRule(
        "sagemaker",
        ("CreateModelPackage",),
        "CreateModelPackageInput.Tags",
        "If you supply ModelPackageGroupName , your model package belongs to the model group you specify and uses "
        "the tags associated with the model group. In this case, you cannot supply a tag argument.",
        _versioned_package_without_tags,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateModelPackage",),
        "CreateModelPackageInput.ModelPackageGroupName",
        "This parameter is required for versioned models, and does not apply to unversioned models.",
        _exactly_one("ModelPackageName", "ModelPackageGroupName"),
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateModelPackage",),
        "InferenceSpecification.SupportedRealtimeInferenceInstanceTypes",
        "This parameter is required for unversioned models, and optional for versioned models.",
        _unversioned_package_lists_instance_types,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateModelPackage",),
        "CreateModelPackageInput.ModelApprovalStatus",
        "This parameter is optional for versioned models, and does not apply to unversioned models.",
        _approval_only_for_versions,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateModelPackage",),
        "ModelPackageContainerDefinition.ModelDataUrl",
        "This path must point to a single gzip compressed tar archive ( .tar.gz suffix).",
        _model_data_is_tar_gz,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateModelPackage",),
        "ModelPackageContainerDefinition.Environment",
        "Each key and value in the Environment string to string map can have length of up to 1024. We support "
        "up to 16 entries in the map.",
        _package_environment_fits,
    ),
    DocumentedRule(
        "sagemaker",
        ("ListModelPackages",),
        "ListModelPackagesInput.ModelPackageType",
        "UNVERSIONED - List only unversioined models. This is the default value if no ModelPackageType is specified.",
        _group_listing_names_its_type,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateTrainingJob",),
        "AlgorithmSpecification.AlgorithmName",
        "If you specify a value for the AlgorithmName parameter, you can't specify a value for TrainingImage , "
        "and vice versa.",
        _one_algorithm_source,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateTrainingJob",),
        "CreateTrainingJobRequest.HyperParameters",
        "Each key and value is limited to 256 characters, as specified by the Length Constraint .",
        _hyperparameters_fit,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateTrainingJob",),
        "S3DataSource.S3DataType",
        "AugmentedManifestFile can only be used if the Channel's input mode is Pipe .",
        _augmented_manifest_in_pipe_mode,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateTrainingJob",),
        "StoppingCondition.MaxWaitTimeInSeconds",
        "It must be equal to or greater than MaxRuntimeInSeconds .",
        _wait_covers_runtime,
    ),
    DocumentedRule(
        "sagemaker", _SAGEMAKER_TAGGED, "Tag.Key", "Tag keys must be unique per resource.", _unique_tag_keys
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateEndpointConfig",),
        "ProductionVariantServerlessConfig.MemorySizeInMB",
        "Valid values are in 1 GB increments: 1024 MB, 2048 MB, 3072 MB, 4096 MB, 5120 MB, or 6144 MB.",
        _memory_in_whole_gigabytes,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateEndpointConfig",),
        "ProductionVariantServerlessConfig.ProvisionedConcurrency",
        "Should be less than or equal to MaxConcurrency .",
        _provisioned_within_max,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateEndpointConfig",),
        "ProductionVariant.ServerlessConfig",
        "Specifies a serverless endpoint configuration instead of an instance-based endpoint configuration.",
        _serverless_without_instances,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateEndpointConfig",),
        "CreateEndpointConfigInput.CrossRegionTrafficConfig",
        "You can't specify it with serverless variants or with AsyncInferenceConfig .",
        _no_cross_region_traffic_for_serverless,
    ),
    DocumentedRule(
        "sagemaker",
        ("CreateModel",),
        "ContainerDefinition.Environment",
        "The maximum length of each key and value in the Environment map is 1024 bytes. The maximum length of "
        "all keys and values in the map, combined, is 32 KB.",
        _model_environment_fits,
    ),
    DocumentedRule(
        "logs",
        ("DescribeLogStreams",),
        "DescribeLogStreamsRequest.logGroupName",
        _LOG_GROUP_EITHER,
        _exactly_one("logGroupName", "logGroupIdentifier"),
    ),
    DocumentedRule(
        "logs",
        ("GetLogEvents",),
        "GetLogEventsRequest.logGroupName",
        _LOG_GROUP_EITHER,
        _exactly_one("logGroupName", "logGroupIdentifier"),
    ),
    DocumentedRule(
        "logs",
        ("DescribeLogStreams",),
        "DescribeLogStreamsRequest.logStreamNamePrefix",
        "If orderBy is LastEventTime , you cannot specify this parameter.",
        _prefix_not_with_event_time_order,
    ),
    DocumentedRule(
        "logs",
        ("DescribeLogGroups",),
        "DescribeLogGroupsRequest.logGroupNamePrefix",
        "logGroupNamePrefix and logGroupNamePattern are mutually exclusive. Only one of these parameters can be "
        "passed.",
        _not_together("logGroupNamePrefix", "logGroupNamePattern"),
    ),
    DocumentedRule(
        "logs",
        ("DescribeLogGroups",),
        "DescribeLogGroupsRequest.logGroupIdentifiers",
        "If you specify this parameter, the only other filter that you can choose to specify is "
        "includeLinkedAccounts .",
        _identifiers_only_with_linked_accounts,
    ),
    DocumentedRule(
        "logs",
        ("CreateLogGroup",),
        "CreateLogGroup",
        "Log group names can't start with the string aws/",
        _not_an_aws_log_group,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricData",),
        "MetricDatum.Value",
        "Values must be in the range of -2^360 to 2^360. In addition, special values (for example, NaN, "
        "+Infinity, -Infinity) are not supported.",
        _metric_values_supported,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricData",),
        "MetricDatum.Counts",
        "If you include a Counts array, it must include the same amount of values as the Values array.",
        _counts_match_values,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricData", "PutMetricAlarm", "GetMetricStatistics", "GetMetricData"),
        "Dimension.Name",
        _DIMENSION_NAMES,
        _dimension_names_valid,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricData", "PutMetricAlarm", "GetMetricStatistics", "GetMetricData"),
        "Dimension.Value",
        _DIMENSION_VALUES,
        _dimension_values_valid,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricData",),
        "PutMetricDataInput.Namespace",
        "You can use ASCII characters for the namespace, except for control characters which are not supported.",
        _namespace_ascii,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricAlarm",),
        "PutMetricAlarmInput.MetricName",
        "For each PutMetricAlarm operation, you must specify either MetricName , a Metrics array, or an "
        "EvaluationCriteria .",
        _exactly_one("MetricName", "Metrics", "EvaluationCriteria"),
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricAlarm",),
        "PutMetricAlarmInput.Statistic",
        "When you call PutMetricAlarm and specify a MetricName , you must specify either Statistic or "
        "ExtendedStatistic, but not both.",
        _one_statistic_kind,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricAlarm",),
        "PutMetricAlarmInput.Metrics",
        "If you use the Metrics parameter, you cannot include the Namespace , MetricName , Dimensions , Period , "
        "Unit , Statistic , or ExtendedStatistic parameters of PutMetricAlarm in the same operation.",
        _not_together("Metrics", *_SINGLE_METRIC),
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricAlarm",),
        "PutMetricAlarmInput.Period",
        "Valid values are 10, 20, 30, and any multiple of 60. Period is required for alarms based on static "
        "thresholds.",
        _valid_alarm_period,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricAlarm",),
        "PutMetricAlarmInput.Period",
        "An alarm's total current evaluation period can be no longer than seven days, so Period multiplied by "
        "EvaluationPeriods can't be more than 604,800 seconds. For alarms with a period of less than one hour "
        "(3,600 seconds), the total evaluation period can't be longer than one day (86,400 seconds).",
        _evaluation_span_fits,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricAlarm",),
        "PutMetricAlarmInput.EvaluationPeriods",
        'If you are setting an "M out of N" alarm, this value is the N.',
        _m_out_of_n,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricAlarm",),
        "PutMetricAlarmInput.AlarmName",
        "The name must contain only UTF-8 characters, and can't contain ASCII control characters",
        _alarm_name_without_control_characters,
    ),
    DocumentedRule(
        "cloudwatch", ("PutMetricAlarm", "GetMetricData"), "MetricDataQuery.Id", _QUERY_ID, _query_ids_valid
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricAlarm", "GetMetricData"),
        "MetricDataQuery.MetricStat",
        _QUERY_SOURCE,
        _query_has_one_source,
    ),
    DocumentedRule(
        "cloudwatch",
        ("PutMetricAlarm", "GetMetricData", "GetMetricStatistics"),
        "MetricStat.Period",
        _QUERY_PERIOD,
        _valid_query_period,
    ),
    DocumentedRule(
        "cloudwatch",
        ("GetMetricStatistics",),
        "GetMetricStatisticsInput.Statistics",
        "When calling GetMetricStatistics , you must specify either Statistics or ExtendedStatistics , but not both.",
        _exactly_one("Statistics", "ExtendedStatistics"),
    ),
    DocumentedRule(
        "cloudwatch",
        ("DescribeAlarms",),
        "DescribeAlarmsInput.AlarmNamePrefix",
        "If this parameter is specified, you cannot specify AlarmNames .",
        _not_together("AlarmNamePrefix", "AlarmNames"),
    ),
    DocumentedRule(
        "sns",
        ("CreateTopic",),
        "CreateTopicInput.Name",
        "Constraints: Topic names must be made up of only uppercase and lowercase ASCII letters, numbers, "
        "underscores, and hyphens, and must be between 1 and 256 characters long.",
        _topic_name_valid,
    ),
    DocumentedRule(
        "sns",
        ("Publish",),
        "PublishInput.TopicArn",
        "If you don't specify a value for the TopicArn parameter, you must specify a value for the PhoneNumber "
        "or TargetArn parameters.",
        _publish_target,
    ),
    DocumentedRule(
        "sns",
        ("Publish",),
        "PublishInput.Subject",
        "Constraints: Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 "
        "characters long.",
        _subject_valid,
    ),
    DocumentedRule(
        "sns",
        ("Publish",),
        "PublishInput.Message",
        "By default, a message can be at most 256 KiB in size (262,144 bytes, not 262,144 characters).",
        _message_size,
    ),
    DocumentedRule(
        "sns",
        ("Publish",),
        "PublishInput.MessageStructure",
        "If you set MessageStructure to json , the value of the Message parameter must: be a syntactically valid "
        'JSON object; and contain at least a top-level JSON key of "default" with a value that is a string.',
        _json_message_structure,
    ),
    DocumentedRule(
        "sns",
        ("Subscribe",),
        "SubscribeInput.Endpoint",
        "For the sqs protocol, the endpoint is the ARN of an Amazon SQS queue.",
        _subscription_endpoint,
    ),
    DocumentedRule(
        "sqs",
        ("CreateQueue",),
        "CreateQueueRequest.QueueName",
        "A queue name can have up to 80 characters. Valid values: alphanumeric characters, hyphens ( - ), and "
        "underscores ( _ ). A FIFO queue name must end with the .fifo suffix.",
        _queue_name_valid,
    ),
    DocumentedRule(
        "sqs",
        ("ReceiveMessage",),
        "ReceiveMessageRequest.MaxNumberOfMessages",
        "Valid values: 1 to 10.",
        _receive_count,
    ),
    DocumentedRule(
        "s3",
        ("DeleteObjects",),
        "Delete.Quiet",
        "When you add this element, you must set its value to true .",
        _quiet_is_true,
    ),
    DocumentedRule(
        "s3",
        ("DeleteObjects",),
        "DeleteObjects",
        "The request can contain a list of up to 1,000 keys that you want to delete.",
        _delete_batch_size,
    ),
    DocumentedRule(
        "resourcegroupstaggingapi",
        ("GetResources",),
        "GetResourcesInput.ResourceARNList",
        "You can't specify both this parameter and any of the pagination parameters ( ResourcesPerPage , "
        "TagsPerPage , PaginationToken ) in the same request.",
        _arn_list_alone,
    ),
    DocumentedRule(
        "resourcegroupstaggingapi",
        ("GetResources",),
        "GetResourcesInput.ExcludeCompliantResources",
        "You can use this parameter only if the IncludeComplianceDetails parameter is also set to true .",
        _compliance_details_first,
    ),
    DocumentedRule(
        "ssm",
        ("DescribeParameters",),
        "ParameterStringFilter.Option",
        "(Exception: For filters using the key Path , valid options include Recursive and OneLevel .)",
        _path_filter_options,
    ),
    DocumentedRule(
        "glue",
        ("GetDatabases",),
        "GetDatabasesRequest.AttributesToGet",
        "This parameter doesn’t accept an empty list. The request must include the NAME .",
        _attributes_include_name,
    ),
    DocumentedRule(
        "iam",
        ("CreateRole",),
        "CreateRoleRequest.AssumeRolePolicyDocument",
        "In IAM, you must provide a JSON policy that has been converted to a string.",
        _policy_is_json,
    ),
)


def rule_problems(service: str, operation: str, params: Params) -> list[str]:
    """What `params` of `service`'s `operation` does wrong under the documented rules."""
    return [
        problem
        for rule in RULES
        if rule.service == service and operation in rule.operations
        if (problem := rule.problem(params)) is not None
    ]
