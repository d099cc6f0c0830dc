import assert from "node:assert/strict";
import {describe, test} from "node:test";

import {Code, isRetryable, messages, playerError} from "../src/errors.js";
import {LiveEvent, LiveState, LiveTracker, isLiveState, liveError, nextLiveState} from "../src/live.js";

const playlist = (live) => ({type: LiveEvent.PLAYLIST, live});
const GONE = {type: LiveEvent.GONE};
const MEDIA_ENDED = {type: LiveEvent.MEDIA_ENDED};

/** The state after feeding `events` from unknown. */
function run(events, options) {
  return events.reduce((state, event) => nextLiveState(state, event, options), LiveState.UNKNOWN);
}

describe("the live state machine", () => {
  test("a playlist without ENDLIST is live, and stays live across reloads", () => {
    assert.equal(run([playlist(true)]), LiveState.LIVE);
    assert.equal(run([playlist(true), playlist(true), playlist(true)]), LiveState.LIVE);
  });

  test("a playlist with ENDLIST from the first load is a VOD, and stays one", () => {
    assert.equal(run([playlist(false)]), LiveState.VOD);
    assert.equal(run([playlist(false), MEDIA_ENDED]), LiveState.VOD);
    assert.equal(run([playlist(false), GONE]), LiveState.VOD); // a missing VOD is the plain not_found
  });

  test("ENDLIST in a live playlist: the tail still plays, the end of the media ends the stream", () => {
    assert.equal(run([playlist(true), playlist(false)]), LiveState.ENDING);
    assert.equal(run([playlist(true), playlist(false), playlist(false)]), LiveState.ENDING);
    assert.equal(run([playlist(true), playlist(false), MEDIA_ENDED]), LiveState.ENDED);
  });

  test("a live playlist that stops being served (404 after hls.js's retries) ended", () => {
    assert.equal(run([playlist(true), GONE]), LiveState.ENDED);
    assert.equal(run([playlist(true), playlist(false), GONE]), LiveState.ENDED);
  });

  test("ended is final", () => {
    assert.equal(run([playlist(true), GONE, playlist(true)]), LiveState.ENDED);
    assert.equal(run([playlist(true), GONE, GONE, MEDIA_ENDED]), LiveState.ENDED);
  });

  test("a 404 before any playlist is a live stream that has not started, unless the config says it is not live", () => {
    assert.equal(run([GONE]), LiveState.WAITING);
    assert.equal(run([GONE], {expectLive: true}), LiveState.WAITING);
    assert.equal(run([GONE], {expectLive: null}), LiveState.WAITING);
    assert.equal(run([GONE], {expectLive: false}), LiveState.UNKNOWN);
    assert.equal(run([GONE, GONE]), LiveState.WAITING);
  });

  test("a waiting stream that starts is live", () => {
    assert.equal(run([GONE, playlist(true)]), LiveState.LIVE);
    assert.equal(run([GONE, playlist(false)]), LiveState.VOD);
  });

  test("an unknown event changes nothing", () => {
    assert.equal(nextLiveState(LiveState.LIVE, {type: "other"}), LiveState.LIVE);
  });

  test("only a live stream shows the LIVE badge", () => {
    assert.deepEqual(Object.values(LiveState).filter(isLiveState), [LiveState.LIVE]);
  });

  test("the tracker reports changes only", () => {
    const tracker = new LiveTracker({expectLive: true});
    assert.equal(tracker.state, LiveState.UNKNOWN);
    assert.equal(tracker.feed(playlist(true)), true);
    assert.equal(tracker.feed(playlist(true)), false);
    assert.equal(tracker.feed(playlist(false)), true);
    assert.equal(tracker.state, LiveState.ENDING);
    assert.equal(tracker.feed(MEDIA_ENDED), true);
    assert.equal(tracker.state, LiveState.ENDED);
  });
});

describe("the words of the live states", () => {
  test("an ended stream says so, in words, with a way to look again", () => {
    const error = liveError(LiveState.ENDED);
    assert.equal(error.code, Code.ENDED);
    assert.equal(error.message, "The stream has ended.");
    assert.ok(error.hint);
    assert.ok(isRetryable(Code.ENDED));
  });

  test("a stream not live yet says so, and is retried", () => {
    const error = liveError(LiveState.WAITING);
    assert.equal(error.code, Code.NOT_LIVE);
    assert.equal(error.message, "This stream is not live yet.");
    assert.match(error.hint, /checks again/);
    assert.ok(isRetryable(Code.NOT_LIVE));
  });

  test("the states that play have no error", () => {
    for (const state of [LiveState.UNKNOWN, LiveState.LIVE, LiveState.ENDING, LiveState.VOD]) {
      assert.equal(liveError(state), null, state);
    }
  });

  test("ended, not live, a network failure, a missing stream and an expired token each have their own words", () => {
    const codes = [Code.ENDED, Code.NOT_LIVE, Code.NETWORK, Code.NOT_FOUND, Code.TOKEN_EXPIRED, Code.TOKEN_INVALID];
    const words = codes.map((code) => playerError(code).message);
    assert.equal(new Set(words).size, codes.length, words.join(" | "));
    assert.equal(messages[Code.ENDED].message, "The stream has ended.");
  });
});
