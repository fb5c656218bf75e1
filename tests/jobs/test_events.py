"""Job events: the stage names and the events that end a job."""

from __future__ import annotations

from datetime import UTC, datetime

from musewave.engine.progress import STAGES
from musewave.jobs import JobRecord, JobState, Stage, connected_event, final_event
from tests.jobs.support import make_asset


def record(state: JobState, **fields: object) -> JobRecord:
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "id": "j1",
        "state": state,
        "stage": "rendering",
        "progress": 40.0,
        "priority": "normal",
        "request": {"prompt": "x"},
        "fingerprint": "f",
        "seed": 7,
        "idempotency_key": None,
        "attempts": 2,
        "max_attempts": 4,
        "error": None,
        "error_kind": None,
        "cancel_requested": False,
        "run_after": now,
        "lease_until": None,
        "worker_id": None,
        "created_at": now,
        "started_at": None,
        "finished_at": None,
        "updated_at": now,
        "duration_ms": None,
        "request_id": None,
    }
    return JobRecord.model_validate({**values, **fields})


def test_every_engine_stage_is_a_job_stage_in_pipeline_order() -> None:
    stages = list(Stage)
    positions = [stages.index(Stage(name)) for name in STAGES]
    assert positions == sorted(positions)
    assert stages[0] is Stage.QUEUED and stages[-1] is Stage.COMPLETED


def test_a_running_job_has_no_final_event_and_connects_with_its_state() -> None:
    job = record(JobState.ACTIVE)
    assert final_event(job) is None
    connected = connected_event(job)
    assert (connected.type, connected.stage, connected.message) == (
        "connected",
        "rendering",
        "active",
    )


def test_final_events_say_how_each_finished_state_ended() -> None:
    assets = [make_asset("j1", "mix.mp3"), make_asset("j1", "stems/bass.wav", "stem")]
    completed = final_event(record(JobState.COMPLETED, assets=assets))
    assert completed is not None and completed.type == "completed"
    assert completed.result == {
        "seed": 7,
        "assets": [
            a.model_dump(mode="json", exclude={"path"}) for a in assets
        ],  # storage keys stay inside
    }
    for state, kind in [
        (JobState.FAILED, "failed"),
        (JobState.DEAD, "failed"),
        (JobState.CANCELLED, "cancelled"),
    ]:
        event = final_event(record(state, error="boom"))
        assert event is not None and (event.type, event.stage) == (kind, state.value)
        assert event.is_terminal
