"""One frozen settings object, built once from a TOML file, the environment and flags (flags win), then validated.

Every setting is one row of :data:`SETTINGS`: its dotted name (which is also its TOML key, ``[auth] secrets``),
its type, its environment variable, its ``hlsgate serve`` flag (if any), its default and its rule. The loader,
the flags of ``hlsgate serve`` and the table in docs/origin.md (``python -m hls_server.core.settings``) all read
those rows, so the three ways of giving a setting cannot drift apart.

Nothing else in the origin reads the environment: ``hlsgate serve``, ``hlsgate token`` and the tests all go
through :func:`load_settings`. Every problem is a :class:`ConfigError` that names the setting and where its
value came from, and says what to do; a secret's value never appears in one.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_LEEWAY_SECONDS = 30.0
MAX_LEEWAY_SECONDS = 300.0
DEFAULT_MAX_TOKEN_BYTES = 4096
DEFAULT_ADMIN_MAX_LIFETIME = 300.0  # OpenTok's rule for REST tokens
DEFAULT_TOKEN_TTL = 3600
DEFAULT_MAX_TOKEN_TTL = 7 * 24 * 3600
DEFAULT_JWKS_TTL = 300.0
DEFAULT_JWKS_MIN_REFETCH = 30.0
DEFAULT_JWKS_TIMEOUT = 5.0
DEFAULT_TOKEN_CACHE_SIZE = 50_000
DEFAULT_PLAYLIST_REVALIDATE = 1.0  # seconds a playlist's file version is trusted before a new stat
MIN_HMAC_SECRET_BYTES = 32  # RFC 7518 §3.2: a key at least as long as the hash output
STATE_DIR_NAME = ".hlsgate"  # inside the media root by default; dotted names are never served
# The built web player: packaged inside the wheel, or the checkout's player/dist (npm run build there).
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # hls_server/
PACKAGED_PLAYER_DIR = PACKAGE_DIR / "player_dist"
CHECKOUT_PLAYER_DIR = PACKAGE_DIR.parent / "player" / "dist"
DEFAULT_PLAYER_DIR = PACKAGED_PLAYER_DIR if (PACKAGED_PLAYER_DIR / "index.html").is_file() else CHECKOUT_PLAYER_DIR
DEFAULT_RENEW_BEFORE = 60  # seconds before expiry a player starts renewing its token
DEFAULT_MAX_SEGMENT_BYTES = 64 << 20  # a 2 s segment of a 4K ladder's top rung is ~10 MiB: room for long segments
DEFAULT_MAX_PLAYLIST_BYTES = 1 << 20  # ~90 bytes a segment with PROGRAM-DATE-TIME: a 6 h DVR window of 2 s ones
DEFAULT_BODY_TIMEOUT = 10.0  # seconds an ingest body may stall; ffmpeg sends a segment as soon as it is cut
DEFAULT_END_AFTER = 3.0  # target durations without a write before a live stream is ended
DEFAULT_RTMP_CALLERS = ("127.0.0.0/8", "::1")  # nginx-rtmp beside the origin

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = frozenset({"ES256", "ES384", "ES512"})
KNOWN_ALGORITHMS = HMAC_ALGORITHMS | RSA_ALGORITHMS | EC_ALGORITHMS
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True, slots=True)
class HmacSecret:
    kid: str | None
    secret: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class KeySettings:
    """Where one kind of token (viewer or admin) gets its verification keys, and the claim rules."""

    secrets: tuple[HmacSecret, ...] = ()
    signing_kid: str | None = None  # which secret signs minted tokens (the first one when unset)
    public_key_files: tuple[Path, ...] = ()
    jwks_url: str | None = None
    algorithms: tuple[str, ...] = ()
    audience: str | None = None
    issuer: str | None = None
    leeway: float = DEFAULT_LEEWAY_SECONDS
    require_exp: bool = True
    require_iat: bool = False
    max_lifetime: float | None = None  # exp - iat must not exceed it (needs iat)
    scope: str | None = None  # a value the token's scope (space-separated) or scp (string or list) must hold

    @property
    def configured(self) -> bool:
        return bool(self.secrets or self.public_key_files or self.jwks_url)

    @property
    def signing_secret(self) -> HmacSecret | None:
        for secret in self.secrets:
            if secret.kid == self.signing_kid or self.signing_kid is None:
                return secret
        return None


@dataclass(frozen=True, slots=True)
class PlayerSettings:
    """The web player at /player/ and what player configs tell it."""

    dir: Path | None = DEFAULT_PLAYER_DIR  # None: no web player is served
    renew_url: str | None = None  # where a player fetches a fresh token (the operator's backend), if anywhere
    renew_before: int = DEFAULT_RENEW_BEFORE


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Live ingest (HTTP PUT from ffmpeg) and when a live stream is over."""

    max_segment_bytes: int = DEFAULT_MAX_SEGMENT_BYTES
    max_playlist_bytes: int = DEFAULT_MAX_PLAYLIST_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    end_after: float = DEFAULT_END_AFTER  # in target durations
    fsync: bool = False  # each write durable before its rename (the rename alone makes it atomic for readers)


@dataclass(frozen=True, slots=True)
class Settings:
    media_root: Path
    state_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_format: str = "text"
    access_log: bool = True
    cors_origins: tuple[str, ...] = ("*",)
    auth_play: bool = True  # playback needs a token (false: --no-auth, public playback)
    auth_publish: bool = True  # ingest needs a publish token (false: --no-publish-auth)
    viewer: KeySettings = KeySettings()
    admin: KeySettings = KeySettings()
    max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES
    token_cache_size: int = DEFAULT_TOKEN_CACHE_SIZE
    default_token_ttl: int = DEFAULT_TOKEN_TTL
    max_token_ttl: int = DEFAULT_MAX_TOKEN_TTL
    jwks_ttl: float = DEFAULT_JWKS_TTL
    jwks_min_refetch: float = DEFAULT_JWKS_MIN_REFETCH
    jwks_timeout: float = DEFAULT_JWKS_TIMEOUT
    playlist_revalidate: float = DEFAULT_PLAYLIST_REVALIDATE
    public_url: str | None = None  # scheme://host[:port][/prefix] for absolute URLs; None: from each request
    player: PlayerSettings = PlayerSettings()
    ingest: IngestSettings = IngestSettings()
    rtmp_callers: tuple[str, ...] = DEFAULT_RTMP_CALLERS  # who may call the nginx-rtmp callbacks (/rtmp/...)


# -- the table -----------------------------------------------------------------------------------------------


class Kind(enum.Enum):
    """The type of a setting: how a TOML value, an environment string or a flag value becomes a Python value."""

    STR = "string"
    INT = "integer"
    FLOAT = "number"
    BOOL = "boolean"
    CHOICE = "choice"
    PATH = "path"
    STRINGS = "list of strings"
    PATHS = "list of paths"
    SECRETS = 'table of kid = "secret"'

    @property
    def env_form(self) -> str:
        """How a value of this kind is written in an environment variable, where that is not plain."""
        return _ENV_FORMS.get(self, "")


_ENV_FORMS = {Kind.BOOL: "true/false, yes/no, on/off, 1/0", Kind.STRINGS: "comma-separated",
              Kind.PATHS: "comma-separated", Kind.SECRETS: "kid1=secret1,kid2=secret2"}


class _Invalid(Exception):
    """A value refused by its row's type or check; :func:`_read` adds where the value came from."""


# A row's rule beyond its type and bounds: raises _Invalid, or returns the value to keep. Its docstring's
# first line is the rule as docs/origin.md shows it.
Check = Callable[["Setting", Any], Any]


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting, described once. ``name`` is dotted (``auth.secrets``): the TOML key (``[auth] secrets = ...``)
    and the key of the ``flags`` mapping of :func:`load_settings`."""

    name: str
    kind: Kind
    help: str
    default: Any = None  # None: unset
    env: str = ""  # "": HLSGATE_ and the name in upper case, "." -> "_"
    flag: str | None = None  # the `hlsgate serve` flag; a "--no-..." flag sets a boolean to false
    flag_help: str | None = None  # for a flag that does not simply give the value ("--no-auth")
    metavar: str | None = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    check: Check | None = None
    secret: bool = False  # never echoed in a message, never a flag: argv is visible in `ps`
    example: Any = None  # a valid value unlike the default (the tests give every row its example each way)
    default_doc: str | None = None  # a default that is derived from other settings, in words

    def __post_init__(self) -> None:
        if not self.env:
            object.__setattr__(self, "env", "HLSGATE_" + self.name.upper().replace(".", "_"))
        if self.kind is Kind.SECRETS and not self.secret:
            raise ValueError(f"{self.name}: a table of secrets is secret")
        if self.secret and self.flag:
            raise ValueError(f"{self.name} is a secret: it gets no flag, since argv is visible in ps")
        if self.flag and self.kind is Kind.BOOL and self.flag_value == self.default:
            raise ValueError(f"{self.name}: the flag {self.flag} must change the default")

    @property
    def flag_value(self) -> bool:
        """What a boolean row's flag sets."""
        return not (self.flag or "").startswith("--no-")

    @property
    def default_text(self) -> str:
        """The default as a TOML value, or in words when it is derived or unset."""
        if self.default_doc is not None:
            return self.default_doc
        if self.default is None or self.default == ():
            return "unset"
        return _toml_text(self.default)

    @property
    def bounds(self) -> str:
        """``within 0..65535``, ``at least 1``, ``at most 60``, or nothing."""
        if self.low is not None and self.high is not None:
            return f"within {_number_text(self.low)}..{_number_text(self.high)}"
        if self.low is not None:
            return f"at least {_number_text(self.low)}"
        return f"at most {_number_text(self.high)}" if self.high is not None else ""

    @property
    def rule(self) -> str:
        """The row's choices, bounds and check, in words (empty when the type says it all)."""
        parts = [f"one of {', '.join(self.choices)}" if self.choices else "", self.bounds,
                 self.check.__doc__.strip().splitlines()[0].rstrip(".") if self.check and self.check.__doc__ else ""]
        return "; ".join(part for part in parts if part)


def _toml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_text(v) for v in value) + "]"
    if isinstance(value, str | Path):
        return f'"{value}"'
    return str(value)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# -- per-row checks: the docstring's first line is the rule docs/origin.md shows --------------------------------


def _strong_secret(row: Setting, value: str) -> str:
    """32 bytes or more (RFC 7518 §3.2)."""
    _check_length(row, None, value)
    return value


def _strong_secrets(row: Setting, value: dict[str, str]) -> dict[str, str]:
    """each secret 32 bytes or more (RFC 7518 §3.2)."""
    for kid, secret in value.items():
        _check_length(row, kid, secret)
    return value


def _check_length(row: Setting, kid: str | None, secret: str) -> None:
    size = len(secret.encode())
    if size < MIN_HMAC_SECRET_BYTES:
        table = row.name.partition(".")[0]
        which = f"the secret with kid {kid!r}" if kid else "the secret"
        hint = f"export {row.env}=$(openssl rand -base64 48)" if kid is None else "openssl rand -base64 48"
        raise _Invalid(f"{table}: {which} is {size} bytes; {row.name} needs at least {MIN_HMAC_SECRET_BYTES} bytes "
                       f"for HS256 (RFC 7518 §3.2). Generate one with: {hint}")


def _known_algorithms(row: Setting, value: tuple[str, ...]) -> tuple[str, ...]:
    """HS*, RS*, PS*, ES* (never none); each needs a key of its type."""
    for alg in value:
        if alg not in KNOWN_ALGORITHMS:
            raise _Invalid(f"{row.name}: {alg!r} is not allowed (choose from {', '.join(sorted(KNOWN_ALGORITHMS))}; "
                           "'none' never is)")
    return value


def _readable_files(row: Setting, value: tuple[Path, ...]) -> tuple[Path, ...]:
    """readable PEM files."""
    for path in value:
        if not path.is_file() or not os.access(path, os.R_OK):
            raise _Invalid(f"{row.name}: cannot read the PEM file {path}")
    return value


def _key_url(row: Setting, url: str) -> str:
    """https:// (plain http only on loopback)."""
    parts = urlsplit(url)
    if parts.hostname and (parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))):
        return url  # plain http: a key service beside the origin; nothing crosses a network
    raise _Invalid(f"{row.name} must be an https:// URL (plain http only on loopback): got {url!r}")


def _origins(row: Setting, origins: tuple[str, ...]) -> tuple[str, ...]:
    """each `*` or an exact origin like https://player.example.com."""
    for origin in origins:
        if origin == "*":
            continue
        parts = urlsplit(origin)
        if (parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query
                or "*" in parts.netloc or "@" in parts.netloc):  # matched exactly: a pattern would never match
            raise _Invalid(f"{row.name}: {origin!r} is not an origin like https://player.example.com")
    return origins


def _public_url(row: Setting, url: str) -> str:
    """http(s)://host[:port][/prefix], no query; a trailing / is dropped."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or "@" in parts.netloc:
        raise _Invalid(f"{row.name} must look like https://video.example.com (optionally with a path): got {url!r}")
    return url.rstrip("/")


def _renew_url(row: Setting, url: str) -> str:
    """a path on this origin like /my/token, or https:// (plain http only on loopback)."""
    if url.startswith("/"):
        return url
    parts = urlsplit(url)
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))):
        raise _Invalid(f"{row.name} must be an https:// URL (plain http only on loopback) or a path on this "
                       f"origin like /my/token: got {url!r}")
    return url


def _player_dir(row: Setting, folder: Path) -> Path:
    """a built player: a folder holding index.html."""
    if not (folder / "index.html").is_file():
        raise _Invalid(f"{row.name} {folder} holds no index.html (point it at a built player: player/dist "
                       "after `npm run build --prefix player`)")
    return folder


def _networks(row: Setting, value: tuple[str, ...]) -> tuple[str, ...]:
    """each an IP address or network like 10.0.0.0/24."""
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise _Invalid(f"{row.name}: {item!r} is not an IP address or network like 10.0.0.0/24") from None
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _key_rows(table: str, who: str, *, env: Mapping[str, str]) -> tuple[Setting, ...]:
    """The rows every kind of token has (viewer: ``auth``, admin: ``admin``); ``env`` keeps existing names."""

    def row(key: str, kind: Kind, help_text: str, **more: Any) -> Setting:
        return Setting(f"{table}.{key}", kind, help_text, env=env.get(key, ""), **more)

    example_kid = "k2" if table == "auth" else "a2"
    return (
        row("secret", Kind.STR, f"HMAC secret of {who} tokens", secret=True, check=_strong_secret),
        row("secrets", Kind.SECRETS, f"HMAC secrets of {who} tokens by kid, for rotation", secret=True,
            check=_strong_secrets),
        row("signing_kid", Kind.STR, "the kid of the secret that signs minted tokens (unset: the first secret)",
            example=example_kid),
        row("public_keys", Kind.PATHS, f"PEM public keys of {who} tokens (the file stem is the kid)", default=(),
            check=_readable_files, example=(f"/etc/hlsgate/{table}.pem",)),
        row("jwks_url", Kind.STR, f"JWKS of {who} tokens, refreshed every auth.jwks_ttl", check=_key_url,
            example=f"https://keys.example.com/{table}/jwks.json"),
        row("algorithms", Kind.STRINGS, "the algorithms accepted, never the token header's choice", default=(),
            default_doc="HS256 with secrets; RS256, ES256 with public keys", check=_known_algorithms,
            example=("HS256", "ES256")),
        row("audience", Kind.STR, "the aud claim required (a token with an aud is refused while unset)",
            example=f"hlsgate-{table}"),
        row("issuer", Kind.STR, "the iss claim required", example="https://issuer.example.com"),
        row("leeway", Kind.FLOAT, "clock leeway in seconds for exp, nbf, iat", default=DEFAULT_LEEWAY_SECONDS,
            low=0, high=MAX_LEEWAY_SECONDS, example=5.0),
    )


SETTINGS: tuple[Setting, ...] = (
    Setting("media_root", Kind.PATH, "folder of stream directories (required to serve)", flag="--media-root",
            metavar="DIR", example="/srv/hls"),
    Setting("state_dir", Kind.PATH, "where groups are stored", default_doc="MEDIA_ROOT/.hlsgate", flag="--state-dir",
            metavar="DIR", example="/var/lib/hlsgate"),
    Setting("host", Kind.STR, "address to listen on", default=DEFAULT_HOST, flag="--host", example="0.0.0.0"),  # noqa: S104
    Setting("port", Kind.INT, "port to listen on, 0 picks a free one", default=DEFAULT_PORT, low=0, high=65535,
            flag="--port", example=8443),
    Setting("log_format", Kind.CHOICE, "access log format", default="text", choices=LOG_FORMATS,
            flag="--log-format", example="json"),
    Setting("access_log", Kind.BOOL, "write an access log to stdout", default=True, flag="--no-access-log",
            flag_help="write no access log", example=False),
    Setting("cors_origins", Kind.STRINGS, "web origins that may fetch media, the player and its config "
            "(never the admin API)", default=("*",), check=_origins,
            flag="--cors-origin", metavar="ORIGIN", flag_help="allow this web origin to fetch media; repeatable", example=("https://player.example.com",)),
    Setting("playlist_revalidate", Kind.FLOAT, "seconds a playlist's file version is trusted before a new stat",
            default=DEFAULT_PLAYLIST_REVALIDATE, low=0, high=60, example=0.25),
    Setting("public_url", Kind.STR, "origin of absolute URLs in player configs (unset: each request's own)",
            check=_public_url, example="https://video.example.com"),
    # Viewer tokens: the existing HLSGATE_JWT_* names stay.
    Setting("auth.play", Kind.BOOL, "check a play token on every playlist and segment", default=True,
            flag="--no-auth", flag_help="serve playback without any token check (public streams only!)",
            example=False),
    Setting("auth.publish", Kind.BOOL, "check a publish token on every ingest write", default=True,
            flag="--no-publish-auth", flag_help="let anyone publish over /ingest (a closed network only!)",
            example=False),
    *_key_rows("auth", "viewer", env={
        "secret": "HLSGATE_JWT_SECRET", "secrets": "HLSGATE_JWT_SECRETS", "signing_kid": "HLSGATE_JWT_SIGNING_KID",
        "public_keys": "HLSGATE_JWT_PUBLIC_KEYS", "jwks_url": "HLSGATE_JWKS_URL",
        "algorithms": "HLSGATE_JWT_ALGORITHMS", "audience": "HLSGATE_JWT_AUDIENCE", "issuer": "HLSGATE_JWT_ISSUER"}),
    Setting("auth.require_exp", Kind.BOOL, "refuse viewer tokens without exp", default=True, example=False),
    Setting("auth.max_lifetime", Kind.FLOAT, "longest exp - iat of a viewer token, in seconds (unset: no cap)",
            low=1, example=900.0),
    Setting("auth.max_token_bytes", Kind.INT, "longer tokens are refused before decoding",
            default=DEFAULT_MAX_TOKEN_BYTES, low=256, high=65536, example=2048),
    Setting("auth.cache_size", Kind.INT, "verified tokens remembered until their exp",
            default=DEFAULT_TOKEN_CACHE_SIZE, low=0, example=10),
    Setting("auth.jwks_ttl", Kind.FLOAT, "seconds before a JWKS is refreshed", default=DEFAULT_JWKS_TTL, low=1,
            example=60.0),
    Setting("auth.jwks_min_refetch", Kind.FLOAT, "fewest seconds between two fetches for an unknown kid",
            default=DEFAULT_JWKS_MIN_REFETCH, low=0, example=5.0),
    Setting("auth.jwks_timeout", Kind.FLOAT, "seconds a JWKS fetch may take", default=DEFAULT_JWKS_TIMEOUT,
            low=0.1, high=60, example=0.5),
    # Admin tokens (the REST API): always need exp and iat.
    *_key_rows("admin", "admin", env={}),
    Setting("admin.scope", Kind.STR, "a value the admin token's scope (space-separated) or scp claim must hold, "
            "when viewer and admin tokens come from one issuer", example="hlsgate:admin"),
    Setting("admin.max_lifetime", Kind.FLOAT, "longest exp - iat of an admin token, in seconds",
            default=DEFAULT_ADMIN_MAX_LIFETIME, low=1, example=120.0),
    # Tokens minted by the origin (hlsgate token, the REST API, player configs).
    Setting("tokens.default_ttl", Kind.INT, "lifetime of a minted token, in seconds", default=DEFAULT_TOKEN_TTL,
            low=1, example=600),
    Setting("tokens.max_ttl", Kind.INT, "longest lifetime a caller may ask for, in seconds",
            default=DEFAULT_MAX_TOKEN_TTL, low=1, example=86400),
    # Live ingest (PUT /ingest/...) and the end of a live stream.
    Setting("ingest.max_segment_bytes", Kind.INT, "largest segment an encoder may PUT (413 once passed)",
            default=DEFAULT_MAX_SEGMENT_BYTES, low=1024, example=16 << 20),
    Setting("ingest.max_playlist_bytes", Kind.INT, "largest playlist an encoder may PUT (413 once passed)",
            default=DEFAULT_MAX_PLAYLIST_BYTES, low=1024, high=16 << 20, example=256 << 10),
    Setting("ingest.body_timeout", Kind.FLOAT, "seconds an ingest body may stall before the connection is closed",
            default=DEFAULT_BODY_TIMEOUT, low=0.1, high=300, example=5.0),
    Setting("ingest.fsync", Kind.BOOL, "fsync each ingest write before it replaces the file (durable across a "
            "power cut; costs latency; the rename alone makes writes atomic)", default=False, example=True),
    Setting("live.end_after", Kind.FLOAT, "target durations without a write before a live stream is ended "
            "(EXT-X-ENDLIST)", default=DEFAULT_END_AFTER, low=1, high=100, example=2.0),
    # The web player.
    Setting("player.dir", Kind.PATH, "the built web player served at /player/",
            default_doc="the packaged player, else the checkout's player/dist, else none", check=_player_dir,
            example="/opt/hlsgate/player"),
    Setting("player.renew_url", Kind.STR, "where a player fetches a fresh token (the operator's backend)",
            check=_renew_url, example="https://www.example.com/hls-token"),
    Setting("player.renew_before", Kind.INT, "seconds before expiry a player starts renewing",
            default=DEFAULT_RENEW_BEFORE, low=1, high=3600, example=30),
    # RTMP (nginx-rtmp in front, docs/rtmp.md).
    Setting("rtmp.callers", Kind.STRINGS, "addresses nginx-rtmp calls on_publish and on_publish_done from "
            "(nobody else may)", default=DEFAULT_RTMP_CALLERS, check=_networks, example=("10.0.0.5", "10.1.0.0/16")),
)
BY_NAME: dict[str, Setting] = {row.name: row for row in SETTINGS}
# Environment variables and the setting each one fills.
ENV_SETTINGS: dict[str, str] = {row.env: row.name for row in SETTINGS}
CONFIG_ENV = "HLSGATE_CONFIG"
RENAMED_ENV: dict[str, str] = {"HLSGATE_AUTH_ENABLED": "auth.play"}
"""Environment variables of settings since renamed, still read (below the new name)."""
# TOML tables: every dotted prefix of a setting's name ("auth", "admin" ...).
_TABLES = frozenset(row.name.rsplit(".", depth)[0] for row in SETTINGS for depth in range(1, row.name.count(".") + 1))


# -- the loader ----------------------------------------------------------------------------------------------


def load_settings(flags: Mapping[str, Any], env: Mapping[str, str], config: Path | None = None, *,
                  serving: bool = True) -> Settings:
    """Layer the TOML file (``config`` or ``$HLSGATE_CONFIG``), then the environment, then non-None flags.

    ``flags`` maps the dotted names of :data:`SETTINGS` (``media_root``, ``auth.play``, ``auth.secret`` ...)
    to values of the row's type, or strings as in the environment. A layer replaces the value of the one below;
    empty variables and None flags give nothing. With ``serving=False`` (``hlsgate token``) only the key settings
    matter: no media root is needed.
    """
    given: dict[str, tuple[Any, str]] = {}  # name -> (value, where it came from)
    config = config or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if config is not None:
        given.update((name, (value, f"in {config}")) for name, value in _read_toml(config).items())
    for old, name in RENAMED_ENV.items():
        if env.get(old):
            given[name] = (env[old], f"from {old}")  # the row's own variable, below, wins
    for row in SETTINGS:
        if env.get(row.env):
            given[row.name] = (env[row.env], f"from {row.env}")
    for name, value in flags.items():
        if name not in BY_NAME:
            raise ConfigError(f"unknown setting {name} (known: {', '.join(BY_NAME)})")
        if value is not None:
            given[name] = (value, f"from {BY_NAME[name].flag or 'the flags'}")
    values = {row.name: _read(row, *given[row.name]) if row.name in given else row.default for row in SETTINGS}
    return _build(_Values(values), serving)


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's settings by dotted name; unknown keys and tables are refused."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as err:
        raise ConfigError(f"cannot read the config file {path}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from err
    found: dict[str, Any] = {}
    _walk(data, "", path, found)
    return found


def _walk(table: Mapping[str, Any], prefix: str, path: Path, found: dict[str, Any]) -> None:
    for key, value in table.items():
        name = prefix + key
        if name in BY_NAME:
            found[name] = value  # a table here is a value too: [auth.secrets]
        elif name in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"[{name}] in {path} must be a table")
            _walk(value, f"{name}.", path, found)
        else:
            known = sorted({n[len(prefix):].partition(".")[0] for n in BY_NAME if n.startswith(prefix)})
            raise ConfigError(f"unknown setting {name} in {path} (known: {', '.join(known)})")


def _read(row: Setting, value: Any, source: str) -> Any:
    """One given value of ``row``, parsed and checked; None when it is empty (as if not given)."""
    try:
        parsed = _parse(row, value)
        if parsed is not None and row.check is not None:
            parsed = row.check(row, parsed)
    except _Invalid as err:
        raise ConfigError(f"{err} ({source})") from None
    return parsed


def _parse(row: Setting, value: Any) -> Any:
    shown = "" if row.secret else f": got {value!r}"
    match row.kind:
        case Kind.STR | Kind.CHOICE | Kind.PATH:
            if isinstance(value, Path) and row.kind is Kind.PATH:
                value = str(value)
            if not isinstance(value, str):
                raise _Invalid(f"{row.name} must be a string" if row.kind is not Kind.PATH
                               else f"{row.name} must be a path (a string){shown}")
            if value == "":
                return None
            if row.kind is Kind.CHOICE and value not in row.choices:
                raise _Invalid(f"{row.name} must be one of {', '.join(row.choices)}{shown}")
            return Path(value).expanduser().absolute() if row.kind is Kind.PATH else value
        case Kind.INT | Kind.FLOAT:
            return _bounded(row, _number(row, value, shown))
        case Kind.BOOL:
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            if not isinstance(value, bool):
                raise _Invalid(f"{row.name} must be true or false{shown}")
            return value
        case Kind.STRINGS | Kind.PATHS:
            items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(v, str | Path) for v in items):
                raise _Invalid(f"{row.name} must be a list of strings{shown}")
            if row.kind is Kind.PATHS:
                return tuple(Path(v).expanduser().absolute() for v in items)
            return tuple(str(v) for v in items)
        case Kind.SECRETS:
            return _secrets(row, value)


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _number(row: Setting, value: Any, shown: str) -> float | int:
    whole = row.kind is Kind.INT
    what = "a whole number" if whole else "a number"
    if isinstance(value, str):
        try:
            value = float(value) if not whole or not value.strip().lstrip("+-").isdigit() else int(value)
        except ValueError:
            raise _Invalid(f"{row.name} must be {what}{shown}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Invalid(f"{row.name} must be {what}{shown}")
    if whole:
        if isinstance(value, float) and not value.is_integer():
            raise _Invalid(f"{row.name} must be {what}{shown}")
        return int(value)
    return float(value)


def _bounded(row: Setting, value: float) -> float:
    if (row.low is not None and value < row.low) or (row.high is not None and value > row.high):
        raise _Invalid(f"{row.name} must be {row.bounds}: got {value}")
    return value


def _secrets(row: Setting, value: Any) -> dict[str, str]:
    """A table of kid = secret, or its environment form ``kid1=secret1,kid2=secret2``; no value is ever shown."""
    if isinstance(value, str):
        pairs = [item.partition("=") for item in value.split(",") if item.strip()]
        if any(not sep or not kid.strip() for kid, sep, _ in pairs):
            raise _Invalid(f"{row.name} must look like kid1=secret1,kid2=secret2")
        value = {kid.strip(): secret for kid, _, secret in pairs}
        if len(value) != len(pairs):  # the dict would keep the last of two equal kids without a word
            raise _Invalid(f"{row.name}: two secrets share a kid; give each its own")
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise _Invalid(f'{row.name} must be a table of kid = "secret"')
    if not all(isinstance(kid, str) and kid for kid in value):
        raise _Invalid(f"{row.name}: every secret needs a kid")
    return dict(value)


class _Values:
    """The loaded value of every row, read back with the type its row declares (so _build cannot misread one)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def _get(self, name: str, *kinds: Kind) -> Any:
        if BY_NAME[name].kind not in kinds:
            raise TypeError(f"{name} is a {BY_NAME[name].kind.name}, not read as {', '.join(k.name for k in kinds)}")
        return self._values[name]

    def text(self, name: str) -> str | None:
        value: str | None = self._get(name, Kind.STR, Kind.CHOICE)
        return value

    def integer(self, name: str) -> int:
        value: int = self._get(name, Kind.INT)
        return value

    def number(self, name: str) -> float:
        value: float = self._get(name, Kind.FLOAT)
        return value

    def optional_number(self, name: str) -> float | None:
        value: float | None = self._get(name, Kind.FLOAT)
        return value

    def boolean(self, name: str) -> bool:
        value: bool = self._get(name, Kind.BOOL)
        return value

    def path(self, name: str) -> Path | None:
        value: Path | None = self._get(name, Kind.PATH)
        return value

    def strings(self, name: str) -> tuple[str, ...]:
        value: tuple[str, ...] = self._get(name, Kind.STRINGS)
        return value

    def paths(self, name: str) -> tuple[Path, ...]:
        value: tuple[Path, ...] = self._get(name, Kind.PATHS)
        return value

    def secrets(self, name: str) -> dict[str, str]:
        value: dict[str, str] | None = self._get(name, Kind.SECRETS)
        return value or {}


# -- cross-setting checks and the Settings object --------------------------------------------------------------


def _admin_told_apart(viewer: KeySettings, admin: KeySettings) -> bool:
    """Admin tokens from the viewers' issuer are still told apart: by a required scope, or an audience or issuer
    of their own."""
    return bool(admin.scope) or (admin.audience is not None and admin.audience != viewer.audience) or \
        (admin.issuer is not None and admin.issuer != viewer.issuer)


def _build(v: _Values, serving: bool) -> Settings:
    media_root = v.path("media_root")
    if media_root is None:
        if serving:
            row = BY_NAME["media_root"]
            raise ConfigError(f"media_root is required ({row.flag} or {row.env})")
        media_root = Path.cwd()
    state_dir = v.path("state_dir") or media_root / STATE_DIR_NAME
    if serving:
        _check_media_root(media_root)
        _check_state_dir(state_dir)
    auth_play, auth_publish = v.boolean("auth.play"), v.boolean("auth.publish")
    viewer = _key_settings(v, "auth", require_exp=v.boolean("auth.require_exp"), require_iat=False, scope=None)
    admin = _key_settings(v, "admin", require_exp=True, require_iat=True, scope=v.text("admin.scope"))
    if serving and auth_play and not viewer.configured:  # publish auth without a key: ingest answers 503
        raise ConfigError(f"no key to check viewer tokens: set {BY_NAME['auth.secret'].env} (32 bytes or more), "
                          f"{BY_NAME['auth.jwks_url'].env} or auth.public_keys; or serve public streams with "
                          f"{BY_NAME['auth.play'].flag}")
    viewer_secrets = {s.secret for s in viewer.secrets}
    if any(s.secret in viewer_secrets for s in admin.secrets):
        raise ConfigError(f"the admin secret must differ from every viewer secret ({BY_NAME['admin.secret'].env}, "
                          f"{BY_NAME['admin.secrets'].env})")
    shared = (admin.jwks_url is not None and admin.jwks_url == viewer.jwks_url) or \
        bool(set(admin.public_key_files) & set(viewer.public_key_files))
    if shared and not _admin_told_apart(viewer, admin):
        # Whatever an admin key verifies is an admin token: keys shared with viewers would make every viewer an admin.
        raise ConfigError("the admin keys are also the viewer keys (the same JWKS URL or PEM file): set admin.scope, "
                          "or an admin.audience or admin.issuer that viewer tokens do not carry")
    default_ttl, max_ttl = v.integer("tokens.default_ttl"), v.integer("tokens.max_ttl")
    if default_ttl > max_ttl:
        raise ConfigError(f"tokens.default_ttl ({default_ttl}) is longer than tokens.max_ttl ({max_ttl})")
    player_dir = v.path("player.dir")
    if player_dir is None and (DEFAULT_PLAYER_DIR / "index.html").is_file():
        player_dir = DEFAULT_PLAYER_DIR
    return Settings(
        media_root=media_root,
        state_dir=state_dir,
        host=v.text("host") or DEFAULT_HOST,
        port=v.integer("port"),
        log_format=v.text("log_format") or "text",
        access_log=v.boolean("access_log"),
        cors_origins=v.strings("cors_origins"),
        auth_play=auth_play,
        auth_publish=auth_publish,
        viewer=viewer,
        admin=admin,
        max_token_bytes=v.integer("auth.max_token_bytes"),
        token_cache_size=v.integer("auth.cache_size"),
        default_token_ttl=default_ttl,
        max_token_ttl=max_ttl,
        jwks_ttl=v.number("auth.jwks_ttl"),
        jwks_min_refetch=v.number("auth.jwks_min_refetch"),
        jwks_timeout=v.number("auth.jwks_timeout"),
        playlist_revalidate=v.number("playlist_revalidate"),
        public_url=v.text("public_url"),
        player=PlayerSettings(dir=player_dir, renew_url=v.text("player.renew_url"),
                              renew_before=v.integer("player.renew_before")),
        ingest=IngestSettings(max_segment_bytes=v.integer("ingest.max_segment_bytes"),
                              max_playlist_bytes=v.integer("ingest.max_playlist_bytes"),
                              body_timeout=v.number("ingest.body_timeout"), end_after=v.number("live.end_after"),
                              fsync=v.boolean("ingest.fsync")),
        rtmp_callers=v.strings("rtmp.callers"),
    )


def _key_settings(v: _Values, table: str, *, require_exp: bool, require_iat: bool, scope: str | None) -> KeySettings:
    single = v.text(f"{table}.secret")
    secrets = tuple([HmacSecret(None, single.encode())] if single is not None else []) + tuple(
        HmacSecret(kid, secret.encode()) for kid, secret in v.secrets(f"{table}.secrets").items())
    signing_kid = v.text(f"{table}.signing_kid")
    if signing_kid is not None and signing_kid not in {s.kid for s in secrets}:
        raise ConfigError(f"{table}.signing_kid {signing_kid!r} names none of the configured secrets")
    public_keys = v.paths(f"{table}.public_keys")
    jwks_url = v.text(f"{table}.jwks_url")
    algorithms = v.strings(f"{table}.algorithms")
    if not algorithms:
        algorithms = (("HS256",) if secrets else ()) + (("RS256", "ES256") if public_keys or jwks_url else ())
    for alg in algorithms:
        if alg in HMAC_ALGORITHMS and not secrets:
            raise ConfigError(f"{table}.algorithms lists {alg} but no secret is configured for it")
        if alg not in HMAC_ALGORITHMS and not (public_keys or jwks_url):
            raise ConfigError(f"{table}.algorithms lists {alg} but no public key or JWKS URL is configured")
    return KeySettings(
        secrets=secrets,
        signing_kid=signing_kid,
        public_key_files=public_keys,
        jwks_url=jwks_url,
        algorithms=algorithms,
        audience=v.text(f"{table}.audience"),
        issuer=v.text(f"{table}.issuer"),
        leeway=v.number(f"{table}.leeway"),
        require_exp=require_exp,
        require_iat=require_iat,
        max_lifetime=v.optional_number(f"{table}.max_lifetime"),
        scope=scope,
    )


def _check_media_root(path: Path) -> None:
    row = BY_NAME["media_root"]
    if not path.is_dir():
        raise ConfigError(f"media root {path} is not a directory (create it, or pass {row.flag})")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ConfigError(f"media root {path} is not readable by this user (fix its permissions, or pass {row.flag})")


def _check_state_dir(path: Path) -> None:
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the groups file creates missing parents: the nearest existing one decides
    if existing.exists() and not existing.is_dir():
        raise ConfigError(f"state directory {path} is not a directory; set state_dir")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"state directory {path} is not writable (groups are stored there); set state_dir")


# -- the table in docs/origin.md -------------------------------------------------------------------------------


def markdown_table(rows: Iterable[Setting] = SETTINGS) -> str:
    """The settings table of docs/origin.md (a test keeps the two equal): ``python -m hls_server.core.settings``."""
    lines = ["| setting | type | default | rule | environment | `hlsgate serve` flag | what |",
             "|---------|------|---------|------|-------------|----------------------|------|"]
    for row in rows:
        default = row.default_text if row.default_doc is not None or row.default_text == "unset" \
            else f"`{row.default_text}`"
        env = f"`{row.env}`" + (f" ({row.kind.env_form})" if row.kind.env_form else "")
        cells = [f"`{row.name}`", row.kind.value, default, row.rule, env, flag_text(row), row.help]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def flag_text(row: Setting) -> str:
    """The row's ``hlsgate serve`` flag as its help shows it, or why it has none."""
    if row.secret:
        return "none (a secret)"
    if row.flag is None:
        return ""
    if row.kind is Kind.BOOL:
        return f"`{row.flag}`"
    if row.kind is Kind.CHOICE:
        return f"`{row.flag} {{{','.join(row.choices)}}}`"
    repeat = " (repeatable)" if row.kind in (Kind.STRINGS, Kind.PATHS) else ""
    return f"`{row.flag} {metavar(row)}`{repeat}"


def metavar(row: Setting) -> str:
    return row.metavar or row.name.rpartition(".")[2].upper()


if __name__ == "__main__":
    print(markdown_table(), end="")
