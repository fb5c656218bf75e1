"""Read-only views of a production-mode server's stores, for checks the API cannot make:
which worker process holds which job (PostgreSQL) and what BullMQ has (Redis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import redis
import sqlalchemy

from tests.service.support import ServerProcess

BULL_PREFIX = "bull"  # BullMQ's default key prefix, which MuseWave keeps


@dataclass(frozen=True)
class HeldJob:
    """An active job and the worker slot holding it (``<host>:<pid>:<slot>``)."""

    job_id: str
    worker_id: str
    stage: str

    @property
    def pid(self) -> int:
        return int(self.worker_id.split(":")[-2])


class Stores:
    def __init__(self, server: ServerProcess):
        self.sql = sqlalchemy.create_engine(server.database_url, pool_size=2, max_overflow=2)
        self.redis = redis.Redis.from_url(server.env["MUSEWAVE_REDIS_URL"], decode_responses=True)
        self.queue_key = f"{BULL_PREFIX}:{server.env['MUSEWAVE_QUEUE_NAME']}"

    def close(self) -> None:
        self.sql.dispose()
        self.redis.close()

    def _rows(self, query: str, **params: Any) -> list[Any]:
        with self.sql.connect() as connection:
            return list(connection.execute(sqlalchemy.text(query), params).all())

    def held_jobs(self) -> list[HeldJob]:
        rows = self._rows(
            "SELECT id, worker_id, stage FROM jobs WHERE state = 'active' AND worker_id IS NOT NULL"
        )
        return [HeldJob(str(id_), str(worker), str(stage)) for id_, worker, stage in rows]

    def held_by(self, worker_id: str) -> list[HeldJob]:
        return [job for job in self.held_jobs() if job.worker_id == worker_id]

    def holders(self, job_ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """``job_id → (state, worker_id)``."""
        rows = self._rows("SELECT id, state, worker_id FROM jobs WHERE id = ANY(:ids)", ids=job_ids)
        return {str(id_): (str(state), worker) for id_, state, worker in rows}

    def count_started_since(self, since: Any) -> int:
        """Attempts begun (by any worker) after ``since`` (an aware datetime)."""
        rows = self._rows("SELECT count(*) FROM jobs WHERE started_at > :since", since=since)
        return int(rows[0][0])

    def states(self) -> dict[str, int]:
        rows = self._rows("SELECT state, count(*) FROM jobs GROUP BY state")
        return {str(state): int(count) for state, count in rows}

    def duplicate_assets(self) -> list[tuple[str, str, int]]:
        """``(job_id, name, rows)`` for every asset name registered more than once."""
        rows = self._rows(
            "SELECT job_id, name, count(*) FROM assets GROUP BY job_id, name HAVING count(*) > 1"
        )
        return [(str(job), str(name), int(count)) for job, name, count in rows]

    def assets_per_job(self) -> dict[str, int]:
        rows = self._rows("SELECT job_id, count(*) FROM assets GROUP BY job_id")
        return {str(job): int(count) for job, count in rows}

    # --- BullMQ's side ------------------------------------------------------------------------

    def bull_ids(self, state: str) -> set[str]:
        """Job ids BullMQ keeps in ``state`` (a list for wait/active, a sorted set otherwise)."""
        key = f"{self.queue_key}:{state}"
        if state in ("wait", "active", "paused"):
            members = self.redis.lrange(key, 0, -1)
        else:
            members = cast(list[bytes | str], self.redis.zrange(key, 0, -1))
        return {str(member) for member in members}

    def bull_stalls(self, job_id: str) -> int:
        """How often BullMQ found this job stalled (its worker stopped renewing the lock)."""
        return int(self.redis.hget(f"{self.queue_key}:{job_id}", "stc") or 0)
