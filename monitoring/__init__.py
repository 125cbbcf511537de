"""Capture parsing, drift statistics, health checks and reports (pure parts; thin AWS shells)."""
