"""What names a test run's own resources: compose projects, temporary homes, Kubernetes namespaces.

CHECKOUT tells two checkouts on one machine apart, RUN two runs of one checkout."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKOUT = hashlib.sha256(str(REPO).encode()).hexdigest()[:6]
RUN = uuid.uuid4().hex[:6]
