"""Status polls of a completed job are served from the cache, and cleaning drops the entry."""

from __future__ import annotations

from tests.service.support import ServerProcess, WsWatcher, get_job, is_terminal, submit, track


def cache_counts(server: ServerProcess) -> tuple[int, int]:
    with server.client() as client:
        cache = client.get("/health").json()["components"]["cache"]
    return cache["hits"], cache["misses"]


def test_completed_job_views_come_from_the_cache(server: ServerProcess) -> None:
    with server.client() as client:
        job_id = submit(client, track("cache me"))["id"]
        with WsWatcher(server, job_id) as watcher:
            final = watcher.wait_for(is_terminal)
        assert final["type"] == "completed"

        hits_before, misses_before = cache_counts(server)
        first = get_job(client, job_id)  # a miss that fills the cache
        second = get_job(client, job_id)
        third = get_job(client, job_id)
        hits_after, misses_after = cache_counts(server)

    assert first == second == third
    assert first["state"] == "completed" and first["assets"]
    assert misses_after - misses_before == 1
    assert hits_after - hits_before == 2


def test_running_jobs_are_never_served_stale(server: ServerProcess) -> None:
    with server.client() as client:
        job_id = submit(client, track("watch me"))["id"]
        seen = [get_job(client, job_id)["state"]]
        with WsWatcher(server, job_id) as watcher:
            watcher.wait_for(is_terminal)
        seen.append(get_job(client, job_id)["state"])
    # The view read while it ran was not cached: the later read shows the new state.
    assert seen[0] in ("queued", "active")
    assert seen[-1] == "completed"
