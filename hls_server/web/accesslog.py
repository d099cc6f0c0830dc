"""Access log lines (text or JSON) that never carry a token, and a log filter that scrubs any that slip through.

Tokens travel in ``?token=`` and in ``Authorization``: the query is logged with every ``token`` value replaced,
the Authorization and Referer headers are never logged, and :class:`RedactTokens` scrubs JWT-shaped strings
from every other log record (aiohttp's own messages about malformed requests included).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote

from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import BaseRequest, StreamResponse

REDACTED = "[redacted]"
# A JWS compact serialisation: three base64url parts, the first one a JSON header ("eyJ" = '{"').
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_TOKEN_PARAM = re.compile(r"((?:^|[?&;])(?:token|%74oken|t%6fken)[^=&;]*=)[^&;#\s\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    """Remove tokens from free text: ``token=`` parameters and anything shaped like a JWT."""
    return _JWT.sub(REDACTED, _TOKEN_PARAM.sub(r"\1" + REDACTED, text))


def safe_target(request: BaseRequest) -> str:
    """The request's path and query as logged: every ``token`` value (however encoded) replaced."""
    try:
        query = request.query
        path = request.path
    except Exception:  # a request aiohttp could not parse: log nothing of its target
        return "-"
    if not query:
        return redact(path)
    parts = [f"{quote(k, safe='')}={REDACTED if k.lower() == 'token' else quote(v, safe='')}"
             for k, v in query.items()]
    return redact(f"{path}?{'&'.join(parts)}")


class AccessLogger(AbstractAccessLogger):
    """``log_format`` is ``text`` or ``json`` (aiohttp hands the runner's ``access_log_format`` here)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        remote = request.remote or "-"
        target = safe_target(request)
        agent = redact(request.headers.get("User-Agent", "-"))
        size = response.content_length if response.content_length is not None else response.body_length
        if self.log_format == "json":
            self.logger.info(json.dumps({
                "remote": remote, "method": request.method, "target": target, "status": response.status,
                "bytes": size, "ms": round(time * 1000, 2), "agent": agent}, separators=(",", ":")))
        else:
            self.logger.info('%s "%s %s" %d %d %.1fms "%s"', remote, request.method, target, response.status,
                             size, time * 1000, agent)


class RedactTokens(logging.Filter):
    """Attach to log handlers: scrubs tokens from every record's message and traceback."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:  # the Formatter uses exc_text as it is when set
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
        return True


class OneLineClientErrors(logging.Filter):
    """Attach to ``aiohttp.server``: a request aiohttp cannot parse is answered 400 (and access-logged), but aiohttp
    also logs it at ERROR with a traceback, so any client could fill the log. One warning line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= error.code < 500:
            record.msg = f"{record.getMessage()}: {error.code} {type(error).__name__}"
            record.args, record.exc_info, record.exc_text = None, None, None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True
