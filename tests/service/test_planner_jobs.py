"""A real ``musewave serve`` configured with a model (the Gemini stand-in on loopback): its
worker processes get the API key itself, plan with the model, and the job view and
``plan.json`` say so; the key and the prompt never reach the server's log."""

from __future__ import annotations

from tests.planning.conftest import API_KEY, GOOD_DRAFT, MODEL
from tests.planning.standins import ModelStandIn, Reply
from tests.service.conftest import StartServer
from tests.service.support import WsWatcher, get_job, is_terminal, submit, track


def test_a_server_plans_with_the_configured_model_and_records_it(
    start_server: StartServer,
) -> None:
    with ModelStandIn() as stand_in:
        stand_in.answer(Reply.plan(GOOD_DRAFT))
        server = start_server(
            MUSEWAVE_LLM_PROVIDER="gemini",
            MUSEWAVE_GEMINI_API_KEY=API_KEY,
            MUSEWAVE_LLM_MODEL=MODEL,
            MUSEWAVE_LLM_BASE_URL=stand_in.url,
            MUSEWAVE_LOG_LEVEL="info",  # the "plan made" line, to read
        )
        with server.client() as client:
            job = submit(client, track("quokka-harbor-lights"))
            with WsWatcher(server, job["id"]) as watcher:
                assert watcher.wait_for(is_terminal)["type"] == "completed"
            view = get_job(client, job["id"])
            plan = client.get(f"/v1/jobs/{job['id']}/assets/plan.json").json()

        [seen] = stand_in.seen
        assert seen.headers["x-goog-api-key"] == API_KEY  # the key, not pydantic's mask
    label = f"llm:gemini:{MODEL}"
    assert view["planner"] == label
    assert (plan["planner"], plan["title"], plan["genre"]) == (label, "Harbor Lights", "synthwave")
    log = server.log_tail(10**7)
    assert "plan made" in log
    assert API_KEY not in log and "quokka" not in log
