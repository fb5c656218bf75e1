"""Progress streams: ``WS /ws/progress/{job_id}`` and SSE ``GET /v1/jobs/{job_id}/events``.

Both subscribe to the process's event bus before reading the job, so nothing that happens in
between is missed; a late subscriber first gets ``connected`` with the current state, and a
finished job answers with its final event and ends the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from musewave.jobs import JobEvent, JobNotFound, JobRecord, connected_event
from musewave.observability import metrics
from musewave.service.bus import Subscription
from musewave.service.deps import ServicesDep
from musewave.service.problems import problem_responses
from musewave.service.services import Services, final_event_with_links

router = APIRouter(tags=["progress"])

CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_UNKNOWN_JOB = 1000, 1001, 4404
SSE_HEARTBEAT_S = 15.0


async def _events(
    services: Services, job: JobRecord, sub: Subscription
) -> AsyncIterator[JobEvent | None]:
    """The stream for one subscriber: connected, then live events until a final one.
    Yields ``None`` last when the server is shutting down."""
    yield connected_event(job)
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
    services = _services_of(websocket)
    await websocket.accept()
    with services.bus.subscribe(job_id) as sub, metrics.websocket_connection():
        try:
            job = await run_in_threadpool(services.jobs.get, job_id)
        except JobNotFound:
            await websocket.close(code=CLOSE_UNKNOWN_JOB, reason=f"no job {job_id}")
            return
        # A reader notices the client leaving while we wait for events that may never come.
        reader = asyncio.create_task(_drain(websocket))
        try:
            async for event in _events(services, job, sub):
                if event is None:
                    await websocket.close(code=CLOSE_GOING_AWAY, reason="server shutting down")
                    return
                if reader.done():
                    return
                await websocket.send_text(event.model_dump_json())
            await websocket.close(code=CLOSE_NORMAL)
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


@router.get(
    "/v1/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **problem_responses(404)},
)
async def progress_stream(
    job_id: str, request: Request, services: ServicesDep
) -> StreamingResponse:
    """Server-Sent Events, one ``event: <type>`` per job event (same JSON as the WebSocket)."""
    job = await run_in_threadpool(services.jobs.get, job_id)  # 404 before the stream starts

    def frame(event: JobEvent) -> str:
        return f"event: {event.type}\ndata: {event.model_dump_json()}\n\n"

    async def stream() -> AsyncIterator[str]:
        with services.bus.subscribe(job_id) as sub:
            current = await run_in_threadpool(services.queue.store.get, job_id) or job
            yield frame(connected_event(current))
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
