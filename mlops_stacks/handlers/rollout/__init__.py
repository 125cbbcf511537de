"""The rollout of approved model versions to the serverless endpoint, with the AWS clients passed in.

The deployment pipeline's Lambda (`handlers/deployment.py`) and the local demo run the same code:

- `approval`: a person's decision on a version (`mlops approve N` / `mlops reject N`), and the
  group's newest approved version, which is what the endpoint should always serve;
- `serving`: what the endpoint serves with (role, memory, concurrency), the names of the model and
  endpoint config made for a version (`<project>-v<version>-<settings hash>`), creating them
  (idempotent, tagged), tidying old ones, and deleting them all on destroy;
- `plan`: what a rollout must do now: create the endpoint, update it, nothing, or wait (busy);
- `bake`: whether a rolled-out version passed its bake: no guard alarm went to ALARM since the
  rollout started, and the version is still approved.

The deployer never trusts an event's version: it converges on the newest approved one, so events
that arrive twice or out of order do no harm, and a rejected version never reaches traffic.
"""

from mlops_stacks.handlers.rollout.approval import UnknownVersion, newest_approved_version, set_approval
from mlops_stacks.handlers.rollout.bake import BakeVerdict, bake_verdict
from mlops_stacks.handlers.rollout.plan import BUSY, CREATE, NONE, UPDATE, RolloutPlan, plan_rollout
from mlops_stacks.handlers.rollout.serving import ServingSpec, create_model_and_config, delete_deployed, tidy

__all__ = [
    "BUSY",
    "CREATE",
    "NONE",
    "UPDATE",
    "BakeVerdict",
    "RolloutPlan",
    "ServingSpec",
    "UnknownVersion",
    "bake_verdict",
    "create_model_and_config",
    "delete_deployed",
    "newest_approved_version",
    "plan_rollout",
    "set_approval",
    "tidy",
]
