"""The one id rule, shared by the transcoder and the origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from hls_server.core.names import ID_PATTERN, is_id
from transcode.errors import OutputError
from transcode.publish import validate_stream_dir


@pytest.mark.parametrize(("value", "expected"), [
    ("s1", True), ("A-z_0-9", True), ("x" * 64, True),
    ("", False), ("x" * 65, False), ("s 1", False), ("s1\n", False), ("s1/..", False), ("s.1", False),
    ("s%31", False), ("\u00e9", False), ("s1\x00", False), (None, False), (1, False), (["s1"], False),
])
def test_is_id(value: object, expected: bool) -> None:
    assert is_id(value) is expected


def test_the_transcoder_refuses_what_the_origin_would_never_route(tmp_path: Path) -> None:
    """One rule: a stream id with a trailing newline once passed the transcoder's ``re.match(...$)``."""
    with pytest.raises(OutputError, match="stream id"):
        validate_stream_dir(tmp_path / "s1\n", force=False)
    assert ID_PATTERN == "[A-Za-z0-9_-]{1,64}"
