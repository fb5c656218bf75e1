"""In-process API: ``/health`` shows every breaker's state (an open one does not make the API
unready), and a transient database error on submit is retried instead of failing the request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from musewave.config import Settings
from musewave.service.app import create_app
from musewave.service.services import Services


class EncoderDown(RuntimeError):
    pass


def test_health_detail_shows_breaker_states(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, breaker_encoder_failures=1)
    with TestClient(create_app(settings, start_workers=False)) as client:
        breakers = client.get("/health").json()["components"]["breakers"]
        assert breakers["ok"] is True and breakers["shared"] is False
        assert {name: b["state"] for name, b in breakers["breakers"].items()} == {
            "engine": "closed",
            "encoder": "closed",
            "llm": "closed",
        }

        services: Services = client.app.state.services  # type: ignore[attr-defined]

        def encode() -> None:
            raise EncoderDown("codec crashed")

        with pytest.raises(EncoderDown):
            services.breakers.encoder.call(encode)

        encoder = client.get("/health").json()["components"]["breakers"]["breakers"]["encoder"]
        assert encoder["state"] == "open"
        assert encoder["failures"] == 1
        assert 25 < encoder["retry_after_s"] <= 30
        # Informational: an open breaker slows jobs down; it never takes the API out of service.
        assert "breakers" not in client.get("/health/ready").json()["failing"]


def test_a_transient_database_error_does_not_fail_a_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path), start_workers=False)) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        real_enqueue = services.queue.store.enqueue
        calls: list[int] = []

        def enqueue_after_a_blip(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise OperationalError("INSERT INTO jobs", {}, Exception("database is locked"))
            return real_enqueue(*args, **kwargs)

        monkeypatch.setattr(services.queue.store, "enqueue", enqueue_after_a_blip)
        response = client.post(
            "/v1/generations", json={"prompt": "rain on a tin roof", "duration_s": 30}
        )
        assert response.status_code == 202, response.text
        assert len(calls) == 2
        job = client.get(f"/v1/jobs/{response.json()['id']}").json()
        assert job["state"] == "queued"
