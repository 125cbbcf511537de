"""`approve` and `reject`: a person's decision on a model version, as the console and the AWS CLI make it.

One UpdateModelPackage call on the project's model package group (ModelApprovalStatus and
ApprovalDescription). SageMaker then sends its "SageMaker Model Package State Change" event, on
which the deployment pipeline rolls the newest approved version out: approving a pending version
deploys it, rejecting the serving version rolls the endpoint back to the approved one before it.
The group comes from the settings in `./cdk.json` (`--project` overrides the project name); the
Region as for the other cloud verbs. Exit statuses (mlops_cli/arguments.py): 0 recorded, 2 not
recorded (an unknown version, no Region, no credentials, AWS refused the call), in one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlops_cli.arguments import EXIT_OK, fail, whole_number
from mlops_core.quality_gate import APPROVED, REJECTED

VERB_STATUS = {"approve": APPROVED, "reject": REJECTED}
AFTERWARDS = {
    "approve": "the deployment pipeline rolls out the newest approved version when SageMaker's event arrives",
    "reject": "a rejected version never serves; if it served, the endpoint goes back to the newest approved version",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `approve` and `reject`."""
    for verb, status in VERB_STATUS.items():
        parser = subparsers.add_parser(
            verb,
            help=f"set a version of the project's model package group to {status} (starts a deployment)",
            description=(
                f"Sets VERSION of the project's model package group to {status} with UpdateModelPackage "
                "(needs sagemaker:ListModelPackages and sagemaker:UpdateModelPackage). "
                f"Afterwards {AFTERWARDS[verb]}. Exit 0 when recorded, 2 when not (one line on stderr)."
            ),
        )
        parser.add_argument("version", metavar="VERSION", type=whole_number(1), help="the version number (1, 2, ...)")
        parser.add_argument("--reason", help="why, stored as the version's ApprovalDescription (one line, ≤ 1024)")
        parser.add_argument(
            "--region", help="AWS region (default: AWS_REGION, else AWS_DEFAULT_REGION or the profile's)"
        )
        parser.add_argument("--project", help="project name (default: `project_name` in ./cdk.json)")
        parser.add_argument("--endpoint-url", help="send every AWS call to this URL (an emulator such as moto)")
        parser.set_defaults(run=run_decision, verb_name=verb)


def run_decision(args: argparse.Namespace) -> int:
    """Record the decision; exit 0 when recorded, 2 when not."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops_cli.cloud_verbs import aws_session, settings_from_cdk_json
    from mlops_core.settings import SettingError
    from mlops_stacks.handlers.rollout.approval import UnknownVersion, set_approval

    verb, status = args.verb_name, VERB_STATUS[args.verb_name]
    try:
        settings = settings_from_cdk_json(Path.cwd() / "cdk.json", args.project)
        group = settings.model_package_group_name
        sagemaker = aws_session(args.region).client("sagemaker", endpoint_url=args.endpoint_url)
        reason = args.reason or f"{status.lower()} with `mlops {verb}`"
        request = set_approval(sagemaker, group, args.version, status, reason)
    except (SettingError, UnknownVersion, ValueError) as exc:
        return fail(verb, exc)
    except ClientError as err:
        error = err.response.get("Error", {})
        return fail(verb, f"{error.get('Code', 'error')}: {error.get('Message', err)}")
    except BotoCoreError as exc:
        return fail(verb, exc)
    print(f"{group} version {args.version}: {status} ({request['ApprovalDescription']}); {AFTERWARDS[verb]}")
    return EXIT_OK
