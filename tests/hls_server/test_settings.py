"""Settings: TOML < environment < flags, every refusal naming its setting (and never a secret), derived defaults,
and ``hlsgate serve`` turning a bad setting into exit code 2 and one line on stderr.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hls_server.errors import ConfigError
from hls_server.settings import (
    DEFAULT_ADMIN_MAX_LIFETIME,
    DEFAULT_LEEWAY_SECONDS,
    ENV_SETTINGS,
    MAX_LEEWAY_SECONDS,
    MIN_HMAC_SECRET_BYTES,
    STATE_DIR_NAME,
    Settings,
    load_settings,
)
from tests.conftest import run_cli

from .conftest import ADMIN_SECRET, SECRET

SHORT_SECRET = secrets.token_hex(16)[:MIN_HMAC_SECRET_BYTES - 1]  # 31 bytes
K1 = secrets.token_urlsafe(40)
K2 = secrets.token_urlsafe(40)
JWKS = "https://keys.example.com/.well-known/jwks.json"


@pytest.fixture
def media(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    return root


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hlsgate.toml"
    path.write_text(text)
    return path


def load(media: Path, flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None, *,
         config: Path | None = None, secret: bool = True, serving: bool = True) -> Settings:
    """``load_settings`` as ``hlsgate serve`` calls it: a media root flag and (unless ``secret=False``) a secret."""
    base_env = {"HLSGATE_JWT_SECRET": SECRET} if secret else {}
    return load_settings({"media_root": str(media), **(flags or {})}, {**base_env, **(env or {})}, config,
                         serving=serving)


def write_pem(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


@pytest.fixture(scope="session")
def ec_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pem(tmp_path_factory.mktemp("keys") / "signer.pem", ec.generate_private_key(ec.SECP256R1()))


# -- precedence ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layered:
    """One setting given in all three layers: the TOML line for a value, its variable, its flag, and a reader."""

    toml: Callable[[str], str]
    env: str
    flag: str
    values: tuple[str, str, str]
    read: Callable[[Settings], object]
    flag_value: Callable[[str], object] = field(default=lambda v: v)
    expected: Callable[[str], object] = field(default=lambda v: v)


LAYERED: dict[str, Layered] = {
    "host": Layered(lambda v: f'host = "{v}"', "HLSGATE_HOST", "host", ("10.0.0.1", "10.0.0.2", "10.0.0.3"),
                    lambda s: s.host),
    "port": Layered(lambda v: f"port = {v}", "HLSGATE_PORT", "port", ("1001", "1002", "1003"), lambda s: s.port,
                    flag_value=int, expected=int),
    "log_format": Layered(lambda v: f'log_format = "{v}"', "HLSGATE_LOG_FORMAT", "log_format",
                          ("json", "text", "json"), lambda s: s.log_format),
    "cors_origins": Layered(lambda v: f'cors_origins = ["{v}"]', "HLSGATE_CORS_ORIGINS", "cors_origins",
                            ("https://a.example", "https://b.example", "https://c.example"),
                            lambda s: s.cors_origins, flag_value=lambda v: [v], expected=lambda v: (v,)),
    "auth.secret": Layered(lambda v: f'[auth]\nsecret = "{v}"', "HLSGATE_JWT_SECRET", "auth.secret",
                           (SECRET, K1, K2), lambda s: s.viewer.secrets[0].secret, expected=str.encode),
    "auth.jwks_url": Layered(lambda v: f'[auth]\njwks_url = "{v}"', "HLSGATE_JWKS_URL", "auth.jwks_url",
                             ("https://a.example/jwks", "https://b.example/jwks", "http://127.0.0.1:9/jwks"),
                             lambda s: s.viewer.jwks_url),
    "auth.algorithms": Layered(lambda v: f'[auth]\nalgorithms = ["{v}"]', "HLSGATE_JWT_ALGORITHMS",
                               "auth.algorithms", ("HS256", "HS384", "HS512"), lambda s: s.viewer.algorithms,
                               flag_value=lambda v: [v], expected=lambda v: (v,)),
    "admin.secret": Layered(lambda v: f'[admin]\nsecret = "{v}"', "HLSGATE_ADMIN_SECRET", "admin.secret",
                            (ADMIN_SECRET, K1, K2), lambda s: s.admin.secrets[0].secret, expected=str.encode),
}


@pytest.mark.parametrize("name", LAYERED)
def test_each_layer_wins_over_the_previous(name: str, media: Path, tmp_path: Path) -> None:
    case = LAYERED[name]
    from_toml, from_env, from_flag = case.values
    config = write_toml(tmp_path, case.toml(from_toml))
    env = {case.env: from_env}
    flags = {case.flag: case.flag_value(from_flag)}
    secret = name != "auth.secret"
    assert case.read(load(media, config=config, secret=secret)) == case.expected(from_toml)
    assert case.read(load(media, env=env, config=config, secret=secret)) == case.expected(from_env)
    assert case.read(load(media, flags, env, config=config, secret=secret)) == case.expected(from_flag)
    assert case.read(load(media, flags, config=config, secret=secret)) == case.expected(from_flag)


def test_the_media_root_layers(tmp_path: Path) -> None:
    roots = [tmp_path / name for name in ("toml", "env", "flag")]
    for root in roots:
        root.mkdir()
    config = write_toml(tmp_path, f'media_root = "{roots[0]}"')
    env = {"HLSGATE_JWT_SECRET": SECRET}
    assert load_settings({}, env, config).media_root == roots[0]
    assert load_settings({}, {**env, "HLSGATE_MEDIA_ROOT": str(roots[1])}, config).media_root == roots[1]
    assert load_settings({"media_root": str(roots[2])}, {**env, "HLSGATE_MEDIA_ROOT": str(roots[1])},
                         config).media_root == roots[2]


def test_unset_flags_and_empty_variables_do_not_override(media: Path, tmp_path: Path) -> None:
    config = write_toml(tmp_path, 'host = "10.0.0.1"')
    settings = load(media, {"host": None}, {"HLSGATE_HOST": ""}, config=config)
    assert settings.host == "10.0.0.1"


def test_hlsgate_config_names_the_file_and_an_explicit_file_wins(media: Path, tmp_path: Path) -> None:
    named = tmp_path / "named.toml"
    named.write_text('host = "10.0.0.5"')
    explicit = write_toml(tmp_path, 'host = "10.0.0.6"')
    assert load(media, env={"HLSGATE_CONFIG": str(named)}).host == "10.0.0.5"
    assert load(media, env={"HLSGATE_CONFIG": str(named)}, config=explicit).host == "10.0.0.6"


def test_toml_tables_reach_their_settings(media: Path, tmp_path: Path) -> None:
    config = write_toml(tmp_path, f"""
        access_log = false
        playlist_revalidate = 0.25
        [auth]
        secrets = {{ k1 = "{K1}", k2 = "{K2}" }}
        signing_kid = "k2"
        leeway = 5
        require_exp = false
        max_lifetime = 900
        max_token_bytes = 2048
        cache_size = 10
        jwks_ttl = 60
        jwks_min_refetch = 5
        jwks_timeout = 0.5
        audience = "players"
        issuer = "issuer.example"
        [admin]
        secret = "{ADMIN_SECRET}"
        max_lifetime = 120
        [tokens]
        default_ttl = 60
        max_ttl = 600
    """.replace("\n        ", "\n"))
    s = load(media, config=config, secret=False)
    assert [(x.kid, x.secret) for x in s.viewer.secrets] == [("k1", K1.encode()), ("k2", K2.encode())]
    assert s.viewer.signing_secret is not None and s.viewer.signing_secret.kid == "k2"
    assert (s.viewer.leeway, s.viewer.require_exp, s.viewer.max_lifetime) == (5, False, 900)
    assert (s.viewer.audience, s.viewer.issuer) == ("players", "issuer.example")
    assert (s.max_token_bytes, s.token_cache_size) == (2048, 10)
    assert (s.jwks_ttl, s.jwks_min_refetch, s.jwks_timeout) == (60, 5, 0.5)
    assert (s.admin.max_lifetime, s.admin.require_iat, s.admin.require_exp) == (120, True, True)
    assert (s.default_token_ttl, s.max_token_ttl) == (60, 600)
    assert (s.access_log, s.playlist_revalidate) == (False, 0.25)


# -- derived defaults ----------------------------------------------------------------------------------------


def test_defaults(media: Path) -> None:
    s = load(media)
    assert (s.host, s.port, s.log_format, s.access_log, s.cors_origins) == ("127.0.0.1", 8080, "text", True, ("*",))
    assert s.state_dir == media / STATE_DIR_NAME
    assert s.auth_enabled
    assert (s.viewer.leeway, s.viewer.require_exp, s.viewer.require_iat, s.viewer.max_lifetime) == \
        (DEFAULT_LEEWAY_SECONDS, True, False, None)
    assert not s.admin.configured
    assert (s.admin.require_iat, s.admin.max_lifetime) == (True, DEFAULT_ADMIN_MAX_LIFETIME)


def test_algorithms_default_to_hs256_with_secrets_only(media: Path) -> None:
    s = load(media, env={"HLSGATE_ADMIN_SECRET": ADMIN_SECRET})
    assert s.viewer.algorithms == ("HS256",)
    assert s.admin.algorithms == ("HS256",)


def test_algorithms_default_to_rs256_and_es256_with_public_keys(media: Path, ec_pem: Path) -> None:
    assert load(media, env={"HLSGATE_JWT_PUBLIC_KEYS": str(ec_pem)}, secret=False).viewer.algorithms == \
        ("RS256", "ES256")
    assert load(media, env={"HLSGATE_JWKS_URL": JWKS}, secret=False).viewer.algorithms == ("RS256", "ES256")
    assert load(media, env={"HLSGATE_ADMIN_JWKS_URL": JWKS}).admin.algorithms == ("RS256", "ES256")


def test_algorithms_default_to_all_three_with_secrets_and_keys(media: Path) -> None:
    assert load(media, env={"HLSGATE_JWKS_URL": JWKS}).viewer.algorithms == ("HS256", "RS256", "ES256")


def test_configured_algorithms_are_kept(media: Path, ec_pem: Path) -> None:
    s = load(media, env={"HLSGATE_JWT_PUBLIC_KEYS": str(ec_pem), "HLSGATE_JWT_ALGORITHMS": "ES256, ES384"})
    assert s.viewer.algorithms == ("ES256", "ES384")
    assert s.viewer.public_key_files == (ec_pem,)


def test_the_token_commands_need_no_media_root() -> None:
    s = load_settings({}, {"HLSGATE_JWT_SECRET": SECRET}, serving=False)
    assert s.viewer.signing_secret is not None


@pytest.mark.parametrize("url", [JWKS, "http://127.0.0.1:8081/jwks.json", "http://localhost/jwks",
                                 "http://[::1]:9000/jwks", "http://127.8.9.10/jwks"])
def test_jwks_urls_accepted(media: Path, url: str) -> None:
    assert load(media, env={"HLSGATE_JWKS_URL": url}).viewer.jwks_url == url


@pytest.mark.parametrize("secret", ["x" * MIN_HMAC_SECRET_BYTES, "é" * (MIN_HMAC_SECRET_BYTES // 2)])
def test_a_secret_of_32_bytes_is_enough(media: Path, secret: str) -> None:
    assert load(media, env={"HLSGATE_JWT_SECRET": secret}).viewer.secrets[0].secret == secret.encode()


def test_auth_can_be_switched_off_without_keys(media: Path) -> None:
    assert not load(media, {"auth.enabled": False}, secret=False).auth_enabled
    assert not load(media, {"auth.enabled": "off"}, secret=False).auth_enabled


def test_a_missing_state_dir_whose_parents_can_be_created_is_fine(media: Path, tmp_path: Path) -> None:
    state = tmp_path / "var" / "lib" / "hlsgate"
    assert load(media, {"state_dir": str(state)}).state_dir == state


@pytest.mark.parametrize(("leeway", "expected"), [(0, 0.0), (MAX_LEEWAY_SECONDS, MAX_LEEWAY_SECONDS), ("12.5", 12.5)])
def test_leeway_bounds_accepted(media: Path, leeway: object, expected: float) -> None:
    assert load(media, {"auth.leeway": leeway}).viewer.leeway == expected


# -- refusals ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Settings that must not start a server, and the words the message must hold (the setting's name first)."""

    named: tuple[str, ...]
    flags: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    toml: str | None = None
    secret: bool = True


def _r(*named: str, toml: str | None = None, secret: bool = True, env: dict[str, str] | None = None,
       **flags: Any) -> Refusal:
    return Refusal(named, {k.replace("__", "."): v for k, v in flags.items()}, env or {}, toml, secret)


REFUSALS: dict[str, Refusal] = {
    "short secret": _r("auth", "HLSGATE_JWT_SECRET", f"{MIN_HMAC_SECRET_BYTES - 1} bytes",
                       env={"HLSGATE_JWT_SECRET": SHORT_SECRET}, secret=False),
    "short secret with a kid": _r("auth", "'k1'", "31 bytes", env={"HLSGATE_JWT_SECRETS": f"k1={SHORT_SECRET}"}),
    "short secret in TOML": _r("auth", "31 bytes", toml=f'[auth]\nsecret = "{SHORT_SECRET}"', secret=False),
    "short admin secret": _r("admin", "HLSGATE_ADMIN_SECRET", "31 bytes", env={"HLSGATE_ADMIN_SECRET": SHORT_SECRET}),
    "duplicate kids": _r("auth.secrets", "kid", env={"HLSGATE_JWT_SECRETS": f"k1={K1},k2={K2},k1={K2}"}),
    "duplicate kids in TOML": _r("not valid TOML", toml=f'[auth.secrets]\nk1 = "{K1}"\nk1 = "{K2}"'),
    "secrets without kids": _r("auth.secrets", env={"HLSGATE_JWT_SECRETS": K1}),
    "a secret with an empty kid": _r("auth.secrets", env={"HLSGATE_JWT_SECRETS": f"k1={K1},={K2}"}),
    "secrets not a table": _r("auth.secrets", toml='[auth]\nsecrets = ["a", "b"]'),
    "secret not a string": _r("auth.secret", toml="[auth]\nsecret = 12345", secret=False),
    "unknown signing kid": _r("auth.signing_kid", "'k3'", env={"HLSGATE_JWT_SECRETS": f"k1={K1},k2={K2}",
                                                             "HLSGATE_JWT_SIGNING_KID": "k3"}),
    "signing kid without kids": _r("auth.signing_kid", env={"HLSGATE_JWT_SIGNING_KID": "k1"}),
    "jwks over plain http": _r("auth.jwks_url", "https", env={"HLSGATE_JWKS_URL": "http://keys.example.com/jwks"}),
    "jwks over http to a private address": _r("auth.jwks_url", env={"HLSGATE_JWKS_URL": "http://10.0.0.1/jwks"}),
    "jwks over http to a loopback look-alike": _r("auth.jwks_url",
                                                  env={"HLSGATE_JWKS_URL": "http://127.0.0.1.example.com/jwks"}),
    "jwks without a host": _r("auth.jwks_url", env={"HLSGATE_JWKS_URL": "https:///jwks"}),
    "jwks over ftp": _r("auth.jwks_url", env={"HLSGATE_JWKS_URL": "ftp://keys.example.com/jwks"}),
    "jwks a file": _r("auth.jwks_url", env={"HLSGATE_JWKS_URL": "file:///etc/jwks.json"}),
    "admin jwks over plain http": _r("admin.jwks_url", env={"HLSGATE_ADMIN_JWKS_URL": "http://keys.example.com/"}),
    "algorithm none": _r("auth.algorithms", "'none'", env={"HLSGATE_JWT_ALGORITHMS": "HS256,none"}),
    "algorithm None": _r("auth.algorithms", "'None'", env={"HLSGATE_JWT_ALGORITHMS": "None"}),
    "algorithm NONE in TOML": _r("auth.algorithms", toml='[auth]\nalgorithms = ["NONE"]'),
    "algorithm unknown": _r("auth.algorithms", "'HS257'", env={"HLSGATE_JWT_ALGORITHMS": "HS257"}),
    "algorithm in lower case": _r("auth.algorithms", env={"HLSGATE_JWT_ALGORITHMS": "hs256"}),
    "algorithms not a list": _r("auth.algorithms", toml="[auth]\nalgorithms = 256"),
    "HS256 without a secret": _r("auth.algorithms", "HS256", "secret", secret=False,
                                 env={"HLSGATE_JWKS_URL": JWKS, "HLSGATE_JWT_ALGORITHMS": "HS256,RS256"}),
    "RS256 without a key": _r("auth.algorithms", "RS256", "JWKS", env={"HLSGATE_JWT_ALGORITHMS": "HS256,RS256"}),
    "admin RS256 without a key": _r("admin.algorithms", "RS256", env={"HLSGATE_ADMIN_SECRET": ADMIN_SECRET},
                                    admin__algorithms=["RS256"]),
    "public key file missing": _r("auth.public_keys", "nowhere.pem",
                                  env={"HLSGATE_JWT_PUBLIC_KEYS": "/nonexistent/nowhere.pem"}),
    "admin secret equals the viewer secret": _r("HLSGATE_ADMIN_SECRET", "differ",
                                                env={"HLSGATE_ADMIN_SECRET": SECRET}),
    "admin secret equals a viewer kid secret": _r("HLSGATE_ADMIN_SECRET",
                                                  env={"HLSGATE_JWT_SECRETS": f"k1={K1},k2={K2}",
                                                       "HLSGATE_ADMIN_SECRET": K2}),
    "cors origin with a path": _r("cors_origins", "https://player.example.com/app",
                                  cors_origins=["https://player.example.com/app"]),
    "cors origin without a scheme": _r("cors_origins", env={"HLSGATE_CORS_ORIGINS": "player.example.com"}),
    "cors origin with a wildcard host": _r("cors_origins", cors_origins=["https://*.example.com"]),
    "cors origin with a query": _r("cors_origins", cors_origins=["https://a.example?x=1"]),
    "cors origin of another scheme": _r("cors_origins", cors_origins=["ftp://a.example"]),
    "cors origin with credentials": _r("cors_origins", cors_origins=["https://user@a.example"]),
    "unknown top-level key": _r("unknown setting", "mediaroot", toml='mediaroot = "/srv"'),
    "unknown auth key": _r("unknown setting", "auth.secert", toml='[auth]\nsecert = "x"'),
    "unknown admin key": _r("unknown setting", "admin.require_exp", toml="[admin]\nrequire_exp = false"),
    "unknown tokens key": _r("unknown setting", "tokens.ttl", toml="[tokens]\nttl = 5"),
    "auth not a table": _r("[auth]", "table", toml="auth = 5"),
    "malformed TOML": _r("not valid TOML", "hlsgate.toml", toml="[auth\nsecret = 1"),
    "TOML with a bare word": _r("not valid TOML", toml="host = localhost"),
    "leeway a word": _r("auth.leeway", "number", auth__leeway="soon"),
    "leeway a boolean in TOML": _r("auth.leeway", "number", toml="[auth]\nleeway = true"),
    "leeway a string in TOML": _r("auth.leeway", "number", toml='[auth]\nleeway = "30s"'),
    "leeway NaN": _r("auth.leeway", auth__leeway="nan"),
    "leeway infinite": _r("auth.leeway", auth__leeway="inf"),
    "leeway beyond 300": _r("auth.leeway", "300", auth__leeway=MAX_LEEWAY_SECONDS + 1),
    "leeway negative": _r("auth.leeway", auth__leeway=-1),
    "max_lifetime zero": _r("auth.max_lifetime", toml="[auth]\nmax_lifetime = 0"),
    "default ttl over max ttl": _r("tokens.default_ttl", "tokens.max_ttl",
                                   toml="[tokens]\ndefault_ttl = 7200\nmax_ttl = 3600"),
    "default ttl over the default max ttl": _r("tokens.default_ttl", toml="[tokens]\ndefault_ttl = 9999999"),
    "port out of range": _r("port", port=70000),
    "port a word": _r("port", env={"HLSGATE_PORT": "http"}),
    "log format unknown": _r("log_format", "xml", env={"HLSGATE_LOG_FORMAT": "xml"}),
    "auth.enabled not a boolean": _r("auth.enabled", toml='[auth]\nenabled = "maybe"'),
    "max token bytes too small": _r("auth.max_token_bytes", toml="[auth]\nmax_token_bytes = 100"),
    "jwks timeout zero": _r("auth.jwks_timeout", toml="[auth]\njwks_timeout = 0"),
    "auth without any key": _r("no key to check viewer tokens", "HLSGATE_JWT_SECRET", "--no-auth", secret=False),
    "auth without any key, but an admin key": _r("HLSGATE_JWT_SECRET", secret=False,
                                                 env={"HLSGATE_ADMIN_SECRET": ADMIN_SECRET}),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_refusals_name_the_setting(case: Refusal, media: Path, tmp_path: Path) -> None:
    config = write_toml(tmp_path, case.toml) if case.toml is not None else None
    with pytest.raises(ConfigError) as caught:
        load(media, case.flags, case.env, config=config, secret=case.secret)
    message = str(caught.value)
    for words in case.named:
        assert words in message
    for secret in (SECRET, SHORT_SECRET, K1, K2, ADMIN_SECRET):
        assert secret not in message
    assert "\n" not in message


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_a_media_root_that_is_not_a_directory(kind: str, tmp_path: Path) -> None:
    root = tmp_path / "media"
    if kind == "a file":
        root.write_text("not a directory")
    with pytest.raises(ConfigError, match="--media-root") as caught:
        load(root)
    assert str(root) in str(caught.value)


def test_a_media_root_is_required_to_serve() -> None:
    with pytest.raises(ConfigError, match=r"media_root is required.*HLSGATE_MEDIA_ROOT"):
        load_settings({}, {"HLSGATE_JWT_SECRET": SECRET})


def _deny(monkeypatch: pytest.MonkeyPatch, denied: Path, mode: int) -> None:
    """Make ``os.access`` answer no for ``denied`` and ``mode`` (the tests may run as root, where chmod is moot)."""
    real = os.access

    def access(path: Any, wanted: int, **kwargs: Any) -> bool:
        if Path(path) == denied and wanted & mode:
            return False
        return real(path, wanted, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_an_unreadable_media_root(media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _deny(monkeypatch, media, os.R_OK)
    with pytest.raises(ConfigError, match=r"not readable.*--media-root"):
        load(media)


def test_an_unwritable_state_dir(media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    state.mkdir()
    _deny(monkeypatch, state, os.W_OK)
    with pytest.raises(ConfigError, match=r"not writable.*state_dir") as caught:
        load(media, {"state_dir": str(state)})
    assert str(state) in str(caught.value)


def test_an_unwritable_parent_of_a_new_state_dir(media: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _deny(monkeypatch, tmp_path, os.W_OK)
    with pytest.raises(ConfigError, match=r"not writable.*state_dir"):
        load(media, {"state_dir": str(tmp_path / "new" / "state")})


def test_an_unwritable_default_state_dir(media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _deny(monkeypatch, media, os.W_OK)  # .hlsgate would be created inside the media root
    with pytest.raises(ConfigError, match="state_dir"):
        load(media)


def test_a_state_dir_inside_a_file(media: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"not a directory.*state_dir"):
        load(media, {"state_dir": str(blocker / "state")})


def test_a_config_file_that_cannot_be_read(media: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the config file.*missing.toml"):
        load(media, config=tmp_path / "missing.toml")


def test_the_state_dir_is_not_checked_for_token_commands(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    load_settings({"state_dir": str(blocker / "state")}, {"HLSGATE_JWT_SECRET": SECRET}, serving=False)


# -- hlsgate serve -------------------------------------------------------------------------------------------

# Every variable the settings read, emptied (an empty variable is unset to load_settings), so that the
# environment running the tests cannot change what ``hlsgate serve`` sees.
CLEAN_ENV = {name: "" for name in (*ENV_SETTINGS, "HLSGATE_CONFIG")}


@pytest.fixture(scope="session")
def weak_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (refused on purpose)
    return write_pem(tmp_path_factory.mktemp("weak") / "weak.pem", weak)


SERVE_REFUSALS: dict[str, tuple[dict[str, str], str | None, tuple[str, ...]]] = {
    "duplicate kids": ({"HLSGATE_JWT_SECRETS": f"k1={K1},k1={K2}"}, None, ("auth.secrets",)),
    "jwks over http": ({"HLSGATE_JWT_SECRET": SECRET, "HLSGATE_JWKS_URL": "http://keys.example.com/jwks"}, None,
                       ("auth.jwks_url",)),
    "algorithm none": ({"HLSGATE_JWT_SECRET": SECRET, "HLSGATE_JWT_ALGORITHMS": "none"}, None,
                       ("auth.algorithms",)),
    "unknown key in the config file": ({"HLSGATE_JWT_SECRET": SECRET}, "[auth]\nsecert = 1\n",
                                       ("unknown setting auth.secert",)),
    "malformed config file": ({"HLSGATE_JWT_SECRET": SECRET}, "[auth\n", ("not valid TOML",)),
    "an RSA key of 1024 bits (refused when the app is built)": ({"HLSGATE_JWT_SECRET": SECRET}, "weak",
                                                                ("1024 bits", "weak.pem")),
}


@pytest.mark.parametrize(("env", "toml", "named"), SERVE_REFUSALS.values(), ids=SERVE_REFUSALS.keys())
def test_serve_with_a_bad_setting_exits_2_with_one_line(env: dict[str, str], toml: str | None,
                                                        named: tuple[str, ...], media: Path, tmp_path: Path,
                                                        weak_pem: Path) -> None:
    args = ["serve", "--media-root", str(media), "--port", "0"]
    if toml == "weak":
        env = {**env, "HLSGATE_JWT_PUBLIC_KEYS": str(weak_pem)}
    elif toml is not None:
        args += ["--config", str(write_toml(tmp_path, toml))]
    run = run_cli(*args, env={**CLEAN_ENV, **env})
    assert run.code == 2, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("hlsgate serve: error: ")
    for words in named:
        assert words in lines[0]
    for secret in (SECRET, K1, K2):
        assert secret not in run.stderr and secret not in run.stdout
    assert "Traceback" not in run.stderr
