"""Code that runs inside the SageMaker XGBoost container (the sourcedir): train.py, inference.py.

The container runs these files as top-level scripts and modules, never through this package; the
package exists so that the CDK stacks, the Lambda handlers and the tests can import
`model_code.metric_definitions`, `model_code.failure_reason` and `model_code.train` (inference.py
imports the container's toolkit, so only the container environment can import it). Nothing here
imports from the project's other packages.
"""
