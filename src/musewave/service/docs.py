"""Swagger UI at ``/docs`` and ReDoc at ``/redoc``, working with no network.

FastAPI's own pages load their JavaScript and CSS from a CDN (and ReDoc's fonts from Google),
so they are blank offline. These pages load the same files from the package itself, under
``/docs/static/``: Swagger UI from npm ``swagger-ui-dist`` and ReDoc from npm ``redoc``,
vendored with their licences by ``scripts/vendor-docs-assets`` (versions and checksums in
``static/VENDORED.txt``). Swagger UI's online spec validator is turned off too.

Build the app with ``FastAPI(docs_url=None, redoc_url=None)``, then call :func:`install_docs`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from musewave.service.security_headers import page_security_policy

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/docs/static"
SWAGGER_URL = "/docs"
REDOC_URL = "/redoc"

SWAGGER_JS = "swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui/swagger-ui.css"
FAVICON = "swagger-ui/favicon-32x32.png"
REDOC_JS = "redoc/redoc.standalone.js"
ASSETS = (SWAGGER_JS, SWAGGER_CSS, FAVICON, REDOC_JS)

# No badge fetched from validator.swagger.io (a request to the internet on every page view).
_SWAGGER_PARAMETERS = {"validatorUrl": None}


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI), ``/redoc`` (ReDoc) and their files from this package.
    Does nothing when the app publishes no OpenAPI document (``openapi_url=None``)."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        return
    missing = [name for name in ASSETS if not (STATIC_DIR / name).is_file()]
    if missing:
        raise RuntimeError(
            f"API docs assets missing from {STATIC_DIR}: {', '.join(missing)} "
            "(run scripts/vendor-docs-assets)"
        )
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="docs-static")
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return _with_policy(
            get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{root}{STATIC_URL}/{SWAGGER_JS}",
                swagger_css_url=f"{root}{STATIC_URL}/{SWAGGER_CSS}",
                swagger_favicon_url=f"{root}{STATIC_URL}/{FAVICON}",
                oauth2_redirect_url=root + oauth2_redirect_url if oauth2_redirect_url else None,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters={**_SWAGGER_PARAMETERS, **(app.swagger_ui_parameters or {})},
            )
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return _with_policy(
            get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{STATIC_URL}/{REDOC_JS}",
                redoc_favicon_url=f"{root}{STATIC_URL}/{FAVICON}",
                with_google_fonts=False,
            )
        )

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return _with_policy(get_swagger_ui_oauth2_redirect_html())

    app.add_route(SWAGGER_URL, swagger_ui, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
    if oauth2_redirect_url:
        app.add_route(oauth2_redirect_url, swagger_ui_redirect, include_in_schema=False)


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    """``page`` allowed to run its own files and inline scripts, and nothing else."""
    page.headers["Content-Security-Policy"] = page_security_policy(bytes(page.body).decode())
    return page
