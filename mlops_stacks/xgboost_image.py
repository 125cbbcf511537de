"""The SageMaker XGBoost framework image URI, resolved per Region at deploy time (no SDK call)."""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, Fn
from constructs import Construct

from mlops_core import naming


def xgboost_image_uri(scope: Construct) -> str:
    """`naming.xgboost_image_uri` with the registry account mapped per region by a CfnMapping."""
    _, registries = naming.xgboost_registries()
    mapping = CfnMapping(
        scope,
        "XgboostImageAccount",
        mapping={region: {"account": account} for region, account in sorted(registries.items())},
    )
    return Fn.sub(
        naming.xgboost_image_uri("${AWS::Region}", "${AWS::URLSuffix}", account="${Account}"),
        {"Account": mapping.find_in_map(Aws.REGION, "account")},
    )
