"""Who the caller is (``GET /v1/me``), and API-key management for admins (``/v1/admin/keys``):
the same operations as ``musewave keys``, for the operator dashboard. A secret is shown once,
in the answer that creates it; only its hash is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from limits import parse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from musewave.access import ApiKeyRecord, Scope
from musewave.access.audit import audit
from musewave.access.keys import MAX_NAME_CHARS
from musewave.service.auth import AdminDep, CallerDep
from musewave.service.deps import ServicesDep
from musewave.service.problems import problem_responses

router = APIRouter(responses=problem_responses(401))

# One rate as the `limits` library reads it (amount, "/" or "per", optional count, unit),
# in the lower case the document can state: the document and the server agree on it.
RATE_PATTERN = (
    r"^[1-9][0-9]{0,8} ?(?:/|per) ?(?:[1-9][0-9]{0,8} ?)?(?:second|minute|hour|day|month|year)s?$"
)


class CallerView(BaseModel):
    """The caller as the server sees it. ``key_id`` is null for anonymous use (a loopback
    server with ``MUSEWAVE_AUTH=auto``, or ``off``)."""

    key_id: str | None
    name: str
    scope: Scope
    anonymous: bool


class ApiKeyView(BaseModel):
    id: str
    name: str
    scope: Scope
    rate: str | None = Field(description="Its generation rate limit; null: the server's")
    created_at: datetime
    revoked_at: datetime | None
    active: bool

    @classmethod
    def of(cls, record: ApiKeyRecord) -> ApiKeyView:
        return cls(
            id=record.id,
            name=record.name,
            scope=record.scope,
            rate=record.rate,
            created_at=record.created_at,
            revoked_at=record.revoked_at,
            active=record.active,
        )


class CreatedApiKey(ApiKeyView):
    secret: str = Field(description="The key's secret: shown this once, stored only as a hash")


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]
    scope: Scope = Scope.USER
    rate: Annotated[
        str | None,
        Field(
            pattern=RATE_PATTERN,
            description="Its generation rate limit, such as `60/minute` or `10 per 2 hours`; "
            "null: the server's",
        ),
    ] = None

    @field_validator("rate")
    @classmethod
    def _readable_rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse(value)  # the pattern admits only what `limits` reads (a ValueError: 422)
        return value


@router.get("/v1/me", response_model=CallerView, tags=["access"])
async def who_am_i(caller: CallerDep) -> CallerView:
    """The key this request was made with: its id, name and scope (never its secret)."""
    return CallerView(
        key_id=caller.owner or None,
        name=caller.name,
        scope=caller.scope,
        anonymous=caller.anonymous,
    )


@router.get(
    "/v1/admin/keys",
    response_model=list[ApiKeyView],
    tags=["admin"],
    responses=problem_responses(403),
)
async def list_keys(services: ServicesDep, caller: AdminDep) -> list[ApiKeyView]:
    """Every key, oldest first, revoked ones included (never a secret)."""
    records = await run_in_threadpool(services.auth.keys.list)
    return [ApiKeyView.of(record) for record in records]


@router.post(
    "/v1/admin/keys",
    response_model=CreatedApiKey,
    status_code=status.HTTP_201_CREATED,
    tags=["admin"],
    responses=problem_responses(400, 403),  # 400: a body that is not JSON text
)
async def create_key(body: NewApiKey, services: ServicesDep, caller: AdminDep) -> CreatedApiKey:
    """A new key; the answer holds its secret, which cannot be shown again."""
    record, secret = await run_in_threadpool(
        lambda: services.auth.keys.create(body.name, body.scope, rate=body.rate)
    )
    audit("key created", caller, id=record.id, scope=record.scope.value)
    return CreatedApiKey(**ApiKeyView.of(record).model_dump(), secret=secret)


@router.post(
    "/v1/admin/keys/{key_id}/revoke",
    response_model=ApiKeyView,
    tags=["admin"],
    responses=problem_responses(403, 404),
)
async def revoke_key(key_id: str, services: ServicesDep, caller: AdminDep) -> ApiKeyView:
    """Revoke a key: its secret is refused from then on (within a few seconds on every API
    process). Revoking a revoked key changes nothing."""
    record = await run_in_threadpool(services.auth.keys.revoke, key_id)
    if record is None:
        raise HTTPException(status_code=404, detail="no key has that id")
    audit("key revoked", caller, id=record.id)
    return ApiKeyView.of(record)
