"""The training pipeline's shared code: registration, failure explanation and registry clean-up.

One module per concern, each importing only those before it: `errors`, `properties`, `jobs`,
`artifacts`, `versions`, `log_streams`, `clients` (boto3 clients, injected), then the three the
Lambdas of the training pipeline (docs/pipeline.md) run:

- `registration` (RegisterVersion, `handlers/register_version.py`): register a completed job's
  model once, behind the quality gate, with its evaluation and baseline copied next to the registry;
- `failure` (ExplainFailure, `handlers/training_failure.py`): why a job failed, from train.py's
  marked line in its log, else SageMaker's reason and the last log lines;
- `delete` (RegistryCleanup, `handlers/registry_cleanup.py`): on destroy, stop this project's
  running jobs, delete the group's versions (unless retained) and the jobs' log streams.

The local demo registers its model version with the same `artifacts` and `registration` on moto.
"""
