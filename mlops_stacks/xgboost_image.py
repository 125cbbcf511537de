"""The SageMaker XGBoost framework image URI, resolved per Region at deploy time (no SDK call)."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Aws, CfnMapping, Fn
from constructs import Construct

# The container whose Python (3.10) and xgboost (3.0.5) model_code and the local mode match.
XGBOOST_FRAMEWORK_VERSION = "3.0-5"
_REGISTRIES = Path(__file__).with_name("data") / "xgboost_registries.json"


def xgboost_image_uri(scope: Construct) -> str:
    """`<account>.dkr.ecr.<region>.<suffix>/sagemaker-xgboost:3.0-5` through a CfnMapping."""
    data = json.loads(_REGISTRIES.read_text())
    mapping = CfnMapping(
        scope,
        "XgboostImageAccount",
        mapping={region: {"account": account} for region, account in sorted(data["registries"].items())},
    )
    return Fn.sub(
        "${Account}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/" + f"{data['repository']}:{XGBOOST_FRAMEWORK_VERSION}",
        {"Account": mapping.find_in_map(Aws.REGION, "account")},
    )
