"""Stream groups: which streams one group token opens. Stored by the server in one JSON file, written atomically.

Readers take :attr:`GroupStore.snapshot`, an immutable mapping replaced whole on every change, so the hot
path never locks and never sees a half-applied update. Writes go to a temporary file in the same directory,
are fsynced, then renamed over the old file: a crash leaves either the old groups or the new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from .errors import BadRequest, ConfigError
from .names import ID_RULE, is_id

GROUPS_FILE = "groups.json"
FORMAT_VERSION = 1
MAX_STREAMS_PER_GROUP = 10_000
MAX_GROUPS = 100_000

Groups = Mapping[str, frozenset[str]]


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
            self.snapshot = MappingProxyType({name: validate_members(streams) for name, streams in groups.items()
                                              if _check_name(name)})
        except (ValueError, KeyError, BadRequest) as err:
            raise ConfigError(f"the groups file {self.path} is damaged ({err}); fix or move it away "
                              "(it is never overwritten while unreadable)") from err

    async def put(self, group: str, streams: Iterable[str]) -> frozenset[str]:
        _check_name(group)  # a name load() would refuse must never reach the file
        members = validate_members(streams)
        async with self._lock:
            if group not in self.snapshot and len(self.snapshot) >= MAX_GROUPS:
                raise BadRequest(f"too many groups (at most {MAX_GROUPS})")
            await self._commit({**self.snapshot, group: members})
        return members

    async def delete(self, group: str) -> bool:
        async with self._lock:
            if group not in self.snapshot:
                return False
            await self._commit({k: v for k, v in self.snapshot.items() if k != group})
            return True

    async def _commit(self, groups: dict[str, frozenset[str]]) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._write, groups)
        self.snapshot = MappingProxyType(groups)

    def _write(self, groups: Mapping[str, frozenset[str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"version": FORMAT_VERSION,
                           "groups": {name: sorted(streams) for name, streams in sorted(groups.items())}},
                          indent=1).encode()
        fd, tmp = tempfile.mkstemp(prefix=f".{GROUPS_FILE}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


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
