"""A webhook receiver on loopback for tests of notifications: the JSON bodies it got, in order."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

from testkit.gateservers import _Quiet, serving, url_of


@contextlib.contextmanager
def receiving() -> Iterator[tuple[list[dict[str, Any]], str]]:
    """Serve on 127.0.0.1 for the ``with`` block: the bodies received (parsed) and the URL to post to."""
    got: list[dict[str, Any]] = []
    lock = threading.Lock()

    class Hook(_Quiet):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            with lock:
                got.append(body)
            self.send_response(204)
            self.end_headers()

    with serving(Hook) as server:
        yield got, url_of(server)
