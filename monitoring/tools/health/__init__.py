"""Health of the deployed system, gathered from AWS: what `mlops monitor` reports.

- Endpoint metrics from CloudWatch (GetMetricData): invocations, ModelLatency (converted from
  microseconds to ms), 4XX/5XX error rates (the metrics are 1/0 per request, so Sum/SampleCount
  is the share of failed requests), cold starts (ModelSetupTime count and maximum), memory.
  Percentiles of ModelLatency are asked for in a separate call: AWS documents percentiles only
  for ModelSetupTime (see the pages `monitoring.metrics` links), so when they fail or come back
  empty the report falls back to average and maximum and says so in a note.
- Alarm states: every alarm whose name starts with `<project>-observability-`. The observability
  stack leaves alarm names to CloudFormation, which names them `<stack name>-<logical id>-<suffix>`,
  and the stack is named `<project>-observability` (mlops_stacks/app_builder.py). A prefix that
  includes the stack name cannot match another project's alarms (project names are at most 20
  characters, so no project is called `<project>-observability`).
- The latest drift report, `s3://<project>-data-<account>-<region>/reports/drift/<endpoint>/latest.json`.
- The endpoint's status and the model package it serves, and the registry's newest approved version
  with its evaluation metrics (`evaluation.json`, the package's ModelQuality statistics).

Each part that cannot be read (missing permission, nothing deployed) becomes an error line in the
report instead of stopping the others. Rendering lives in `monitoring.tools.health_report`.

One module per part: `targets` (what to look at, with which clients), `endpoint_metrics`,
`alarms`, `deployment` (drift report, endpoint, registry) and `report` (the whole report).
"""
