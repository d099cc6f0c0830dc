"""The gate's play/publish split (``auth.play``, ``auth.publish``): each switch opens its own actions only."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from hls_server.core.auth.credentials import Credentials
from hls_server.core.auth.verifier import Verifier
from hls_server.core.errors import Forbidden, TokenMissing, Unavailable
from hls_server.core.gate import PUBLIC_PUBLISH, Gate
from hls_server.core.grants import PUBLIC, Action, Groups, Role, Target
from hls_server.core.settings import HmacSecret, KeySettings

from ..conftest import SECRET, make_token

NOBODY = Credentials((), (), ())


class NoGroups:
    snapshot: Groups = MappingProxyType({})


def viewer() -> Verifier:
    keys = KeySettings(secrets=(HmacSecret(None, SECRET.encode()),), algorithms=("HS256",))
    return Verifier(keys, max_token_bytes=4096, cache_size=10, admin=False)


def bearer(token: str) -> Credentials:
    return Credentials((), (f"Bearer {token}",), ())


async def test_open_playback_with_secured_publishing() -> None:
    gate = Gate(viewer=viewer(), admin=None, groups=NoGroups(), play_open=True, publish_open=False)
    assert await gate.authorize(NOBODY, Action.PLAY, Target("s1")) is PUBLIC
    assert await gate.authorize(NOBODY, Action.PLAYER_CONFIG, Target("s1")) is PUBLIC
    with pytest.raises(TokenMissing):
        await gate.authorize(NOBODY, Action.PUBLISH, Target("s1"))
    with pytest.raises(Forbidden):
        await gate.authorize(bearer(make_token()), Action.PUBLISH, Target("s1"))
    grant = await gate.authorize(bearer(make_token(type="publish", jti="j")), Action.PUBLISH, Target("s1"))
    assert (grant.role, grant.token_id, grant.public) == (Role.PUBLISH, "j", False)


async def test_open_publishing_with_secured_playback() -> None:
    gate = Gate(viewer=viewer(), admin=None, groups=NoGroups(), play_open=False, publish_open=True)
    assert await gate.authorize(NOBODY, Action.PUBLISH, Target("s1")) is PUBLIC_PUBLISH
    assert PUBLIC_PUBLISH.token_id is None and PUBLIC_PUBLISH.public
    with pytest.raises(TokenMissing):
        await gate.authorize(NOBODY, Action.PLAY, Target("s1"))


async def test_secured_publishing_without_keys_is_not_configured() -> None:
    gate = Gate(viewer=None, admin=None, groups=NoGroups(), play_open=True, publish_open=False)
    assert await gate.authorize(NOBODY, Action.PLAY, Target("s1")) is PUBLIC
    with pytest.raises(Unavailable, match="--no-publish-auth"):
        await gate.authorize(bearer(make_token(type="publish")), Action.PUBLISH, Target("s1"))


async def test_without_a_viewer_verifier_playback_is_open_by_default() -> None:
    gate = Gate(viewer=None, admin=None, groups=NoGroups())  # as before the split: --no-auth
    assert await gate.authorize(NOBODY, Action.PLAY, Target("s1")) is PUBLIC
    with pytest.raises(Unavailable):
        await gate.authorize(NOBODY, Action.PUBLISH, Target("s1"))


async def test_both_secured_is_the_default() -> None:
    gate = Gate(viewer=viewer(), admin=None, groups=NoGroups())
    for action in (Action.PLAY, Action.PUBLISH, Action.PLAYER_CONFIG):
        with pytest.raises(TokenMissing):
            await gate.authorize(NOBODY, action, Target("s1"))
