"""mlops_core.naming: one place for the names the stacks, the CLI and the local demo share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_core import naming

REPO = Path(__file__).resolve().parents[1]


def test_bucket_names_are_project_purpose_account_region() -> None:
    assert naming.bucket_name("mlops-showcase", "data", "123456789012", "eu-west-1") == (
        "mlops-showcase-data-123456789012-eu-west-1"
    )


def test_a_bucket_name_with_an_empty_part_is_refused_naming_the_part() -> None:
    with pytest.raises(ValueError, match="bucket name: account is empty"):
        naming.bucket_name("mlops-showcase", "data", "", "eu-west-1")


def test_the_image_uri_is_the_one_the_stacks_mapping_resolves_to_in_every_region() -> None:
    from aws_cdk import App, CfnOutput, Stack
    from aws_cdk.assertions import Template

    from mlops_stacks.xgboost_image import xgboost_image_uri

    stack = Stack(App(), "Names")
    CfnOutput(stack, "Image", value=xgboost_image_uri(stack))
    synthesized = Template.from_stack(stack).to_json()
    template, variables = synthesized["Outputs"]["Image"]["Value"]["Fn::Sub"]
    mapping_name, _, key = variables["Account"]["Fn::FindInMap"]
    mapping = synthesized["Mappings"][mapping_name]
    _, registries = naming.xgboost_registries()
    assert len(registries) > 30
    for region, account in registries.items():
        resolved = template.replace("${Account}", mapping[region][key])
        resolved = resolved.replace("${AWS::Region}", region).replace("${AWS::URLSuffix}", "amazonaws.com")
        assert resolved == naming.xgboost_image_uri(region)
        assert resolved == f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:3.0-5"


def test_an_unknown_region_has_no_image_and_the_error_names_it() -> None:
    with pytest.raises(ValueError, match="no SageMaker XGBoost image registry is known for region 'xx-nowhere-1'"):
        naming.xgboost_image_uri("xx-nowhere-1")


def test_naming_loads_no_aws_cdk() -> None:
    check = "import mlops_core.naming, sys; assert not any(m.startswith(('aws_cdk', 'jsii')) for m in sys.modules)"
    subprocess.run([sys.executable, "-c", check], cwd=REPO, check=True, timeout=60)
