"""`mlops demo`: the whole pipeline on one machine, with the code that runs in the cloud (README, The local mode).

Nine steps, each in its own module, run in order by `pipeline.run_demo`:

1. `synth`: synthesize every stack with the pinned CDK CLI (cdk-nag runs inside synth);
2. `train`: generate the data, train in the SageMaker-shaped tree, apply the quality gate;
3. `registry`: on moto's server (`emulator`, 127.0.0.1, started and stopped here): bucket, data,
   training-job record, artifact upload and registration through the TrainingRun's own
   `registration` functions, the alert topic with a queue subscribed to it, and the CloudWatch
   alarms built from the rules (`alarms`);
4. `traffic`: the endpoint stack's resources on moto, then the approved package's artifact served
   by the local endpoint (kept running for step 8), and three phases of traffic (`request_plan`) through boto3's
   `sagemaker-runtime` client: normal, drifted and a bad client whose malformed requests must
   come back as 4xx;
5. `drift`: drift per phase over the captured records (the drift job's baseline lookup, DuckDB);
6. `alarms`: the alarm rules evaluated per phase on what was measured, metrics put to CloudWatch
   and one SNS notification per alarm that fires, read back from the subscribed queue;
7. `retrain`: the training pipeline's states in order on fresh labelled data (new-data rule on
   moto's EventBridge, training in the container environment, registration behind the gate,
   approval), version 2;
8. `rollout`: the deployment pipeline's states in order: plan, blue/green update of the local
   endpoint (version 1 serves until version 2 answers), bake judged by the guard alarms, notify;
   then drift of the bake traffic against version 2's baseline (`report_retrain` in the report);
9. `report` (with `report_traffic`, `figures`, `checks`): `report.html` (figures embedded), plus
   `summary.json` and `requests.csv` (`outputs`).

Nothing here imports aws_cdk: the names the stacks give things come from `mlops_core.naming`.
"""

from local.demo.alarms import evaluate_alarms, format_metric
from local.demo.checks import Check, checks
from local.demo.pipeline import INTERRUPTED, MAX_ROWS, MIN_ROWS, DemoOptions, run, run_demo
from local.demo.request_plan import MALFORMED_KINDS
from local.demo.results import PHASE_TITLES, PHASES, DemoResult, PhaseTraffic, RequestOutcome
from local.demo.steps import STEPS, DemoError, DemoStepFailed
from local.demo.synth import summarize_assembly, synthesized_training_run
from local.demo.workdir import WORKDIR_MARKER, load_settings, prepare_workdir

__all__ = [
    "INTERRUPTED",
    "MALFORMED_KINDS",
    "MAX_ROWS",
    "MIN_ROWS",
    "PHASES",
    "PHASE_TITLES",
    "STEPS",
    "WORKDIR_MARKER",
    "Check",
    "DemoError",
    "DemoOptions",
    "DemoResult",
    "DemoStepFailed",
    "PhaseTraffic",
    "RequestOutcome",
    "checks",
    "evaluate_alarms",
    "format_metric",
    "load_settings",
    "prepare_workdir",
    "run",
    "run_demo",
    "summarize_assembly",
    "synthesized_training_run",
]
