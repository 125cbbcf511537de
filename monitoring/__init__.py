"""The drift domain, as it runs in the Lambdas: capture, baseline, statistics, query, report, alarm rules, metrics.

Standard library only, over `mlops_core` and `model_code`, so the Lambda bundle needs no layer.
The operator-side tools (health report, endpoint check, leftovers, HTML and terminal reports, the
local DuckDB engine) live in `monitoring.tools`, which nothing here imports.
"""
