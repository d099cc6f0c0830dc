"""The OpenAPI document: valid OpenAPI 3.1, in step with the router, and true of real responses."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from hls_server.core.names import ID_PATTERN, PLAYLIST_PATTERN, SEGMENT_PATTERN
from hls_server.core.settings import load_settings
from hls_server.web.app import create_app
from hls_server.web.openapi import openapi_document
from hls_server.web.routes.player import ASSET_PATTERN, VENDOR_PATTERN

from ..conftest import ADMIN_SECRET, SECRET, STREAM, Origin, StartOrigin, make_admin_token, make_token, settings_for
from ..http import Reply, api, bearer, expect_json, fetch

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
DOC_URI = "urn:hlsgate:openapi"
JSON = "application/json"


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def pointer(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def path_parameters(doc: dict[str, Any], path: str, method: str) -> dict[str, dict[str, Any]]:
    item = doc["paths"][path]
    found = {}
    for parameter in [*item.get("parameters", []), *item[method].get("parameters", [])]:
        if "$ref" in parameter:
            parameter = pointer(doc, parameter["$ref"])
        if parameter["in"] == "path":
            schema = parameter["schema"]
            found[parameter["name"]] = pointer(doc, schema["$ref"]) if "$ref" in schema else schema
    return found


def response_schema_pointer(doc: dict[str, Any], path: str, method: str, status: int) -> str | None:
    """Where the JSON schema of a documented response lives (None: no body), following response $refs."""
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    location = f"/paths/{escape(path)}/{method}/responses/{status}"
    response = responses[str(status)]
    while "$ref" in response:
        location = response["$ref"][1:]
        response = pointer(doc, response["$ref"])
    if JSON not in response.get("content", {}):
        return None
    return f"{location}/content/{escape(JSON)}/schema"


def validator(doc: dict[str, Any], location: str) -> jsonschema.Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(doc))
    return jsonschema.Draft202012Validator({"$ref": f"{DOC_URI}#{location}"}, registry=registry)


@pytest.fixture
def app(tmp_path: Path) -> web.Application:
    return create_app(settings_for(tmp_path, tmp_path / "state"))


# -- the document itself -------------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = openapi_document()
    assert doc["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(doc).validate()
    broken = copy.deepcopy(doc)  # and the validator does catch a broken document
    del broken["paths"]["/api/v1/tokens"]["post"]["responses"]["201"]["description"]
    with pytest.raises(OpenAPIValidationError):
        OpenAPIV31SpecValidator(broken).validate()


def test_the_document_is_built_once_and_is_plain_json() -> None:
    assert openapi_document() is openapi_document()
    assert json.loads(json.dumps(openapi_document())) == openapi_document()


def test_every_reference_resolves() -> None:
    doc = openapi_document()

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = list(refs(doc))
    assert len(found) > 20
    for ref in found:
        pointer(doc, ref)  # KeyError names the dangling one


def test_security_requirements_name_defined_schemes() -> None:
    doc = openapi_document()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["adminBearer"] == {**schemes["adminBearer"], "type": "http", "scheme": "bearer",
                                      "bearerFormat": "JWT"}
    assert schemes["viewerQuery"] == {**schemes["viewerQuery"], "type": "apiKey", "in": "query", "name": "token"}
    assert schemes["adminOpenTok"] == {**schemes["adminOpenTok"], "type": "apiKey", "in": "header",
                                       "name": "X-OPENTOK-AUTH"}
    for path, method, operation in operations(doc):
        assert "security" in operation, f"{method} {path} says nothing about authentication"
        for requirement in operation["security"]:
            assert set(requirement) <= set(schemes), (path, method)
        expected = ({"adminBearer", "adminAuthorization", "adminOpenTok"} if path.startswith(("/api/", "/rest/")) else
                    {"viewerQuery", "viewerBearer"} if path.startswith(("/hls/", "/ingest/")) else set())
        if path == "/api/v1/openapi.json":
            expected = set()
        if path == "/api/v1/player-config":  # a viewer's play token, or an admin minting one
            expected = {"adminBearer", "adminAuthorization", "adminOpenTok", "viewerQuery", "viewerBearer"}
        assert {name for requirement in operation["security"] for name in requirement} == expected, path


def test_every_operation_is_described_and_uniquely_named() -> None:
    doc = openapi_document()
    ids = [operation["operationId"] for _, _, operation in operations(doc)]
    assert len(ids) == len(set(ids)) == 23
    for path, method, operation in operations(doc):
        assert operation["summary"] and operation["tags"], (path, method)
        if path.startswith(("/api/", "/rest/")) and path != "/api/v1/openapi.json":
            assert {"401", "503"} <= set(operation["responses"]), (path, method)
        if path.startswith("/hls/"):
            assert {"401", "403", "404"} <= set(operation["responses"]), (path, method)
        if "requestBody" in operation:
            assert {"400", "413"} <= set(operation["responses"]), (path, method)


def test_parameters_use_the_router_patterns() -> None:
    doc = openapi_document()
    name = f"^{ID_PATTERN}$"
    assert name == "^[A-Za-z0-9_-]{1,64}$"
    expected = {
        "/rest/v2/broadcasts/{stream}/jwt-token": {"stream": name},
        "/api/v1/groups/{group}": {"group": name},
        "/hls/{stream}/{file}": {"stream": name, "file": f"^(?:{PLAYLIST_PATTERN}|{SEGMENT_PATTERN})$"},
        "/hls/{stream}/{rendition}/{file}": {"stream": name, "rendition": name,
                                             "file": f"^(?:{PLAYLIST_PATTERN}|{SEGMENT_PATTERN})$"},
        "/ingest/{stream}/{file}": {"stream": name, "file": f"^(?:{PLAYLIST_PATTERN}|{SEGMENT_PATTERN})$"},
        "/ingest/{stream}/{rendition}/{file}": {"stream": name, "rendition": name,
                                                "file": f"^(?:{PLAYLIST_PATTERN}|{SEGMENT_PATTERN})$"},
        "/ingest/{stream}/end": {"stream": name},
        "/player/{file}": {"file": f"^{ASSET_PATTERN}$"},
        "/player/vendor/{file}": {"file": f"^{VENDOR_PATTERN}$"},
    }
    for path, method, _ in operations(doc):
        patterns = {param: schema["pattern"] for param, schema in path_parameters(doc, path, method).items()}
        assert patterns == expected.get(path, {}), (path, method)
        assert set(re.findall(r"\{([^}]*)\}", path)) == set(patterns)


def test_request_bodies_refuse_unknown_fields() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for name in ("TokenRequest", "GroupRequest"):
        assert schemas[name]["additionalProperties"] is False


# -- the document and the router -----------------------------------------------------------------------------


def test_every_route_is_documented_and_every_documented_path_is_routed(app: web.Application) -> None:
    registered = {(route.method.lower(), shape(route.resource.canonical)) for route in app.router.routes()
                  if route.method not in ("HEAD", "OPTIONS") and route.resource is not None}
    documented = {(method, shape(path)) for path, method, _ in operations(openapi_document())}
    assert documented == registered
    assert ("post", "/api/v1/tokens") in registered and ("get", "/hls/{}/{}/{}") in registered


PROBES = ["s1", "a-b_C9", "a" * 64, "a" * 65, "a.b", "..", "-", "_", "master.m3u8", "index.m3u8", "x" * 64 + ".m3u8",
          "x" * 65 + ".m3u8", "seg_00001.ts", "seg_00001.m4s", "init.mp4", "x" * 128 + ".ts", "x" * 129 + ".ts",
          "seg.mp3", "seg.TS", "a.b.ts", ".ts", "index.m3u8x", "hlsgate-player.js", "hls.min.js", "hls.js",
          "player.CSS", "package.json", "index.html"]


async def test_documented_patterns_accept_exactly_what_the_router_routes(app: web.Application) -> None:
    """For each path parameter, a probe value matches the documented pattern iff the router routes it."""
    doc = openapi_document()
    checked = 0
    for path, method, _ in operations(doc):
        parameters = path_parameters(doc, path, method)
        base = {name: schema["examples"][0] for name, schema in parameters.items()}
        for name, schema in parameters.items():
            for value in [*schema["examples"], *PROBES]:
                url = path.format(**{**base, name: value})
                match = await app.router.resolve(make_mocked_request(method.upper(), url, app=app))
                routed = match.http_exception is None and match.route.method == method.upper()
                documented = re.search(schema["pattern"], value) is not None
                assert routed == documented, (url, routed, documented)
                checked += 1
    assert checked > 100


# -- real answers against the documented schemas -------------------------------------------------------------


def _segment(origin: Origin) -> str:
    rendition = origin.settings.media_root / STREAM / "360p"
    return sorted(p.name for p in rendition.iterdir() if p.suffix == ".ts")[0]


def documented(reply: Reply, doc_path: str, method: str, expected: int) -> Any:
    """The answer has the expected status, which is documented, and its JSON body fits the documented schema."""
    doc = openapi_document()
    assert reply.status == expected, reply.text
    location = response_schema_pointer(doc, doc_path, method, reply.status)
    if location is None:
        assert reply.body == b""
        return None
    assert reply.headers["Content-Type"].split(";")[0] == JSON
    body = json.loads(reply.body)
    validator(doc, location).validate(body)
    return body


async def test_real_answers_fit_the_documented_schemas(origin: Origin) -> None:
    group = "/api/v1/groups/{group}"
    tokens = "/api/v1/tokens"
    body = documented(await api(origin, "POST", tokens, json={"stream": STREAM, "ttl": 60}), tokens, "post", 201)
    with pytest.raises(jsonschema.ValidationError):  # the check has teeth: an extra field is not documented
        validator(openapi_document(), response_schema_pointer(openapi_document(), tokens, "post", 201) or "") \
            .validate({**body, "extra": 1})
    documented(await api(origin, "POST", tokens, json={"stream": STREAM, "bogus": 1}), tokens, "post", 400)
    documented(await api(origin, "POST", tokens, headers={}, json={"stream": STREAM}), tokens, "post", 401)
    documented(await api(origin, "POST", tokens, headers=bearer(make_token()), json={"stream": STREAM}),
               tokens, "post", 401)
    admin_signed_play = make_token(ADMIN_SECRET, exp=int(time.time()) + 60)
    documented(await api(origin, "POST", tokens, headers=bearer(admin_signed_play), json={"stream": STREAM}),
               tokens, "post", 401)
    documented(await api(origin, "POST", tokens, json={"group": "nope"}), tokens, "post", 404)
    documented(await api(origin, "POST", tokens, data=b" " * (65 * 1024)), tokens, "post", 413)
    documented(await api(origin, "PUT", "/api/v1/groups/g1", json={"streams": [STREAM, "s2"]}), group, "put", 200)
    documented(await api(origin, "PUT", "/api/v1/groups/g1", json={"streams": ["bad id"]}), group, "put", 400)
    assert documented(await api(origin, "GET", "/api/v1/groups/g1"), group, "get", 200) == {
        "group": "g1", "streams": [STREAM, "s2"], "room": False}
    documented(await api(origin, "PUT", "/api/v1/groups/room1", json={"room": True}), group, "put", 200)
    documented(await api(origin, "POST", tokens, json={"room": "room1", "type": "publish"}), tokens, "post", 201)
    documented(await api(origin, "POST", tokens, json={"room": "g1"}), tokens, "post", 404)
    config = documented(await fetch(origin, "/api/v1/player-config", params={"room": "room1"}, headers=bearer()),
                        "/api/v1/player-config", "get", 200)
    assert config["source"]["group"]["room"] is True
    documented(await api(origin, "GET", "/api/v1/groups"), "/api/v1/groups", "get", 200)
    documented(await api(origin, "POST", tokens, json={"group": "g1", "type": "publish"}), tokens, "post", 201)
    streams = documented(await api(origin, "GET", "/api/v1/streams"), "/api/v1/streams", "get", 200)
    assert len(streams["streams"]) == 3
    documented(await api(origin, "DELETE", "/api/v1/groups/g1"), group, "delete", 204)
    documented(await api(origin, "GET", "/api/v1/groups/g1"), group, "get", 404)
    ant, ant_url = "/rest/v2/broadcasts/{stream}/jwt-token", f"/rest/v2/broadcasts/{STREAM}/jwt-token"
    reply = await api(origin, "GET", ant_url, headers={"Authorization": make_admin_token()},
                      params={"expireDate": str(int(time.time()) + 60), "type": "play"})
    documented(reply, ant, "get", 200)
    documented(await api(origin, "GET", ant_url, params={"expireDate": "tomorrow", "type": "play"}), ant, "get", 400)
    documented(await fetch(origin, "/healthz"), "/healthz", "get", 200)


async def test_media_answers_are_documented(origin: Origin) -> None:
    master, file = "/hls/{stream}/{file}", "/hls/{stream}/{rendition}/{file}"
    token = make_token()
    doc = openapi_document()

    def content_type(reply: Reply) -> str:
        return reply.headers["Content-Type"].split(";")[0]

    reply = await fetch(origin, f"/hls/{STREAM}/master.m3u8", token=token)
    assert reply.status == 200
    assert content_type(reply) in doc["paths"][master]["get"]["responses"]["200"]["content"]
    for url in (f"/hls/{STREAM}/360p/index.m3u8", f"/hls/{STREAM}/360p/{_segment(origin)}"):
        reply = await fetch(origin, url, token=token)
        assert reply.status == 200
        assert content_type(reply) in doc["paths"][file]["get"]["responses"]["200"]["content"]
    reply = await fetch(origin, f"/hls/{STREAM}/360p/{_segment(origin)}", token=token, headers={"Range": "bytes=0-99"})
    assert reply.status == 206
    assert content_type(reply) in doc["paths"][file]["get"]["responses"]["206"]["content"]
    documented(await fetch(origin, f"/hls/{STREAM}/master.m3u8"), master, "get", 401)
    documented(await fetch(origin, "/hls/s2/master.m3u8", token=token), master, "get", 403)
    documented(await fetch(origin, "/hls/nope/master.m3u8", token=make_token(streamId="nope")), master, "get", 404)
    expired = make_token(SECRET, exp=int(time.time()) - 3600)
    documented(await fetch(origin, f"/hls/{STREAM}/360p/{_segment(origin)}", token=expired), file, "get", 401)
    documented(await fetch(origin, f"/hls/{STREAM}/999p/index.m3u8", token=token), file, "get", 404)
    reply = await fetch(origin, f"/hls/{STREAM}/360p/{_segment(origin)}", token=token,
                        headers={"Range": "bytes=999999999-"})
    assert reply.status == 416
    assert "416" in doc["paths"][file]["get"]["responses"]


@pytest.mark.parametrize(("body", "valid"), [
    ({"stream": STREAM}, True),
    ({"stream": STREAM, "type": "publish", "ttl": 60}, True),
    ({"stream": STREAM, "ttl": 60.0}, True),
    ({"stream": STREAM, "expires_at": "soon"}, False),
    ({"stream": STREAM, "ttl": 1.5}, False),
    ({"stream": STREAM, "ttl": 0}, False),
    ({"stream": STREAM, "ttl": True}, False),
    ({"stream": STREAM, "ttl": 60, "expires_at": 2_000_000_000}, False),
    ({"stream": STREAM, "type": "admin"}, False),
    ({"stream": STREAM, "extra": 1}, False),
    ({"stream": STREAM, "group": "g1"}, False),
    ({"stream": STREAM, "room": "room1"}, False),
    ({"group": "g1", "room": "room1"}, False),
    ({"room": "room1", "type": "publish"}, True),
    ({"room": "a/b"}, False),
    ({}, False),
    ({"stream": "a/b"}, False),
    ({"stream": "a" * 65}, False),
    ([{"stream": STREAM}], False),
])
async def test_the_token_request_schema_agrees_with_the_server(origin: Origin, body: Any, valid: bool) -> None:
    doc = openapi_document()
    schema = validator(doc, "/components/schemas/TokenRequest")
    assert schema.is_valid(body) is valid
    expect_json(await api(origin, "PUT", "/api/v1/groups/room1", json={"room": True}))
    reply = await api(origin, "POST", "/api/v1/tokens", json=body)
    assert reply.status == (201 if valid else 400), reply.text


@pytest.mark.parametrize(("body", "valid"), [
    ({"streams": []}, True),
    ({"streams": [STREAM, STREAM, "s2"]}, True),
    ({"streams": STREAM}, False),
    ({"streams": ["bad id"]}, False),
    ({"streams": [1]}, False),
    ({"streams": [], "extra": 1}, False),
    ({}, False),
    ({"room": True}, True),
    ({"streams": [STREAM], "room": True}, True),
    ({"streams": [STREAM], "room": False}, True),
    ({"room": False}, False),
    ({"room": "yes"}, False),
    ({"streams": [], "room": None}, False),
])
async def test_the_group_request_schema_agrees_with_the_server(origin: Origin, body: Any, valid: bool) -> None:
    schema = validator(openapi_document(), "/components/schemas/GroupRequest")
    assert schema.is_valid(body) is valid
    reply = await api(origin, "PUT", "/api/v1/groups/g1", json=body)
    assert reply.status == (200 if valid else 400), reply.text


async def test_the_document_is_served_without_a_token(start_origin: StartOrigin, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for env in ({"HLSGATE_JWT_SECRET": SECRET, "HLSGATE_ADMIN_SECRET": ADMIN_SECRET},
                {"HLSGATE_JWT_SECRET": SECRET}):  # also when the rest of the API is off
        settings = load_settings({"media_root": str(root), "state_dir": str(tmp_path / "state")}, env)
        origin = await start_origin(settings)
        reply = await fetch(origin, "/api/v1/openapi.json")
        assert expect_json(reply) == openapi_document()
        assert reply.headers["Content-Type"].split(";")[0] == JSON
        assert "no-store" not in reply.headers.get("Cache-Control", "")
