"""The permission function, table-tested: every role against every action against every shape of scope.

The rule (SECURITY.md): an admin grant administers and is not a viewer; a publish grant publishes and plays its
scope; a play grant plays only. Scope is the stream id itself or a group holding it, compared exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from hls_server.core.grants import PUBLIC, Action, Grant, Role, Target, allows, refusal

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
    store: Mapping[str, frozenset[str]] | None
    matches: bool


def _scope(streams: tuple[str, ...] = (), groups: tuple[str, ...] = (), *, stream: str | None,
           store: Mapping[str, tuple[str, ...]] | None = None, matches: bool) -> Scope:
    frozen = None if store is None else {k: frozenset(v) for k, v in store.items()}
    return Scope(frozenset(streams), frozenset(groups), stream, frozen, matches)


SCOPES: dict[str, Scope] = {
    "stream match": _scope(("s1",), stream="s1", matches=True),
    "one of several streams": _scope(("s0", "s1", "s2"), stream="s1", matches=True),
    "group membership": _scope(groups=("g1",), stream="s1", store={"g1": ("s1", "s2")}, matches=True),
    "roomId as group": _scope(groups=("room1",), stream="s2", store={"room1": ("s1", "s2")}, matches=True),
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
    store = {"g1": frozenset({"s2"})}
    assert not allows(grant, Action.PLAY, Target("s1"), store)
    assert not allows(grant, Action.PLAY, Target("s2"), store)
    assert not allows(grant, Action.PUBLISH, Target("s1"), store)


def test_the_store_decides_group_membership_at_call_time() -> None:
    grant = Grant(Role.PLAY, groups=frozenset({"g1"}))
    assert allows(grant, Action.PLAY, Target("s1"), {"g1": frozenset({"s1"})})
    assert not allows(grant, Action.PLAY, Target("s1"), {"g1": frozenset()})  # the stream left the group


# A group target (a group's player config) needs the group itself in the grant, whatever its members.
GROUP_TARGETS: dict[str, tuple[Grant, Target, bool]] = {
    "its group": (Grant(Role.PLAY, groups=frozenset({"g1"})), Target(group="g1"), True),
    "another group": (Grant(Role.PLAY, groups=frozenset({"g1"})), Target(group="g2"), False),
    "a group by case": (Grant(Role.PLAY, groups=frozenset({"g1"})), Target(group="G1"), False),
    "a group named like its stream": (Grant(Role.PLAY, frozenset({"g1"})), Target(group="g1"), False),
    "a room is a group": (Grant(Role.PLAY, groups=frozenset({"room1"})), Target(group="room1"), True),
    "a publish grant's group": (Grant(Role.PUBLISH, groups=frozenset({"g1"})), Target(group="g1"), False),
    "an admin, any group": (Grant(Role.ADMIN), Target(group="g9"), True),
}


@pytest.mark.parametrize(("grant", "target", "expected"), GROUP_TARGETS.values(), ids=GROUP_TARGETS.keys())
def test_player_config_of_a_group(grant: Grant, target: Target, expected: bool) -> None:
    assert allows(grant, Action.PLAYER_CONFIG, target, {"g1": frozenset({"s1"}), "g2": frozenset({"s1"})}) is expected


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
    assert words in refusal(grant, action, target)
