"""CDK stacks of the serverless MLOps pipeline."""
