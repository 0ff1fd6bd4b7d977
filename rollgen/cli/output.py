"""Data output shared by every command: the ``-o text|json|yaml`` option and its writer."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_output_option(parser: argparse.ArgumentParser, *, text: str = "text") -> None:
    """``-o/--output``: ``text`` (or ``table``) for people, ``json`` or ``yaml`` for tools."""
    parser.add_argument(
        "-o",
        "--output",
        choices=(text, "json", "yaml"),
        default=text,
        help=f"output format (default {text})",
    )


def emit(data: Any, fmt: str) -> None:
    """Write ``data`` to stdout as JSON or YAML, keys in the order given."""
    if fmt == "json":
        json.dump(data, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
