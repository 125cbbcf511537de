"""The `mlops` command line: one console script, verbs grouped by module."""
