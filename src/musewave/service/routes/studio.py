"""The web studio (``/``, a track's shareable page ``/tracks/{job_id}``) and the operator
dashboard (``/dashboard``): static pages and ES modules shipped in this package
(``static/studio/``), which call the public API with the user's key like any client.

The pages run only their own files: the policy allows no inline script or style, no other
origin, and no framing. They hold no data themselves, so they need no key to be served; what
they show, the API decides per key (a user key's dashboard is an explanation, not data).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STUDIO_DIR = Path(__file__).resolve().parent.parent / "static" / "studio"
STUDIO_STATIC_URL = "/studio"
# connect-src 'self' covers the same origin's ws:/wss: (CSP Level 3); blob: holds audio
# fetched with the key (an <audio> element cannot send an Authorization header).
STUDIO_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_PAGE_HEADERS = {"Content-Security-Policy": STUDIO_POLICY, "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(STUDIO_DIR / name, media_type="text/html", headers=_PAGE_HEADERS)


@router.get("/")
async def studio() -> FileResponse:
    return _page("index.html")


@router.get("/tracks/{job_id}")
async def shared_track(job_id: str) -> FileResponse:
    """A shareable link to one job: the studio opens it (if the viewer's key may see it)."""
    return _page("index.html")


@router.get("/dashboard")
async def dashboard() -> FileResponse:
    return _page("dashboard.html")


def install_studio(app: FastAPI) -> None:
    """Serve the studio's pages and its files (under ``/studio/``)."""
    if not (STUDIO_DIR / "index.html").is_file():
        raise RuntimeError(f"studio files missing from {STUDIO_DIR}")
    app.mount(STUDIO_STATIC_URL, StaticFiles(directory=STUDIO_DIR), name="studio-static")
    app.include_router(router)
