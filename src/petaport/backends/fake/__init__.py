"""The fake backend: in memory, deterministic, driven by the test (see ``backend``)."""

from petaport.backends.fake.backend import DEFAULT_NODES, FakeBackend, FakeCluster, FakeMisuseError
from petaport.backends.fake.clock import ManualClock

__all__ = ["DEFAULT_NODES", "FakeBackend", "FakeCluster", "FakeMisuseError", "ManualClock"]
