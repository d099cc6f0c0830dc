"""The transcoder's error tree.

Every failure a user can cause or meet is one of these, with a message that says what went wrong
and what to do. The CLI prints ``str(error)`` on one line; nothing here carries a traceback to the user.
"""

from __future__ import annotations


class TranscodeError(Exception):
    """Root of every error the transcoder raises on purpose."""


class FFmpegNotFound(TranscodeError):
    """No usable ffmpeg binary: not configured, not on PATH, not bundled."""


class InputError(TranscodeError):
    """The source cannot be used."""


class InputNotFound(InputError):
    pass


class NotMedia(InputError):
    """ffmpeg cannot read the file as media at all (wrong format, or corrupt headers)."""


class NoDecodableStream(InputError):
    """The file is media, but holds no audio or video stream ffmpeg can decode."""


class CorruptInput(InputError):
    """The source decoded only in part: truncated or damaged."""


class OutputError(TranscodeError):
    """The stream directory cannot be created, replaced or written."""


class OutputExists(OutputError):
    pass


class LadderError(TranscodeError):
    """A ladder specification (names or file) is invalid."""


class FFmpegFailed(TranscodeError):
    """ffmpeg ran and failed; the message carries the tail of its stderr."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class TranscodeTimeout(FFmpegFailed):
    pass


class PublishError(TranscodeError):
    """A live publish cannot go on: the origin refuses it, or cannot be reached for too long."""


class PublishRefused(PublishError):
    """The origin answered 401 or 403: the publish token is missing, invalid, expired or for another stream."""


class PublisherConflict(PublishError):
    """The origin answered 409: another publisher is live on this stream."""


class ServerUnreachable(PublishError):
    """The origin could not be reached (refused, timed out, or answered with a server error)."""
