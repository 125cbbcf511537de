"""CDK stacks of the serverless MLOps pipeline, their constructs, and `handlers/`, the Lambda entry points."""
