"""Metric names, namespaces and units: one place for the stacks, the Lambdas, the CLI and tests.

Names, units and dimensions of SageMaker's metrics are AWS's: the metrics a serverless endpoint
publishes, https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-monitoring.html, and
their units, https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html.
"""

from __future__ import annotations

# --- Published by SageMaker for serverless endpoints -------------------------------------------
SAGEMAKER_NAMESPACE = "AWS/SageMaker"
# MemoryUtilization of serverless endpoints is published here, not in AWS/SageMaker.
ENDPOINT_INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
VARIANT_NAME = "AllTraffic"
DIM_ENDPOINT = "EndpointName"
DIM_VARIANT = "VariantName"

INVOCATIONS = "Invocations"  # Sum = request count
INVOCATION_4XX = "Invocation4XXErrors"  # 1/0 per request: Average = client-error rate
INVOCATION_5XX = "Invocation5XXErrors"  # 1/0 per request: Average = server-error rate
MODEL_LATENCY = "ModelLatency"  # microseconds
OVERHEAD_LATENCY = "OverheadLatency"  # microseconds; includes cold starts on serverless
MODEL_SETUP_TIME = "ModelSetupTime"  # microseconds; serverless cold start
MEMORY_UTILIZATION = "MemoryUtilization"  # percent, in ENDPOINT_INSTANCE_NAMESPACE

MICROSECONDS_PER_MS = 1000

# --- Published by our drift job -----------------------------------------------------------------
DRIFT_NAMESPACE = "MLOps/Drift"
DIM_FEATURE = "Feature"
SCORE_FEATURE = "prediction_score"  # the prediction score is reported as one more "feature"

PSI = "PSI"
JS_DISTANCE = "JSDistance"
KS_DISTANCE = "KSDistance"
MEAN_SHIFT_SD = "MeanShiftSD"
MISSING_SHARE = "MissingShare"
OUT_OF_RANGE_SHARE = "OutOfRangeShare"
PER_FEATURE_METRICS = (PSI, JS_DISTANCE, KS_DISTANCE, MEAN_SHIFT_SD, MISSING_SHARE, OUT_OF_RANGE_SHARE)
# Each custom metric costs $0.30 a month: only PSI per feature goes to CloudWatch (it drives the
# dashboard and the status); every statistic stays in the JSON report in S3.
PUBLISHED_PER_FEATURE_METRICS = (PSI,)

MAX_PSI = "MaxPSI"  # worst feature of a run, dimension EndpointName only
DRIFTED_FEATURES = "DriftedFeatures"  # count of features in `alert`, dimension EndpointName only
CAPTURED_ROWS = "CapturedRows"  # rows in the run's window, dimension EndpointName only
