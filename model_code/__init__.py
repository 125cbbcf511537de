"""Code that runs inside the SageMaker XGBoost container (the sourcedir): train.py, inference.py.

The container runs these files as top-level scripts and modules, never through this package; the
package exists so that the layers above can import its standard-library modules
(`number_syntax`, `failure_reason`, `metric_definitions`: the Lambda bundle carries them) and the
tests `train` (inference.py imports the container's toolkit, so only the container environment
can import it). Nothing here imports from the project's other packages: it is the lowest layer.
"""
