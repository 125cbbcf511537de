"""Lambda handlers: thin entry points over `monitoring` and `mlops_core`, which tests call without AWS.

The Lambda bundle is this package's import closure (`mlops_core.staging.lambda_bundle`): whatever
a handler imports is bundled, and nothing here imports aws_cdk, numpy or the rest of `mlops_stacks`
(tests/test_layers.py).
"""
