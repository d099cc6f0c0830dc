import assert from "node:assert/strict";
import {describe, test} from "node:test";

import {chooseEngine} from "../src/engines/index.js";
import {AUTH_RETRY_LIMIT, hlsConfig, withRetryHook} from "../src/engines/hlsjs.js";
import {entryLevels, findQuality, hlsLevels, normaliseQuality} from "../src/levels.js";
import {swapToken} from "../src/token-url.js";
import {statusText} from "../src/ui.js";

const DEFAULTS = {
  manifestLoadPolicy: {default: {maxTimeToFirstByteMs: 10000, errorRetry: {maxNumRetry: 1, retryDelayMs: 1000}}},
  playlistLoadPolicy: {default: {errorRetry: {maxNumRetry: 2}}},
  fragLoadPolicy: {default: {}},
  keyLoadPolicy: undefined,
};

describe("the settings hls.js is given", () => {
  const rewrite = (url) => `${url}#rewritten`;
  const shouldRetry = () => true;

  test("the host's settings apply, but not over debug, the start position or the request hooks", () => {
    const settings = hlsConfig({defaults: DEFAULTS, startPosition: 12, rewrite, shouldRetry,
      extra: {maxBufferLength: 2, debug: true, startPosition: 99, xhrSetup: () => {}, loader: undefined}});
    assert.equal(settings.maxBufferLength, 2);
    assert.equal(settings.maxMaxBufferLength, 60);
    assert.equal(settings.debug, false); // hls.js's logs print URLs, and those carry the token
    assert.equal(settings.startPosition, 12);
    assert.equal("loader" in settings, false);
    const opened = [];
    settings.xhrSetup({open: (...args) => opened.push(args)}, "https://m.example/a.ts?token=x");
    assert.deepEqual(opened, [["GET", "https://m.example/a.ts?token=x#rewritten", true]]);
  });

  test("every load policy keeps hls.js's own values and gets the retry hook", () => {
    const settings = hlsConfig({defaults: DEFAULTS, extra: {}, startPosition: -1, rewrite, shouldRetry});
    for (const name of ["manifestLoadPolicy", "playlistLoadPolicy", "fragLoadPolicy", "keyLoadPolicy"]) {
      assert.equal(settings[name].default.errorRetry.shouldRetry, shouldRetry, name);
    }
    assert.equal(settings.manifestLoadPolicy.default.maxTimeToFirstByteMs, 10000);
    assert.equal(settings.playlistLoadPolicy.default.errorRetry.maxNumRetry, 2);
    assert.deepEqual(withRetryHook(undefined, shouldRetry).default.errorRetry,
      {maxNumRetry: 0, retryDelayMs: 1000, maxRetryDelayMs: 8000, shouldRetry});
    assert.ok(AUTH_RETRY_LIMIT >= 1);
  });
});

describe("a live stream's reloads after a renewal", () => {
  test("the next playlist reload and the segments it lists carry the renewed token, with no reload of the player", () => {
    // hls.js reloads a live media playlist every target duration by the URL the master gave (holding the token
    // the master was asked with); each reload and each segment goes through xhrSetup, which reads the token now.
    const origin = "https://m.example";
    let current = "old.t.k";
    const settings = hlsConfig({defaults: DEFAULTS, extra: {}, startPosition: -1, shouldRetry: () => true,
      rewrite: (url) => swapToken(url, current, origin)});
    const opened = [];
    const request = (url) => settings.xhrSetup({open: (method, sent) => opened.push(sent)}, url);
    const reload = `${origin}/hls/live/360p/index.m3u8?token=old.t.k`;
    request(reload);
    current = "new.t.k"; // renewed between two reloads
    request(reload);
    request(`${origin}/hls/live/360p/seg_00007.ts?token=old.t.k`); // listed by a playlist fetched before
    request(`${origin}/hls/live/360p/seg_00008.ts?token=new.t.k`);
    assert.deepEqual(opened, [reload, `${origin}/hls/live/360p/index.m3u8?token=new.t.k`,
      `${origin}/hls/live/360p/seg_00007.ts?token=new.t.k`, `${origin}/hls/live/360p/seg_00008.ts?token=new.t.k`]);
    const fetched = settings.fetchSetup({url: reload}, {});
    assert.equal(fetched.url, `${origin}/hls/live/360p/index.m3u8?token=new.t.k`);
  });
});

describe("which engine plays", () => {
  const video = (native) => ({canPlayType: (type) => (native && type === "application/vnd.apple.mpegurl" ? "maybe" : "")});
  const Hls = (supported) => Object.assign(function FakeHls() {}, {isSupported: () => supported});

  test("auto: hls.js where it runs, else the browser's own HLS", () => {
    assert.equal(chooseEngine("auto", {Hls: Hls(true), video: video(true)}), "hlsjs");
    assert.equal(chooseEngine("auto", {Hls: Hls(false), video: video(true)}), "native");
    assert.equal(chooseEngine("auto", {Hls: undefined, video: video(true)}), "native");
  });
  test("a browser with neither, or without the engine asked for, is unsupported", () => {
    assert.throws(() => chooseEngine("auto", {Hls: Hls(false), video: video(false)}), {code: "unsupported"});
    assert.throws(() => chooseEngine("hlsjs", {Hls: undefined, video: video(true)}), {code: "unsupported"});
    assert.throws(() => chooseEngine("native", {Hls: Hls(true), video: video(false)}), {code: "unsupported"});
  });
});

describe("levels", () => {
  const entry = (index, height, bitrate, label = `${height}p`) => ({index, label, info: {height, bitrate, width: null}});
  const entries = [entry(0, 240, 400), entry(1, 720, 2800, "HD"), entry(2, 360, 800)];

  test("entries are listed highest first, bitrates in bit/s", () => {
    assert.deepEqual(entryLevels(entries).map((level) => [level.index, level.label, level.bitrate]),
      [[1, "HD", 2800000], [2, "360p", 800000], [0, "240p", 400000]]);
  });
  test("hls.js levels take the label of the entry of the same height, and twins get their bitrate", () => {
    const levels = hlsLevels([{height: 360, bitrate: 800000}, {height: 720, bitrate: 2700000},
      {height: 480, bitrate: 1200000}, {height: 480, bitrate: 1500000}, {bitrate: 64000}], entries);
    assert.deepEqual(levels.map((level) => [level.index, level.label]),
      [[1, "HD"], [3, "480p · 1.5 Mbps"], [2, "480p · 1.2 Mbps"], [0, "360p"], [4, "64 kbps"]]);
  });
  test("playback.quality names a level by label or height", () => {
    assert.equal(normaliseQuality("auto"), null);
    assert.equal(normaliseQuality(720), "720p");
    assert.equal(normaliseQuality(" 360 "), "360p");
    assert.equal(normaliseQuality("HD"), "HD");
    const height = (candidate) => candidate.info.height;
    assert.equal(findQuality(entries, "HD", height).index, 1);
    assert.equal(findQuality(entries, "720p", height).index, 1);
    assert.equal(findQuality(entries, "1080p", height), null);
    assert.equal(findQuality(entries, null, height), null);
  });
});

describe("the status line", () => {
  test("says what plays, and that the engine chooses", () => {
    assert.equal(statusText({state: "playing", label: "720p", auto: true}), "Playing · 720p · Auto");
    assert.equal(statusText({state: "playing", label: "720p"}), "Playing · 720p");
    assert.equal(statusText({state: "ready", label: ""}), "Ready");
    assert.equal(statusText({state: "buffering"}), "Buffering…");
  });
  test("reconnecting and notes yield to an error, which shows its message", () => {
    assert.equal(statusText({state: "playing", reconnecting: true, note: "Token renewed"}), "Reconnecting…");
    assert.equal(statusText({state: "paused", note: "Token renewed"}), "Token renewed");
    assert.equal(statusText({state: "error", reconnecting: true, error: {message: "Your access has expired."}}),
      "Your access has expired.");
  });
});
