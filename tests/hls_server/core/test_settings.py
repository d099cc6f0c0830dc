"""Settings: every row of the table given each way (TOML < environment < flags), every refusal naming its setting
and where its value came from (and never a secret), derived defaults and cross-setting checks, ``hlsgate serve``'s
flags and docs/origin.md generated from the same table, and a bad setting turning ``hlsgate serve`` into exit
code 2 and one line on stderr.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hls_server.cli import build_parser, serve_flags
from hls_server.core.errors import ConfigError
from hls_server.core.settings import (
    CONFIG_ENV,
    DEFAULT_ADMIN_MAX_LIFETIME,
    DEFAULT_LEEWAY_SECONDS,
    ENV_SETTINGS,
    MAX_LEEWAY_SECONDS,
    MIN_HMAC_SECRET_BYTES,
    SETTINGS,
    STATE_DIR_NAME,
    Kind,
    Setting,
    Settings,
    load_settings,
    markdown_table,
)
from tests.conftest import REPO, run_cli

from ..conftest import ADMIN_SECRET, SECRET

SHORT_SECRET = secrets.token_hex(16)[:MIN_HMAC_SECRET_BYTES - 1]  # 31 bytes
K1 = secrets.token_urlsafe(40)
K2 = secrets.token_urlsafe(40)
A1 = secrets.token_urlsafe(40)
A2 = secrets.token_urlsafe(40)
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


# -- every row of the table, every way it can be given ---------------------------------------------------------
#
# Parametrised over SETTINGS itself: a new row is given in the file, the environment and (if it has one) its flag
# without a line here. A row's example is a valid value unlike its default; secrets get fresh ones.

ROWS = {row.name: row for row in SETTINGS}
# A kid must name a secret of the baseline below; any other row's second value is derived from its kind.
SECOND_VALUES: dict[str, object] = {"auth.signing_kid": "k1", "admin.signing_kid": "a1"}


def secret_value(row: Setting) -> object:
    if row.kind is Kind.SECRETS:
        return {kid: secrets.token_urlsafe(40) for kid in (("k1", "k2") if row.name.startswith("auth.") else ("a1", "a2"))}
    return secrets.token_urlsafe(40)


def first_value(row: Setting) -> object:
    return secret_value(row) if row.secret else row.example


def second_value(row: Setting, first: object) -> object:
    """A second valid value for ``row``, unlike ``first``: its default where it has one."""
    if row.name in SECOND_VALUES:
        return SECOND_VALUES[row.name]
    if row.secret:
        return secret_value(row)
    if row.default not in (None, ()):
        return row.default
    if row.kind in (Kind.INT, Kind.FLOAT):
        assert isinstance(first, int | float)
        return first + 1
    if row.kind is Kind.STRINGS:
        assert isinstance(first, tuple) and len(first) > 1
        return first[:1]
    if row.kind is Kind.PATHS:
        assert isinstance(first, tuple)
        return tuple(f"{p}-2" for p in first)
    assert isinstance(first, str), row.name
    return f"{first}-2" if row.kind is Kind.PATH else f"{first}2"


@dataclass
class Ground:
    """A folder where every row's example is valid: the files its paths name, and a baseline of flags with keys
    of every type for both kinds of token (without the row under test, which the test gives itself)."""

    root: Path
    pem: bytes

    def baseline(self, without: str) -> dict[str, Any]:
        base: dict[str, Any] = {
            "media_root": str(self.place(ROWS["media_root"], "/base-media")),
            "auth.secrets": {"k1": K1, "k2": K2},
            "admin.secrets": {"a1": A1, "a2": A2},
            "auth.public_keys": self.place(ROWS["auth.public_keys"], ("/base/auth.pem",)),
            "admin.public_keys": self.place(ROWS["admin.public_keys"], ("/base/admin.pem",)),
        }
        base.pop(without, None)
        return base

    def place(self, row: Setting, value: Any) -> Any:
        """A path value moved under the test's folder, and what it names created: a folder holding an index.html
        (a media root, a state directory and a player folder alike), or PEM files."""
        if row.kind is Kind.PATH:
            folder = self.root / str(value).lstrip("/")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "index.html").write_text("<!doctype html>")
            return str(folder)
        if row.kind is Kind.PATHS:
            files = tuple(str(self.root / str(p).lstrip("/")) for p in value)
            for file in files:
                Path(file).parent.mkdir(parents=True, exist_ok=True)
                Path(file).write_bytes(self.pem)
            return files
        return value

    def toml(self, *names_and_values: tuple[str, Any]) -> Path:
        lines = []
        for name, value in names_and_values:
            table, _, key = name.rpartition(".")
            lines += [f"[{table}]" if table else "", f"{key} = {toml_value(value)}"]
        path = self.root / "hlsgate.toml"
        path.write_text("\n".join(lines) + "\n")
        return path


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))  # a TOML basic string, for the ASCII used here


def env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def argv_for(row: Setting, value: Any) -> list[str]:
    """``hlsgate serve`` arguments giving ``row`` the value ``value``."""
    assert row.flag is not None
    if row.kind is Kind.BOOL:
        assert value == row.flag_value, f"{row.flag} can only set {row.name} to {row.flag_value}"
        return [row.flag]
    if isinstance(value, tuple | list):
        return [arg for item in value for arg in (row.flag, str(item))]
    return [row.flag, str(value)]


@pytest.fixture
def ground(tmp_path: Path, ec_pem: Path) -> Ground:
    return Ground(tmp_path, ec_pem.read_bytes())


def parametrise_rows(rows: Iterable[Setting] = SETTINGS) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("row", list(rows), ids=lambda row: row.name)


@parametrise_rows()
def test_each_way_of_giving_a_setting_gives_the_same_settings(row: Setting, ground: Ground) -> None:
    value = ground.place(row, first_value(row))
    base = ground.baseline(without=row.name)
    expected = load_settings({**base, row.name: value}, {})  # that the value changes something: the next test
    assert load_settings(base, {}, ground.toml((row.name, value))) == expected
    assert load_settings(base, {row.env: env_value(value)}) == expected
    if row.flag is not None:
        args = build_parser().parse_args(["serve", *argv_for(row, value)])
        given = {name: v for name, v in serve_flags(args).items() if v is not None}
        assert given.keys() == {row.name}
        assert load_settings({**base, **given}, {}) == expected


@parametrise_rows()
def test_flags_win_over_the_environment_which_wins_over_the_file(row: Setting, ground: Ground) -> None:
    first = ground.place(row, first_value(row))
    second = ground.place(row, second_value(row, first))
    base = ground.baseline(without=row.name)
    with_first, with_second = load_settings({**base, row.name: first}, {}), load_settings({**base, row.name: second}, {})
    assert with_first != with_second, f"{row.name} changes nothing"
    config = ground.toml((row.name, first))
    assert load_settings(base, {}, config) == with_first
    assert load_settings(base, {row.env: env_value(second)}, config) == with_second
    assert load_settings({**base, row.name: first}, {row.env: env_value(second)}, config) == with_first
    assert load_settings({**base, row.name: second}, {}, config) == with_second


# Values of the wrong type, as TOML text and as environment strings (a string is a fine string, a path, a list).
BAD_TOML: dict[Kind, tuple[str, ...]] = {
    Kind.STR: ("5", '["a"]'), Kind.CHOICE: ('"xml"', "5"), Kind.PATH: ("5", "true"),
    Kind.INT: ('"many"', "1.5", "true", "[1]"), Kind.FLOAT: ('"soon"', "true", "nan", "inf", '"-inf"'),
    Kind.BOOL: ('"maybe"', "1"), Kind.STRINGS: ("256", "[1]", '{ a = "b" }'), Kind.PATHS: ("256", "[1]"),
    Kind.SECRETS: ('["a", "b"]', '"k1"', "{ k1 = 5 }", '{ "" = "x" }'),
}
BAD_ENV: dict[Kind, tuple[str, ...]] = {
    Kind.STR: (), Kind.CHOICE: ("xml", "TEXT"), Kind.PATH: (), Kind.INT: ("many", "1.5", "0x10"),
    Kind.FLOAT: ("soon", "nan", "inf", "1,5"), Kind.BOOL: ("maybe", "2"), Kind.STRINGS: (), Kind.PATHS: (),
    Kind.SECRETS: ("k1", f"k1={K1},={K2}", f"k1={K1},k1={K2}"),
}


def bad_values(row: Setting) -> list[tuple[str, str]]:
    """(where, value) pairs that ``row`` refuses: type errors, values beyond its bounds, short secrets."""
    bad = [("toml", text) for text in BAD_TOML[row.kind]] + [("env", text) for text in BAD_ENV[row.kind]]
    for bound, step in ((row.low, -1), (row.high, 1)):
        if bound is not None:
            beyond = bound + step * (1 if row.kind is Kind.INT else 0.5)
            bad += [("toml", toml_value(beyond)), ("env", str(beyond))]
    if row.secret:
        short = SHORT_SECRET if row.kind is Kind.STR else f"k1={K1},k2={SHORT_SECRET}"
        bad += [("env", short), ("toml", toml_value(short if row.kind is Kind.STR else {"k1": SHORT_SECRET}))]
    return bad


@pytest.mark.parametrize(("row", "where", "value"), [
    pytest.param(row, where, value, id=f"{row.name}-{where}-{value}") for row in SETTINGS
    for where, value in bad_values(row)])
def test_a_bad_value_names_the_setting_and_where_it_came_from(row: Setting, where: str, value: str,
                                                                ground: Ground) -> None:
    base = ground.baseline(without=row.name)
    config = ground.root / "bad.toml"
    table, _, key = row.name.rpartition(".")
    config.write_text((f"[{table}]\n" if table else "") + f"{key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        if where == "toml":
            load_settings(base, {}, config)
        else:
            load_settings(base, {row.env: value})
    message = str(caught.value)
    assert row.name in message
    assert (str(config) if where == "toml" else row.env) in message
    for secret in (K1, K2, A1, A2, SHORT_SECRET):
        assert secret not in message
    assert "\n" not in message


def test_every_kind_has_bad_values() -> None:
    assert set(BAD_TOML) == set(BAD_ENV) == set(Kind)


# -- the table itself ----------------------------------------------------------------------------------------

# The variables users already have: they keep working.
EXISTING_VARIABLES = {
    "HLSGATE_MEDIA_ROOT": "media_root", "HLSGATE_STATE_DIR": "state_dir", "HLSGATE_HOST": "host",
    "HLSGATE_PORT": "port", "HLSGATE_LOG_FORMAT": "log_format", "HLSGATE_CORS_ORIGINS": "cors_origins",
    "HLSGATE_JWT_SECRET": "auth.secret", "HLSGATE_JWT_SECRETS": "auth.secrets",
    "HLSGATE_JWT_SIGNING_KID": "auth.signing_kid", "HLSGATE_JWKS_URL": "auth.jwks_url",
    "HLSGATE_JWT_PUBLIC_KEYS": "auth.public_keys", "HLSGATE_JWT_ALGORITHMS": "auth.algorithms",
    "HLSGATE_JWT_AUDIENCE": "auth.audience", "HLSGATE_JWT_ISSUER": "auth.issuer",
    "HLSGATE_ADMIN_SECRET": "admin.secret", "HLSGATE_ADMIN_JWKS_URL": "admin.jwks_url",
    "HLSGATE_PUBLIC_URL": "public_url", "HLSGATE_PLAYER_DIR": "player.dir",
    "HLSGATE_PLAYER_RENEW_URL": "player.renew_url",
}


def test_existing_variables_keep_their_settings_and_the_others_follow_the_rule() -> None:
    assert EXISTING_VARIABLES.items() <= ENV_SETTINGS.items()
    for row in SETTINGS:
        if row.env not in EXISTING_VARIABLES:
            assert row.env == "HLSGATE_" + row.name.upper().replace(".", "_")
    assert len(ENV_SETTINGS) == len(ROWS) == len(SETTINGS)
    assert CONFIG_ENV not in ENV_SETTINGS


@parametrise_rows(row for row in SETTINGS if row.secret)
def test_secrets_have_no_flag(row: Setting) -> None:
    assert row.flag is None
    with pytest.raises(ValueError, match="ps"):
        replace(row, flag="--" + row.name.replace(".", "-"))


def test_a_table_of_secrets_is_always_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        Setting("x.secrets", Kind.SECRETS, "keys")


def test_the_admin_settings_mirror_the_viewer_key_settings() -> None:
    viewer = {name.partition(".")[2] for name in ROWS if name.startswith("auth.")}
    admin = {name.partition(".")[2] for name in ROWS if name.startswith("admin.")}
    keys = {"secret", "secrets", "signing_kid", "public_keys", "jwks_url", "algorithms", "audience", "issuer",
            "leeway", "max_lifetime"}
    assert keys <= viewer & admin
    assert admin - viewer == {"scope"}  # admin tokens always need exp: no admin.require_exp


# -- hlsgate serve's flags -----------------------------------------------------------------------------------

FLAG_ROWS = [row for row in SETTINGS if row.flag]
NOT_SETTINGS = {"command", "handler", "verbose", "config"}  # what else a parsed `hlsgate serve` holds


def test_every_serve_flag_is_a_row_and_every_row_flag_is_a_serve_flag() -> None:
    args = build_parser().parse_args(["serve"])
    assert set(vars(args)) - NOT_SETTINGS == {row.name for row in FLAG_ROWS}
    assert serve_flags(args) == {row.name: None for row in FLAG_ROWS}  # an unused flag leaves the layers below
    assert {row.flag for row in FLAG_ROWS} == {"--media-root", "--state-dir", "--host", "--port", "--log-format",
                                               "--no-access-log", "--cors-origin", "--no-auth",
                                               "--no-publish-auth"}


def test_serve_help_lists_every_flag_with_its_variable() -> None:
    run = run_cli("serve", "--help", env={"COLUMNS": "250"})
    assert run.code == 0, run.stderr
    listed = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", run.stdout)) - {"--help", "--config"}
    assert listed == {row.flag for row in FLAG_ROWS}
    blocks = re.split(r"\n(?=  -)", run.stdout.split("options:", 1)[1])
    options = {block.split()[0]: block for block in blocks if block.strip()}
    for row in FLAG_ROWS:
        assert row.env in options[row.flag], options[row.flag]
    assert "ps" in run.stdout  # why the secrets are not there


def test_serve_flags_parse_to_their_values() -> None:
    args = build_parser().parse_args(["serve", "--media-root", "m", "--port", "0", "--cors-origin", "https://a.example",
                                      "--cors-origin", "https://b.example", "--no-auth", "--no-access-log"])
    assert serve_flags(args) == {"media_root": "m", "state_dir": None, "host": None, "port": 0, "log_format": None,
                                 "access_log": False, "cors_origins": ["https://a.example", "https://b.example"],
                                 "auth.play": False, "auth.publish": None}


@pytest.mark.parametrize("argv", [["--port", "http"], ["--log-format", "xml"], ["--jwt-secret", "x"],
                                  ["--auth.secret", "x"]])
def test_serve_refuses_bad_or_unknown_flags(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["serve", *argv])
    assert caught.value.code == 2
    assert argv[0] in capsys.readouterr().err


# -- docs/origin.md ------------------------------------------------------------------------------------------

DOCS = REPO / "docs" / "origin.md"
TABLE_START = "<!-- settings table: generated by `python -m hls_server.core.settings`, checked by tests/hls_server/core/test_settings.py -->\n"
TABLE_END = "<!-- end of the settings table -->\n"


def test_the_docs_table_is_the_settings_table() -> None:
    text = DOCS.read_text()
    assert TABLE_START in text and TABLE_END in text
    documented = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    assert documented == markdown_table(), "regenerate the table in docs/origin.md: python -m hls_server.core.settings"
    for row in SETTINGS:
        assert f"| `{row.name}` |" in documented and row.env in documented


# -- layering details ----------------------------------------------------------------------------------------


def test_an_unknown_name_in_the_flags_is_refused(media: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown setting auth\.secert"):
        load(media, {"auth.secert": K1})


def test_a_bad_value_in_a_lower_layer_is_replaced_not_read(media: Path, tmp_path: Path) -> None:
    config = write_toml(tmp_path, 'port = "http"')
    assert load(media, {"port": 9000}, {"HLSGATE_PORT": "many"}, config=config).port == 9000


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
        signing_kid = "a2"
        max_lifetime = 120
        audience = "hlsgate-admin"
        issuer = "issuer.example"
        scope = "hlsgate:admin"
        leeway = 2
        [admin.secrets]
        a1 = "{A1}"
        a2 = "{A2}"
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
    assert [(x.kid, x.secret) for x in s.admin.secrets] == [("a1", A1.encode()), ("a2", A2.encode())]
    assert s.admin.signing_secret is not None and s.admin.signing_secret.kid == "a2"
    assert (s.admin.audience, s.admin.issuer, s.admin.scope, s.admin.leeway) == \
        ("hlsgate-admin", "issuer.example", "hlsgate:admin", 2)
    assert s.viewer.scope is None
    assert (s.default_token_ttl, s.max_token_ttl) == (60, 600)
    assert (s.access_log, s.playlist_revalidate) == (False, 0.25)


def test_admin_secrets_rotate_by_kid_from_the_environment(media: Path) -> None:
    s = load(media, env={"HLSGATE_ADMIN_SECRETS": f"a1={A1},a2={A2}", "HLSGATE_ADMIN_SIGNING_KID": "a1"})
    assert [x.kid for x in s.admin.secrets] == ["a1", "a2"]
    assert s.admin.signing_secret is not None and s.admin.signing_secret.secret == A1.encode()
    assert s.admin.algorithms == ("HS256",)


# -- derived defaults ----------------------------------------------------------------------------------------


def test_defaults(media: Path) -> None:
    s = load(media)
    assert (s.viewer.scope, s.admin.scope, s.admin.audience, s.admin.issuer) == (None, None, None, None)
    assert (s.host, s.port, s.log_format, s.access_log, s.cors_origins) == ("127.0.0.1", 8080, "text", True, ("*",))
    assert s.state_dir == media / STATE_DIR_NAME
    assert s.auth_play
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
    assert not load(media, {"auth.play": False}, secret=False).auth_play
    assert not load(media, {"auth.play": "off"}, secret=False).auth_play


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
    "admin secrets share one with the viewer": _r("HLSGATE_ADMIN_SECRETS", "differ",
                                                   env={"HLSGATE_JWT_SECRETS": f"k1={K1}",
                                                        "HLSGATE_ADMIN_SECRETS": f"a1={A1},a2={K1}"}),
    "unknown admin signing kid": _r("admin.signing_kid", "'a3'", env={"HLSGATE_ADMIN_SECRETS": f"a1={A1}",
                                                                    "HLSGATE_ADMIN_SIGNING_KID": "a3"}),
    "admin HS256 without an admin secret": _r("admin.algorithms", "HS256", "secret",
                                              env={"HLSGATE_ADMIN_JWKS_URL": JWKS, "HLSGATE_ADMIN_ALGORITHMS": "HS256"}),
    "admin public key file missing": _r("admin.public_keys", "nowhere.pem",
                                        toml='[admin]\npublic_keys = ["/nonexistent/nowhere.pem"]'),
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
    "auth.play not a boolean": _r("auth.play", toml='[auth]\nplay = "maybe"'),
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
    for secret in (SECRET, SHORT_SECRET, K1, K2, A1, A2, ADMIN_SECRET):
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


SHARED_JWKS = "https://id.example.com/.well-known/jwks.json"


@pytest.mark.parametrize(("extra", "refused"), [
    ({}, True),
    ({"admin.audience": "hlsgate-admin"}, False),
    ({"admin.issuer": "https://admin-id.example.com"}, False),
    ({"admin.scope": "hlsgate:admin"}, False),
    ({"admin.audience": "players", "auth.audience": "players"}, True),  # the viewers' own audience tells nothing
])
def test_admin_keys_shared_with_viewers_need_something_to_tell_admins_apart(tmp_path: Path, extra: dict[str, str],
                                                                           refused: bool) -> None:
    """Whatever an admin key verifies is an admin token: with one issuer for both, every viewer would be an admin."""
    flags = {"media_root": str(tmp_path), "auth.jwks_url": SHARED_JWKS, "admin.jwks_url": SHARED_JWKS, **extra}
    if refused:
        with pytest.raises(ConfigError, match="admin keys are also the viewer keys"):
            load_settings(flags, {})
    else:
        assert load_settings(flags, {}).admin.jwks_url == SHARED_JWKS


def test_play_and_publish_auth_are_switched_separately(media: Path) -> None:
    s = load(media)
    assert (s.auth_play, s.auth_publish) == (True, True)
    assert (s.ingest.max_segment_bytes, s.ingest.max_playlist_bytes) == (64 << 20, 1 << 20)
    assert (s.ingest.body_timeout, s.ingest.end_after) == (10.0, 3.0)
    open_play = load(media, {"auth.play": False}, secret=False)  # no key needed: ingest then answers 503
    assert (open_play.auth_play, open_play.auth_publish, open_play.viewer.configured) == (False, True, False)
    assert not load(media, env={"HLSGATE_AUTH_PUBLISH": "off"}).auth_publish
    with pytest.raises(ConfigError, match="no key to check viewer tokens"):
        load(media, {"auth.publish": False}, secret=False)  # playback is still secured


def test_the_old_auth_enabled_variable_still_means_auth_play(media: Path) -> None:
    assert not load(media, env={"HLSGATE_AUTH_ENABLED": "false"}, secret=False).auth_play
    assert load(media, env={"HLSGATE_AUTH_ENABLED": "false", "HLSGATE_AUTH_PLAY": "true"}).auth_play
