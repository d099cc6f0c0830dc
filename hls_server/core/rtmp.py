"""nginx-rtmp's callbacks, read strictly: who may call them, what ``on_publish`` and ``on_publish_done`` say, and
which RTMP session holds each stream.

nginx-rtmp (``ngx_rtmp_notify_module``) POSTs a form (``application/x-www-form-urlencoded``) in this order: the
session it escaped itself (``app``, ``flashver``, ``swfurl``, ``tcurl``, ``pageurl``, ``addr``, ``clientid``), then
``call``, ``name`` (and ``type`` for a publish), then the client's own arguments *exactly as the client sent them*:
the part of the stream key after ``?`` (OBS's stream key ``s1?token=JWT`` gives ``name=s1`` and ``token=JWT``).
So a client can append any field it likes. The token is read from those arguments, or from the query of ``tcurl``
(an encoder configured with the server ``rtmp://host/live?token=JWT``); two different tokens are a conflict, as
everywhere (:class:`Credentials`). A field nginx sets that comes twice is refused: which one nginx meant is exactly
the ambiguity not to guess.

Pure: no HTTP here. The web layer (``web/routes/rtmp.py``) asks these and the gate, and answers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from .auth.credentials import QUERY_PARAM, Credentials
from .errors import BadRequest
from .names import ID_RULE, is_id

PUBLISH = "publish"
PUBLISH_DONE = "publish_done"
ON_PUBLISH_PATH = "/rtmp/on_publish"
ON_PUBLISH_DONE_PATH = "/rtmp/on_publish_done"
"""Where nginx-rtmp sends each call on the origin (``hlsgate rtmp-config`` writes them into nginx's config)."""
NGINX_FIELDS = frozenset({"app", "flashver", "swfurl", "tcurl", "pageurl", "addr", "clientid", "call", "name",
                          "type"})
"""The fields nginx-rtmp writes itself, before the client's arguments; each must come once at most."""
MAX_FIELDS = 64  # nginx's own fields are ten; the client's arguments fit in 256 bytes (NGX_RTMP_MAX_ARGS)


@dataclass(frozen=True, slots=True)
class RtmpCall:
    """One callback: which call, for which stream, from which RTMP session, with the client's tokens."""

    call: str
    stream: str
    session: str
    """nginx's ``clientid`` (its connection number): tells two RTMP sessions of the same stream apart."""
    credentials: Credentials


def parse_callback(body: bytes, call: str) -> RtmpCall:
    """The callback ``body`` for ``call`` (:data:`PUBLISH` or :data:`PUBLISH_DONE`), or :class:`BadRequest`.

    Any bytes are read: a token with odd bytes reaches the gate as it is and is refused there (401); a stream name
    that is not an id, a repeated nginx field, a missing name or another call is a 400.
    """
    try:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise BadRequest(f"an RTMP callback carries at most {MAX_FIELDS} fields") from None
    fields: dict[str, str] = {}
    tokens: list[str] = []
    for key, value in pairs:
        if key == QUERY_PARAM:
            tokens.append(value)
        elif key in NGINX_FIELDS:
            if key in fields:
                raise BadRequest(f"the RTMP callback carries {key!r} twice: the stream key's arguments may not "
                                 "repeat nginx-rtmp's own fields")
            fields[key] = value
    if fields.get("call") != call:
        raise BadRequest(f"this endpoint takes nginx-rtmp's call={call} (check on_publish / on_publish_done)")
    stream = fields.get("name", "")
    if not is_id(stream):
        raise BadRequest(f"the RTMP stream name must be a stream id ({ID_RULE}), followed by ?token=...")
    tokens += _tcurl_tokens(fields.get("tcurl", ""))
    return RtmpCall(call, stream, fields.get("clientid", ""), Credentials.of(query=tokens))


def _tcurl_tokens(tcurl: str) -> list[str]:
    """The ``token`` values of the query of the client's ``tcUrl`` (``rtmp://host/live?token=JWT``)."""
    try:
        query = urlsplit(tcurl).query
    except ValueError:  # an unbalanced IPv6 bracket, say
        raise BadRequest("the RTMP client's tcUrl is not a URL") from None
    return [value for key, value in parse_qsl(query, keep_blank_values=True) if key == QUERY_PARAM]


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Callers:
    """Who may call the callbacks (``rtmp.callers``): addresses and networks, parsed once."""

    networks: tuple[Network, ...]

    @classmethod
    def of(cls, callers: Iterable[str]) -> Callers:
        return cls(tuple(ipaddress.ip_network(caller, strict=False) for caller in callers))

    def allow(self, peer: str | None) -> bool:
        """Whether the TCP peer's address ``peer`` is one of them (a forwarded header is never a peer)."""
        if peer is None:
            return False
        try:
            address = ipaddress.ip_address(peer.partition("%")[0])  # an IPv6 zone is no part of the address
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


class RtmpSessions:
    """Which RTMP session holds each stream: the first one accepted, until its ``on_publish_done``.

    nginx-rtmp asks ``on_publish`` before its live module sees that the stream is already published; a second
    session it then drops still gets an ``on_publish_done``, which must not end the first session's stream. So only
    the holder's done ends a stream. A done that never arrives (the origin was down) leaves the holder in place: the
    stream then ends as any silent live stream does (no write for a while), and the next accepted session's done is
    ignored until the origin restarts (state is per process).
    """

    def __init__(self) -> None:
        self._holders: dict[str, tuple[str, str]] = {}

    def claim(self, stream: str, session: tuple[str, str]) -> None:
        """``session`` (the caller's address, nginx's clientid) holds ``stream`` unless another one does."""
        self._holders.setdefault(stream, session)

    def release(self, stream: str, session: tuple[str, str]) -> bool:
        """True, and ``stream`` is free, when ``session`` held it."""
        if self._holders.get(stream) != session:
            return False
        del self._holders[stream]
        return True
