"""Progress streams: ``WS /ws/progress/{job_id}`` and SSE ``GET /v1/jobs/{job_id}/events``.

Both subscribe to the process's event bus before reading the job, so nothing that happens in
between is missed; a late subscriber first gets ``connected`` with the current state (and
none of the earlier progress it covers), and a finished job answers with its final event and
ends the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial

from fastapi import APIRouter, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from musewave.jobs import JobEvent, JobNotFound, JobRecord, connected_event
from musewave.observability import metrics
from musewave.service.auth import WS_SUBPROTOCOL, CallerDep, websocket_caller
from musewave.service.bus import EventBus, Subscription
from musewave.service.deps import ServicesDep
from musewave.service.problems import problem_responses
from musewave.service.services import Services, final_event_with_links
from musewave.service.ws_protocol import SEND_TEXT_NOW, SendTextNow

router = APIRouter(tags=["progress"])

CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_UNAUTHORIZED, CLOSE_UNKNOWN_JOB = 1000, 1001, 4401, 4404
REASON_GOING_AWAY = "server shutting down"
REASON_UNAUTHORIZED = "a valid API key is needed"
REASON_UNKNOWN_JOB = "no such job"  # the same for a job another key owns
SSE_HEARTBEAT_S = 15.0


async def _events(
    services: Services, job: JobRecord, sub: Subscription
) -> AsyncIterator[JobEvent | None]:
    """The stream for one subscriber: connected, then live events until a final one.
    Yields ``None`` last when the server is shutting down."""
    connected = connected_event(job)
    sub.skip_covered_by(connected)
    yield connected
    final = final_event_with_links(job)
    if final is not None:
        yield final
        return
    while True:
        event = await sub.next()
        yield event
        if event is None or event.is_terminal:
            return


def _services_of(websocket: WebSocket) -> Services:
    services: Services = websocket.app.state.services
    return services


@router.websocket("/ws/progress/{job_id}")
async def progress_socket(websocket: WebSocket, job_id: str) -> None:
    """Send the credentials as ``Authorization: Bearer <key>``, or (browsers) as the two
    subprotocols ``bearer, <key>``; a refused key closes the socket with 4401."""
    services = _services_of(websocket)
    try:
        caller = await websocket_caller(websocket)
    except HTTPException:
        await websocket.accept()
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason=REASON_UNAUTHORIZED)
        return
    offered = websocket.headers.get("sec-websocket-protocol", "")
    await websocket.accept(
        subprotocol=WS_SUBPROTOCOL if offered.startswith(WS_SUBPROTOCOL) else None
    )
    with services.bus.subscribe(job_id) as sub, metrics.websocket_connection():
        try:
            job = await run_in_threadpool(services.jobs.get, job_id, caller)
        except JobNotFound:
            await websocket.close(code=CLOSE_UNKNOWN_JOB, reason=REASON_UNKNOWN_JOB)
            return
        # A reader notices the client leaving and ends the stream at once, even while no
        # event comes: the socket is forgotten the moment its client goes.
        reader = asyncio.create_task(_drain(websocket, sub))
        # The server's protocol can write a live event to this socket without waking this
        # task (see service.ws_protocol); another ASGI server's cannot.
        extensions = websocket.scope.get("extensions") or {}
        send_text_now: SendTextNow | None = extensions.get(SEND_TEXT_NOW)
        send_now = send_text_now and partial(_send_now, services.bus, send_text_now)
        try:
            async for event in _events(services, job, sub):
                if event is None:
                    await websocket.close(code=CLOSE_GOING_AWAY, reason=REASON_GOING_AWAY)
                    return
                if reader.done():
                    return
                if not sub.was_sent(event):
                    await websocket.send_text(services.bus.json_of(event))
                if send_now is not None:  # what comes next is live
                    sub.send_directly(send_now)
            # The other readers of a fan-out send the final event before this one closes.
            await asyncio.sleep(0)
            await websocket.close(code=CLOSE_NORMAL)
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


def _send_now(bus: EventBus, send_text_now: SendTextNow, event: JobEvent) -> bool:
    return send_text_now(bus.json_of(event))


async def _drain(websocket: WebSocket, sub: Subscription) -> None:
    """Read (and ignore) client messages until it disconnects; then end its stream."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    sub.offer(None)


@router.get(
    "/v1/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **problem_responses(401, 404)},
)
async def progress_stream(
    job_id: str, request: Request, services: ServicesDep, caller: CallerDep
) -> StreamingResponse:
    """Server-Sent Events, one ``event: <type>`` per job event (same JSON as the WebSocket)."""
    job = await run_in_threadpool(services.jobs.get, job_id, caller)  # 404 before it starts

    def frame(event: JobEvent) -> str:
        return f"event: {event.type}\ndata: {services.bus.json_of(event)}\n\n"

    async def stream() -> AsyncIterator[str]:
        with services.bus.subscribe(job_id) as sub:
            current = await run_in_threadpool(services.queue.store.get, job_id) or job
            connected = connected_event(current)
            sub.skip_covered_by(connected)
            yield frame(connected)
            final = final_event_with_links(current)
            if final is not None:
                yield frame(final)
                return
            while True:
                try:  # cancelling a queue read is safe, so the heartbeat can use a timeout
                    event = await asyncio.wait_for(sub.next(), SSE_HEARTBEAT_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                if event is None:
                    yield 'event: error\ndata: {"detail": "server shutting down"}\n\n'
                    return
                yield frame(event)
                if event.is_terminal:
                    return

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
