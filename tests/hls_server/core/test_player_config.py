"""``player_config``, the pure builder of the H5Live configuration (its HTTP route is tested in
``web/test_player_config.py``)."""

from __future__ import annotations

from hls_server.core.catalog import Rendition, StreamInfo
from hls_server.core.player_config import player_config

from ..conftest import make_token


def test_player_config_builder_without_streams() -> None:
    token = make_token()
    config = player_config([], base_url="http://h", token=token, expires_at=10.7, group="g", stream=None, now=5.2,
                           renew_url=None, renew_before=60)
    assert config["source"] == {"group": {"id": "g", "security": {"jwtoken": token}}, "entries": [], "streams": [],
                                "startIndex": 0}
    assert config["security"] == {"expiresAt": 10, "serverTime": 5, "renewBefore": 60, "renewUrl": None}


def _info(stream: str, playlist: str = "master.m3u8") -> StreamInfo:
    rendition = Rendition(name="360p", uri="360p/index.m3u8", bandwidth=800_000, average_bandwidth=None, width=640,
                          height=360, frame_rate=25.0, codecs="avc1.64001e")
    return StreamInfo(stream, (rendition,), 0, playlist)


def test_a_rooms_config_says_room_and_marks_live_streams_when_known() -> None:
    live = {"room1-alice"}
    token = make_token()
    config = player_config([_info("room1-alice"), _info("room1-bob", "index.m3u8")], base_url="http://h",
                           token=token, expires_at=None, group="room1", stream=None, now=0, renew_url=None,
                           renew_before=60, room=True, live=live.__contains__)
    source = config["source"]
    assert source["group"] == {"id": "room1", "security": {"jwtoken": token}, "room": True}
    assert source["streams"] == [
        {"id": "room1-alice", "master": "http://h/hls/room1-alice/master.m3u8", "entries": [0], "live": True},
        {"id": "room1-bob", "master": "http://h/hls/room1-bob/index.m3u8", "entries": [1], "live": False},
    ]


def test_without_a_live_predicate_no_stream_says_live() -> None:
    config = player_config([_info("s1")], base_url="http://h", token=None, expires_at=None, group="g", stream=None,
                           now=0, renew_url=None, renew_before=60)
    assert "live" not in config["source"]["streams"][0]
    assert "room" not in config["source"]["group"]
