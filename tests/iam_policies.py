"""Every IAM policy of a synthesized app as AWS would see it after deploy: intrinsic functions resolved.

The templates carry `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::FindInMap` and `Fn::GetStackOutput` (CDK's weak
cross-stack references) or `Fn::ImportValue` (strong ones) where ARNs will be; an
IAM linter and the call-to-permission test need the ARNs themselves. Pseudo parameters take the
account and Region of the synth; a resource without a fixed name gets a generated-looking one
(`<stack>-<logical id>-generated`), as CloudFormation would give it one; attribute ARNs follow
each resource type's documented ARN format (a log group's `Arn` ends in `:*`, as its
Fn::GetAtt returns it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PARTITION = "aws"
POLICY_KEYS = ("PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy")
_NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::Role": "RoleName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
}
_SUBSTITUTION = re.compile(r"\$\{([^}!]+)\}")
# Types whose Ref is their ARN rather than their name.
_REF_IS_ARN = {"AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::IAM::OIDCProvider"}


@dataclass(frozen=True)
class ResolvedPolicy:
    """One policy document of a template, with every value resolved to a string."""

    stack: str
    logical_id: str
    resource_type: str
    key: str  # which property holds it: PolicyDocument, AssumeRolePolicyDocument or KeyPolicy
    document: dict[str, Any]
    resource: dict[str, Any]  # the template resource that holds it


class Resolver:
    """Resolves a set of templates' intrinsic functions for one account and Region."""

    def __init__(self, templates: dict[str, dict[str, Any]], account: str, region: str) -> None:
        self.templates = templates
        self.account = account
        self.region = region

    def physical_name(self, stack: str, logical_id: str) -> str:
        """The resource's name: its name property when the template fixes one, else a generated one."""
        resource = self.templates[stack]["Resources"][logical_id]
        if resource["Type"] == "AWS::IAM::OIDCProvider":
            return str(resource["Properties"]["Url"]).removeprefix("https://")
        name_property = _NAME_PROPERTIES.get(resource["Type"])
        name = resource.get("Properties", {}).get(name_property) if name_property else None
        if name is not None:
            return str(self.resolve(stack, name))
        generated = f"{stack}-{logical_id}-generated"
        return generated.lower() if resource["Type"] == "AWS::S3::Bucket" else generated

    def arn(self, stack: str, logical_id: str) -> str:
        """The ARN Fn::GetAtt Arn returns for the resource."""
        kind = self.templates[stack]["Resources"][logical_id]["Type"]
        name = self.physical_name(stack, logical_id)
        regional = f"{self.region}:{self.account}"
        formats = {
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{regional}:log-group:{name}:*",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{regional}:function:{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{regional}:{name}",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{regional}:{name}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{self.account}:role/{name}",
            "AWS::StepFunctions::StateMachine": f"arn:{PARTITION}:states:{regional}:stateMachine:{name}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{regional}:key/{name}",
            "AWS::IAM::OIDCProvider": f"arn:{PARTITION}:iam::{self.account}:oidc-provider/{name}",
        }
        if kind not in formats:
            raise KeyError(f"no ARN format for {kind} ({stack}/{logical_id}); add it to tests/iam_policies.py")
        return formats[kind]

    def resolve(self, stack: str, value: Any) -> Any:
        """`value` with every intrinsic function replaced by what it resolves to."""
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self._ref(stack, value["Ref"])
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            if attribute == "Arn":
                return self.arn(stack, logical_id)
            if attribute in {"QueueName", "Name"}:
                return self.physical_name(stack, logical_id)
            raise KeyError(f"Fn::GetAtt {attribute} of {stack}/{logical_id} is not resolved here")
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self.resolve(stack, part)) for part in parts)
        if "Fn::ImportValue" in value:
            return self._import(self.resolve(stack, value["Fn::ImportValue"]))
        if "Fn::GetStackOutput" in value:
            reference = self.resolve(stack, value["Fn::GetStackOutput"])
            producer = reference["StackName"]
            return self.resolve(producer, self.templates[producer]["Outputs"][reference["OutputName"]]["Value"])
        if "Fn::FindInMap" in value:
            mapping, key, name = (self.resolve(stack, part) for part in value["Fn::FindInMap"])
            return self.templates[stack]["Mappings"][mapping][key][name]
        if "Fn::Sub" in value:
            text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            return _SUBSTITUTION.sub(lambda m: self._substitute(stack, m[1], variables), text)
        unknown = [key for key in value if key.startswith("Fn::")]
        if unknown:
            raise KeyError(f"{unknown[0]} is not resolved here; add it to tests/iam_policies.py")
        return {key: self.resolve(stack, item) for key, item in value.items()}

    def _substitute(self, stack: str, name: str, variables: dict[str, Any]) -> str:
        if name in variables:
            return str(self.resolve(stack, variables[name]))
        if "." in name:
            return str(self.resolve(stack, {"Fn::GetAtt": name.split(".", 1)}))
        return self._ref(stack, name)

    def _ref(self, stack: str, name: str) -> str:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
        }
        if name in pseudo:
            return pseudo[name]
        resource = self.templates[stack]["Resources"][name]
        if resource["Type"] in _REF_IS_ARN:
            return self.arn(stack, name)
        return self.physical_name(stack, name)

    def _import(self, export_name: str) -> Any:
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                if output.get("Export", {}).get("Name") == export_name:
                    return self.resolve(stack, output["Value"])
        raise KeyError(f"no stack exports {export_name}")

    def policies(self) -> Iterator[ResolvedPolicy]:
        """Every policy document of every template (identity, resource, trust and key policies)."""
        for stack, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                properties = resource.get("Properties", {})
                documents = [(key, properties[key]) for key in POLICY_KEYS if key in properties]
                documents += [
                    (f"Policies/{p['PolicyName']}", p["PolicyDocument"]) for p in properties.get("Policies", [])
                ]
                for key, document in documents:
                    resolved = self.resolve(stack, document)
                    yield ResolvedPolicy(stack, logical_id, resource["Type"], key, resolved, resource)
