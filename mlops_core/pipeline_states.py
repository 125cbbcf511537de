"""The state names of the training and deployment pipelines (Step Functions), and their paths.

The constructs name their states with these constants, the local demo runs the same steps in the
order of a path, and the tests follow the synthesized definitions along each path. No aws_cdk:
the demo and the tests import this without starting jsii. docs/pipeline.md draws both pipelines.
"""

from __future__ import annotations

# --- training pipeline (registry stack) -----------------------------------------------------------
APPLY_SETTINGS = "Apply settings"
TRAIN = "Train"
REGISTER = "Register behind the quality gate"
GATE_DECISION = "Gate decision"
NOTIFY_REGISTERED = "Notify: registered"
SIGNAL_SUCCESS_CHOICE = "Signal success?"
SIGNAL_SUCCESS = "Signal CloudFormation: success"
REGISTERED = "Registered"
# Manual approval mode: a person decides; a deploy waiting on the run polls the decision.
NOTIFY_AWAITING_APPROVAL = "Notify: awaiting approval"
DEPLOY_WAITING = "Deploy waiting?"
AWAITING_APPROVAL = "Awaiting approval"
WAIT_FOR_DECISION = "Wait for a decision"
READ_APPROVAL = "Read approval status"
DECIDED = "Decided?"
COUNT_WAIT = "Count the wait"
# Failures: each sets `$.error` ({Error, Cause}, the shape a Catch gives) and goes to the notification.
EXPLAIN_FAILURE = "Explain the failure"
REJECTED_BY_GATE = "Rejected by the gate"
REJECTED_BY_PERSON = "Rejected by a person"
NO_DECISION = "No decision in time"
NOTIFY_NOT_REGISTERED = "Notify: not registered"
SIGNAL_FAILURE_CHOICE = "Signal failure?"
SIGNAL_FAILURE = "Signal CloudFormation: failure"
NOT_REGISTERED = "Not registered"

_TRAIN_AND_REGISTER = (APPLY_SETTINGS, TRAIN, REGISTER, GATE_DECISION)
_REGISTERED = (NOTIFY_REGISTERED, SIGNAL_SUCCESS_CHOICE, SIGNAL_SUCCESS, REGISTERED)
# Automatic approval mode: the gate approves and the version is registered Approved.
TRAINING_SUCCESS_PATH = (*_TRAIN_AND_REGISTER, *_REGISTERED)
# Manual approval mode, a deploy waiting: a person approves while the run polls.
TRAINING_APPROVAL_PATH = (
    *_TRAIN_AND_REGISTER,
    NOTIFY_AWAITING_APPROVAL,
    DEPLOY_WAITING,
    WAIT_FOR_DECISION,
    READ_APPROVAL,
    DECIDED,
    *_REGISTERED,
)

# --- deployment pipeline (endpoint stack) ---------------------------------------------------------
PREPARE = "Prepare the rollout"
WHAT_TO_DO = "What to do?"
WAIT_WHILE_BUSY = "Wait while the endpoint is busy"
CREATE_ENDPOINT = "Create endpoint"
UPDATE_ENDPOINT = "Update endpoint"
WAIT_FOR_ENDPOINT = "Wait for the endpoint"
DESCRIBE_ENDPOINT = "Describe endpoint"
ENDPOINT_READY = "Endpoint ready?"
BAKE = "Bake"
CHECK_GUARD_ALARMS = "Check the guard alarms"
BAKE_PASSED = "Passed?"
CONFIRM_RUN = "Confirm the run"
CONFIRMED = "Confirmed?"
CHANGED = "Changed?"
NOTIFY_DEPLOYED = "Notify: deployed"
DEPLOYED = "Deployed"
# The way back: a failed bake reverts to the previous endpoint config, then rejects the version.
# A bake whose alarms could not be read counts as failed: the version must not stay unbaked.
BAKE_NOT_CHECKED = "Bake not checked"
REVERT_ENDPOINT = "Revert endpoint"
WAIT_FOR_REVERT = "Wait for the revert"
DESCRIBE_REVERT = "Describe endpoint after revert"
REVERTED = "Reverted?"
UPDATE_REFUSED = "Update refused"
REJECT_VERSION = "Reject the version"
ENDPOINT_FAILED = "Endpoint failed"
# A bake or a confirmation that did not pass: its reason becomes the run's error.
NOT_PASSED = "Not passed"
NOTIFY_NOT_DEPLOYED = "Notify: not deployed"
NOT_DEPLOYED = "Not deployed"

# An update of a serving endpoint to a new approved version, up to the bake's verdict.
_UPDATE_AND_BAKE = (
    APPLY_SETTINGS,
    PREPARE,
    WHAT_TO_DO,
    UPDATE_ENDPOINT,
    WAIT_FOR_ENDPOINT,
    DESCRIBE_ENDPOINT,
    ENDPOINT_READY,
    BAKE,
    CHECK_GUARD_ALARMS,
    BAKE_PASSED,
)
# The version passed its bake.
DEPLOYMENT_SUCCESS_PATH = (
    *_UPDATE_AND_BAKE,
    CONFIRM_RUN,
    CONFIRMED,
    CHANGED,
    NOTIFY_DEPLOYED,
    SIGNAL_SUCCESS_CHOICE,
    SIGNAL_SUCCESS,
    DEPLOYED,
)
# A guard alarm fired during the bake: back to the previous config, the version rejected.
DEPLOYMENT_ROLLBACK_PATH = (
    *_UPDATE_AND_BAKE,
    REVERT_ENDPOINT,
    WAIT_FOR_REVERT,
    DESCRIBE_REVERT,
    REVERTED,
    REJECT_VERSION,
    NOT_PASSED,
    NOTIFY_NOT_DEPLOYED,
    SIGNAL_FAILURE_CHOICE,
    SIGNAL_FAILURE,
    NOT_DEPLOYED,
)
