"""The supervisor dashboard (``/dashboard/``) and the JavaScript SDK's ES modules it imports
(``/sdk/js/``), served as static files: nothing is fetched from the internet at run time."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

DASHBOARD_DIR = Path(__file__).parent / "dashboard"
# The SDK lives beside the package in the repository (clients/js/src); an install without it
# serves 404s under /sdk/js/ rather than refusing to start.
SDK_DIR = Path(__file__).resolve().parents[2] / "clients" / "js" / "src"


def install_static(app: FastAPI) -> None:
    """Mount the dashboard and the SDK's sources."""
    app.mount("/dashboard", StaticFiles(directory=DASHBOARD_DIR, html=True), name="dashboard")
    app.mount("/sdk/js", StaticFiles(directory=SDK_DIR, check_dir=False), name="sdk-js")
