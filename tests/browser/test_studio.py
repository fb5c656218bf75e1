"""The studio in a real browser against a real ``musewave serve``: a track made from the page,
followed live through its stages, played, jumped around by section, downloaded and decoded,
cancelled, followed again after its WebSocket drops, found in the history after a reload; the
page's policy and key handling; accessibility (axe-core) and phone-size screenshots.

One server and one track for the module; each screenshot lands in the module's temporary
directory (the path is printed)."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from musewave.access import KeyStore, Scope
from musewave.db import make_engine, make_session_factory
from tests.browser.pages import (
    axe_violations,
    phone_screenshot,
    record_changes,
    recorded,
    serious,
    wait_until,
)
from tests.service.support import ServerProcess, launch, unique

RENDER_S = 150.0  # a render on a busy machine
RENDER_TIMEOUT_MS = int(RENDER_S * 1000)
UI_TIMEOUT_MS = 30_000
DESKTOP = {"width": 1280, "height": 900}
TRACK_S = 30.0
ENGINE_STAGES = ["planning", "composing", "rendering", "mixing", "mastering", "encoding"]
KEY_NAME = "musewave.key"


@dataclass
class Studio:
    server: ServerProcess
    shots: Path
    user_key: str
    user_key_id: str


@dataclass
class Track:
    page: Page
    job_id: str
    prompt: str
    stages: list[str]
    console: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    root = tmp_path_factory.mktemp("studio")
    server = launch(root / "data", root / "server.log", {"MUSEWAVE_CONCURRENCY": "1"})
    engine = make_engine(server.database_url)
    keys = KeyStore(make_session_factory(engine))
    user, user_key = keys.create("alice", Scope.USER)
    engine.dispose()
    shots = root / "screenshots"
    shots.mkdir()
    yield Studio(server, shots, user_key, user.id)
    server.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    yield context
    context.close()


def open_studio(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-ready=true]")


def fill_request(page: Page, prompt: str, *, longest: bool = False) -> None:
    """The form, used as a person would: typing, keys on the slider, clicks on boxes."""
    page.fill("#prompt", prompt)
    page.focus("#duration")
    page.keyboard.press("End" if longest else "Home")  # 120 s or 30 s


@pytest.fixture(scope="module")
def track(studio: Studio, browser: Browser) -> Iterator[Track]:
    """A track made from the studio: synthwave, 30 s, MP3 only, with stems."""
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    open_studio(page, f"{studio.server.base_url}/")
    record_changes(page, "#progress-box", "stages", attribute="data-stage")
    prompt = unique("neon rain over the city")
    fill_request(page, prompt)
    page.get_by_label("synthwave", exact=True).check()
    page.get_by_label("WAV", exact=True).uncheck()
    page.get_by_label("Stems", exact=True).check()
    page.click("#generate")
    page.wait_for_selector("#player:not([hidden])", timeout=RENDER_TIMEOUT_MS)
    page.wait_for_selector("#sections button", timeout=UI_TIMEOUT_MS)
    job_id = page.url.rsplit("/tracks/", 1)[1]
    yield Track(page, job_id, prompt, recorded(page, "stages"), console)
    context.close()


def audio_state(page: Page) -> dict[str, float]:
    """The player's duration and position, once it knows the duration."""
    state: dict[str, float] = page.evaluate(
        """() => new Promise(resolve => {
            const audio = document.getElementById("audio");
            const done = () => resolve({duration: audio.duration, time: audio.currentTime});
            if (audio.readyState >= 1) done();
            else audio.addEventListener("loadedmetadata", done, {once: true});
        })"""
    )
    return state


def time_reaching(page: Page, seconds: float) -> float:
    """Wait (on the page's own timeupdate events) until the player passes ``seconds``."""
    reached: float = page.evaluate(
        """(target) => new Promise(resolve => {
            const audio = document.getElementById("audio");
            const check = () => {
                if (audio.currentTime >= target) {
                    audio.removeEventListener("timeupdate", check);
                    resolve(audio.currentTime);
                }
            };
            audio.addEventListener("timeupdate", check);
            check();
        })""",
        seconds,
    )
    return reached


def test_progress_advances_through_the_named_stages(track: Track) -> None:
    stages = track.stages
    assert stages[-1] == "completed" or "validating" in stages
    seen = [stage for stage in stages if stage in ENGINE_STAGES]
    # The page follows the job from the stage it was in when the stream connected (planning
    # and composing may be over by then: they take milliseconds); from there on every stage
    # is shown, in order, and the ones before it are marked done.
    assert seen, stages
    assert seen == ENGINE_STAGES[ENGINE_STAGES.index(seen[0]) :], stages
    expect(track.page.locator("#stages li.done")).to_have_count(
        track.page.locator("#stages li").count()
    )
    assert not [text for text in track.console if "Content Security Policy" in text]
    assert not [text for text in track.console if text.startswith("page error")]


def test_the_player_has_the_tracks_duration_and_plays(track: Track) -> None:
    page = track.page
    state = audio_state(page)
    assert state["duration"] == pytest.approx(TRACK_S, abs=0.1)
    page.evaluate("() => document.getElementById('audio').play()")
    assert time_reaching(page, 1.0) >= 1.0
    page.evaluate("() => document.getElementById('audio').pause()")


def test_a_section_marker_jumps_there(track: Track) -> None:
    page = track.page
    chorus = page.locator("#sections button[data-kind=chorus]").first
    start_s = float(chorus.get_attribute("data-start") or "nan")
    assert 0 < start_s < TRACK_S
    chorus.click()
    assert time_reaching(page, start_s + 0.3) >= start_s + 0.3
    expect(chorus).to_have_class("playing")
    page.evaluate("() => document.getElementById('audio').pause()")
    assert audio_state(page)["time"] < start_s + 5  # it jumped, it did not play through


def test_stems_are_soloed_and_muted_in_sync_with_the_player(track: Track) -> None:
    page = track.page
    solo = page.get_by_role("button", name="Solo drums")
    solo.click()
    expect(solo).to_have_attribute("aria-pressed", "true")
    page.evaluate("() => document.getElementById('audio').play()")
    start = audio_state(page)["time"]
    assert time_reaching(page, start + 0.5) >= start + 0.5  # the player runs the stems' clock
    page.get_by_role("button", name="Mute bass").click()
    expect(page.get_by_role("button", name="Mute bass")).to_have_attribute("aria-pressed", "true")
    solo.click()
    expect(solo).to_have_attribute("aria-pressed", "false")
    page.evaluate("() => document.getElementById('audio').pause()")
    assert not [text for text in track.console if text.startswith("page error")]


def test_the_mp3_download_decodes_to_the_track(track: Track) -> None:
    with track.page.expect_download() as download:
        track.page.click('#downloads button[data-asset="mix.mp3"]')
    assert download.value.suggested_filename == f"{track.job_id}-mix.mp3"
    path = download.value.path()
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        rate = stream.rate
    assert samples / rate == pytest.approx(TRACK_S, abs=0.1)


def test_the_stems_download_is_a_zip_of_every_stem(track: Track, tmp_path: Path) -> None:
    with track.page.expect_download() as download:
        track.page.click('#downloads button[data-asset="stems.zip"]')
    target = tmp_path / "stems.zip"
    download.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None  # every CRC checks
        names = archive.namelist()
    assert sorted(names) == [f"stems/{n}.wav" for n in ("bass", "chords", "drums", "lead", "pads")]


def test_the_history_shows_the_track_after_a_reload(track: Track) -> None:
    page = track.page
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    item = page.locator(f'#history-list li[data-job="{track.job_id}"]')
    expect(item).to_contain_text(track.prompt)
    expect(item).to_contain_text("completed")
    expect(page.locator("#job-heading")).to_have_text(track.prompt)  # the link opens it again

    page.fill("#history-search", track.prompt.split()[-1])  # the unique word
    expect(page.locator("#history-list li")).to_have_count(1)
    page.fill("#history-search", "nothing is called this")
    expect(page.locator("#history-note")).to_have_text("No track matches that search.")
    page.fill("#history-search", "")
    expect(item).to_be_visible()


def test_same_seed_again_puts_the_request_back_in_the_form(studio: Studio, track: Track) -> None:
    page = track.page
    page.click("#same-seed")
    with studio.server.client() as client:
        seed = client.get(f"/v1/jobs/{track.job_id}").json()["seed"]
    assert page.input_value("#seed") == str(seed)
    assert page.input_value("#prompt") == track.prompt
    assert page.is_checked("#stems") and not page.is_checked("#formats input[value=wav]")


def test_a_running_job_survives_a_dropped_websocket_and_is_cancelled(
    studio: Studio, context: BrowserContext
) -> None:
    page = context.new_page()
    sockets: list[WebSocketRoute] = []

    def through(route: WebSocketRoute) -> None:
        route.connect_to_server()  # a transparent proxy the test can cut
        sockets.append(route)

    page.route_web_socket("**/ws/progress/**", through)
    open_studio(page, f"{studio.server.base_url}/")
    record_changes(page, "#connection", "connection")
    record_changes(page, "#stage", "progress")
    fill_request(page, unique("dropped, found again, cancelled"), longest=True)
    page.click("#generate")
    # The proxy's messages pass through this process: read what the page saw, not a moment.
    wait_until(lambda: len(recorded(page, "progress")) >= 2, RENDER_S, "the job to start")
    sockets[0].close(code=4000, reason="the test cut the line")

    def reconnected() -> bool:
        states = recorded(page, "connection")
        lost = [i for i, text in enumerate(states) if text.startswith("connection lost")]
        return bool(lost) and "Live updates: WebSocket" in states[lost[0] :]

    wait_until(reconnected, RENDER_S, "the page to reconnect")
    assert len(sockets) == 2
    seen = len(recorded(page, "progress"))
    wait_until(lambda: len(recorded(page, "progress")) > seen, RENDER_S, "progress after it")
    assert "completed" not in recorded(page, "progress")[-1]

    page.click("#cancel")
    expect(page.locator("#job-error")).to_have_text("Cancelled.", timeout=RENDER_TIMEOUT_MS)
    job_id = page.url.rsplit("/tracks/", 1)[1]
    with studio.server.client() as client:
        assert client.get(f"/v1/jobs/{job_id}").json()["state"] == "cancelled"
    expect(page.locator("#player")).to_be_hidden()


def test_the_pages_policy_allows_no_inline_script(studio: Studio, context: BrowserContext) -> None:
    page = context.new_page()
    for path in ("/", "/dashboard", "/tracks/unknown"):
        response = page.goto(f"{studio.server.base_url}{path}")
        assert response is not None
        policy = response.headers["content-security-policy"]
        script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
        assert script_src.split() == ["script-src", "'self'"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    # A script the page did not ship is refused by the browser itself.
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.set_content("<p>x</p>")  # about:blank has no policy; go back to the studio
    open_studio(page, f"{studio.server.base_url}/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.injected = true"; document.body.append(s); }"""
    )
    assert page.evaluate("() => window.injected") is None
    assert blocked, "the browser reported no blocked inline script"


def test_a_key_stays_in_the_tab_unless_remembered_and_never_in_a_url(
    studio: Studio, context: BrowserContext
) -> None:
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url))
    open_studio(page, f"{studio.server.base_url}/")

    def use_key(secret: str, remember: bool) -> None:
        page.click("#key-button")
        page.fill("#key-input", secret)
        page.get_by_label("Remember on this device").set_checked(remember)
        page.click("#key-save")
        expect(page.locator("#key-dialog")).to_be_hidden()

    def stored() -> list[str | None]:
        return page.evaluate(
            f"() => [sessionStorage.getItem({KEY_NAME!r}), localStorage.getItem({KEY_NAME!r})]"
        )

    use_key(studio.user_key, remember=False)
    expect(page.locator("#who")).to_have_text("alice (user)")
    assert stored() == [studio.user_key, None]
    # The key works for the page's calls: a track made with it is the key's.
    fill_request(page, unique("made with alice's key"))
    page.click("#generate")
    page.wait_for_url("**/tracks/*")
    job_id = page.url.rsplit("/tracks/", 1)[1]
    page.wait_for_selector("#connection:has-text('Live updates')")  # its socket took the key
    with studio.server.db() as db:
        [(owner,)] = db.execute("SELECT owner FROM jobs WHERE id = ?", (job_id,)).fetchall()
    assert owner == studio.user_key_id
    page.click("#cancel")
    expect(page.locator("#job-error")).to_have_text("Cancelled.", timeout=RENDER_TIMEOUT_MS)

    use_key(studio.user_key, remember=True)
    assert stored() == [None, studio.user_key]
    page.click("#key-button")
    page.click("#key-forget")
    assert stored() == [None, None]
    expect(page.locator("#who")).to_have_text("this machine (no key needed)")

    page.click("#key-button")
    page.fill("#key-input", "mw_0000000000000000_wrong")
    page.click("#key-save")
    expect(page.locator("#key-error")).to_have_text("The server refused that key.")
    assert stored() == [None, None]
    assert urls and not [url for url in urls if "mw_" in url]
    assert "mw_" not in page.url


def test_every_page_is_accessible_and_fits_a_phone(
    studio: Studio, track: Track, browser: Browser, axe_source: str
) -> None:
    results = {}
    pages = {
        "studio": "/",
        "track": f"/tracks/{track.job_id}",
        "dashboard": "/dashboard",
    }
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
        page = context.new_page()
        for name, path in pages.items():
            open_studio(page, f"{studio.server.base_url}{path}")
            if name == "track":
                page.wait_for_selector("#sections button", timeout=UI_TIMEOUT_MS)
            if name == "dashboard":
                page.wait_for_selector("#counts div", timeout=UI_TIMEOUT_MS)
            violations = axe_violations(page, axe_source)
            results[f"{name}-{scheme}"] = violations
            assert serious(violations) == [], (name, scheme, violations)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, (name, scheme, width)  # nothing wider than the phone
            shot = phone_screenshot(page, studio.shots, f"{name}-{scheme}")
            print(f"screenshot: {shot}")
        if scheme == "light":
            page.click("#key-button")
            violations = axe_violations(page, axe_source)
            assert serious(violations) == [], ("key dialog", violations)
            phone_screenshot(page, studio.shots, "key-dialog-light")
        context.close()
    (studio.shots / "axe.json").write_text(json.dumps(results, indent=2))
    print(f"axe: {sum(len(v) for v in results.values())} violations of any impact")


def test_the_page_is_light_and_reports_its_first_render(
    studio: Studio, context: BrowserContext
) -> None:
    page = context.new_page()
    open_studio(page, f"{studio.server.base_url}/")
    facts = page.evaluate(
        """() => {
            const scripts = performance.getEntriesByType("resource")
                .filter(r => r.name.endsWith(".js"));
            const paint = performance.getEntriesByName("first-contentful-paint")[0];
            const nav = performance.getEntriesByType("navigation")[0];
            return {
                js_bytes: scripts.reduce((n, r) => n + r.encodedBodySize, 0),
                js_files: scripts.length,
                all_bytes: performance.getEntriesByType("resource")
                    .reduce((n, r) => n + r.encodedBodySize, 0) + nav.encodedBodySize,
                first_contentful_paint_ms: paint ? Math.round(paint.startTime) : null,
                dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
            };
        }"""
    )
    (studio.shots / "weight.json").write_text(json.dumps(facts, indent=2))
    print(f"page weight and first render: {facts}")
    assert 0 < facts["js_bytes"] < 300 * 1024
    assert facts["first_contentful_paint_ms"] is not None
    loaded = page.evaluate("() => performance.getEntriesByType('resource').map(r => r.name)")
    assert [url for url in loaded if not url.startswith(studio.server.base_url)] == []  # no CDN


def test_optional_features_follow_what_the_server_offers(
    studio: Studio, context: BrowserContext
) -> None:
    page = context.new_page()
    open_studio(page, f"{studio.server.base_url}/")
    # This server offers the prompt enhancer, suggestions, vocals and videos.
    for control in ("#enhance", "#lyrics", "#languages", "#video"):
        expect(page.locator(control)).to_be_enabled()
    page.fill("#prompt", "night drive")
    page.click("#enhance")  # the rule-based enhancer (no language model configured)
    expect(page.locator("#prompt")).not_to_have_value("night drive")
    expect(page.locator("#prompt")).to_have_value(re.compile("night drive"))

    # A server without them (an older release), as its document would say: said so, disabled.
    with studio.server.client() as client:
        document = client.get("/openapi.json").json()
    for path in [p for p in document["paths"] if p.startswith(("/v1/suggest", "/v1/prompt"))]:
        del document["paths"][path]
    body = document["components"]["schemas"]["GenerationBody"]["properties"]
    del body["voice"]
    body["generate_video"] = {"type": "boolean", "const": False}
    older = context.new_page()
    older.route("**/openapi.json", lambda route: route.fulfill(json=document))
    open_studio(older, f"{studio.server.base_url}/")
    for control in ("#enhance", "#lyrics", "#languages", "#video"):
        expect(older.locator(control)).to_be_disabled()
    expect(older.locator("#enhance-note")).to_contain_text("not offered")
    expect(older.locator("#vocals-note")).to_contain_text("not available")


def test_progress_falls_back_to_server_sent_events(studio: Studio, context: BrowserContext) -> None:
    page = context.new_page()
    refused: list[str] = []

    def refuse(route: WebSocketRoute) -> None:  # a proxy that lets no WebSocket through
        refused.append(route.url)
        route.close(code=1011, reason="no WebSockets here")

    page.route_web_socket("**/ws/progress/**", refuse)
    open_studio(page, f"{studio.server.base_url}/")
    record_changes(page, "#connection", "connection")
    fill_request(page, unique("heard over SSE"))
    page.click("#generate")
    page.wait_for_selector("#player:not([hidden])", timeout=RENDER_TIMEOUT_MS)
    assert len(refused) == 2  # two tries, then Server-Sent Events
    assert "Live updates: Server-Sent Events" in recorded(page, "connection")
    expect(page.locator("#stages li.done")).to_have_count(page.locator("#stages li").count())
