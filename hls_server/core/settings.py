"""One frozen settings object, built once from a TOML file, the environment and flags (flags win), then validated.

Nothing else in the origin reads the environment: ``hlsgate serve``, ``hlsgate token`` and the tests all go
through :func:`load_settings`. Every problem is a :class:`ConfigError` that names the setting and says what
to do; a secret's value never appears in one.
"""

from __future__ import annotations

import ipaddress
import math
import os
import tomllib
from collections.abc import Mapping
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
    scope: str | None = None  # a value the token's scope/scp claim must hold (admin tokens from a shared issuer)

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
class Settings:
    media_root: Path
    state_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_format: str = "text"
    access_log: bool = True
    cors_origins: tuple[str, ...] = ("*",)
    auth_enabled: bool = True
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


# Environment variables and the setting each one fills (dotted: table.key in the TOML file).
ENV_SETTINGS: dict[str, str] = {
    "HLSGATE_MEDIA_ROOT": "media_root",
    "HLSGATE_STATE_DIR": "state_dir",
    "HLSGATE_HOST": "host",
    "HLSGATE_PORT": "port",
    "HLSGATE_LOG_FORMAT": "log_format",
    "HLSGATE_CORS_ORIGINS": "cors_origins",
    "HLSGATE_JWT_SECRET": "auth.secret",
    "HLSGATE_JWT_SECRETS": "auth.secrets",
    "HLSGATE_JWT_SIGNING_KID": "auth.signing_kid",
    "HLSGATE_JWKS_URL": "auth.jwks_url",
    "HLSGATE_JWT_PUBLIC_KEYS": "auth.public_keys",
    "HLSGATE_JWT_ALGORITHMS": "auth.algorithms",
    "HLSGATE_JWT_AUDIENCE": "auth.audience",
    "HLSGATE_JWT_ISSUER": "auth.issuer",
    "HLSGATE_ADMIN_SECRET": "admin.secret",
    "HLSGATE_ADMIN_JWKS_URL": "admin.jwks_url",
    "HLSGATE_PUBLIC_URL": "public_url",
    "HLSGATE_PLAYER_DIR": "player.dir",
    "HLSGATE_PLAYER_RENEW_URL": "player.renew_url",
}
LIST_SETTINGS = frozenset({"cors_origins", "auth.public_keys", "auth.algorithms", "admin.algorithms"})
CONFIG_ENV = "HLSGATE_CONFIG"

_TOP_KEYS = frozenset({"media_root", "state_dir", "host", "port", "log_format", "access_log", "cors_origins",
                       "playlist_revalidate", "public_url", "auth", "admin", "tokens", "player"})
_AUTH_KEYS = frozenset({"enabled", "secret", "secrets", "signing_kid", "public_keys", "jwks_url", "algorithms",
                        "audience", "issuer", "leeway", "require_exp", "max_lifetime", "max_token_bytes",
                        "cache_size", "jwks_ttl", "jwks_min_refetch", "jwks_timeout"})
_ADMIN_KEYS = frozenset({"secret", "jwks_url", "public_keys", "algorithms", "audience", "issuer", "max_lifetime"})
_TOKENS_KEYS = frozenset({"default_ttl", "max_ttl"})
_PLAYER_KEYS = frozenset({"dir", "renew_url", "renew_before"})
_TABLES = {"auth": _AUTH_KEYS, "admin": _ADMIN_KEYS, "tokens": _TOKENS_KEYS, "player": _PLAYER_KEYS}


def load_settings(flags: Mapping[str, Any], env: Mapping[str, str], config: Path | None = None, *,
                  serving: bool = True) -> Settings:
    """Layer the TOML file (``config`` or ``$HLSGATE_CONFIG``), then the environment, then non-None flags.

    ``flags`` uses the dotted names of :data:`ENV_SETTINGS` values (``media_root``, ``auth.enabled`` ...).
    With ``serving=False`` (``hlsgate token``) only the key settings matter: no media root is needed.
    """
    raw: dict[str, Any] = {}
    config = config or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if config is not None:
        _flatten(_read_toml(config), "", raw)
    for name, key in ENV_SETTINGS.items():
        value = env.get(name)
        if value:
            raw[key] = _split_list(value) if key in LIST_SETTINGS else value
    raw.update({key: value for key, value in flags.items() if value is not None})
    return _build(raw, serving)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as err:
        raise ConfigError(f"cannot read the config file {path}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from err
    _check_keys(data, _TOP_KEYS, "")
    for table, keys in _TABLES.items():
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise ConfigError(f"[{table}] in {path} must be a table")
        _check_keys(section, keys, f"{table}.")
    return data


def _check_keys(data: Mapping[str, Any], known: frozenset[str], prefix: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown setting {prefix}{unknown[0]} (known: {', '.join(sorted(known))})")


def _flatten(data: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, dict) and key in _TABLES:
            _flatten(value, f"{key}.", out)
        else:
            out[prefix + key] = value


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _build(raw: Mapping[str, Any], serving: bool) -> Settings:
    get = _Reader(raw)
    media_root = get.path("media_root", required=serving) or Path.cwd()
    state_dir = get.path("state_dir") or media_root / STATE_DIR_NAME
    if serving:
        _check_media_root(media_root)
        _check_state_dir(state_dir)
    auth_enabled = get.boolean("auth.enabled", True)
    viewer = _key_settings(get, "auth", require_iat=False,
                           max_lifetime=get.number("auth.max_lifetime", None, low=1))
    admin = _key_settings(get, "admin", require_iat=True,
                          max_lifetime=get.number("admin.max_lifetime", DEFAULT_ADMIN_MAX_LIFETIME, low=1))
    if serving and auth_enabled and not viewer.configured:
        raise ConfigError("no key to check viewer tokens: set HLSGATE_JWT_SECRET (32 bytes or more), "
                          "HLSGATE_JWKS_URL or auth.public_keys; or serve public streams with --no-auth")
    viewer_secrets = {s.secret for s in viewer.secrets}
    if any(s.secret in viewer_secrets for s in admin.secrets):
        raise ConfigError("the admin secret must differ from every viewer secret (HLSGATE_ADMIN_SECRET)")
    log_format = get.choice("log_format", LOG_FORMATS, "text")
    default_ttl = int(get.number("tokens.default_ttl", DEFAULT_TOKEN_TTL, low=1) or DEFAULT_TOKEN_TTL)
    max_ttl = int(get.number("tokens.max_ttl", DEFAULT_MAX_TOKEN_TTL, low=1) or DEFAULT_MAX_TOKEN_TTL)
    if default_ttl > max_ttl:
        raise ConfigError(f"tokens.default_ttl ({default_ttl}) is longer than tokens.max_ttl ({max_ttl})")
    return Settings(
        media_root=media_root,
        state_dir=state_dir,
        host=get.text("host") or DEFAULT_HOST,
        port=int(get.number("port", DEFAULT_PORT, low=0, high=65535) or 0),
        log_format=log_format,
        access_log=get.boolean("access_log", True),
        cors_origins=_cors_origins(get.strings("cors_origins", ["*"])),
        auth_enabled=auth_enabled,
        viewer=viewer,
        admin=admin,
        max_token_bytes=int(get.number("auth.max_token_bytes", DEFAULT_MAX_TOKEN_BYTES, low=256, high=65536)
                            or DEFAULT_MAX_TOKEN_BYTES),
        token_cache_size=int(get.number("auth.cache_size", DEFAULT_TOKEN_CACHE_SIZE, low=0) or 0),
        default_token_ttl=default_ttl,
        max_token_ttl=max_ttl,
        jwks_ttl=get.number("auth.jwks_ttl", DEFAULT_JWKS_TTL, low=1) or DEFAULT_JWKS_TTL,
        jwks_min_refetch=get.number("auth.jwks_min_refetch", DEFAULT_JWKS_MIN_REFETCH, low=0) or 0.0,
        jwks_timeout=get.number("auth.jwks_timeout", DEFAULT_JWKS_TIMEOUT, low=0.1, high=60)
        or DEFAULT_JWKS_TIMEOUT,
        playlist_revalidate=get.number("playlist_revalidate", DEFAULT_PLAYLIST_REVALIDATE, low=0, high=60) or 0.0,
        public_url=_public_url(get.text("public_url")),
        player=_player_settings(get),
    )


def _public_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or "@" in parts.netloc:
        raise ConfigError(f"public_url must look like https://video.example.com (optionally with a path): got {url!r}")
    return url.rstrip("/")


def _player_settings(get: _Reader) -> PlayerSettings:
    folder = get.path("player.dir")
    if folder is None:
        folder = DEFAULT_PLAYER_DIR if (DEFAULT_PLAYER_DIR / "index.html").is_file() else None
    elif not (folder / "index.html").is_file():
        raise ConfigError(f"player.dir {folder} holds no index.html (point it at a built player: player/dist "
                          "after `npm run build --prefix player`)")
    renew_url = get.text("player.renew_url")
    if renew_url is not None and not renew_url.startswith("/"):
        parts = urlsplit(renew_url)
        if not parts.hostname or not (parts.scheme == "https"
                                      or (parts.scheme == "http" and _is_loopback(parts.hostname))):
            raise ConfigError("player.renew_url must be an https:// URL (plain http only on loopback) or a path "
                              f"on this origin like /my/token: got {renew_url!r}")
    renew_before = get.number("player.renew_before", DEFAULT_RENEW_BEFORE, low=1, high=3600)
    return PlayerSettings(dir=folder, renew_url=renew_url,
                          renew_before=int(renew_before if renew_before is not None else DEFAULT_RENEW_BEFORE))


def _key_settings(get: _Reader, table: str, *, require_iat: bool, max_lifetime: float | None) -> KeySettings:
    secrets = _secrets(get, table)
    signing_kid = get.text(f"{table}.signing_kid")
    if signing_kid is not None and signing_kid not in {s.kid for s in secrets}:
        raise ConfigError(f"{table}.signing_kid {signing_kid!r} names none of the configured secrets")
    public_keys = tuple(get.path_list(f"{table}.public_keys"))
    for path in public_keys:
        if not path.is_file() or not os.access(path, os.R_OK):
            raise ConfigError(f"{table}.public_keys: cannot read the PEM file {path}")
    jwks_url = get.text(f"{table}.jwks_url")
    if jwks_url is not None:
        _check_jwks_url(jwks_url, f"{table}.jwks_url")
    algorithms = tuple(get.strings(f"{table}.algorithms", []))
    if not algorithms:
        algorithms = (("HS256",) if secrets else ()) + (("RS256", "ES256") if public_keys or jwks_url else ())
    for alg in algorithms:
        if alg not in KNOWN_ALGORITHMS:
            raise ConfigError(f"{table}.algorithms: {alg!r} is not allowed (choose from "
                              f"{', '.join(sorted(KNOWN_ALGORITHMS))}; 'none' never is)")
        if alg in HMAC_ALGORITHMS and not secrets:
            raise ConfigError(f"{table}.algorithms lists {alg} but no secret is configured for it")
        if alg not in HMAC_ALGORITHMS and not (public_keys or jwks_url):
            raise ConfigError(f"{table}.algorithms lists {alg} but no public key or JWKS URL is configured")
    leeway = get.number(f"{table}.leeway", DEFAULT_LEEWAY_SECONDS, low=0, high=MAX_LEEWAY_SECONDS)
    return KeySettings(
        secrets=secrets,
        signing_kid=signing_kid,
        public_key_files=public_keys,
        jwks_url=jwks_url,
        algorithms=algorithms,
        audience=get.text(f"{table}.audience"),
        issuer=get.text(f"{table}.issuer"),
        leeway=DEFAULT_LEEWAY_SECONDS if leeway is None else leeway,
        require_exp=True if table == "admin" else get.boolean(f"{table}.require_exp", True),
        require_iat=require_iat,
        max_lifetime=max_lifetime,
    )


def _secrets(get: _Reader, table: str) -> tuple[HmacSecret, ...]:
    found: list[HmacSecret] = []
    single = get.text(f"{table}.secret")
    if single is not None:
        found.append(HmacSecret(None, single.encode()))
    many = get.raw(f"{table}.secrets")
    if isinstance(many, str):  # the environment form: "kid1=secret1,kid2=secret2"
        pairs = [item.partition("=") for item in many.split(",") if item.strip()]
        if any(not sep or not kid.strip() for kid, sep, _ in pairs):
            raise ConfigError(f"{table}.secrets must look like kid1=secret1,kid2=secret2")
        many = {kid.strip(): value for kid, _, value in pairs}
        if len(many) != len(pairs):  # the dict would keep the last of two equal kids without a word
            raise ConfigError(f"{table}.secrets: two secrets share a kid; give each its own")
    if many is not None:
        if not isinstance(many, dict) or not all(isinstance(v, str) for v in many.values()):
            raise ConfigError(f"{table}.secrets must be a table of kid = \"secret\"")
        found.extend(HmacSecret(kid, value.encode()) for kid, value in many.items())
    for secret in found:
        if len(secret.secret) < MIN_HMAC_SECRET_BYTES:
            which = f"the secret with kid {secret.kid!r}" if secret.kid else "the secret"
            env_name = "HLSGATE_ADMIN_SECRET" if table == "admin" else "HLSGATE_JWT_SECRET"
            raise ConfigError(f"{table}: {which} is {len(secret.secret)} bytes; HS256 needs at least "
                              f"{MIN_HMAC_SECRET_BYTES} (RFC 7518 §3.2). Generate one with: "
                              f"export {env_name}=$(openssl rand -base64 48)")
    kids = [s.kid for s in found]
    if len(kids) != len(set(kids)):
        raise ConfigError(f"{table}: two secrets share a kid (or two have none)")
    return tuple(found)


def _check_media_root(path: Path) -> None:
    if not path.is_dir():
        raise ConfigError(f"media root {path} is not a directory (create it, or pass --media-root)")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ConfigError(f"media root {path} is not readable by this user (fix its permissions, or pass --media-root)")


def _check_state_dir(path: Path) -> None:
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the groups file creates missing parents: the nearest existing one decides
    if existing.exists() and not existing.is_dir():
        raise ConfigError(f"state directory {path} is not a directory; set state_dir")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"state directory {path} is not writable (groups are stored there); set state_dir")


def _check_jwks_url(url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return  # a key service beside the origin; nothing crosses a network
    raise ConfigError(f"{name} must be an https:// URL (plain http only on loopback): got {url!r}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cors_origins(origins: list[str]) -> tuple[str, ...]:
    for origin in origins:
        if origin == "*":
            continue
        parts = urlsplit(origin)
        if (parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query
                or "*" in parts.netloc or "@" in parts.netloc):  # matched exactly: a pattern would never match
            raise ConfigError(f"cors_origins: {origin!r} is not an origin like https://player.example.com")
    return tuple(origins)


class _Reader:
    """Typed access to the layered raw values, with errors that name the setting."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw

    def raw(self, key: str) -> Any:
        return self._raw.get(key)

    def text(self, key: str) -> str | None:
        value = self._raw.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string")
        return value

    def path(self, key: str, *, required: bool = False) -> Path | None:
        value = self.text(key)
        if value is None:
            if required:
                raise ConfigError(f"{key} is required (--{key.replace('_', '-')} or HLSGATE_{key.upper()})")
            return None
        return Path(value).expanduser().absolute()

    def path_list(self, key: str) -> list[Path]:
        return [Path(p).expanduser().absolute() for p in self.strings(key, [])]

    def strings(self, key: str, default: list[str]) -> list[str]:
        value = self._raw.get(key, default)
        if isinstance(value, str):
            value = _split_list(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} must be a list of strings")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._raw.get(key, default)
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key) or default
        if value not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(choices)}: got {value!r}")
        return value

    def number(self, key: str, default: float | None, *, low: float | None = None,
               high: float | None = None) -> float | None:
        value = self._raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{key} must be a number: got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"{key} must be a number")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            raise ConfigError(f"{key} must be within {bounds}: got {value}")
        return float(value)
