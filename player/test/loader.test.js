import assert from "node:assert/strict";
import {describe, test} from "node:test";

import {fetchPlayerConfig, probe} from "../src/loader.js";

const SERVER = "https://media.example";
const TOKEN = "eyJh.eyJz.c2ln";
const host = (kind = "group") => ({source: {[kind]: {id: "stage", security: {jwtoken: TOKEN}}}});
const answer = (status, body) => async () => ({ok: status < 400, status,
  json: async () => (typeof body === "string" ? JSON.parse(body) : body)});

describe("the config request", () => {
  test("asks the server for the scope, with the token in the Authorization header and not in the URL", async () => {
    const requests = [];
    const config = {source: {entries: []}};
    const fetchFn = async (url, init) => {
      requests.push([url, init]);
      return answer(200, config)();
    };
    assert.deepEqual(await fetchPlayerConfig(host(), {fetchFn, defaultServer: SERVER}), config);
    const [[url, init]] = requests;
    assert.equal(url, `${SERVER}/api/v1/player-config?group=stage`);
    assert.equal(init.headers.Authorization, `Bearer ${TOKEN}`);
    assert.equal(init.credentials, "omit");
    assert.equal(init.referrerPolicy, "no-referrer");
    assert.ok(!url.includes(TOKEN));
  });

  test("without a token (\"\") there is no Authorization header", async () => {
    let headers;
    const fetchFn = async (url, init) => {
      headers = init.headers;
      return answer(200, {source: {}})();
    };
    await fetchPlayerConfig({source: {stream: {id: "s1", security: {jwtoken: ""}}}}, {fetchFn, defaultServer: SERVER});
    assert.equal("Authorization" in headers, false);
  });

  const refusals = [
    ["the server's code", answer(401, {error: "token_expired", error_description: "expired 3 s ago"}), "token_expired"],
    ["a group's forbidden", answer(403, {error: "forbidden"}), "forbidden"],
    ["a bare 404", answer(404, "not json"), "not_found"],
    ["a proxy's 502", answer(502, "<html>"), "server"],
    ["an answer that is not JSON", answer(200, "<html>"), "server"],
    ["an answer that is not an object", answer(200, [1]), "server"],
    ["no answer at all", async () => {
      throw new TypeError("Failed to fetch");
    }, "network"],
  ];
  for (const [name, fetchFn, code] of refusals) {
    test(`${name} -> ${code}`, async () => {
      await assert.rejects(fetchPlayerConfig(host(), {fetchFn, defaultServer: SERVER}), (error) => {
        assert.equal(error.code, code);
        assert.ok(!error.message.includes(TOKEN) && !error.detail.includes(TOKEN));
        return true;
      });
    });
  }

  test("forbidden for a group is worded for the group", async () => {
    await assert.rejects(fetchPlayerConfig(host(), {fetchFn: answer(403, {error: "forbidden"}), defaultServer: SERVER}),
      {message: "This token does not give access to this group."});
  });
});

describe("the native engine's probe", () => {
  test("reads the status and the server's code; null when unreachable", async () => {
    assert.deepEqual(await probe("https://m/a", {fetchFn: answer(401, {error: "token_expired"})}),
      {ok: false, status: 401, code: "token_expired", description: ""});
    assert.deepEqual(await probe("https://m/a", {fetchFn: answer(200, {})}),
      {ok: true, status: 200, code: "", description: ""});
    assert.equal(await probe("https://m/a", {fetchFn: async () => {
      throw new TypeError("offline");
    }}), null);
  });
});
