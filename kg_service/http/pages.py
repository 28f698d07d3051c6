"""The pages people read: the clinician's page at `/` (static HTML, CSS and JavaScript shipped in the package),
its example patients, and the API's own documentation at `/docs` and `/redoc` with Swagger UI's and ReDoc's
files served from the `fastapi-offline` package. Nothing a page loads comes from another host."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from kg_service.core.resources import data_dir
from kg_service.http.responses import ACCEPTED_TYPES, error

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
# the page asks nothing of any other host: the browser refuses if it ever tries
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI starts from an inline script, and both inject styles; ReDoc shows a logo from its makers' host,
# which this policy keeps the browser from fetching
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
MEDIA = {
    ".json": "application/json",
    ".ttl": "text/turtle",
    ".jsonld": "application/ld+json",
    ".nt": "application/n-triples",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    return FileResponse(
        STATIC / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": PAGE_POLICY, "X-Content-Type-Options": "nosniff"},
    )


@lru_cache(maxsize=1)
def examples() -> list[dict]:
    """The example patients the page offers, as `examples/index.json` lists them."""
    folder = data_dir("examples")
    listed = json.loads((folder / "index.json").read_text(encoding="utf-8"))["examples"]
    return [
        {"title": e["title"], "file": e["file"], "media_type": e["media_type"], "url": f"/ui/examples/{e['file']}"}
        for e in listed
        if (folder / e["file"]).is_file()
    ]


@router.get("/ui/examples")
async def example_list() -> JSONResponse:
    return JSONResponse(examples())


@lru_cache(maxsize=1)
def example_files() -> dict[str, tuple[bytes, str | None]]:
    """Each listed example's bytes and media type, read once (the files ship with the package)."""
    folder = data_dir("examples")
    return {
        e["file"]: ((folder / e["file"]).read_bytes(), e["media_type"] or MEDIA.get(Path(e["file"]).suffix))
        for e in examples()
    }


@router.get("/ui/examples/{name}")
async def example(name: str) -> Response:
    chosen = example_files().get(name)
    if chosen is None:
        return error(404, "not_found", f"no example patient named {name!r}")
    content, media_type = chosen
    return Response(content, media_type=media_type)


@router.get("/ui/formats")
async def formats() -> JSONResponse:
    """The media types a patient may be sent in (the page offers these and no other)."""
    return JSONResponse({"accepted": ACCEPTED_TYPES})


def install(app: FastAPI) -> None:
    """Serve the page, its files, and offline /docs and /redoc (the app is built with docs_url=None)."""
    app.include_router(router)  # before the mounts: /ui/examples is a route, /ui/* the files
    app.mount("/ui", StaticFiles(directory=STATIC), name="ui")
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: Swagger UI",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )
        page.headers["Content-Security-Policy"] = DOCS_POLICY
        return page

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: ReDoc",
            redoc_js_url="/docs-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_POLICY
        return page
