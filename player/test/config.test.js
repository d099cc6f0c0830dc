import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {describe, test} from "node:test";

import {mergeConfig, needsFetch, planPlayback, validateHostConfig} from "../src/config.js";

const PAGE = "https://app.example/watch";
const SERVER = "https://media.example";
const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2In0.c2ln";

/** What setup() does with a config before it loads anything: check it, merge it with the fetched one, plan. */
function prepare(host, fetched = null) {
  validateHostConfig(host, PAGE);
  return planPlayback(mergeConfig(host, needsFetch(host) ? fetched : null, SERVER), SERVER);
}

const entry = (index, extra = {}) => ({index, label: `${index}p`,
  h5live: {server: {hls: `${SERVER}/hls/s/${index}p/index.m3u8`}}, ...extra});
const group = (security = {jwtoken: TOKEN}) => ({id: "stage", security});
const withEntries = (entries, more = {}) => ({source: {entries, ...more}});
/** A config the origin answered for a group, with these source fields. */
const fetchedWith = (source) => ({source: {group: group(), entries: [entry(0)], ...source}});

// [what is wrong, the config setup() is given, the config the origin answers (or null), words of the reason]
const BAD_CONFIGS = [
  ["no config", undefined, null, "setup() needs a config object"],
  ["a config that is a list", [], null, "setup() needs a config object"],
  ["no source", {}, null, "source is missing"],
  ["both group and stream", {source: {group: group(), stream: {id: "s", security: {jwtoken: TOKEN}}}}, null,
    "give source.group or source.stream, not both"],
  ["entries that are not a list", {source: {entries: {}}}, null, "source.entries is not a list"],
  ["a group without an id", {source: {group: {security: {jwtoken: TOKEN}}}}, null, "source.group.id is missing"],
  ["a stream that is not an object", {source: {stream: "s1"}}, null, "source.stream.id is missing"],
  ["a group id with a path in it", {source: {group: {id: "../x", security: {jwtoken: "x"}}}}, null,
    "source.group.id must be 1-64 letters, digits, '-' or '_'"],
  ["a stream id too long", {source: {stream: {id: "s".repeat(65), security: {jwtoken: TOKEN}}}}, null,
    "source.stream.id must be 1-64"],
  ["security that is not an object", {source: {group: {id: "stage", security: "T"}}}, null,
    "source.group.security is not an object"],
  ["a group without a token", {source: {group: {id: "stage"}}}, null,
    "source.group.security.jwtoken is missing: give the viewer's token"],
  ["a token with a space", {source: {stream: {id: "s1", security: {jwtoken: "a b"}}}}, null,
    "source.stream.security.jwtoken is not a token"],
  ["a token too large", {source: {group: group({jwtoken: "x".repeat(16385)})}}, null,
    "source.group.security.jwtoken is not a token"],
  ["a source with nothing to play", {source: {}}, null, "source needs a group, a stream or entries"],
  ["playback that is not an object", {source: {group: group()}, playback: true}, null, "playback is not an object"],
  ["style that is a list", {source: {group: group()}, style: []}, null, "style is not an object"],
  ["security that is a string", {source: {group: group()}, security: "x"}, null, "security is not an object"],
  ["hlsgate that is a number", {source: {group: group()}, hlsgate: 1}, null, "hlsgate is not an object"],
  ["an unknown engine", {source: {group: group()}, playback: {engine: "flash"}}, null,
    "playback.engine must be one of auto, hlsjs, native"],
  ["renewToken that is not a function", {source: {group: group()}, security: {renewToken: "T"}}, null,
    "security.renewToken is not a function"],
  ["renewUrl that is not a string", {source: {group: group()}, security: {renewUrl: {}}}, null,
    "security.renewUrl is not a URL"],
  ["hls.js settings that are not an object", {source: {group: group()}, playback: {hlsjs: 10}}, null,
    "playback.hlsjs is not an object of hls.js settings"],
  ["an empty server", {source: {group: group()}, hlsgate: {server: ""}}, null, "hlsgate.server is missing"],
  ["a server that is not a URL", {source: {group: group()}, hlsgate: {server: "http://[::1"}}, null,
    "hlsgate.server is not a URL"],
  ["a server that is not http(s)", {source: {group: group()}, hlsgate: {server: "ftp://media.example"}}, null,
    "hlsgate.server is not an http(s) URL"],
  ["no entries and no group or stream", withEntries([]), null, "source.entries is empty"],
  ["an entry that is not an object", withEntries([entry(0), null]), null, "source.entries[1] is not an object"],
  ["an entry without a URL", withEntries([{index: 0, h5live: {}}]), null,
    "source.entries[0].h5live.server.hls is missing"],
  ["an entry URL of another scheme", withEntries([{h5live: {server: {hls: "javascript:alert(1)"}}}]), null,
    "source.entries[0].h5live.server.hls is not an http(s) URL"],
  ["an entry index used twice", withEntries([entry(3), entry(3)]), null, "source.entries[1].index 3 is used twice"],
  ["a stream without an id", withEntries([entry(0)], {streams: [{master: `${SERVER}/m.m3u8`}]}), null,
    "source.streams[0].id is missing"],
  ["a stream listed twice", withEntries([entry(0)], {streams: [{id: "a", entries: [0]}, {id: "a", entries: [0]}]}),
    null, 'stream "a" is listed twice'],
  ["a master that is not http(s)", withEntries([entry(0)], {streams: [{id: "a", master: "file:///m.m3u8"}]}), null,
    "source.streams[0].master is not an http(s) URL"],
  ["a stream naming an entry that does not exist", withEntries([entry(0)], {streams: [{id: "a", entries: [0, 7]}]}),
    null, "source.streams[0].entries names entry 7, which does not exist"],
  ["a stream with nothing to play", withEntries([entry(0)], {streams: [{id: "a", entries: []}]}), null,
    "source.streams[0] has neither a master playlist nor entries"],
  ["a startIndex past the entries", withEntries([entry(0)], {startIndex: 1}), null,
    "source.startIndex is not the position of an entry"],
  ["a startIndex that is not an integer", withEntries([entry(0), entry(1)], {startIndex: "1"}), null,
    "source.startIndex is not the position of an entry"],
  ["a fetched config whose stream has a bad master", {source: {group: group()}},
    fetchedWith({streams: [{id: "a", master: "nope://x"}]}), "source.streams[0].master is not an http(s) URL"],
  ["a fetched config whose entry has no URL", {source: {group: group()}}, fetchedWith({entries: [{index: 0}]}),
    "source.entries[0].h5live.server.hls is missing"],
];

describe("every bad_config reason setup() rejects with", () => {
  const seen = [];
  for (const [name, host, fetched, reason] of BAD_CONFIGS) {
    test(name, () => {
      assert.throws(() => prepare(host, fetched), (error) => {
        assert.equal(error.code, "bad_config");
        assert.ok(error.message.startsWith("The player configuration is not valid: "), error.message);
        assert.ok(error.message.includes(reason), `${error.message} does not say "${reason}"`);
        assert.ok(error.hint);
        seen.push(error.message);
        return true;
      });
    });
  }

  test("the table has a case for every reason config.js can give", () => {
    // Each configError(...) reason of the source, its ${...} parts matching anything, must have been seen.
    const source = readFileSync(new URL("../src/config.js", import.meta.url), "utf8");
    const reasons = [...source.matchAll(/configError\((`[^`]*`|"[^"]*")\)/g)].map((match) => match[1].slice(1, -1));
    assert.ok(reasons.length >= 20, `only ${reasons.length} reasons found: has config.js changed shape?`);
    const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const reason of reasons) {
      const pattern = new RegExp(reason.split(/\$\{[^}]*\}/).map(escape).join(".+"));
      assert.ok(seen.some((message) => pattern.test(message)), `no test gives "${reason}"`);
    }
  });
});

describe("what a valid config plays", () => {
  test('"" as the token means no token (a server run with --no-auth)', () => {
    validateHostConfig({source: {group: {id: "stage", security: {jwtoken: ""}}}}, PAGE);
  });

  test("a group or stream without entries is fetched; with entries it is not", () => {
    assert.equal(needsFetch({source: {group: group()}}), true);
    assert.equal(needsFetch(withEntries([entry(0)])), false);
  });

  test("an empty group is `empty`, an empty stream `not_found`", () => {
    assert.throws(() => prepare({source: {group: group()}}, {source: {group: group(), entries: []}}),
      {code: "empty"});
    const stream = {id: "s1", security: {jwtoken: TOKEN}};
    assert.throws(() => prepare({source: {stream}}, {source: {stream, entries: []}}), {code: "not_found"});
  });

  test("a stream the origin lists with nothing published yet is `not_live`, unless it says it is not live", () => {
    const stream = {id: "s1", security: {jwtoken: TOKEN}};
    const listed = (live) => ({source: {stream, entries: [], streams: [{id: "s1", master: `${SERVER}/hls/s1/master.m3u8`,
      entries: [], live}]}});
    assert.throws(() => prepare({source: {stream}}, listed(null)), {code: "not_live"});
    assert.throws(() => prepare({source: {stream}}, listed(true)), {code: "not_live"});
    assert.throws(() => prepare({source: {stream}}, listed(false)), {code: "not_found"});
  });

  test("a fetched config without entries is the server's fault", () => {
    assert.throws(() => prepare({source: {group: group()}}, {source: {group: group()}}), {code: "server"});
  });

  test("entries are grouped into streams by their `stream`, and startIndex picks the entry", () => {
    const plan = prepare(withEntries([entry(0, {stream: "a"}), entry(1, {stream: "b"}), entry(2, {stream: "b"})],
      {startIndex: 2}));
    assert.deepEqual(plan.streams.map((stream) => [stream.id, stream.entries.map((e) => e.index)]),
      [["a", [0]], ["b", [1, 2]]]);
    assert.equal(plan.startStream.id, "b");
    assert.equal(plan.startEntry.index, 2);
  });

  test("a relative entry URL is resolved against hlsgate.server", () => {
    const plan = prepare({source: {entries: [{h5live: {server: {hls: "/hls/s/index.m3u8"}}}]},
      hlsgate: {server: "https://other.example"}});
    assert.equal(plan.entries[0].url, "https://other.example/hls/s/index.m3u8");
  });

  test("the token: the group's, else the start entry's, else any entry's", () => {
    const fetched = {source: {group: group(), entries: [entry(0)]}};
    assert.equal(prepare({source: {group: group()}}, fetched).baseToken, TOKEN);
    const tokened = (index, jwtoken) => entry(index, {h5live: {server: {hls: `${SERVER}/${index}.m3u8`},
      security: {jwtoken}}});
    assert.equal(prepare(withEntries([tokened(0, "a.b.c"), tokened(1, "d.e.f")], {startIndex: 1})).baseToken,
      "d.e.f");
    assert.equal(prepare(withEntries([entry(0), tokened(1, "d.e.f")])).baseToken, "d.e.f");
    assert.equal(prepare(withEntries([entry(0)])).baseToken, null);
  });

  test("the host's playback, style and security win over the fetched ones, and those over the defaults", () => {
    const renewToken = () => "T2";
    const host = {source: {group: group()}, playback: {muted: true}, security: {renewToken}};
    const fetched = {source: {group: group(), entries: [entry(0)]}, playback: {muted: false, autoplay: false},
      style: {displayMutedAutoplay: false}, security: {expiresAt: 5, serverTime: 1, renewBefore: 30}};
    const config = mergeConfig(host, fetched, SERVER);
    assert.deepEqual(config.playback, {autoplay: false, automute: true, muted: true});
    assert.deepEqual(config.style, {displayMutedAutoplay: false});
    assert.equal(config.security.renewToken, renewToken);
    assert.equal(config.security.expiresAt, 5);
    assert.deepEqual(config.hlsgate, {server: SERVER});
    assert.equal(config.source, fetched.source);
  });
});
