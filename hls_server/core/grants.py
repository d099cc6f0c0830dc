"""Who may do what on which stream, group or room: the verified grant, and the pure functions that decide.

``auth`` turns a token into a :class:`Grant`; the gate asks :func:`allows` and, on a refusal, says why with
:func:`refusal`. Nothing else reads claims or decides access.

Rooms (Ant Media's conference rooms) are the one place where a scope is more than an exact id: a room's
participants publish ``{room}-{participant}`` streams. The ``{room}-`` rule applies only to room scope (see
:func:`allows`); stream ids and ordinary groups are always compared exactly.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from .names import is_id


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
    """What one verified token allows: its scope is ``streams`` (``streamId``), ``groups`` (``group``) and
    ``rooms`` (``roomId``). A ``streamId`` or ``group`` naming a group the server stores as a room is room scope
    too; that is decided by :func:`allows` against the store, so a grant stays valid in the verifier's cache
    while groups change."""

    role: Role
    streams: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    expires_at: float | None = None
    token_id: str | None = None  # the ``jti`` claim, kept for revocation and logs
    public: bool = False  # no token at all: a server without auth (--no-auth) lets anyone play
    rooms: frozenset[str] = frozenset()  # last, so that positional construction stays as it was


PUBLIC = Grant(Role.PLAY, public=True)
PUBLIC_ACTIONS = frozenset({Action.PLAY, Action.PLAYER_CONFIG})

PARTICIPANT_SEPARATOR = "-"
"""A room's participant streams are ``{room}-{participant}``."""


@dataclass(frozen=True, slots=True)
class Group:
    """What the server stores for a group id: its listed streams, and whether it is a room."""

    streams: frozenset[str] = frozenset()
    room: bool = False


Groups = Mapping[str, Group]
"""The group store's snapshot as :func:`allows` reads it: group id -> :class:`Group`."""

_NO_GROUPS: Groups = {}


def allows(grant: Grant, action: Action, target: Target = NO_TARGET, groups: Groups | None = None) -> bool:
    """Decide one request. ``groups`` is the store's snapshot: group id -> listed streams and kind.

    - An admin grant administers, and may be handed player configs (it can mint their tokens anyway); it plays
      nothing itself: it is not a viewer token.
    - A publish grant publishes its scope and also plays it (conference rooms rely on this), but is never put
      into a player config, which is meant for viewers' browsers.
    - A play grant plays its scope and gets configs for it.
    - Scope, compared exactly: the stream id itself, or a group whose stored members include it; a group
      target (a group's player config) needs the group itself.
    - Room scope (a ``roomId`` claim, or a ``streamId``/``group`` naming a group stored as a room): the room's
      streams are its listed members, its participant streams ``{room}-{p}`` (``p`` one or more id characters,
      the whole an id) and the room's own id. All of them play; the listed members and the participant streams
      publish; the room's own id publishes only when it is listed (it is the room, not a participant). A
      participant stream belongs to the most specific stored room: with rooms ``a`` and ``a-b`` stored,
      ``a-b`` and ``a-b-x`` are room ``a-b``'s, not participants of room ``a``.
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
    store = _NO_GROUPS if groups is None else groups
    if target.group is not None:
        return target.group in grant.groups or holds_room(grant, target.group, store)
    stream = target.stream
    if stream is None:
        return False
    if stream in grant.streams and (action is not Action.PUBLISH or not _is_room(store.get(stream))):
        return True  # the common case, without a lookup (a room's own id publishes only when listed: below)
    for name in grant.groups:
        entry = store.get(name)
        if entry is not None and (stream in entry.streams or (entry.room and _in_room(name, stream, action, store))):
            return True
    for name in grant.rooms:
        entry = store.get(name)  # a roomId is a room whether or not it is stored; stored, it lists members
        if (entry is not None and stream in entry.streams) or _in_room(name, stream, action, store):
            return True
    for name in grant.streams:
        entry = store.get(name)
        if entry is not None and entry.room and (stream in entry.streams or _in_room(name, stream, action, store)):
            return True
    return False


def holds_room(grant: Grant, room: str, groups: Groups) -> bool:
    """Has ``grant`` room scope for ``room``: a ``roomId`` claim, or a ``streamId``/``group`` claim naming it while
    ``groups`` stores it as a room."""
    return room in grant.rooms or ((room in grant.streams or room in grant.groups) and _is_room(groups.get(room)))


def rooms_of(grant: Grant, groups: Groups) -> frozenset[str]:
    """Every room in ``grant``'s scope."""
    return frozenset(name for name in grant.rooms | grant.streams | grant.groups if holds_room(grant, name, groups))


def participant_of(room: str, stream: str, groups: Groups) -> bool:
    """Is ``stream`` a participant stream of ``room`` (``{room}-{p}``), and no more specific stored room's?"""
    start = len(room) + len(PARTICIPANT_SEPARATOR)
    if len(stream) <= start or not stream.startswith(room + PARTICIPANT_SEPARATOR) or not is_id(stream):
        return False
    if _is_room(groups.get(stream)):
        return False  # another room's own id (room "a-b" seen from room "a")
    at = stream.find(PARTICIPANT_SEPARATOR, start)
    while at != -1:
        if _is_room(groups.get(stream[:at])):
            return False  # a participant of a longer room ("a-b-x" belongs to room "a-b")
        at = stream.find(PARTICIPANT_SEPARATOR, at + 1)
    return True


def _in_room(room: str, stream: str, action: Action, groups: Groups) -> bool:
    """The room rules beyond the listed members: the room's own id plays, participant streams play and publish."""
    if stream == room:
        return action is not Action.PUBLISH
    return participant_of(room, stream, groups)


def _is_room(entry: Group | None) -> bool:
    return entry is not None and entry.room


def refusal(grant: Grant, action: Action, target: Target = NO_TARGET, groups: Groups | None = None) -> str:
    """Why :func:`allows` said no, in words for the caller (who holds ``grant``); ``groups`` as for allows."""
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
    rooms = rooms_of(grant, _NO_GROUPS if groups is None else groups)
    if rooms and target.stream is not None:
        if action is Action.PUBLISH and target.stream in rooms:
            return ("a room token does not publish the room's own stream: publish a participant stream, "
                    "{room}-{participant}, or one the room lists")
        return "this token's room does not hold this stream (a room holds its listed streams and {room}-{participant})"
    if action is Action.PLAY:
        return "this token does not grant playback of this stream"
    return "this token does not grant this stream"
