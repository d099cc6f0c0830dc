"""Live ingest end to end, with the real tools: ffmpeg publishes an ABR ladder to the real ``hlsgate serve`` with
``-f hls -method PUT -headers "Authorization: Bearer T"`` (chunked bodies on persistent connections,
``delete_segments``), a play token reads the master and media playlists while it runs and after, the segments
decode with ffprobe, and the stream ends: by ffmpeg's own ``EXT-X-ENDLIST``, or by the reaper when the publisher
vanishes (``kill -9``).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import make_token
from .serving import Served, api, exchange, serve_env, serving

LIVE = "live-e2e"
RENDITIONS = ("r0", "r1")
END_AFTER = 2  # target durations (1 s segments): a short live.end_after, for the reaper to act within the test
FFMPEG_SECONDS = 60
POLL_SECONDS = 0.1
ENDED_WITHIN = 15.0


def ffmpeg_publish(url: str, token: str, seconds: float) -> list[str]:
    """Two small renditions of a lavfi test source, 1 s segments, pushed with PUT as the issue's command line."""
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", str(seconds),
            "-filter_complex", "[0:v]split=2[a][b];[b]scale=160:90[bs]",
            "-map", "[a]", "-map", "[bs]", "-map", "1:a", "-map", "1:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", "48k",
            "-f", "hls", "-hls_time", "1", "-hls_list_size", "4",
            "-hls_flags", "delete_segments+independent_segments+program_date_time",
            "-master_pl_name", "master.m3u8", "-var_stream_map", "v:0,a:0,name:r0 v:1,a:1,name:r1",
            "-hls_segment_filename", f"{url}/ingest/{LIVE}/%v/seg_%05d.ts",
            "-method", "PUT", "-http_persistent", "1", "-headers", f"Authorization: Bearer {token}",
            f"{url}/ingest/{LIVE}/%v/index.m3u8"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    media = tmp_path / "media"
    media.mkdir()
    env = serve_env(HLSGATE_LIVE_END_AFTER=str(END_AFTER))
    with serving(tmp_path / "serve", "--media-root", str(media), env=env) as served:
        yield served


def get(served: Served, path: str, token: str) -> tuple[int, str, str]:
    status, headers, body = exchange(f"{served.url}{path}?token={token}")
    return status, headers.get("Cache-Control", ""), body.decode("utf-8", "replace")


def stream_state(served: Served) -> dict[str, Any]:
    status, body = api(served, "GET", "/api/v1/streams")
    assert status == 200, body
    listed: dict[str, dict[str, Any]] = {s["id"]: s for s in body["streams"]}
    return listed.get(LIVE, {})


def wait_until_ended(served: Served, viewer: str) -> dict[str, str]:
    """Every media playlist, once each ends with EXT-X-ENDLIST (ffmpeg's or the reaper's)."""
    deadline = time.monotonic() + ENDED_WITHIN
    while True:
        texts = {r: get(served, f"/hls/{LIVE}/{r}/index.m3u8", viewer)[2] for r in RENDITIONS}
        if all(text.rstrip().endswith("#EXT-X-ENDLIST") for text in texts.values()):
            return texts
        assert time.monotonic() < deadline, texts
        time.sleep(POLL_SECONDS)


def ffprobe_streams(url: str) -> set[str]:
    """The kinds of stream ffprobe finds at ``url``, once ffmpeg has decoded all of it without an error."""
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-xerror", "-i", url, "-f", "null", "-"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert decoded.returncode == 0 and not decoded.stderr.strip(), decoded.stderr
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", url],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_ffmpeg_publishes_a_ladder_that_a_viewer_plays_and_that_ends(server: Served) -> None:
    publisher = make_token(type="publish", streamId=LIVE, jti="ffmpeg-1")
    viewer = make_token(streamId=LIVE)
    ffmpeg = subprocess.Popen(ffmpeg_publish(server.url, publisher, 6), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sequences: dict[str, set[int]] = {r: set() for r in RENDITIONS}
    states: set[object] = set()
    live_cache: set[str] = set()
    while ffmpeg.poll() is None:
        for rendition in RENDITIONS:
            status, cache, text = get(server, f"/hls/{LIVE}/{rendition}/index.m3u8", viewer)
            if status == 200 and "#EXT-X-ENDLIST" not in text:
                sequences[rendition].add(int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)[1]))  # type: ignore[index]
                live_cache.add(cache)
        states.add(stream_state(server).get("state"))
        time.sleep(POLL_SECONDS)
    _, stderr = ffmpeg.communicate(timeout=FFMPEG_SECONDS)
    assert ffmpeg.returncode == 0, stderr.decode(errors="replace")
    assert all(len(seen) >= 2 for seen in sequences.values()), sequences  # the window moved while it was live
    assert "live" in states
    assert live_cache == {"private, max-age=1"}

    status, _, master = get(server, f"/hls/{LIVE}/master.m3u8", viewer)
    assert status == 200 and f"r0/index.m3u8?token={viewer}" in master and f"r1/index.m3u8?token={viewer}" in master
    texts = wait_until_ended(server, viewer)
    for rendition, text in texts.items():
        segments = re.findall(r"^(seg_\d{5}\.ts)\?token=", text, re.MULTILINE)
        assert 2 <= len(segments) <= 5, text  # the sliding window; deleted ones are gone
        assert "#EXT-X-PROGRAM-DATE-TIME:" in text
        kept = sorted(p.name for p in (Path(server_media(server)) / LIVE / rendition).glob("seg_*.ts"))
        assert set(segments) <= set(kept) and len(kept) <= len(segments) + 1  # delete_segments reached the disk
        assert ffprobe_streams(f"{server.url}/hls/{LIVE}/{rendition}/{segments[-1]}?token={viewer}") == \
            {"video", "audio"}
    assert ffprobe_streams(f"{server.url}/hls/{LIVE}/master.m3u8?token={viewer}") == {"video", "audio"}
    ended = stream_state(server)
    assert ended["state"] == "ended" and ended["bitrate"] is None
    assert [r["name"] for r in ended["renditions"]] == list(RENDITIONS)
    log = "\n".join(server.access_log())
    assert publisher not in log and viewer not in log
    assert re.search(rf'"PUT /ingest/{LIVE}/r0/seg_\d{{5}}\.ts" 201 ', log)
    assert re.search(rf'"DELETE /ingest/{LIVE}/r[01]/seg_\d{{5}}\.ts" 204 ', log)


def test_the_reaper_ends_a_stream_whose_publisher_vanished(server: Served) -> None:
    publisher = make_token(type="publish", streamId=LIVE, jti="ffmpeg-2")
    viewer = make_token(streamId=LIVE)
    ffmpeg = subprocess.Popen(ffmpeg_publish(server.url, publisher, 60), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + FFMPEG_SECONDS
        while len(re.findall(r"^seg_", get(server, f"/hls/{LIVE}/r1/index.m3u8", viewer)[2], re.MULTILINE)) < 2:
            assert time.monotonic() < deadline and ffmpeg.poll() is None
            time.sleep(POLL_SECONDS)
        assert stream_state(server)["state"] == "live"
        other = make_token(type="publish", streamId=LIVE, jti="someone-else")
        status, _, _ = exchange(f"{server.url}/ingest/{LIVE}/r0/index.m3u8", method="PUT",
                                headers={"Authorization": f"Bearer {other}"}, body="x")
        assert status == 409
    finally:
        ffmpeg.send_signal(signal.SIGKILL)  # no trailer: nobody writes EXT-X-ENDLIST but the reaper
        ffmpeg.wait(timeout=FFMPEG_SECONDS)
    killed = time.monotonic()
    texts = wait_until_ended(server, viewer)
    assert time.monotonic() - killed < END_AFTER * 1.0 + 5  # END_AFTER target durations of 1 s, and a margin
    assert all(text.count("#EXT-X-ENDLIST") == 1 for text in texts.values())
    assert stream_state(server)["state"] == "ended"


def server_media(served: Served) -> str:
    found = re.search(r"^hlsgate: serving (.+) on ", served.messages(), re.MULTILINE)
    assert found is not None
    return found[1]
