"""``player_config``, the pure builder of the H5Live configuration (its HTTP route is tested in
``web/test_player_config.py``)."""

from __future__ import annotations

from hls_server.core.player_config import player_config

from ..conftest import make_token


def test_player_config_builder_without_streams() -> None:
    token = make_token()
    config = player_config([], base_url="http://h", token=token, expires_at=10.7, group="g", stream=None, now=5.2,
                           renew_url=None, renew_before=60)
    assert config["source"] == {"group": {"id": "g", "security": {"jwtoken": token}}, "entries": [], "streams": [],
                                "startIndex": 0}
    assert config["security"] == {"expiresAt": 10, "serverTime": 5, "renewBefore": 60, "renewUrl": None}
