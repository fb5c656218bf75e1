"""HTTP requests are counted by route template (never the raw path), progress WebSockets by
a gauge that goes up and down, and cache reads as hits and misses (an outage as misses)."""

from __future__ import annotations

import uuid

from tests.observability.conftest import Scrape, scrape, wait_until
from tests.service.conftest import StartServer
from tests.service.support import (
    WsWatcher,
    busy_worker,
    free_port,
    get_job,
    is_terminal,
    submit,
    track,
)

JOB_ROUTE = "/v1/jobs/{job_id}"


def grew(before: Scrape, after: Scrape, name: str) -> float:
    return after.value(name) - before.value(name)


def test_requests_are_labelled_by_route_template(start_server: StartServer) -> None:
    server = start_server()
    ids = [uuid.uuid4().hex for _ in range(3)]
    with server.client() as client:
        for job_id in ids:
            assert client.get(f"/v1/jobs/{job_id}").status_code == 404
        assert client.get(f"/v1/jobs/{ids[0]}/assets/stems/bass.wav").status_code == 404
        assert client.get(f"/no/such/{ids[0]}").status_code == 404
        assert client.request("PROPFIND", "/health/live").status_code == 405
        assert client.post("/v1/generations", json={"prompt": ""}).status_code == 422
    metrics = scrape(server)

    requests = "musewave_http_requests_total"
    assert metrics.value(requests, method="GET", route=JOB_ROUTE, status="404") == 3
    # The template as the route declares it, the same the access log names.
    asset_route = "/v1/jobs/{job_id}/assets/{name:path}"
    assert metrics.value(requests, method="GET", route=asset_route, status="404") == 1
    assert metrics.value(requests, method="GET", route="unmatched", status="404") == 1
    assert metrics.value(requests, method="other", route="/health/live", status="405") == 1
    assert metrics.value(requests, method="POST", route="/v1/generations", status="422") == 1
    # Every request is timed under the same labels.
    duration = "musewave_http_request_duration_seconds_count"
    assert metrics.value(duration, method="GET", route=JOB_ROUTE, status="404") == 3
    # No raw path (with an id in it) ever becomes a label value.
    assert not [key for key in metrics.samples if any(i in str(key) for i in ids)]
    assert all(
        route.startswith("/") or route == "unmatched"
        for route in metrics.label_values(requests, "route")
    )


def test_websocket_gauge_follows_open_sockets(start_server: StartServer) -> None:
    server = start_server(MUSEWAVE_CONCURRENCY="1")

    def sockets(count: int) -> None:
        wait_until(server, lambda s: s.value("musewave_websocket_connections") == count)

    sockets(0)
    with server.client() as client, busy_worker(server, client) as busy_id:
        sockets(1)  # busy_worker watches its job
        with WsWatcher(server, busy_id):  # returns once the server has it subscribed
            sockets(2)
        # The server notices the client left at the job's next progress event.
        sockets(1)
    # The busy job was cancelled: the server closed the last socket.
    sockets(0)


def test_job_view_cache_hits_and_misses_are_counted(start_server: StartServer) -> None:
    server = start_server()
    with server.client() as client:
        job_id = submit(client, track("cache me"))["id"]
        with WsWatcher(server, job_id) as watcher:
            assert watcher.wait_for(is_terminal)["type"] == "completed"
        before = scrape(server)
        views = [get_job(client, job_id) for _ in range(3)]
        after = scrape(server)

    assert views[0] == views[1] == views[2]
    # The first read misses and fills the cache; the repeats hit it.
    assert grew(before, after, "musewave_cache_misses_total") == 1
    assert grew(before, after, "musewave_cache_hits_total") == 2
    assert after.value("musewave_cache_errors_total") == 0


def test_cache_outage_counts_misses_and_requests_still_succeed(start_server: StartServer) -> None:
    # Nothing listens on this port: every cache call fails, as in a Redis outage.
    server = start_server(MUSEWAVE_CACHE_URL=f"redis://127.0.0.1:{free_port()}/0")
    with server.client() as client:
        job_id = submit(client, track("no cache"))["id"]
        with WsWatcher(server, job_id) as watcher:
            assert watcher.wait_for(is_terminal)["type"] == "completed"
        before = scrape(server)
        views = [get_job(client, job_id) for _ in range(3)]
        after = scrape(server)

    assert all(view["state"] == "completed" for view in views)
    assert grew(before, after, "musewave_cache_misses_total") == 3
    assert after.value("musewave_cache_hits_total") == 0
    assert grew(before, after, "musewave_cache_errors_total") >= 1
