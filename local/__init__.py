"""The local mode: runs model_code on this machine the way SageMaker runs it."""
