"""Tables: jobs (one per generation), their assets, and API keys. Migrations live in
``migrations/``.

Changing a model means adding a migration; ``tests/db/test_migrations.py`` checks they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints let SQLite batch migrations find and alter them later.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zones: values are stored as naive UTC (fixed-width text, so comparisons
    order correctly) and come back with ``tzinfo=UTC``. Other backends use TIMESTAMP WITH TIME
    ZONE.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Label(TypeDecorator[str]):
    """A short string column that also accepts ``StrEnum`` members, binding their plain value
    (some drivers would otherwise adapt an Enum by its name).
    """

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


# JSON documents: JSONB on PostgreSQL (binary, comparable and indexable; plain ``json`` has
# no equality operator, so DISTINCT, UNION or GROUP BY over a row would fail), JSON elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument,
    }


class Job(Base):
    """One generation request and its life in the queue. ``priority`` is a rank: 1 runs first."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(Label(16))
    stage: Mapped[str] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    priority: Mapped[int] = mapped_column(SmallInteger)
    request: Mapped[dict[str, Any]]
    fingerprint: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    # The API key that made the job ("" for anonymous use); idempotency keys are per owner.
    owner: Mapped[str] = mapped_column(String(32), server_default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(64))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    run_after: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    request_id: Mapped[str | None] = mapped_column(String(128))
    # W3C trace context (traceparent/tracestate) of the enqueuing request, for span links.
    trace_context: Mapped[dict[str, Any] | None]
    # Milliseconds per engine stage of the attempt that completed the job.
    stage_ms: Mapped[dict[str, Any] | None]
    # Which planner made the completed attempt's plan: "rules" or "llm:<provider>:<model>".
    planner: Mapped[str | None] = mapped_column(String(255))
    # Past it, an unfinished job is cancelled (aborted if it never started).
    deadline_at: Mapped[datetime | None]
    # Where to send the job's webhooks (musewave.webhooks), and which events ("start",
    # "progress", "completed"); both None without a webhook.
    webhook: Mapped[str | None] = mapped_column(String(2048))
    webhook_events_filter: Mapped[list[str] | None] = mapped_column(JSONDocument)

    assets: Mapped[list[Asset]] = relationship(
        back_populates="job",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Asset.name",
        lazy="selectin",
    )

    __table_args__ = (
        # claim: WHERE state = 'queued' AND run_after <= now ORDER BY priority, created_at, id
        # (covering, in order: no sort; run_after last so it filters without breaking order)
        Index("ix_jobs_claim", "state", "priority", "created_at", "id", "run_after"),
        # next_run_after, delayed counts, stalled leases
        Index("ix_jobs_state_run_after", "state", "run_after"),
        # list_jobs with and without a state filter (newest first, keyset cursor)
        Index("ix_jobs_state_created_at_id", "state", "created_at", "id"),
        Index("ix_jobs_created_at_id", "created_at", "id"),
        Index("ix_jobs_fingerprint", "fingerprint"),
        # the start rate limit counts recent starts
        Index("ix_jobs_started_at", "started_at"),
        Index("ix_jobs_finished_at", "finished_at"),
        Index("ix_jobs_deadline_at", "deadline_at"),
        # an owner's jobs, newest first
        Index("ix_jobs_owner_created_at_id", "owner", "created_at", "id"),
        UniqueConstraint("owner", "idempotency_key"),
    )


class Asset(Base):
    """A file a job produced. ``path`` is relative to the storage root; ``name`` is per job."""

    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("jobs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(1024))
    media_type: Mapped[str] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]

    job: Mapped[Job] = relationship(back_populates="assets")

    __table_args__ = (UniqueConstraint("job_id", "name"),)


class Variant(Base):
    """One of the renders a request for ``n`` variants made: the job at ``position`` of the
    generation named by its first job's id."""

    __tablename__ = "variants"

    generation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    job_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )


class ApiKey(Base):
    """An API key. Only the SHA-256 of its secret is kept; the secret is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(Label(16))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    rate: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class WebhookSecret(Base):
    """The ``whsec_`` secret that signs the webhooks of one owner (an API key's id, "" for
    anonymous use). Kept as is (an HMAC needs it); after a rotation ``previous`` signs too
    until ``previous_until``."""

    __tablename__ = "webhook_secrets"

    owner: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    previous: Mapped[str | None] = mapped_column(String(64))
    previous_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One webhook message for one job event, and its attempts. ``id`` is the message's
    ``webhook-id`` (the same on every attempt and re-send); ``payload`` is the exact body.
    ``dedup_key`` names the event within the job, so that every API process that hears of it
    records it once. ``state``: pending, delivered, failed (attempts exhausted or destination
    refused), gone (the receiver answered 410), disabled (an earlier 410 for the job).
    A pending row whose ``lease_until`` is in the future is being attempted by the process
    holding ``lease_token``."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("jobs.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    event_type: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Label(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts made before the last manual re-send: the retry schedule restarts there.
    schedule_base: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The latest attempts: [{"at", "status", "error", "duration_ms"}, ...]
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("job_id", "dedup_key"),
        # claim: WHERE state = 'pending' AND next_attempt_at <= now ORDER BY next_attempt_at
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        # claim: one per job, the earliest due; a job's other pending rows are looked up here
        Index(
            "ix_webhook_deliveries_job_state_next_attempt_at", "job_id", "state", "next_attempt_at"
        ),
    )
