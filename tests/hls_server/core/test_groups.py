"""GroupStore: the file format, snapshot semantics, validation, serialised writes and atomic replacement."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from hls_server.core import groups as groups_module
from hls_server.core.errors import BadRequest, ConfigError
from hls_server.core.grants import Group
from hls_server.core.groups import GROUPS_FILE, GroupStore


def _files(state_dir: Path) -> list[str]:
    return sorted(p.name for p in state_dir.iterdir())


async def _store(tmp_path: Path) -> GroupStore:
    store = GroupStore(tmp_path / "state")
    store.load()
    return store


def test_a_missing_file_loads_as_no_groups(tmp_path: Path) -> None:
    store = GroupStore(tmp_path / "never-created")
    store.load()
    assert dict(store.snapshot) == {}
    assert not (tmp_path / "never-created").exists()  # loading never writes


async def test_put_writes_the_documented_format(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    entry = await store.put("b-group", ["s2", "s1", "s2"])
    await store.put("a_group", [])
    await store.put("room1", [], room=True)
    assert entry == Group(frozenset({"s1", "s2"}), room=False)
    data = json.loads((tmp_path / "state" / GROUPS_FILE).read_text(encoding="utf-8"))
    assert data == {"version": 1, "groups": {"a_group": [], "b-group": ["s1", "s2"], "room1": []},
                    "rooms": ["room1"]}
    assert list(data["groups"]) == ["a_group", "b-group", "room1"]  # sorted, so diffs of the file stay readable
    assert _files(tmp_path / "state") == [GROUPS_FILE]


async def test_a_new_store_reads_back_what_was_written(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    await store.put("g1", ["s1", "s2"])
    await store.put("g2", ["s3"])
    await store.delete("g2")
    again = GroupStore(tmp_path / "state")
    again.load()
    assert dict(again.snapshot) == {"g1": Group(frozenset({"s1", "s2"}))}


async def test_rooms_are_stored_read_back_and_replaced_whole(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    await store.put("room1", [], room=True)
    await store.put("room2", ["guest"], room=True)
    await store.put("g1", ["s1"])
    again = GroupStore(tmp_path / "state")
    again.load()
    assert dict(again.snapshot) == {"room1": Group(frozenset(), room=True),
                                    "room2": Group(frozenset({"guest"}), room=True),
                                    "g1": Group(frozenset({"s1"}))}
    await store.put("room2", ["guest"])  # a put replaces the kind too: room2 is a plain group now
    assert store.snapshot["room2"] == Group(frozenset({"guest"}), room=False)
    data = json.loads((tmp_path / "state" / GROUPS_FILE).read_text(encoding="utf-8"))
    assert data["rooms"] == ["room1"]


def test_a_file_from_before_rooms_loads_as_plain_groups(tmp_path: Path) -> None:
    (tmp_path / GROUPS_FILE).write_text('{"version": 1, "groups": {"g1": ["s1"]}}', encoding="utf-8")
    store = GroupStore(tmp_path)
    store.load()
    assert dict(store.snapshot) == {"g1": Group(frozenset({"s1"}), room=False)}


async def test_put_replaces_the_snapshot_and_leaves_the_old_one_unchanged(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    await store.put("g1", ["s1"])
    before = store.snapshot
    await store.put("g1", ["s2"])
    await store.put("g2", ["s3"])
    assert dict(before) == {"g1": Group(frozenset({"s1"}))}
    assert dict(store.snapshot) == {"g1": Group(frozenset({"s2"})), "g2": Group(frozenset({"s3"}))}
    with pytest.raises(TypeError):
        before["g3"] = Group()  # type: ignore[index]  # readers get a read-only view


async def test_delete_replaces_the_snapshot(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    await store.put("g1", ["s1"])
    await store.put("g2", ["s2"])
    before = store.snapshot
    assert await store.delete("g1") is True
    assert await store.delete("g1") is False
    assert await store.delete("never") is False
    assert set(before) == {"g1", "g2"}
    assert dict(store.snapshot) == {"g2": Group(frozenset({"s2"}))}
    data = json.loads((tmp_path / "state" / GROUPS_FILE).read_text(encoding="utf-8"))
    assert data["groups"] == {"g2": ["s2"]}


@pytest.mark.parametrize(("group", "streams", "message"), [
    ("g", "s1", "must be a list"),
    ("g", {"s1": 1}, "must be a list"),
    ("g", None, "must be a list"),
    ("g", ["bad id"], "invalid stream id 'bad id'"),
    ("g", [""], "invalid stream id"),
    ("g", ["a" * 65], "invalid stream id"),
    ("g", ["../s1"], "invalid stream id"),
    ("g", [1], "invalid stream id int"),
    ("g", ["s1", None], "invalid stream id NoneType"),
    ("bad id", ["s1"], "invalid group id"),
    ("", ["s1"], "invalid group id"),
    ("a" * 65, ["s1"], "invalid group id"),
])
async def test_invalid_groups_are_refused_and_nothing_is_written(tmp_path: Path, group: str, streams: Any,
                                                                  message: str) -> None:
    store = await _store(tmp_path)
    with pytest.raises(BadRequest, match=message):
        await store.put(group, streams)
    assert dict(store.snapshot) == {}
    assert not (tmp_path / "state").exists()


async def test_a_group_holds_a_bounded_number_of_streams(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    too_many = [f"s{i}" for i in range(groups_module.MAX_STREAMS_PER_GROUP + 1)]
    with pytest.raises(BadRequest, match="at most"):
        await store.put("g", too_many)
    assert dict(store.snapshot) == {}


async def test_the_number_of_groups_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(groups_module, "MAX_GROUPS", 2)
    store = await _store(tmp_path)
    await store.put("g1", ["s1"])
    await store.put("g2", ["s1"])
    with pytest.raises(BadRequest, match="too many groups"):
        await store.put("g3", ["s1"])
    await store.put("g2", ["s2"])  # replacing an existing group is still allowed
    assert dict(store.snapshot) == {"g1": Group(frozenset({"s1"})), "g2": Group(frozenset({"s2"}))}


async def test_concurrent_puts_are_serialised(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    await asyncio.gather(*(store.put(f"g{i}", [f"s{i}"]) for i in range(20)))
    expected = {f"g{i}": [f"s{i}"] for i in range(20)}
    assert {name: sorted(entry.streams) for name, entry in store.snapshot.items()} == expected
    data = json.loads((tmp_path / "state" / GROUPS_FILE).read_text(encoding="utf-8"))
    assert data["groups"] == expected
    assert _files(tmp_path / "state") == [GROUPS_FILE]


async def test_concurrent_puts_and_deletes_end_consistent(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    await asyncio.gather(*(store.put(f"g{i}", ["s1"]) for i in range(10)))
    await asyncio.gather(*(store.delete(f"g{i}") for i in range(0, 10, 2)), store.put("new", ["s2"]))
    expected = {f"g{i}": ["s1"] for i in range(1, 10, 2)} | {"new": ["s2"]}
    data = json.loads((tmp_path / "state" / GROUPS_FILE).read_text(encoding="utf-8"))
    assert data["groups"] == expected
    assert {name: sorted(entry.streams) for name, entry in store.snapshot.items()} == expected


async def test_a_failed_write_keeps_the_old_file_and_snapshot_and_leaves_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = await _store(tmp_path)
    await store.put("g1", ["s1"])
    path = tmp_path / "state" / GROUPS_FILE
    before = path.read_bytes()

    def fail_rename(self: Path, target: Any) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", fail_rename)
    with pytest.raises(OSError, match="No space"):
        await store.put("g2", ["s2"])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert dict(store.snapshot) == {"g1": Group(frozenset({"s1"}))}
    assert _files(tmp_path / "state") == [GROUPS_FILE]


@pytest.mark.parametrize("content", [
    b"{not json",
    b"",
    b"\xff\xfe\x00\x01 not utf-8",
    b"[]",
    b'{"groups": {}}',
    b'{"version": 2, "groups": {}}',
    b'{"version": 1, "groups": []}',
    b'{"version": 1, "groups": {"g": "s1"}}',
    b'{"version": 1, "groups": {"bad name": ["s1"]}}',
    b'{"version": 1, "groups": {"g": ["s1", "../etc"]}}',
    b'{"version": 1, "groups": {"g": []}, "rooms": "g"}',
    b'{"version": 1, "groups": {"g": []}, "rooms": ["r"]}',
    b'{"version": 1, "groups": {"g": []}, "rooms": [["g"]]}',
    b'{"version": 1, "groups": {"g": []}, "rooms": [1]}',
])
def test_a_damaged_file_stops_loading_and_is_left_untouched(tmp_path: Path, content: bytes) -> None:
    (tmp_path / GROUPS_FILE).write_bytes(content)
    store = GroupStore(tmp_path)
    with pytest.raises(ConfigError, match="damaged"):
        store.load()
    assert (tmp_path / GROUPS_FILE).read_bytes() == content
    assert _files(tmp_path) == [GROUPS_FILE]
    assert dict(store.snapshot) == {}


def test_an_unreadable_groups_path_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / GROUPS_FILE).mkdir()
    with pytest.raises(ConfigError, match="cannot read the groups file"):
        GroupStore(tmp_path).load()
