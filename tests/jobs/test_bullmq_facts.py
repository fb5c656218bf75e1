"""One regression test per BullMQ fact of issue 4 ("Facts we checked"), on a real Redis.

Each test drives a real bullmq ``Worker``/``Queue`` built from MuseWave's option builders
(:mod:`musewave.jobs.bullmq_options`), so it fails if the fix for its fact is removed:
``socket_timeout=None``, ``drainDelay`` matched to the limiter, a priority on every job, the
custom sync backoff, cancellation over Redis pub/sub with ``UnrecoverableError``, short-lease
stalled recovery, the supervised QueueEvents reader, the eviction-policy check, and option
names bullmq actually reads. Every test uses its own queue name and obliterates it afterwards.

Timing bounds are loose enough for a busy 2-core machine and still far from the broken
behaviour each fact describes (seconds late, 2.4 jobs/s, 2×-instead-of-3× backoff...).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import time
import typing
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
import redis
import redis.asyncio as aioredis
from bullmq import Queue, Worker
from bullmq.types import (
    BackoffOptions,
    JobOptions,
    KeepJobs,
    QueueBaseOptions,
    QueueEventsOptions,
    WorkerOptions,
)

from musewave.config import Settings
from musewave.db import upgrade
from musewave.engine.request import GenerationRequest
from musewave.jobs import open_queue as open_job_queue
from musewave.jobs.bullmq_backend import BullMQBackend
from musewave.jobs.bullmq_events import QueueEventsRelay
from musewave.jobs.bullmq_options import (
    BACKOFF_TYPE,
    JOB_NAME,
    cancel_channel,
    job_options,
    queue_events_options,
    queue_options,
    worker_options,
)
from musewave.jobs.bullmq_worker import JobProcessor, listen_for_cancels
from musewave.jobs.events import JobEvent
from musewave.jobs.states import JobState, Priority
from musewave.redis_connections import (
    EvictionPolicyError,
    connection_options,
    eviction_policy,
    require_noeviction,
)
from musewave.service.bus import EventBus
from musewave.storage import LocalStorage
from tests.service.support import free_port

Processor = Callable[[Any, str], Awaitable[Any]]
FAST_RATE_PER_S = 1000.0  # tests other than the limiter's must not be rate limited
REPO_ROOT = Path(__file__).resolve().parents[2]


# --- fixtures and helpers ----------------------------------------------------------------------


@dataclass
class BullQueue:
    """A fresh queue name on the test Redis; ``settings(...)`` builds Settings for it."""

    redis_url: str
    name: str

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "redis_url": self.redis_url,
            "queue_name": self.name,
            "rate_limit_per_s": FAST_RATE_PER_S,
            **overrides,
        }
        return Settings.model_validate(values)


@pytest.fixture
def bull(redis_url: str) -> Iterator[BullQueue]:
    queue = BullQueue(redis_url, f"test-facts-{uuid.uuid4().hex[:10]}")
    yield queue
    asyncio.run(_obliterate(queue.settings()))


@contextlib.asynccontextmanager
async def open_queue(settings: Settings) -> AsyncIterator[Queue]:
    queue = Queue(settings.queue_name, queue_options(settings))
    try:
        yield queue
    finally:
        await queue.close()


async def _obliterate(settings: Settings) -> None:
    async with open_queue(settings) as queue:
        await queue.obliterate(force=True)


@contextlib.asynccontextmanager
async def running_worker(
    settings: Settings, processor: Processor, name: str = "test-worker"
) -> AsyncIterator[Worker]:
    """A bullmq Worker with exactly the options ``musewave worker`` uses."""
    worker = Worker(settings.queue_name, processor, worker_options(settings, name=name))
    try:
        yield worker
    finally:
        await worker.close(force=True)


async def add_job(
    queue: Queue,
    settings: Settings,
    job_id: str,
    priority: Priority = Priority.NORMAL,
    **extra: Any,
) -> None:
    await queue.add(
        JOB_NAME, {"job_id": job_id}, {**job_options(settings, job_id, priority), **extra}
    )


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    """Poll ``condition`` (a Redis or database read: nothing to await) until true."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_for_state(queue: Queue, job_id: str, state: str, timeout_s: float) -> None:
    async def reached() -> bool:
        return bool(await queue.getJobState(job_id) == state)

    await wait_until(reached, timeout_s, f"job {job_id} to be {state}")


@dataclass
class StartLog:
    """Records when each job's processor started (wall clock, as BullMQ's own timestamps)."""

    starts: list[tuple[str, float]] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def note(self, job: Any) -> None:
        self.starts.append((str(job.id), time.time()))
        async with self._arrived:
            self._arrived.notify_all()

    async def record(self, job: Any, token: str) -> str:
        await self.note(job)
        return "ok"

    def times(self, job_id: str | None = None) -> list[float]:
        return [t for jid, t in self.starts if job_id is None or jid == job_id]

    async def wait_count(self, count: int, timeout_s: float, job_id: str | None = None) -> None:
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.times(job_id)) >= count), timeout_s
            )


@dataclass
class PrivateRedis:
    """A redis-server of this test's own (for CONFIG SET and restarts the shared one must
    not see), on a fixed loopback port so it can be restarted in place."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--appendonly", "yes", "--save", ""),
                *("--maxmemory-policy", "noeviction", "--logfile", str(self.directory / "log")),
            ]
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        try:
            while True:  # no readiness event to await: poll, bounded
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        return
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)


@pytest.fixture
def private_redis(tmp_path: Path, redis_url: str) -> Iterator[PrivateRedis]:
    """Needs the shared test Redis too (``redis_url``): both come from scripts/test-services,
    which installs redis-server when it is missing."""
    server = PrivateRedis(tmp_path / "private-redis", free_port())
    server.directory.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- redis-py 8 times blocking reads out after 5 s: socket_timeout=None -----------------------


IDLE_S = 6.0  # longer than redis-py 8's default 5 s socket timeout


def test_idle_worker_picks_up_delayed_and_new_jobs_promptly(bull: BullQueue) -> None:
    settings = bull.settings()

    async def scenario() -> tuple[float, float]:
        log = StartLog()
        async with open_queue(settings) as queue, running_worker(settings, log.record):
            # Due in 6 s: the worker blocks on Redis for those 6 s, past the socket timeout.
            due = time.time() + IDLE_S
            await add_job(queue, settings, "due-later", delay=round(IDLE_S * 1000))
            await log.wait_count(1, IDLE_S + 10, "due-later")
            delayed_late_s = log.times("due-later")[0] - due

            # The point here is an idle worker: nothing to await but time passing.
            await asyncio.sleep(IDLE_S)
            added = time.time()
            await add_job(queue, settings, "after-idle")
            await log.wait_count(1, 10, "after-idle")
            return delayed_late_s, log.times("after-idle")[0] - added

    delayed_late_s, idle_start_s = asyncio.run(scenario())

    assert -0.05 <= delayed_late_s < 1.0, f"delayed job started {delayed_late_s:.2f} s after due"
    assert idle_start_s < 1.0, f"job added to an idle queue started after {idle_start_s:.2f} s"


# --- the rate limiter runs at max/drainDelay: drainDelay = the limiter's window ---------------


def test_rate_limit_of_10_per_second_starts_10_jobs_per_second(bull: BullQueue) -> None:
    settings = bull.settings(rate_limit_per_s=10)
    limiter = worker_options(settings, name="w")["limiter"]
    count = 30

    async def scenario() -> list[float]:
        log = StartLog()
        async with open_queue(settings) as queue:
            for n in range(count):
                await add_job(queue, settings, f"job-{n}")
            async with running_worker(settings, log.record):
                await log.wait_count(count, 20)
        return sorted(log.times())

    starts = asyncio.run(scenario())

    window_s = limiter["duration"] / 1000
    busiest = max(sum(1 for t in starts if s <= t < s + window_s * 0.95) for s in starts)
    # The limiter admits `max` at once, then `max` per window: measure after the first burst.
    steady_rate = (count - limiter["max"]) / (starts[-1] - starts[0])
    assert busiest <= limiter["max"], f"{busiest} starts within one {window_s} s window"
    assert 7 <= steady_rate <= 13, f"{steady_rate:.1f} starts/s with a 10/s limit"


# --- priorities are queue-wide, 1 is highest, and 0 jumps the queue: always set one -----------


def test_high_normal_low_run_in_priority_order_and_fifo_within_one(bull: BullQueue) -> None:
    settings = bull.settings()
    priorities = (Priority.LOW, Priority.NORMAL, Priority.HIGH)
    added = [f"{p.value}-{n}" for n in range(3) for p in priorities]

    async def scenario() -> list[str]:
        log = StartLog()
        async with open_queue(settings) as queue:
            for job_id in added:  # all waiting before the worker starts
                await add_job(queue, settings, job_id, Priority(job_id.split("-")[0]))
            async with running_worker(settings, log.record):
                await log.wait_count(len(added), 20)
        return [job_id for job_id, _ in log.starts]

    order = asyncio.run(scenario())

    expected = [f"{p}-{n}" for p in ("high", "normal", "low") for n in range(3)]
    assert order == expected
    assert all(job_options(settings, "j", p)["priority"] > 0 for p in Priority)


# --- the built-in exponential backoff is delay × 2^(n−1): our sync backoffStrategy ------------


def test_retries_wait_the_configured_delays_then_the_job_fails(bull: BullQueue) -> None:
    delays_s = (0.9, 2.7)  # ×3; BullMQ's built-in exponential would give 0.9, 1.8
    settings = bull.settings(retry_delays_s=delays_s)
    strategy = worker_options(settings, name="w")["settings"]["backoffStrategy"]
    assert not inspect.iscoroutinefunction(strategy)  # an async one leaves the job in active
    assert job_options(settings, "j", Priority.NORMAL)["backoff"] == {"type": BACKOFF_TYPE}

    async def scenario() -> tuple[list[float], Any]:
        log = StartLog()

        async def always_fails(job: Any, token: str) -> None:
            await log.note(job)
            raise RuntimeError("boom")

        async with open_queue(settings) as queue, running_worker(settings, always_fails):
            await add_job(queue, settings, "doomed")
            await wait_for_state(queue, "doomed", "failed", sum(delays_s) + 10)
            return log.times(), await queue.getJob("doomed")

    starts, job = asyncio.run(scenario())

    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(starts) == job.attemptsMade == len(delays_s) + 1
    # bullmq's Worker never reads the Redis version, so it rounds its blocking wait for a
    # delayed job up to whole seconds: delays just under a whole second keep that visible.
    for gap, delay in zip(gaps, delays_s, strict=True):
        assert delay - 0.05 <= gap <= delay + 0.6, f"gaps {gaps} for delays {delays_s}"
    assert job.failedReason == "boom"


# --- cancellation: cooperative, in the worker holding the job, not retried --------------------


def test_cancel_from_the_api_aborts_the_active_job_without_a_retry(
    bull: BullQueue, tmp_path: Path
) -> None:
    settings = bull.settings(data_dir=tmp_path, retry_delays_s=(0.2, 0.2, 0.2))
    upgrade(settings.resolved_database_url)
    request = GenerationRequest.model_validate(
        {"prompt": "slow ambient drift", "duration_s": 60, "seed": 3, "formats": ["wav"]}
    )
    assert len(inspect.signature(JobProcessor.process).parameters) == 4  # self, job, token, signal

    async def scenario() -> tuple[Any, list[str]]:
        storage = LocalStorage(settings.storage_dir)
        processor = JobProcessor(settings, api.store, storage, "test-host:1:0")
        async with open_queue(settings) as queue, running_worker(settings, processor.process) as w:
            aborted: list[str] = []
            cancel_job = w.cancelJob

            def spy(job_id: str, reason: str | None = None) -> bool:
                aborted.append(job_id)
                return cancel_job(job_id, reason)

            w.cancelJob = spy  # type: ignore[method-assign]
            listener = asyncio.create_task(listen_for_cancels(w, settings))
            channel = cancel_channel(settings)

            async def listening() -> bool:
                numsub = await queue.client.pubsub_numsub(channel)
                return bool(numsub[0][1] >= 1)

            await wait_until(listening, 10, "the cancel listener to subscribe")
            job, _ = await asyncio.to_thread(api.enqueue, request)

            async def active() -> bool:
                record = await asyncio.to_thread(api.store.get, job.id)
                return record is not None and record.state is JobState.ACTIVE

            await wait_until(active, 30, "the job to start")
            await asyncio.to_thread(api.cancel, job.id)
            await wait_for_state(queue, job.id, "failed", 60)
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            return await queue.getJob(job.id), aborted

    with open_job_queue(settings) as api:
        assert isinstance(api, BullMQBackend)
        bull_job, aborted = asyncio.run(scenario())
        record = api.store.get(bull_job.id)

    assert aborted == [bull_job.id]  # pub/sub reached Worker.cancelJob on the holding worker
    assert bull_job.attemptsMade == 1  # UnrecoverableError: no retry despite 4 attempts
    assert bull_job.failedReason == "cancelled"
    assert record is not None and record.state is JobState.CANCELLED


# --- stalled recovery: a job whose worker died is re-run by another ---------------------------


STALLING_WORKER = """
import asyncio, sys
from bullmq import Worker
from musewave.config import Settings
from musewave.jobs.bullmq_options import worker_options

async def main():
    settings = Settings.model_validate_json(sys.argv[1])

    async def hold(job, token):
        print(job.id, flush=True)
        await asyncio.Event().wait()  # until SIGKILL

    Worker(settings.queue_name, hold, worker_options(settings, name="doomed"))
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_job_of_a_killed_worker_is_completed_by_another(
    bull: BullQueue, record_property: Callable[[str, object], None]
) -> None:
    settings = bull.settings(lease_ms=2000, stalled_check_s=1.0)
    lease_s, interval_s = settings.lease_ms / 1000, settings.stalled_check_s

    async def scenario() -> tuple[float, Any]:
        log = StartLog()
        async with open_queue(settings) as queue:
            await add_job(queue, settings, "orphan")
            doomed = subprocess.Popen(
                [sys.executable, "-c", STALLING_WORKER, settings.model_dump_json()],
                stdout=subprocess.PIPE,
                cwd=REPO_ROOT,
            )
            try:
                assert doomed.stdout is not None
                taken = await asyncio.wait_for(asyncio.to_thread(doomed.stdout.readline), 30)
                assert taken.decode().strip() == "orphan"
                async with running_worker(settings, log.record, name="rescuer"):
                    killed_at = time.time()
                    doomed.kill()  # SIGKILL: no chance to release the lock
                    await log.wait_count(1, lease_s + 3 * interval_s + 10)
                    await wait_for_state(queue, "orphan", "completed", 10)
            finally:
                doomed.kill()
                doomed.wait()
            return log.times()[0] - killed_at, await queue.getJob("orphan")

    recovery_s, job = asyncio.run(scenario())

    record_property("stalled_recovery_s", round(recovery_s, 2))
    print(f"stalled recovery: {recovery_s:.2f} s (lock {lease_s} s, check every {interval_s} s)")
    assert recovery_s <= lease_s + 2 * interval_s + 2.0
    assert job.returnvalue == "ok"


# --- QueueEvents ends for good on a Redis error: the relay restarts it -----------------------


@contextlib.asynccontextmanager
async def relay_running(settings: Settings) -> AsyncIterator[tuple[QueueEventsRelay, EventBus]]:
    """A relay whose events go to a bus; these progress events need no database look-up, so
    the relay gets no backend."""
    bus = EventBus()
    relay = QueueEventsRelay(cast(BullMQBackend, None), settings, bus.publish)
    running = asyncio.create_task(relay.run_forever())
    try:
        await asyncio.wait_for(relay.connected.wait(), 10)
        yield relay, bus
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def publish_progress(settings: Settings, job_id: str, progress: float) -> None:
    """What a worker does for every job event: ``job.updateProgress`` with a JobEvent."""
    event = JobEvent(type="progress", job_id=job_id, stage="rendering", progress=progress)
    async with open_queue(settings) as queue:
        job = await queue.getJob(job_id) or await queue.add(JOB_NAME, {}, {"jobId": job_id})
        await job.updateProgress(event.model_dump(mode="json"))


async def next_progress(subscription: Any, timeout_s: float = 30) -> float:
    event = await asyncio.wait_for(subscription.next(), timeout_s)
    assert event is not None
    return float(event.progress)


def test_queue_events_relay_delivers_across_a_redis_restart(
    private_redis: PrivateRedis, record_property: Callable[[str, object], None]
) -> None:
    settings = Settings(redis_url=private_redis.url, queue_name="relay-restart")

    async def scenario() -> tuple[list[float], float]:
        async with relay_running(settings) as (_, bus):
            with bus.subscribe("j1") as subscription:
                await publish_progress(settings, "j1", 10)
                seen = [await next_progress(subscription)]
                await asyncio.to_thread(private_redis.stop)  # AOF keeps the event stream
                await asyncio.to_thread(private_redis.start)
                back = time.monotonic()
                await publish_progress(settings, "j1", 20)  # before the relay reconnects
                seen.append(await next_progress(subscription))
                return seen, time.monotonic() - back

    seen, delivered_after_s = asyncio.run(scenario())

    record_property("relay_delivery_after_redis_restart_s", round(delivered_after_s, 2))
    print(f"relay: first event {delivered_after_s:.2f} s after Redis was back")
    assert seen == [10, 20]


def test_queue_events_relay_restarts_a_reader_that_ended_on_an_error(
    private_redis: PrivateRedis,
) -> None:
    # redis-py retries connection errors (bullmq: 20 times, up to 20 s apart), so an error
    # that ends QueueEvents' read loop is one it does not retry, like WRONGTYPE here.
    settings = Settings(redis_url=private_redis.url, queue_name="relay-error")
    events_key = f"bull:{settings.queue_name}:events"

    async def scenario() -> tuple[list[float], int]:
        async with relay_running(settings) as (relay, bus):
            with bus.subscribe("j1") as subscription:
                await publish_progress(settings, "j1", 10)
                seen = [await next_progress(subscription)]
                admin = private_redis.client()
                admin.delete(events_key)
                admin.set(events_key, "not a stream")

                async def restarted() -> bool:
                    return relay.restarts >= 1

                await wait_until(restarted, 30, "the reader to end on WRONGTYPE")
                admin.delete(events_key)
                admin.close()
                await publish_progress(settings, "j1", 20)
                seen.append(await next_progress(subscription))
                return seen, relay.restarts

    seen, restarts = asyncio.run(scenario())

    assert seen == [10, 20]
    assert restarts >= 1


# --- bullmq does not check the eviction policy: we refuse (or warn) -------------------------


def test_eviction_policy_other_than_noeviction_is_refused_or_warned(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    admin = private_redis.client()
    admin.config_set("maxmemory-policy", "noeviction")
    require_noeviction(private_redis.url, required=True)
    admin.config_set("maxmemory-policy", "allkeys-lru")
    with pytest.raises(EvictionPolicyError, match="allkeys-lru"):
        require_noeviction(private_redis.url, required=True)
    admin.config_set("maxmemory-policy", "volatile-lru")
    with caplog.at_level(logging.WARNING, logger="musewave.redis_connections"):
        require_noeviction(private_redis.url, required=False)
    assert "volatile-lru" in caplog.text


def test_eviction_policy_is_read_from_the_server(private_redis: PrivateRedis) -> None:
    private_redis.client().config_set("maxmemory-policy", "allkeys-lru")
    assert eviction_policy(private_redis.client()) == "allkeys-lru"


@pytest.mark.parametrize("command", [["worker", "--concurrency", "1"], ["serve", "--port", "0"]])
def test_musewave_refuses_an_evicting_redis_in_one_line(
    private_redis: PrivateRedis, tmp_path: Path, command: list[str]
) -> None:
    private_redis.client().config_set("maxmemory-policy", "allkeys-lru")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEWAVE_")}
    env |= {"MUSEWAVE_REDIS_URL": private_redis.url, "MUSEWAVE_DATA_DIR": str(tmp_path / "data")}

    done = subprocess.run(
        [sys.executable, "-m", "musewave.cli", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1, done.stderr
    assert "maxmemory-policy 'allkeys-lru'" in lines[0]


# --- options are camelCase dicts and typos are silently ignored -------------------------------


# Options bullmq reads that its TypedDicts do not declare (checked against its source below).
UNTYPED_WORKER_KEYS = {
    "limiter",
    "drainDelay",
    "runRetryDelay",
    "settings",
    "removeOnComplete",
    "removeOnFail",
}
BULLMQ_SOURCE = "\n".join(
    path.read_text()
    for path in Path(inspect.getfile(Worker)).parent.rglob("*.py")
    if "postgres" not in path.parts
)


def declared(typed_dict: type) -> set[str]:
    return set(typing.get_type_hints(typed_dict))


def read_by_bullmq(key: str) -> bool:
    return f'"{key}"' in BULLMQ_SOURCE or f"'{key}'" in BULLMQ_SOURCE


def test_every_option_we_set_is_a_name_bullmq_reads(bull: BullQueue) -> None:
    settings = bull.settings()
    worker = worker_options(settings, name="w")
    job = job_options(settings, "j", Priority.NORMAL)

    assert set(worker) <= declared(WorkerOptions) | UNTYPED_WORKER_KEYS
    assert set(job) <= declared(JobOptions)
    assert set(queue_options(settings)) <= declared(QueueBaseOptions)
    assert set(queue_events_options(settings, "$")) <= declared(QueueEventsOptions)
    assert set(job["backoff"]) <= declared(BackoffOptions)
    assert set(job["removeOnComplete"]) | set(job["removeOnFail"]) <= declared(KeepJobs)
    untyped = {key for key in worker if key not in declared(WorkerOptions)}
    nested = {*worker["limiter"], *worker["settings"]}
    unread = {key for key in untyped | nested if not read_by_bullmq(key)}
    assert not unread, f"bullmq never reads {sorted(unread)}"


def test_connection_options_are_redis_py_arguments(bull: BullQueue) -> None:
    accepted = set(inspect.signature(aioredis.Redis.__init__).parameters)

    assert set(connection_options(bull.redis_url)) <= accepted
    assert set(connection_options("rediss://h:1/0")) <= accepted


def test_processor_is_async_and_job_options_are_plain_json(bull: BullQueue) -> None:
    assert inspect.iscoroutinefunction(JobProcessor.process)  # bullmq awaits the processor
    options = job_options(bull.settings(), "j", Priority.HIGH)
    assert json.loads(json.dumps(options)) == options  # readable by Node.js clients as is
