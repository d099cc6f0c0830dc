"""The origin's error tree. Each error knows the HTTP answer it maps to, so the handlers never decide one.

Messages are written for the person on the other end; none of them ever contains a token or a secret.
"""

from __future__ import annotations


class HLSGateError(Exception):
    """Base of every error the origin raises on purpose."""


class ConfigError(HLSGateError):
    """The settings cannot start a safe server: says which setting and what to do."""


class RequestError(HLSGateError):
    """A request that cannot be served. ``status`` and ``code`` become the response, ``str(self)`` its description."""

    status = 400
    code = "bad_request"


class AuthError(RequestError):
    """Authentication failed: 401 with ``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750 §3)."""

    status = 401
    code = "token_invalid"


class TokenMissing(AuthError):
    code = "token_missing"


class TokenInvalid(AuthError):
    """Malformed, forged, wrong algorithm, unknown key, wrong audience or issuer."""

    code = "token_invalid"


class TokenExpired(AuthError):
    code = "token_expired"


class TokenNotYetValid(AuthError):
    code = "token_not_yet_valid"


class TokenConflict(AuthError):
    """Two different tokens in one request (query and header disagree)."""

    code = "token_conflict"


class TokenTooLarge(AuthError):
    code = "token_too_large"


class Forbidden(RequestError):
    """A valid token that does not grant this stream, group or action."""

    status = 403
    code = "forbidden"


class NotFound(RequestError):
    status = 404
    code = "not_found"


class BadRequest(RequestError):
    status = 400
    code = "bad_request"


class PayloadTooLarge(RequestError):
    status = 413
    code = "payload_too_large"


class RequestTimeout(RequestError):
    """A request body that stalled longer than allowed (an ingest upload: ``ingest.body_timeout``)."""

    status = 408
    code = "request_timeout"


class Conflict(RequestError):
    """Another publisher is live on this stream (one publisher per stream, keyed by the token's ``jti``)."""

    status = 409
    code = "publisher_conflict"


class UnsupportedMedia(RequestError):
    """An uploaded segment that is neither MPEG-TS nor ISO-BMFF."""

    status = 415
    code = "unsupported_media"


class InvalidPlaylist(RequestError):
    """An uploaded playlist that is not an HLS playlist, or names a URI outside its stream."""

    status = 422
    code = "invalid_playlist"


class InsufficientStorage(RequestError):
    """The disk is full (ENOSPC, EDQUOT): nothing of the upload is kept, the stored file is untouched."""

    status = 507
    code = "insufficient_storage"


class KeySourceError(HLSGateError):
    """A key source (JWKS URL, PEM file) could not give keys. Internal: callers keep the last good keys."""


class Unavailable(RequestError):
    """The server is not set up for this request (no admin key, no signing secret)."""

    status = 503
    code = "not_configured"
