"""How the loop launches a cycle's starts: all recorded first, then launched in the background,
concurrently, where the backend allows it (``ConcurrentLaunches``), their refs recorded by a
later cycle; attempts still being launched are not polled. Both databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from petaport.backends.fake import FakeBackend
from petaport.domain.errors import RetryLater
from petaport.services.ports import AttemptLaunch, AttemptRef, AttemptReport, NodeInfo
from petaport.storage.repos.jobs import JobRepo
from tests.integration.conftest import World


class Concurrent:
    """The fake backend, declaring ``launch_concurrency``; each launch checks what storage holds
    at that moment and overlaps with the others for a little while."""

    name = "fake"

    def __init__(self, world: World, fake: FakeBackend, concurrency: int) -> None:
        self.world, self.fake, self.launch_concurrency = world, fake, concurrency
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.recorded_at_launch: list[int] = []
        self.threads: set[str] = set()
        self.polled: set[str] = set()
        self.go = threading.Event()
        self.go.set()

    def launch(self, launch: AttemptLaunch) -> AttemptReport:
        with self.world.ctx.db.transaction() as s:
            recorded = len(JobRepo(s).running_attempts())
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.recorded_at_launch.append(recorded)
            self.threads.add(threading.current_thread().name)
        time.sleep(0.05)  # long enough for the pool's other launches to begin meanwhile
        self.go.wait(10)
        with self.lock:
            self.now -= 1
        if launch.spec.name == "unlucky":
            raise RetryLater("the controller did not answer")
        return self.fake.launch(launch)

    def poll(self, refs: Sequence[AttemptRef]) -> list[AttemptReport]:
        self.polled |= {ref.attempt_id for ref in refs}
        return self.fake.poll(refs)

    def cancel(self, ref: AttemptRef) -> None:
        self.fake.cancel(ref)

    def inventory(self) -> list[NodeInfo]:
        return self.fake.inventory()

    def close(self) -> None:
        self.fake.close()


def test_a_cycles_starts_are_all_recorded_then_launched_concurrently(world: World) -> None:
    backend = Concurrent(world, world.fake, concurrency=3)
    world.ctx.backend = backend
    jobs = [world.submit("a_member", "prj_a", gpus=1, name=f"j{i}") for i in range(6)]

    world.cycle()
    world.loop.launcher.settle(wait_s=None)

    assert backend.recorded_at_launch == [6] * 6  # every start stored before any launch
    assert backend.most == 3 and len(backend.threads) == 3
    with world.ctx.db.transaction() as s:
        running = JobRepo(s).running_attempts()
    assert len(running) == 6 and all(a.backend_ref for a, _, _ in running)
    states = {world.call("a_member", "GET", f"/v1/jobs/{j['id']}").json()["state"] for j in jobs}
    assert states == {"RUNNING"}


def test_a_launch_that_fails_ends_only_its_own_attempt(world: World) -> None:
    backend = Concurrent(world, world.fake, concurrency=4)
    world.ctx.backend = backend
    ok = world.submit("a_member", "prj_a", gpus=1, name="fine")
    bad = world.submit("a_member", "prj_a", gpus=1, name="unlucky")

    world.cycle()
    world.loop.launcher.settle(wait_s=None)

    fine = world.call("a_member", "GET", f"/v1/jobs/{ok['id']}").json()
    unlucky = world.call("a_member", "GET", f"/v1/jobs/{bad['id']}").json()
    assert fine["state"] == "RUNNING"
    assert unlucky["state"] == "PENDING" and unlucky["reason"] == "Requeued"  # NODE_FAIL
    events = world.call("a_member", "GET", f"/v1/jobs/{bad['id']}/events").json()
    assert "launch failed: the controller did not answer" in events[-1]["message"]


def test_attempts_still_being_launched_are_not_polled(world: World) -> None:
    backend = Concurrent(world, world.fake, concurrency=2)
    world.ctx.backend = backend
    first = world.submit("a_member", "prj_a", gpus=1, name="first")
    world.cycle()
    world.loop.launcher.settle(wait_s=None)
    backend.go.clear()  # launches now hang until the test lets them go
    world.submit("a_member", "prj_a", gpus=1, name="second")
    world.cycle()

    backend.polled.clear()
    world.cycle()  # the second's launch is under way: only the first is polled
    (launching,) = world.loop.launcher.in_flight()
    with world.ctx.db.transaction() as s:
        running = {a.id: a.backend_ref for a, _, _ in JobRepo(s).running_attempts()}
    assert backend.polled == set(running) - {launching} and not running[launching]

    backend.go.set()
    world.loop.launcher.settle(wait_s=None)
    world.cycle()
    assert launching in backend.polled and not world.loop.launcher.in_flight()
    assert world.call("a_member", "GET", f"/v1/jobs/{first['id']}").json()["state"] == "RUNNING"


def test_a_backend_without_the_capability_is_launched_one_at_a_time(world: World) -> None:
    for i in range(3):
        world.submit("a_member", "prj_a", gpus=1, name=f"j{i}")
    launching: list[str] = []
    original = world.fake.launch

    def one_thread(launch: AttemptLaunch) -> AttemptReport:
        launching.append(threading.current_thread().name)
        return original(launch)

    world.fake.launch = one_thread  # type: ignore[method-assign]

    world.cycle()

    assert launching == [threading.current_thread().name] * 3
    assert len(world.fake.running()) == 3


def test_the_loop_polls_again_at_once_while_attempts_end_or_start(world: World) -> None:
    world.ctx.settings.scheduler_interval_s = 30.0
    began = time.monotonic()
    world.loop._rest(0.0, busy=True)
    assert time.monotonic() - began < 5.0  # not the 30 s interval

    world.ctx.settings.scheduler_interval_s = 0.3
    began = time.monotonic()
    world.loop._rest(0.0, busy=False)  # nothing happened: wait for a poke or the interval
    assert time.monotonic() - began >= 0.3
