"""Stream groups and rooms: which streams one group token opens. Stored by the server in one JSON file, written
atomically.

A group lists its streams; a group stored as a room (Ant Media's conference room) also holds its participants'
streams, ``{room}-{participant}``, and needs no listed streams (the rule is :func:`grants.allows`'s).

Readers take :attr:`GroupStore.snapshot`, an immutable mapping (group id -> :class:`Group`) replaced whole on
every change, so the hot path never locks and never sees a half-applied update. Writes go to a temporary file in
the same directory, are fsynced, then renamed over the old file: a crash leaves either the old groups or the new
ones. The file is ``{"version": 1, "groups": {id: [stream, ...]}, "rooms": [id, ...]}``: ``rooms`` (left out when
there are none) names the groups that are rooms, so a server that predates rooms reads the file as plain groups
(fewer rights, not more).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType

from .atomic import write_atomic
from .errors import BadRequest, ConfigError
from .grants import Group, Groups
from .names import ID_RULE, is_id

GROUPS_FILE = "groups.json"
FORMAT_VERSION = 1
MAX_STREAMS_PER_GROUP = 10_000
MAX_GROUPS = 100_000


class GroupStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / GROUPS_FILE
        self._lock = asyncio.Lock()
        self.snapshot: Groups = MappingProxyType({})

    def load(self) -> None:
        """Read the stored groups (blocking: call at start-up). A damaged file stops the server, untouched."""
        try:
            text = self.path.read_bytes()  # decoded by json.loads: bad bytes are a ValueError below, not a crash
        except FileNotFoundError:
            return
        except OSError as err:
            raise ConfigError(f"cannot read the groups file {self.path}: {err.strerror}") from err
        try:
            data = json.loads(text)
            groups = data["groups"] if isinstance(data, dict) and data.get("version") == FORMAT_VERSION else None
            if not isinstance(groups, dict):
                raise ValueError("no groups table")
            rooms = data.get("rooms", [])
            if not isinstance(rooms, list) or not set(rooms) <= set(groups):
                raise ValueError("rooms must list groups of the groups table")
            self.snapshot = MappingProxyType({name: Group(validate_members(streams), name in rooms)
                                              for name, streams in groups.items() if _check_name(name)})
        except (ValueError, KeyError, TypeError, BadRequest) as err:  # TypeError: an unhashable room name
            raise ConfigError(f"the groups file {self.path} is damaged ({err}); fix or move it away "
                              "(it is never overwritten while unreadable)") from err

    async def put(self, group: str, streams: Iterable[str], *, room: bool = False) -> Group:
        """Store ``group`` (replacing it whole: its kind too) with ``streams``; ``room``: it is a room."""
        _check_name(group)  # a name load() would refuse must never reach the file
        entry = Group(validate_members(streams), room)
        async with self._lock:
            if group not in self.snapshot and len(self.snapshot) >= MAX_GROUPS:
                raise BadRequest(f"too many groups (at most {MAX_GROUPS})")
            await self._commit({**self.snapshot, group: entry})
        return entry

    async def delete(self, group: str) -> bool:
        async with self._lock:
            if group not in self.snapshot:
                return False
            await self._commit({k: v for k, v in self.snapshot.items() if k != group})
            return True

    async def _commit(self, groups: dict[str, Group]) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._write, groups)
        self.snapshot = MappingProxyType(groups)

    def _write(self, groups: Groups) -> None:
        data: dict[str, object] = {"version": FORMAT_VERSION,
                                   "groups": {name: sorted(entry.streams) for name, entry in sorted(groups.items())}}
        rooms = sorted(name for name, entry in groups.items() if entry.room)
        if rooms:  # without rooms, the file is exactly what a server from before rooms writes
            data["rooms"] = rooms
        body = json.dumps(data, indent=1).encode()
        write_atomic(self.path, body)


def validate_members(streams: object) -> frozenset[str]:
    if not isinstance(streams, list | tuple | frozenset | set):
        raise BadRequest("streams must be a list of stream ids")
    if len(streams) > MAX_STREAMS_PER_GROUP:
        raise BadRequest(f"a group holds at most {MAX_STREAMS_PER_GROUP} streams")
    for stream in streams:
        _check_name(stream, "stream id")
    return frozenset(streams)


def _check_name(value: object, what: str = "group id") -> bool:
    if not is_id(value):
        shown = repr(value)[:70] if isinstance(value, str) else type(value).__name__
        raise BadRequest(f"invalid {what} {shown}: use {ID_RULE}")
    return True
