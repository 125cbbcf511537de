"""Operator-side tools over the drift domain: what people run, never the Lambdas.

The health report, the endpoint check, the leftover scan, the HTML and terminal reports, the local
drift engine on DuckDB and the synthetic capture generator. They may use numpy, DuckDB, rich and
matplotlib, which the Lambda bundle does not carry; nothing in `monitoring/` outside this package,
nor any handler, imports them.
"""
