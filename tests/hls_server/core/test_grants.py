"""The permission function, table-tested: every role against every action against every shape of scope.

The rule (SECURITY.md): an admin grant administers and is not a viewer; a publish grant publishes and plays its
scope; a play grant plays only. Scope is the stream id itself or a group holding it, compared exactly; only room
scope adds the ``{room}-{participant}`` rule (the room tables below).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest

from hls_server.core.grants import PUBLIC, Action, Grant, Group, Groups, Role, Target, allows, refusal

# What each role may do inside its scope. Outside its scope only the admin action (which has no scope) can pass.
IN_SCOPE: dict[tuple[Role, Action], bool] = {
    (Role.PLAY, Action.PLAY): True,
    (Role.PLAY, Action.PUBLISH): False,
    (Role.PLAY, Action.ADMIN): False,
    (Role.PUBLISH, Action.PLAY): True,
    (Role.PUBLISH, Action.PUBLISH): True,
    (Role.PUBLISH, Action.ADMIN): False,
    (Role.ADMIN, Action.PLAY): False,
    (Role.ADMIN, Action.PUBLISH): False,
    (Role.ADMIN, Action.ADMIN): True,
    # A player config carries a play token: for a play grant's own scope, or minted for an admin (any scope).
    (Role.PLAY, Action.PLAYER_CONFIG): True,
    (Role.PUBLISH, Action.PLAYER_CONFIG): False,
    (Role.ADMIN, Action.PLAYER_CONFIG): True,
}
UNSCOPED = frozenset({(Role.ADMIN, Action.ADMIN), (Role.ADMIN, Action.PLAYER_CONFIG)})
"""What passes whatever the scope: the admin grant's actions."""


@dataclass(frozen=True)
class Scope:
    """A grant's scope, the stream asked for and the group store's view; ``matches``: is the stream in scope."""

    streams: frozenset[str]
    groups: frozenset[str]
    stream: str | None
    store: Groups | None
    matches: bool


def _scope(streams: tuple[str, ...] = (), groups: tuple[str, ...] = (), *, stream: str | None,
           store: Mapping[str, tuple[str, ...]] | None = None, matches: bool) -> Scope:
    frozen = None if store is None else {k: Group(frozenset(v)) for k, v in store.items()}
    return Scope(frozenset(streams), frozenset(groups), stream, frozen, matches)


SCOPES: dict[str, Scope] = {
    "stream match": _scope(("s1",), stream="s1", matches=True),
    "one of several streams": _scope(("s0", "s1", "s2"), stream="s1", matches=True),
    "group membership": _scope(groups=("g1",), stream="s1", store={"g1": ("s1", "s2")}, matches=True),
    "a group named like a room": _scope(groups=("room1",), stream="s2", store={"room1": ("s1", "s2")},
                                        matches=True),
    "stream and group, stream matches": _scope(("s1",), ("g1",), stream="s1", store={"g1": ("s9",)},
                                               matches=True),
    "stream and group, group matches": _scope(("s9",), ("g1",), stream="s1", store={"g1": ("s1",)},
                                              matches=True),
    "other stream": _scope(("s2",), stream="s1", matches=False),
    "empty scope": _scope(stream="s1", matches=False),
    "group without the stream": _scope(groups=("g1",), stream="s1", store={"g1": ("s2",)}, matches=False),
    "group unknown to the store": _scope(groups=("g9",), stream="s1", store={"g1": ("s1",)}, matches=False),
    "group, no store": _scope(groups=("g1",), stream="s1", store=None, matches=False),
    "group, empty store": _scope(groups=("g1",), stream="s1", store={}, matches=False),
    "stream's group is another": _scope(groups=("g2",), stream="s1", store={"g1": ("s1",), "g2": ("s2",)},
                                        matches=False),
    "group id used as a stream id": _scope(groups=("g1",), stream="g1", store={"g1": ("s1",)}, matches=False),
    "stream id used as a group id": _scope(("g1",), stream="s1", store={"g1": ("s1",)}, matches=False),
    "no stream asked": _scope(("s1",), ("g1",), stream=None, store={"g1": ("s1",)}, matches=False),
    "case: upper stream asked": _scope(("s1",), stream="S1", matches=False),
    "case: upper stream granted": _scope(("S1",), stream="s1", matches=False),
    "case: group member": _scope(groups=("g1",), stream="s1", store={"g1": ("S1",)}, matches=False),
    "case: group id": _scope(groups=("G1",), stream="s1", store={"g1": ("s1",)}, matches=False),
    "prefix: granted is a prefix": _scope(("s1",), stream="s10", matches=False),
    "prefix: asked is a prefix": _scope(("s10",), stream="s1", matches=False),
    "suffix: granted is a suffix": _scope(("1",), stream="s1", matches=False),
    "suffix: asked is a suffix": _scope(("xs1",), stream="s1", matches=False),
    "prefix in a group": _scope(groups=("g1",), stream="s1", store={"g1": ("s10", "xs1")}, matches=False),
    "a plain group gives no participant streams": _scope(groups=("g1",), stream="g1-x", store={"g1": ("s1",)},
                                                        matches=False),
    "a stream gives no participant streams": _scope(("s1",), stream="s1-x", matches=False),
    "a stream named like a group gives none": _scope(("g1",), stream="g1-x", store={"g1": ("s1",)}, matches=False),
    "encoded stream": _scope(("s1",), stream="s%31", matches=False),
    "padded stream": _scope(("s1",), stream="s1 ", matches=False),
    "empty stream": _scope(("s1",), stream="", matches=False),
}


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
@pytest.mark.parametrize("action", Action, ids=lambda a: f"to-{a.value}")
@pytest.mark.parametrize("role", Role, ids=lambda r: f"{r.value}-grant")
def test_allows(role: Role, action: Action, scope: Scope) -> None:
    grant = Grant(role, scope.streams, scope.groups)
    expected = IN_SCOPE[role, action] if (scope.matches or (role, action) in UNSCOPED) else False
    assert allows(grant, action, Target(scope.stream), scope.store) is expected


def test_the_table_covers_every_role_and_action() -> None:
    assert set(IN_SCOPE) == {(r, a) for r in Role for a in Action}
    assert sum(s.matches for s in SCOPES.values()) >= 5
    assert sum(not s.matches for s in SCOPES.values()) >= 15


@pytest.mark.parametrize("role", Role)
def test_admin_action_needs_no_stream(role: Role) -> None:
    assert allows(Grant(role), Action.ADMIN) is (role is Role.ADMIN)


def test_admin_grant_with_a_scope_is_still_not_a_viewer() -> None:
    grant = Grant(Role.ADMIN, frozenset({"s1"}), frozenset({"g1"}))
    store = {"g1": Group(frozenset({"s2"}))}
    assert not allows(grant, Action.PLAY, Target("s1"), store)
    assert not allows(grant, Action.PLAY, Target("s2"), store)
    assert not allows(grant, Action.PUBLISH, Target("s1"), store)


def test_the_store_decides_group_membership_at_call_time() -> None:
    grant = Grant(Role.PLAY, groups=frozenset({"g1"}))
    assert allows(grant, Action.PLAY, Target("s1"), {"g1": Group(frozenset({"s1"}))})
    assert not allows(grant, Action.PLAY, Target("s1"), {"g1": Group()})  # the stream left the group


# A group target (a group's player config) needs the group itself in the grant, whatever its members.
GROUP_TARGETS: dict[str, tuple[Grant, Target, bool]] = {
    "its group": (Grant(Role.PLAY, groups=frozenset({"g1"})), Target(group="g1"), True),
    "another group": (Grant(Role.PLAY, groups=frozenset({"g1"})), Target(group="g2"), False),
    "a group by case": (Grant(Role.PLAY, groups=frozenset({"g1"})), Target(group="G1"), False),
    "a group named like its stream": (Grant(Role.PLAY, frozenset({"g1"})), Target(group="g1"), False),
    "a group named like a room": (Grant(Role.PLAY, groups=frozenset({"room1"})), Target(group="room1"), True),
    "a publish grant's group": (Grant(Role.PUBLISH, groups=frozenset({"g1"})), Target(group="g1"), False),
    "an admin, any group": (Grant(Role.ADMIN), Target(group="g9"), True),
}


@pytest.mark.parametrize(("grant", "target", "expected"), GROUP_TARGETS.values(), ids=GROUP_TARGETS.keys())
def test_player_config_of_a_group(grant: Grant, target: Target, expected: bool) -> None:
    store = {"g1": Group(frozenset({"s1"})), "g2": Group(frozenset({"s1"}))}
    assert allows(grant, Action.PLAYER_CONFIG, target, store) is expected


@pytest.mark.parametrize("action", Action, ids=lambda a: a.value)
def test_a_public_server_lets_anyone_play_and_nothing_more(action: Action) -> None:
    expected = action in (Action.PLAY, Action.PLAYER_CONFIG)
    assert allows(PUBLIC, action, Target("s1")) is expected
    assert allows(PUBLIC, action, Target(group="g1")) is expected


@pytest.mark.parametrize(("grant", "action", "target", "words"), [
    (Grant(Role.PLAY, frozenset({"s1"})), Action.ADMIN, Target(), "admin token is required"),
    (Grant(Role.ADMIN), Action.PLAY, Target("s1"), "not a viewer token"),
    (Grant(Role.PUBLISH, frozenset({"s1"})), Action.PLAYER_CONFIG, Target("s1"), "publish token is not handed"),
    (Grant(Role.PLAY, frozenset({"s1"})), Action.PUBLISH, Target("s1"), "cannot publish"),
    (Grant(Role.PLAY, groups=frozenset({"g1"})), Action.PLAYER_CONFIG, Target(group="g2"), "this group"),
    (Grant(Role.PLAY, frozenset({"s1"})), Action.PLAY, Target("s2"), "playback of this stream"),
    (Grant(Role.PLAY, frozenset({"s1"})), Action.PLAYER_CONFIG, Target("s2"), "this stream"),
])
def test_refusals_say_why(grant: Grant, action: Action, target: Target, words: str) -> None:
    assert not allows(grant, action, target, {})
    assert words in refusal(grant, action, target, {})


# -- rooms ---------------------------------------------------------------------------------------------------
# A room's participants publish {room}-{participant}; a publish token for the room publishes those and the room's
# listed streams and plays every stream of the room (its own id too); a play token for the room only plays them.
# The {room}- rule is room scope's alone: stream ids and plain groups stay exact (the SCOPES table above).

ROOM_STORE: Groups = {
    "a": Group(frozenset({"guest"}), room=True),  # room "a", one listed stream
    "a-b": Group(room=True),  # a room whose id starts with "a-": its streams are its own, not room a's
    "other": Group(frozenset({"o1"}), room=True),
    "g": Group(frozenset({"g-x"})),  # a plain group
}
ROOM_GRANTS: dict[str, Callable[[Role], Grant]] = {
    "roomId a": lambda role: Grant(role, rooms=frozenset({"a"})),
    "streamId a, stored as a room (the seed's token)": lambda role: Grant(role, frozenset({"a"})),
    "group a, stored as a room": lambda role: Grant(role, groups=frozenset({"a"})),
}


@dataclass(frozen=True)
class InRoom:
    """A stream asked of room ``a``'s tokens: does the room's publish token play it, publish it."""

    stream: str
    plays: bool
    publishes: bool


ROOM_STREAMS: dict[str, InRoom] = {
    "a participant": InRoom("a-alice", True, True),
    "a participant with a dash in its id": InRoom("a-alice-cam", True, True),
    "a participant of one character": InRoom("a-1", True, True),
    "a participant starting with _": InRoom("a-_x", True, True),
    "a participant starting with -": InRoom("a--x", True, True),
    "a listed stream": InRoom("guest", True, True),
    "the room's own id plays, not publishes": InRoom("a", True, False),
    "the bare prefix a-": InRoom("a-", False, False),
    "a longer id: ab": InRoom("ab", False, False),
    "a longer id's participant: ab-x": InRoom("ab-x", False, False),
    "case: A-alice": InRoom("A-alice", False, False),
    "case: the room's id as A": InRoom("A", False, False),
    "case: the listed stream as GUEST": InRoom("GUEST", False, False),
    "room a-b's own id": InRoom("a-b", False, False),
    "room a-b's participant": InRoom("a-b-x", False, False),
    "a-bc is room a's (room a-b's are a-b-*)": InRoom("a-bc", True, True),
    "a-b_x is room a's": InRoom("a-b_x", True, True),
    "another room's participant": InRoom("other-x", False, False),
    "another room's listed stream": InRoom("o1", False, False),
    "another room's own id": InRoom("other", False, False),
    "a plain group's member": InRoom("g-x", False, False),
    "the listed stream's participant": InRoom("guest-x", False, False),
    "a participant id too long (65 characters)": InRoom("a-" + "x" * 63, False, False),
    "the longest participant id (64 characters)": InRoom("a-" + "x" * 62, True, True),
    "padded": InRoom("a-x ", False, False),
    "a newline": InRoom("a-x\n", False, False),
    "encoded": InRoom("a%2Dx", False, False),
    "encoded participant": InRoom("a-%78", False, False),
    "a dot": InRoom("a-.x", False, False),
    "a slash": InRoom("a-x/y", False, False),
    "traversal": InRoom("a-../b", False, False),
    "lookalike dash (U+2010)": InRoom("a\u2010x", False, False),
    "empty": InRoom("", False, False),
}


@pytest.mark.parametrize("case", ROOM_STREAMS.values(), ids=ROOM_STREAMS.keys())
@pytest.mark.parametrize("make", ROOM_GRANTS.values(), ids=ROOM_GRANTS.keys())
def test_a_rooms_publish_token(make: Callable[[Role], Grant], case: InRoom) -> None:
    grant = make(Role.PUBLISH)
    assert allows(grant, Action.PLAY, Target(case.stream), ROOM_STORE) is case.plays
    assert allows(grant, Action.PUBLISH, Target(case.stream), ROOM_STORE) is case.publishes
    assert not allows(grant, Action.PLAYER_CONFIG, Target(case.stream), ROOM_STORE)  # never handed to players
    assert not allows(grant, Action.ADMIN, Target(case.stream), ROOM_STORE)


@pytest.mark.parametrize("case", ROOM_STREAMS.values(), ids=ROOM_STREAMS.keys())
@pytest.mark.parametrize("make", ROOM_GRANTS.values(), ids=ROOM_GRANTS.keys())
def test_a_rooms_play_token(make: Callable[[Role], Grant], case: InRoom) -> None:
    grant = make(Role.PLAY)
    assert allows(grant, Action.PLAY, Target(case.stream), ROOM_STORE) is case.plays
    assert allows(grant, Action.PLAYER_CONFIG, Target(case.stream), ROOM_STORE) is case.plays
    assert not allows(grant, Action.PUBLISH, Target(case.stream), ROOM_STORE)


# One row each: (grant, action, target, store, expected).
ROOM_RULES: dict[str, tuple[Grant, Action, Target, Groups, bool]] = {
    # Room scope comes from the claim (roomId) or from the store (a streamId or group naming a stored room).
    "roomId, nothing stored: participants publish": (
        Grant(Role.PUBLISH, rooms=frozenset({"z"})), Action.PUBLISH, Target("z-x"), {}, True),
    "roomId, nothing stored: the room's own id plays": (
        Grant(Role.PUBLISH, rooms=frozenset({"z"})), Action.PLAY, Target("z"), {}, True),
    "roomId, nothing stored: the room's own id does not publish": (
        Grant(Role.PUBLISH, rooms=frozenset({"z"})), Action.PUBLISH, Target("z"), {}, False),
    "roomId naming a plain group: its members play (roomId was a group before rooms)": (
        Grant(Role.PLAY, rooms=frozenset({"g"})), Action.PLAY, Target("g-x"), ROOM_STORE, True),
    "roomId a, a stored room a-b: a-b-x is a-b's": (
        Grant(Role.PUBLISH, rooms=frozenset({"a"})), Action.PUBLISH, Target("a-b-x"), ROOM_STORE, False),
    "roomId a-b: a-b-x": (
        Grant(Role.PUBLISH, rooms=frozenset({"a-b"})), Action.PUBLISH, Target("a-b-x"), ROOM_STORE, True),
    "roomId a-b: a-bx is room a's": (
        Grant(Role.PUBLISH, rooms=frozenset({"a-b"})), Action.PUBLISH, Target("a-bx"), ROOM_STORE, False),
    "roomId a, room a-b not stored: a-b-x is a's participant": (
        Grant(Role.PUBLISH, rooms=frozenset({"a"})), Action.PUBLISH, Target("a-b-x"), {"a": Group(room=True)}, True),
    "room a listing a-b-x: listed beats the longer room": (
        Grant(Role.PUBLISH, rooms=frozenset({"a"})), Action.PUBLISH, Target("a-b-x"),
        {"a": Group(frozenset({"a-b-x"}), room=True), "a-b": Group(room=True)}, True),
    "the room's own id publishes when the room lists it": (
        Grant(Role.PUBLISH, frozenset({"a"})), Action.PUBLISH, Target("a"), {"a": Group(frozenset({"a"}), room=True)},
        True),
    "streamId of a stored room: the room's own id does not publish": (
        Grant(Role.PUBLISH, frozenset({"a"})), Action.PUBLISH, Target("a"), ROOM_STORE, False),
    "streamId a, nothing stored: a plain stream publishes itself": (
        Grant(Role.PUBLISH, frozenset({"a"})), Action.PUBLISH, Target("a"), {}, True),
    "streamId a, nothing stored: no participants": (
        Grant(Role.PUBLISH, frozenset({"a"})), Action.PUBLISH, Target("a-x"), {}, False),
    "streamId g naming a plain group: no participants": (
        Grant(Role.PUBLISH, frozenset({"g"})), Action.PLAY, Target("g-y"), ROOM_STORE, False),
    "streamId g naming a plain group: not its members either": (
        Grant(Role.PUBLISH, frozenset({"g"})), Action.PLAY, Target("g-x"), ROOM_STORE, False),
    "group g, a plain group: its member": (
        Grant(Role.PUBLISH, groups=frozenset({"g"})), Action.PUBLISH, Target("g-x"), ROOM_STORE, True),
    "group g, a plain group: no participants": (
        Grant(Role.PUBLISH, groups=frozenset({"g"})), Action.PUBLISH, Target("g-y"), ROOM_STORE, False),
    "group g, a plain group: not its own id": (
        Grant(Role.PLAY, groups=frozenset({"g"})), Action.PLAY, Target("g"), ROOM_STORE, False),
    "the room became a plain group: its participants are out": (
        Grant(Role.PUBLISH, frozenset({"a"})), Action.PUBLISH, Target("a-x"), {"a": Group()}, False),
    "the room was deleted: its participants are out": (
        Grant(Role.PUBLISH, groups=frozenset({"a"})), Action.PLAY, Target("a-x"), {}, False),
    "no store at all": (Grant(Role.PUBLISH, frozenset({"a"})), Action.PLAY, Target("a-x"), {}, False),
    "a stream and a room: the stream": (
        Grant(Role.PUBLISH, frozenset({"s1"}), rooms=frozenset({"a"})), Action.PUBLISH, Target("s1"), {}, True),
    "a stream and a room: a participant": (
        Grant(Role.PUBLISH, frozenset({"s1"}), rooms=frozenset({"a"})), Action.PUBLISH, Target("a-x"), {}, True),
    "a stream and a room: the stream's participant": (
        Grant(Role.PUBLISH, frozenset({"s1"}), rooms=frozenset({"a"})), Action.PUBLISH, Target("s1-x"), {}, False),
    # A room's player config (a group target): play tokens of the room and admins.
    "config of the room: roomId play token": (
        Grant(Role.PLAY, rooms=frozenset({"a"})), Action.PLAYER_CONFIG, Target(group="a"), ROOM_STORE, True),
    "config of the room: streamId play token, stored room": (
        Grant(Role.PLAY, frozenset({"a"})), Action.PLAYER_CONFIG, Target(group="a"), ROOM_STORE, True),
    "config of the room: group play token": (
        Grant(Role.PLAY, groups=frozenset({"a"})), Action.PLAYER_CONFIG, Target(group="a"), ROOM_STORE, True),
    "config of the room: an admin": (Grant(Role.ADMIN), Action.PLAYER_CONFIG, Target(group="a"), ROOM_STORE, True),
    "config of the room: a publish token": (
        Grant(Role.PUBLISH, rooms=frozenset({"a"})), Action.PLAYER_CONFIG, Target(group="a"), ROOM_STORE, False),
    "config of the room: another room's token": (
        Grant(Role.PLAY, rooms=frozenset({"other"})), Action.PLAYER_CONFIG, Target(group="a"), ROOM_STORE, False),
    "config of room a-b: room a's token": (
        Grant(Role.PLAY, rooms=frozenset({"a"})), Action.PLAYER_CONFIG, Target(group="a-b"), ROOM_STORE, False),
    "config of a plain group: a streamId naming it": (
        Grant(Role.PLAY, frozenset({"g"})), Action.PLAYER_CONFIG, Target(group="g"), ROOM_STORE, False),
    "config of a room not stored: a streamId naming it": (
        Grant(Role.PLAY, frozenset({"z"})), Action.PLAYER_CONFIG, Target(group="z"), ROOM_STORE, False),
    "config of a room: case": (
        Grant(Role.PLAY, rooms=frozenset({"a"})), Action.PLAYER_CONFIG, Target(group="A"), ROOM_STORE, False),
    "a room's play token does not administer": (
        Grant(Role.PLAY, rooms=frozenset({"a"})), Action.ADMIN, Target(), ROOM_STORE, False),
}


@pytest.mark.parametrize(("grant", "action", "target", "store", "expected"), ROOM_RULES.values(),
                         ids=ROOM_RULES.keys())
def test_room_rules(grant: Grant, action: Action, target: Target, store: Groups, expected: bool) -> None:
    assert allows(grant, action, target, store) is expected


@pytest.mark.parametrize(("grant", "action", "stream", "words"), [
    (Grant(Role.PUBLISH, rooms=frozenset({"a"})), Action.PUBLISH, "a", "does not publish the room's own stream"),
    (Grant(Role.PUBLISH, frozenset({"a"})), Action.PUBLISH, "a", "does not publish the room's own stream"),
    (Grant(Role.PUBLISH, rooms=frozenset({"a"})), Action.PUBLISH, "ab-x", "room does not hold this stream"),
    (Grant(Role.PLAY, groups=frozenset({"a"})), Action.PLAY, "a-b-x", "{room}-{participant}"),
    (Grant(Role.PLAY, rooms=frozenset({"a"})), Action.PUBLISH, "a-x", "a play token cannot publish"),
    (Grant(Role.PUBLISH, rooms=frozenset({"a"})), Action.PLAYER_CONFIG, "a-x", "publish token is not handed"),
    # Not a room (a plain group, a plain stream): the usual words.
    (Grant(Role.PLAY, frozenset({"g"})), Action.PLAY, "g-x", "playback of this stream"),
    (Grant(Role.PLAY, frozenset({"s1"})), Action.PLAY, "s1-x", "playback of this stream"),
])
def test_room_refusals_say_why(grant: Grant, action: Action, stream: str, words: str) -> None:
    assert not allows(grant, action, Target(stream), ROOM_STORE)
    assert words in refusal(grant, action, Target(stream), ROOM_STORE)


def test_the_room_tables_cover_both_answers() -> None:
    assert sum(c.publishes for c in ROOM_STREAMS.values()) >= 5
    assert sum(c.plays and not c.publishes for c in ROOM_STREAMS.values()) >= 1
    assert sum(not c.plays for c in ROOM_STREAMS.values()) >= 15
