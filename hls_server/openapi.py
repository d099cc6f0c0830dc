"""The OpenAPI 3.1 document of the REST API, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from . import __version__


def openapi_document() -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "hlsgate", "version": __version__}, "paths": {}}
