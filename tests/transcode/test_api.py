from __future__ import annotations

import asyncio

import pytest

from transcode.api import _uninterrupted


async def test_a_cancel_during_publication_waits_and_returns_the_result() -> None:
    published = asyncio.Event()

    async def publish() -> str:
        await asyncio.sleep(0.2)
        published.set()
        return "published"

    task = asyncio.create_task(_uninterrupted(publish()))
    await asyncio.sleep(0.05)
    task.cancel()
    assert await task == "published"
    assert published.is_set()


async def test_a_cancel_during_a_failed_publication_is_still_a_cancel() -> None:
    async def publish() -> str:
        await asyncio.sleep(0.2)
        raise OSError("disk full")

    task = asyncio.create_task(_uninterrupted(publish()))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
