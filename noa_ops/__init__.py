"""Operator tooling for Noa Server: the Python behind `invoke` tasks."""
