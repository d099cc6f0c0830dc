"""The live registry: one publisher per stream by jti, the reaper, the state kept across restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hls_server.core.errors import ConfigError, Conflict, InsufficientStorage
from hls_server.core.grants import Grant, Role
from hls_server.core.ingest.live import DEFAULT_TARGET_SECONDS, LIVE_FILE, LiveRegistry, State
from hls_server.core.ingest.paths import IngestPath
from hls_server.core.ingest.playlist import validate_playlist
from hls_server.core.ingest.store import ENDLIST, IngestStore

from ..auth.conftest import FakeClock

MEDIA = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg_00000.ts\n"
INDEX = IngestPath("s", "r0", "index.m3u8")
SEGMENT = IngestPath("s", "r0", "seg_00000.ts")


def grant(jti: str | None) -> Grant:
    return Grant(Role.PUBLISH, frozenset({"s"}), token_id=jti)


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        (tmp_path / "media").mkdir(exist_ok=True)
        self.store = IngestStore(tmp_path / "media")
        self.wall = FakeClock(1_800_000_000.0)
        self.mono = FakeClock(100.0)
        self.changed: list[IngestPath] = []
        self.state_dir = tmp_path / "state"
        self.registry = self.make()

    def make(self) -> LiveRegistry:
        registry = LiveRegistry(self.state_dir, self.store, end_after=3, on_playlist_changed=self.changed.append,
                                clock=self.wall, monotonic=self.mono)
        registry.load()
        return registry

    async def write_playlist(self, body: bytes = MEDIA, path: IngestPath = INDEX) -> None:
        self.store.write_file(path, body)
        self.registry.wrote(path, len(body), validate_playlist(body, at_stream_root=False))


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


async def test_one_publisher_per_stream(setup: Setup) -> None:
    registry = setup.registry
    assert registry.state("s").state is State.VOD
    await registry.begin("s", grant("a"))
    assert registry.state("s").state is State.LIVE and registry.live_streams() == ("s",)
    for other in ("b", None):
        with pytest.raises(Conflict):
            registry.check("s", grant(other))
        with pytest.raises(Conflict):
            await registry.begin("s", grant(other))
    await registry.begin("s", grant("a"))  # the same jti continues
    registry.check("t", grant("b"))  # another stream is free


async def test_grants_without_a_jti_cannot_be_told_apart(setup: Setup) -> None:
    await setup.registry.begin("s", grant(None))
    await setup.registry.begin("s", grant(None))
    with pytest.raises(Conflict):
        setup.registry.check("s", grant("a"))


async def test_the_reaper_ends_a_silent_stream_after_end_after_target_durations(setup: Setup) -> None:
    registry = setup.registry
    await registry.begin("s", grant("a"))
    await setup.write_playlist()  # target duration 2 s: ended after 6 s without a write
    setup.mono.advance(5.9)
    assert await registry.reap() == []
    registry.wrote(SEGMENT, 1000)
    setup.mono.advance(5.9)
    assert await registry.reap() == []
    setup.mono.advance(0.2)
    assert await registry.reap() == ["s"]
    assert setup.store.root.joinpath("s/r0/index.m3u8").read_bytes() == MEDIA + ENDLIST
    assert setup.changed == [INDEX]
    state = registry.state("s")
    assert (state.state, state.since, state.bitrate) == (State.ENDED, setup.wall.now, None)
    assert await registry.reap() == []
    await registry.begin("s", grant("b"))  # ended: anyone with a publish token may start again
    assert registry.state("s").state is State.LIVE


async def test_a_stream_without_a_playlist_waits_the_default_target(setup: Setup) -> None:
    await setup.registry.begin("s", grant("a"))
    setup.mono.advance(3 * DEFAULT_TARGET_SECONDS - 0.1)
    assert setup.registry.silent() == []
    setup.mono.advance(0.2)
    assert setup.registry.silent() == ["s"]


async def test_the_publisher_ending_every_media_playlist_ends_the_stream(setup: Setup) -> None:
    await setup.registry.begin("s", grant("a"))
    other = IngestPath("s", "r1", "index.m3u8")
    await setup.write_playlist()
    await setup.write_playlist(path=other)
    await setup.write_playlist(MEDIA + ENDLIST)
    assert setup.registry.state("s").state is State.LIVE
    await setup.write_playlist(MEDIA + ENDLIST, other)
    assert setup.registry.state("s").state is State.ENDED


async def test_bitrate_over_the_last_segments(setup: Setup) -> None:
    registry = setup.registry
    await registry.begin("s", grant("a"))
    await setup.write_playlist()
    assert registry.state("s").bitrate is None
    for _ in range(3):
        registry.wrote(SEGMENT, 250_000)  # 2 s segments of 1 Mbit/s
        setup.mono.advance(2)
    assert registry.state("s").bitrate == pytest.approx(1_000_000 * 3 / 3.5, rel=0.2)


async def test_the_state_survives_a_restart(setup: Setup) -> None:
    await setup.registry.begin("s", grant("a"))
    await setup.registry.begin("t", grant("b"))
    await setup.registry.end("t")
    since = setup.registry.state("s").since
    ended = setup.registry.state("t").since
    again = setup.make()
    assert (again.state("s").state, again.state("s").since) == (State.LIVE, since)
    assert (again.state("t").state, again.state("t").since) == (State.ENDED, ended)
    with pytest.raises(Conflict):
        again.check("s", grant("z"))
    again.check("s", grant("a"))
    kept = json.loads((setup.state_dir / LIVE_FILE).read_text())
    assert set(kept["streams"]) == {"s", "t"}
    assert [p.name for p in setup.state_dir.iterdir()] == [LIVE_FILE]  # no temporary file left


@pytest.mark.parametrize("text", ["not json", '{"version": 2, "streams": {}}', '{"version": 1, "streams": []}',
                                  '{"version": 1, "streams": {"../x": {"since": 1}}}',
                                  '{"version": 1, "streams": {"s": {"since": "yesterday"}}}',
                                  '{"version": 1, "streams": {"s": {}}}'])
def test_a_damaged_state_file_stops_the_start(setup: Setup, text: str) -> None:
    setup.state_dir.mkdir()
    (setup.state_dir / LIVE_FILE).write_text(text)
    with pytest.raises(ConfigError, match="damaged"):
        setup.make()


async def test_a_stream_is_ended_even_when_its_endlist_cannot_be_written(setup: Setup, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for stream in ("s", "t"):
        await setup.registry.begin(stream, grant("a"))
    await setup.write_playlist()
    (setup.store.root / "s" / "r0").rename(tmp_path / "away")
    (setup.store.root / "s" / "r0").symlink_to(tmp_path / "away", target_is_directory=True)  # planted since
    await setup.registry.end("s")
    assert setup.registry.state("s").state is State.ENDED
    assert (tmp_path / "away" / "index.m3u8").read_bytes() == MEDIA  # not followed

    def full(stream: str) -> list[IngestPath]:
        raise InsufficientStorage("full")

    monkeypatch.setattr(setup.store, "end_playlists", full)
    await setup.registry.end("t")  # never raises: RTMP's on_publish_done and the reaper rely on it
    assert setup.registry.state("t").state is State.ENDED
