"""Shared runtime of the Noa Server app services.

Settings catalogue and loading, the health contract, JSON logging, Prometheus metrics, Postgres
and Redis clients, the Docker HEALTHCHECK probe and ``serve()``. Importing the package has no side
effects and pulls in nothing heavy: ``noa_common.probe`` and ``noa_common.env_catalogue`` stay
stdlib-only so the probe starts fast and docs generators need no service dependencies.
"""
