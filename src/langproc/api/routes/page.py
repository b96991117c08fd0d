"""The built-in web page (docs/api.md): index.html and its static files."""

from __future__ import annotations

import hashlib
from functools import cache
from html import escape
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from langproc.settings import SUPPORTED_LANGUAGES

STATIC = Path(__file__).resolve().parent.parent / "static"

# The page loads only its own files; nothing from elsewhere, no inline script or style.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)
router.mount("/static", StaticFiles(directory=STATIC), name="static")


@cache
def _index() -> str:
    """index.html with the supported languages and a version stamp for its assets."""
    assets = b"".join((STATIC / name).read_bytes() for name in ("app.js", "app.css"))
    options = "\n".join(
        f'<option value="{escape(code)}">{escape(code)}</option>' for code in SUPPORTED_LANGUAGES
    )
    return (
        (STATIC / "index.html")
        .read_text(encoding="utf-8")
        .replace("<!--languages-->", options)
        .replace("{{version}}", hashlib.sha256(assets).hexdigest()[:12])
    )


@router.get("/")
def index() -> HTMLResponse:
    return HTMLResponse(
        _index(), headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
    )
