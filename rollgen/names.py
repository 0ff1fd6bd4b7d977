"""Object names derived from a release: the one place a version becomes part of a name.

Kept free of heavy imports: ``rollgen validate`` checks with these same
functions that two versions never share a Deployment name.
"""

from __future__ import annotations

import re

# A Kubernetes object name used as a label value and DNS label: at most 63 characters.
MAX_NAME = 63


def slug(version: str) -> str:
    """The DNS-safe form of a version used in object names.

    >>> slug("6.5.0")
    '6-5-0'
    >>> slug("v2_RC.1")
    'v2-rc-1'
    """
    return re.sub(r"[^a-z0-9]+", "-", version.lower()).strip("-")


def workload_name(app: str, version: str) -> str:
    """Name of the Deployment running ``version`` of ``app``: ``podinfo-6-5-0``."""
    return f"{app}-{slug(version)}"
