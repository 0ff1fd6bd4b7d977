"""The ported test tables of ``semver_tables.yaml`` (its header names their sources and licences).

``TABLES["CONSTRAINTS_CHECK"]`` and so on: each row as a tuple, in the source's order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TABLES: dict[str, list[Any]] = {
    name: [tuple(row) if isinstance(row, list) else row for row in rows]
    for name, rows in yaml.safe_load(Path(__file__).with_suffix(".yaml").read_text()).items()
}
