"""Who may do what on which stream: the verified grant and the one pure function that decides.

``auth`` turns a token into a :class:`Grant`; handlers ask :func:`allows` and never read claims.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

# The stream id rule of the transcoder, repeated here so the origin does not depend on it: routing,
# claims and the group store all compare against this exact pattern.
NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_name(value: object) -> bool:
    """True for a canonical stream or group id (exact match: no case folding, no decoding)."""
    return isinstance(value, str) and NAME_RE.fullmatch(value) is not None


class Role(enum.Enum):
    """The token types. Not interchangeable: see :func:`allows`."""

    PLAY = "play"
    PUBLISH = "publish"
    ADMIN = "admin"


class Action(enum.Enum):
    PLAY = "play"  # read playlists and segments
    PUBLISH = "publish"  # write a stream (live ingest)
    ADMIN = "admin"  # mint tokens, manage groups, list streams


@dataclass(frozen=True, slots=True)
class Grant:
    """What one verified token allows. ``streams`` and ``groups`` are its scope (``roomId`` counts as a group)."""

    role: Role
    streams: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    expires_at: float | None = None
    token_id: str | None = None  # the ``jti`` claim, kept for revocation and logs


def allows(grant: Grant, action: Action, stream: str | None = None,
           groups: Mapping[str, frozenset[str]] | None = None) -> bool:
    """Decide one request. ``groups`` maps a group id to the streams the server says it holds.

    - An admin grant administers and nothing else: it is not a viewer token.
    - A publish grant publishes its scope and also plays it (conference rooms rely on this).
    - A play grant plays its scope.
    - Scope: the stream id itself, or a group whose stored members include it, compared exactly.
    """
    if action is Action.ADMIN:
        return grant.role is Role.ADMIN
    if grant.role is Role.ADMIN or stream is None:
        return False
    if action is Action.PUBLISH and grant.role is not Role.PUBLISH:
        return False
    if stream in grant.streams:
        return True
    if groups is None:
        return False
    return any(stream in groups.get(group, ()) for group in grant.groups)
