import assert from "node:assert/strict";
import {describe, test} from "node:test";

import {normaliseEntries, normaliseStreams} from "../src/config.js";
import {offersChoice, streamChoices, streamLabel} from "../src/streams.js";

const BASE = "https://media.example";
const entry = (index, stream) => ({index, label: "240p", stream,
  h5live: {server: {hls: `${BASE}/hls/${stream}/240p/index.m3u8`}}});

describe("the streams a config offers", () => {
  const entries = normaliseEntries([entry(0, "room1-alice"), entry(1, "room1-bob"), entry(2, "room1-carol")], BASE);
  const source = (live) => ({streams: [
    {id: "room1-alice", master: `${BASE}/hls/room1-alice/master.m3u8`, entries: [0], ...live[0]},
    {id: "room1-bob", master: `${BASE}/hls/room1-bob/master.m3u8`, entries: [1], ...live[1]},
    {id: "room1-carol", master: `${BASE}/hls/room1-carol/master.m3u8`, entries: [2], ...live[2]},
  ]});

  test("a room's live flags are kept: true, false, or null when the origin does not say", () => {
    const streams = normaliseStreams(source([{live: true}, {live: false}, {}]), entries, BASE);
    assert.deepEqual(streams.map((stream) => [stream.id, stream.live]),
      [["room1-alice", true], ["room1-bob", false], ["room1-carol", null]]);
  });

  test("a flag that is not a boolean is not a flag", () => {
    const streams = normaliseStreams(source([{live: "yes"}, {live: 1}, {live: null}]), entries, BASE);
    assert.deepEqual(streams.map((stream) => stream.live), [null, null, null]);
  });

  test("streams grouped from entries (no source.streams) say nothing of live", () => {
    const streams = normaliseStreams({}, entries, BASE);
    assert.deepEqual(streams.map((stream) => [stream.id, stream.live]),
      [["room1-alice", null], ["room1-bob", null], ["room1-carol", null]]);
  });

  test("the picker lists every stream in the config's order, marks the live ones and the current one", () => {
    const streams = normaliseStreams(source([{live: true}, {live: false}, {}]), entries, BASE);
    assert.deepEqual(streamChoices(streams, "room1-bob"), [
      {id: "room1-alice", label: "room1-alice (live)", live: true, current: false},
      {id: "room1-bob", label: "room1-bob", live: false, current: true},
      {id: "room1-carol", label: "room1-carol", live: null, current: false},
    ]);
  });

  test("one stream, or none, offers no choice", () => {
    assert.equal(offersChoice(streamChoices([{id: "a"}], "a")), false);
    assert.equal(offersChoice(streamChoices(null, null)), false);
    assert.equal(offersChoice(streamChoices([{id: "a"}, {id: "b"}], "a")), true);
  });

  test("a label is the id, with (live) only when the origin says live", () => {
    assert.equal(streamLabel({id: "s1", live: true}), "s1 (live)");
    assert.equal(streamLabel({id: "s1", live: false}), "s1");
    assert.equal(streamLabel({id: "s1"}), "s1");
  });
});
