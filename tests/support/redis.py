"""The machine's Redis, for the tests of what several Rasa servers share in it."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest
import redis

from harness.servers import reachable

REDIS = ("127.0.0.1", 6379)
DB = 1

needs_redis = pytest.mark.skipif(
    not reachable(*REDIS), reason="Redis on 127.0.0.1:6379 is needed (not reachable here)"
)


@contextmanager
def own_prefix() -> Iterator[str]:
    """A key prefix of the test's own; its keys are deleted afterwards."""
    name = f"test{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis(*REDIS, db=DB)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()
