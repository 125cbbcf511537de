"""The TrainingRun custom resource (Provider framework onEvent/isComplete), one module per concern.

Create/Update start the training job named in the properties (never twice: names are unique
and content-hashed). Every poll, `is_complete` looks at the job; once it has completed and
`model.tar.gz` exists, the model is registered in the group behind the quality gate. A failed or
stopped job, a rejected model or a job past its deadline fails the deploy within one poll, with
a message that names the job and says why.

Delete stops this project's running jobs and deletes the group's versions (unless the
`RetainVersions` property is "true"); its `is_complete` then waits, within DELETE_WAIT_SECONDS,
for the jobs to leave Stopping and for the versions to leave Deleting (DeleteModelPackage is
asynchronous, and DeleteModelPackageGroup fails while a version is listed). Last, when the
`TrainingLogGroup` property names the shared training log group, it deletes the log streams of
this project's jobs there. Delete never fails on something already gone.

The PhysicalResourceId is stable (`<group>-training-run`), so an update that trains a new model
does not make CloudFormation delete the old resource: the registry keeps its history and the
running endpoint keeps its package.

"This project's jobs" are the in-progress jobs whose name starts with the job-name prefix and
that write to the same OutputPath (our bucket). The prefix is the optional `JobNamePrefix`
property, else the job name up to its last hyphen (`<project>-<hash>` gives `<project>-`); the
output path keeps another stage's jobs with the same prefix out. Create/Update also stop such a
job when it is not the one in the properties: a cancelled update leaves its job running, and
the rollback (old properties, old job name) should not pay for it.

The modules, each importing only those before it: `errors`, `properties`, `jobs`, `artifacts`,
`versions`, `log_streams`, `clients` (boto3 clients, injected), `registration`, `failure`, `create`
and `delete`, `handler`. The functions Lambda calls are re-exported here, so the functions' Handler
stays `mlops_stacks.handlers.training_run.on_event` and `.is_complete`. The local demo registers its
model version with the same `jobs`, `artifacts` and `versions`.

The training pipeline (docs/pipeline.md) runs the same code from its own Lambdas:
`registration` (`handlers/register_version.py`), `failure` (`handlers/training_failure.py`) and
`delete` (`handlers/registry_cleanup.py`).
"""

from mlops_stacks.handlers.training_run.handler import is_complete, on_event

__all__ = ["is_complete", "on_event"]
