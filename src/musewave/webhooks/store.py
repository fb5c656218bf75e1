"""Webhook rows in SQL: signing secrets per owner and durable deliveries.

A delivery is recorded once per job event (``job_id`` + ``dedup_key`` is unique, so every API
process that hears of an event may try to record it) and then attempted by whichever process
claims it: a claim sets a lease (``lease_until``, ``lease_token``) with a guarded update, so two
processes never attempt one row at the same time, and an attempt cut short by a crash is made
again, with the same ``webhook-id``, once its lease has expired.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, and_, cast, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased, sessionmaker

from musewave.db.models import Job, WebhookDelivery, WebhookSecret
from musewave.db.session import read_transaction, write_transaction
from musewave.jobs.states import FINISHED_STATES
from musewave.webhooks.client import AttemptOutcome
from musewave.webhooks.signing import new_secret

Clock = Callable[[], datetime]
ATTEMPT_LOG_LENGTH = 20  # the latest attempts a delivery's log keeps
PENDING, DELIVERED, FAILED, GONE, DISABLED = "pending", "delivered", "failed", "gone", "disabled"
START_KEY = "start"
FINAL_KEY_PREFIX = "completed:"


def _now() -> datetime:
    return datetime.now(UTC)


class SecretRecord(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    owner: str
    secret: str
    previous: str | None
    previous_until: datetime | None
    created_at: datetime
    rotated_at: datetime | None

    def signing(self, now: datetime) -> list[str]:
        """The secrets that sign at ``now``: the current one, and the previous during the
        overlap after a rotation."""
        if self.previous and self.previous_until is not None and now < self.previous_until:
            return [self.secret, self.previous]
        return [self.secret]


class DeliveryRecord(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    job_id: str
    owner: str
    url: str
    event_type: str
    dedup_key: str
    payload: str
    state: str
    attempts: int
    schedule_base: int
    next_attempt_at: datetime
    lease_until: datetime | None
    lease_token: str | None
    last_status: int | None
    last_error: str | None
    attempt_log: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class OwedJob(BaseModel):
    """A job whose webhook is owed an event no process recorded (see
    :meth:`WebhookStore.owed_events`)."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    start: bool
    final: bool


class WebhookStore:
    """Secrets and deliveries on the job store's database. Methods block: call them in a
    worker thread."""

    def __init__(self, sessions: sessionmaker[Session], *, clock: Clock = _now) -> None:
        self.sessions = sessions
        self._clock = clock

    # --- secrets ----------------------------------------------------------------------------

    def secret(self, owner: str) -> SecretRecord:
        """``owner``'s signing secret, made on first use."""
        with read_transaction(self.sessions) as session:
            row = session.get(WebhookSecret, owner)
            if row is not None:
                return SecretRecord.model_validate(row)
        with write_transaction(self.sessions) as session:
            session.execute(
                self._insert_ignoring_duplicates(session, WebhookSecret).values(
                    owner=owner, secret=new_secret(), created_at=self._clock()
                )
            )
            row = session.get(WebhookSecret, owner)
            assert row is not None
            return SecretRecord.model_validate(row)

    def rotate(self, owner: str, overlap_s: float) -> SecretRecord:
        """A new secret for ``owner``; the one it replaces signs too for ``overlap_s``."""
        self.secret(owner)  # exists from here on
        now = self._clock()
        with write_transaction(self.sessions) as session:
            row = session.get(WebhookSecret, owner, with_for_update=True)
            assert row is not None
            row.previous = row.secret if overlap_s > 0 else None
            row.previous_until = now + timedelta(seconds=overlap_s) if overlap_s > 0 else None
            row.secret = new_secret()
            row.rotated_at = now
            session.flush()
            return SecretRecord.model_validate(row)

    # --- recording --------------------------------------------------------------------------

    def record(
        self,
        *,
        job_id: str,
        owner: str,
        url: str,
        event_type: str,
        dedup_key: str,
        payload: str,
    ) -> bool:
        """Record a delivery to be made now; False when the event was recorded before (by
        this process or another) or an earlier 410 disabled the job's webhook."""
        now = self._clock()
        with write_transaction(self.sessions) as session:
            gone = session.scalar(
                select(
                    exists().where(
                        WebhookDelivery.job_id == job_id,
                        WebhookDelivery.state.in_([GONE, DISABLED]),
                    )
                )
            )
            if gone:
                return False
            result = session.execute(
                self._insert_ignoring_duplicates(session, WebhookDelivery).values(
                    id=f"msg_{uuid4().hex}",
                    job_id=job_id,
                    owner=owner,
                    url=url,
                    event_type=event_type,
                    dedup_key=dedup_key,
                    payload=payload,
                    state=PENDING,
                    attempts=0,
                    schedule_base=0,
                    next_attempt_at=now,
                    attempt_log=[],
                    created_at=now,
                    updated_at=now,
                )
            )
            return bool(getattr(result, "rowcount", 0))

    @staticmethod
    def _insert_ignoring_duplicates(session: Session, table: Any) -> Any:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        return sqlite.insert(table).on_conflict_do_nothing()

    def owed_events(self, since: datetime, limit: int = 100) -> list[OwedJob]:
        """Jobs with a webhook that started or finished after ``since`` and whose start or
        final event has no delivery: events this process never heard of (the job ended
        while no API process listened, was cancelled from the operator CLI, or was settled
        by a stalled check). The caller records them (idempotently)."""
        finished = [state.value for state in FINISHED_STATES]

        def lacks(key: Any) -> Any:
            return ~exists().where(WebhookDelivery.job_id == Job.id, key)

        def wants(event: str) -> Any:
            # The filter is a JSON list of plain words: as text, it holds '"<word>"'. In SQL,
            # so that jobs that want neither event never fill the page.
            return cast(Job.webhook_events_filter, String).contains(f'"{event}"')

        final_owed = and_(
            wants("completed"),
            Job.state.in_(finished),
            Job.finished_at >= since,
            lacks(WebhookDelivery.dedup_key.startswith(FINAL_KEY_PREFIX)),
        )
        start_owed = and_(
            wants("start"),
            Job.started_at.is_not(None),
            Job.started_at >= since,
            lacks(WebhookDelivery.dedup_key == START_KEY),
        )
        no_disabled = ~exists().where(
            WebhookDelivery.job_id == Job.id, WebhookDelivery.state.in_([GONE, DISABLED])
        )
        owed: list[OwedJob] = []
        with read_transaction(self.sessions) as session:
            for events_filter, job_id, is_start_owed, is_final_owed in session.execute(
                select(
                    Job.webhook_events_filter,
                    Job.id,
                    start_owed,
                    final_owed,
                )
                .where(Job.webhook.is_not(None), or_(final_owed, start_owed), no_disabled)
                .order_by(Job.created_at, Job.id)
                .limit(limit)
            ):
                wanted = set(events_filter or ())
                start = bool(is_start_owed) and "start" in wanted
                final = bool(is_final_owed) and "completed" in wanted
                if start or final:
                    owed.append(OwedJob(job_id=job_id, start=start, final=final))
        return owed

    # --- attempts ---------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        """When the earliest pending delivery is due (None: nothing pending)."""
        with read_transaction(self.sessions) as session:
            return session.scalar(
                select(WebhookDelivery.next_attempt_at)
                .where(WebhookDelivery.state == PENDING)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(1)
            )

    def claim(self, limit: int, lease_s: float) -> tuple[str, list[DeliveryRecord]]:
        """Up to ``limit`` due deliveries nobody holds, leased for ``lease_s`` to a new
        token: ``(token, deliveries)``.

        One attempt at a time per job, the earliest due first: a receiver hears a job's
        events in order, and a 410 stops every later one before it is sent. A delivery
        waiting for its retry does not hold the job's others back."""
        now = self._clock()
        token = uuid4().hex
        due = and_(
            WebhookDelivery.state == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
        )
        other = aliased(WebhookDelivery)
        in_flight = other.lease_until >= now
        # Recording order, the ids (random) only breaking exact ties.
        due_sooner = and_(
            other.next_attempt_at <= now,
            or_(
                other.next_attempt_at < WebhookDelivery.next_attempt_at,
                and_(
                    other.next_attempt_at == WebhookDelivery.next_attempt_at,
                    or_(
                        other.created_at < WebhookDelivery.created_at,
                        and_(
                            other.created_at == WebhookDelivery.created_at,
                            other.id < WebhookDelivery.id,
                        ),
                    ),
                ),
            ),
        )
        job_busy = exists().where(
            other.job_id == WebhookDelivery.job_id,
            other.state == PENDING,
            or_(in_flight, due_sooner),
        )
        # A 410 disables the job's pending rows, but a row recorded concurrently with it (READ
        # COMMITTED: it read "not gone" before the 410 committed) must not be sent either.
        job_gone = exists().where(
            other.job_id == WebhookDelivery.job_id, other.state.in_([GONE, DISABLED])
        )
        with write_transaction(self.sessions) as session:
            ids = list(
                session.scalars(
                    select(WebhookDelivery.id)
                    .where(due, ~job_busy, ~job_gone)
                    .order_by(WebhookDelivery.next_attempt_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return token, []
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), due)
                .values(lease_until=now + timedelta(seconds=lease_s), lease_token=token)
                .execution_options(synchronize_session=False)
            )
            rows = session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.lease_token == token)
            ).all()
            return token, [DeliveryRecord.model_validate(row) for row in rows]

    def finish(
        self,
        delivery: DeliveryRecord,
        outcome: AttemptOutcome,
        retry_delays_s: Sequence[float],
        *,
        attempted_at: datetime,
    ) -> str | None:
        """Record one attempt of a delivery this process holds; its new state (None when
        the lease was lost meanwhile and nothing was recorded).

        2xx: delivered. 410: gone, and the job's other pending deliveries are disabled.
        A refused destination: failed (retrying cannot help). Anything else: retried after
        the next delay of ``retry_delays_s`` (counted from the last re-send), failed once
        they are used up."""
        now = self._clock()
        attempts = delivery.attempts + 1
        entry = {
            "at": attempted_at.isoformat(),
            "status": outcome.status,
            "error": outcome.error,
            "duration_ms": outcome.duration_ms,
        }
        log = [*delivery.attempt_log, entry][-ATTEMPT_LOG_LENGTH:]
        values: dict[str, Any] = {
            "attempts": attempts,
            "attempt_log": log,
            "last_status": outcome.status,
            "last_error": outcome.error,
            "lease_until": None,
            "lease_token": None,
            "updated_at": now,
        }
        retry = attempts - delivery.schedule_base - 1  # the index of the next delay
        if outcome.ok:
            values.update(state=DELIVERED, delivered_at=now)
        elif outcome.gone:
            values.update(state=GONE)
        elif outcome.refused or retry >= len(retry_delays_s):
            values.update(state=FAILED)
        else:
            values.update(
                state=PENDING, next_attempt_at=now + timedelta(seconds=retry_delays_s[retry])
            )
        with write_transaction(self.sessions) as session:
            changed = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery.id,
                    WebhookDelivery.lease_token == delivery.lease_token,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if not getattr(changed, "rowcount", 0):
                return None
            if outcome.gone:
                session.execute(
                    update(WebhookDelivery)
                    .where(
                        WebhookDelivery.job_id == delivery.job_id,
                        WebhookDelivery.state == PENDING,
                    )
                    .values(state=DISABLED, lease_until=None, lease_token=None, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
        return str(values["state"])

    def release(self, token: str) -> None:
        """Give back the deliveries leased to ``token`` (attempts cut short by a shutdown),
        so that another process, or this one after a restart, makes them at once."""
        with write_transaction(self.sessions) as session:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.lease_token == token)
                .values(lease_until=None, lease_token=None)
                .execution_options(synchronize_session=False)
            )

    # --- reading and re-sending ------------------------------------------------------------

    def deliveries(self, job_id: str) -> list[DeliveryRecord]:
        """The job's deliveries, oldest first."""
        with read_transaction(self.sessions) as session:
            rows = session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.job_id == job_id)
                .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
            ).all()
            return [DeliveryRecord.model_validate(row) for row in rows]

    def resend(self, job_id: str, delivery_id: str) -> DeliveryRecord | None:
        """Attempt a delivery again now, with the same ``webhook-id`` and body and a fresh
        retry schedule. An attempt in flight loses its lease (its outcome is not recorded);
        a 410 for the job no longer holds its deliveries back (its gone and disabled ones
        become failed: asking for one again is asking for the webhook again). None: no such
        delivery."""
        now = self._clock()
        with write_transaction(self.sessions) as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None or row.job_id != job_id:
                return None
            session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.job_id == job_id,
                    WebhookDelivery.state.in_([GONE, DISABLED]),
                    WebhookDelivery.id != delivery_id,
                )
                .values(state=FAILED, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            row.state = PENDING
            row.schedule_base = row.attempts
            row.next_attempt_at = now
            row.lease_until = None
            row.lease_token = None
            row.updated_at = now
            session.flush()
            return DeliveryRecord.model_validate(row)
