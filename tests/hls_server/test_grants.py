"""The permission function, table-tested: every role against every action against every shape of scope.

The rule (SECURITY.md): an admin grant administers and is not a viewer; a publish grant publishes and plays its
scope; a play grant plays only. Scope is the stream id itself or a group holding it, compared exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from hls_server.core.grants import Action, Grant, Role, allows, is_name

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
}


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
    expected = IN_SCOPE[role, action] if (scope.matches or action is Action.ADMIN) else False
    assert allows(grant, action, scope.stream, scope.store) is expected


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
    assert not allows(grant, Action.PLAY, "s1", store)
    assert not allows(grant, Action.PLAY, "s2", store)
    assert not allows(grant, Action.PUBLISH, "s1", store)


def test_the_store_decides_group_membership_at_call_time() -> None:
    grant = Grant(Role.PLAY, groups=frozenset({"g1"}))
    assert allows(grant, Action.PLAY, "s1", {"g1": frozenset({"s1"})})
    assert not allows(grant, Action.PLAY, "s1", {"g1": frozenset()})  # the stream left the group


@pytest.mark.parametrize(("value", "expected"), [
    ("s1", True), ("A-z_0-9", True), ("x" * 64, True),
    ("", False), ("x" * 65, False), ("s 1", False), ("s1\n", False), ("s1/..", False), ("s.1", False),
    ("s%31", False), ("é", False), ("s1\x00", False), (None, False), (1, False), (["s1"], False),
])
def test_is_name(value: object, expected: bool) -> None:
    assert is_name(value) is expected
