"""Checks every boto3 request wherever moto stands in for AWS (tests and the local demo).

moto accepts much that AWS refuses. The checker closes that gap from the client side, with the
botocore model (`shape_constraints`) and the cross-field rules the API reference states
(`documented_rules`). It imports no aws_cdk, so tests and the demo can use it alike.
"""

from local.request_checks.checker import RequestChecker, RequestViolation, RequestViolationsError

__all__ = ["RequestChecker", "RequestViolation", "RequestViolationsError"]
