from __future__ import annotations

from .conftest import STREAM, Origin, make_token


async def test_fixture_origin_serves_a_tokenised_master(origin: Origin) -> None:
    token = make_token()
    async with await origin.get(f"/hls/{STREAM}/master.m3u8", params={"token": token}) as response:
        assert response.status == 200
        assert f"index.m3u8?token={token}" in await response.text()
