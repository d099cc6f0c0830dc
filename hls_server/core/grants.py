"""Who may do what on which stream or group: the verified grant, and the pure functions that decide.

``auth`` turns a token into a :class:`Grant`; the gate asks :func:`allows` and, on a refusal, says why with
:func:`refusal`. Nothing else reads claims or decides access.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Role(enum.Enum):
    """The token types. Not interchangeable: see :func:`allows`."""

    PLAY = "play"
    PUBLISH = "publish"
    ADMIN = "admin"


class Action(enum.Enum):
    PLAY = "play"  # read playlists and segments
    PUBLISH = "publish"  # write a stream (live ingest)
    ADMIN = "admin"  # mint tokens, manage groups, list streams
    PLAYER_CONFIG = "player-config"  # be handed a player config carrying a play token for a stream or group


@dataclass(frozen=True, slots=True)
class Target:
    """What a request acts on: one stream, one group, or nothing in particular (the REST API)."""

    stream: str | None = None
    group: str | None = None


NO_TARGET = Target()


@dataclass(frozen=True, slots=True)
class Grant:
    """What one verified token allows. ``streams`` and ``groups`` are its scope (``roomId`` counts as a group)."""

    role: Role
    streams: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    expires_at: float | None = None
    token_id: str | None = None  # the ``jti`` claim, kept for revocation and logs
    public: bool = False  # no token at all: a server without auth (--no-auth) lets anyone play


PUBLIC = Grant(Role.PLAY, public=True)
PUBLIC_ACTIONS = frozenset({Action.PLAY, Action.PLAYER_CONFIG})

Groups = Mapping[str, frozenset[str]]


def allows(grant: Grant, action: Action, target: Target = NO_TARGET, groups: Groups | None = None) -> bool:
    """Decide one request. ``groups`` maps a group id to the streams the server says it holds.

    - An admin grant administers, and may be handed player configs (it can mint their tokens anyway); it plays
      nothing itself: it is not a viewer token.
    - A publish grant publishes its scope and also plays it (conference rooms rely on this), but is never put
      into a player config, which is meant for viewers' browsers.
    - A play grant plays its scope and gets configs for it.
    - Scope: the stream id itself, or a group whose stored members include it; a group target needs the group
      itself. Ids are compared exactly.
    """
    if grant.public:
        return action in PUBLIC_ACTIONS
    if action is Action.ADMIN:
        return grant.role is Role.ADMIN
    if grant.role is Role.ADMIN:
        return action is Action.PLAYER_CONFIG
    if action is Action.PUBLISH and grant.role is not Role.PUBLISH:
        return False
    if action is Action.PLAYER_CONFIG and grant.role is not Role.PLAY:
        return False
    if target.group is not None:
        return target.group in grant.groups
    stream = target.stream
    if stream is None:
        return False
    if stream in grant.streams:
        return True
    if groups is None:
        return False
    return any(stream in groups.get(group, ()) for group in grant.groups)


def refusal(grant: Grant, action: Action, target: Target = NO_TARGET) -> str:
    """Why :func:`allows` said no, in words for the caller (who holds ``grant``)."""
    if action is Action.ADMIN:
        return "an admin token is required; play and publish tokens cannot use the API"
    if grant.role is Role.ADMIN:
        return "an admin token is not a viewer token: mint a play token (POST /api/v1/tokens)"
    if action is Action.PLAYER_CONFIG and grant.role is Role.PUBLISH:
        return "a publish token is not handed to players: mint a play token (POST /api/v1/tokens)"
    if action is Action.PUBLISH and grant.role is not Role.PUBLISH:
        return "a play token cannot publish: a publish token for this stream is required"
    if target.group is not None:
        return "this token does not grant this group"
    if action is Action.PLAY:
        return "this token does not grant playback of this stream"
    return "this token does not grant this stream"
