import assert from "node:assert/strict";
import {describe, test} from "node:test";

import {
  AUTH_CODES, Code, PlayerError, SERVER_CODES, codeForStatus, configError, errorForAnswer, messages, playerError,
} from "../src/errors.js";

const INVALID = "This access token is not valid.";
const DID_NOT_UNDERSTAND = "The video server did not understand the request.";

/** What the viewer reads for each code of the origin's JSON answers (hls_server/errors.py, app.py). */
const SERVER_ANSWERS = {
  token_missing: [401, "This stream needs an access token."],
  token_invalid: [401, INVALID],
  token_expired: [401, "Your access has expired."],
  token_not_yet_valid: [401, "This access token is not valid yet."],
  token_conflict: [401, INVALID],
  token_too_large: [401, INVALID],
  forbidden: [403, "This token does not give access to this stream."],
  not_found: [404, "This stream is not available."],
  bad_request: [400, DID_NOT_UNDERSTAND],
  method_not_allowed: [405, "The video server does not answer this kind of request."],
  payload_too_large: [413, "The video server refused a request that was too large."],
  not_configured: [503, "Playback is not set up on this server yet."],
  // the ingest's: a publisher sees them, a viewer normally never does
  request_timeout: [408, "The video server stopped waiting for a request that stalled."],
  publisher_conflict: [409, "Another publisher is already live on this stream."],
  unsupported_media: [415, "The video server refused media it does not take."],
  invalid_playlist: [422, "The video server refused a playlist that is not valid."],
  insufficient_storage: [507, "The video server is out of storage space."],
};

describe("the origin's JSON error codes", () => {
  test("the table above is every code of SERVER_CODES", () => {
    assert.deepEqual([...SERVER_CODES].sort(), Object.keys(SERVER_ANSWERS).sort());
  });

  for (const [code, [status, message]] of Object.entries(SERVER_ANSWERS)) {
    test(`${code} (${status}) is shown as "${message}", with a hint`, () => {
      const error = errorForAnswer({status, code, description: "what the server said"}, "stream");
      assert.ok(error instanceof PlayerError);
      assert.equal(error.code, code);
      assert.equal(error.message, message);
      assert.ok(error.hint.length > 0);
      assert.equal(error.status, status);
      assert.equal(error.detail, "what the server said"); // for the host's logs, not shown
    });
  }

  test("the code wins over the status", () => {
    assert.equal(errorForAnswer({status: 400, code: "token_expired", description: ""}).code, "token_expired");
    assert.equal(errorForAnswer({status: 500, code: "not_found", description: ""}).code, "not_found");
  });

  test("forbidden for a group names the group", () => {
    const error = errorForAnswer({status: 403, code: "forbidden", description: ""}, "group");
    assert.equal(error.code, "forbidden");
    assert.equal(error.message, "This token does not give access to this group.");
  });

  test("an unknown code or none falls back to the status", () => {
    assert.equal(errorForAnswer({status: 404, code: "teapot", description: ""}).code, "not_found");
    assert.equal(errorForAnswer({status: 401, code: "", description: ""}).code, "token_invalid");
    assert.equal(errorForAnswer({status: 502, code: "", description: ""}).message,
      "The video server ran into a problem.");
  });

  test("the player's own codes are not taken from a server answer", () => {
    for (const code of ["empty", "media", "bad_config", "unsupported", "destroyed"]) {
      assert.equal(errorForAnswer({status: 500, code, description: ""}).code, "server");
    }
  });

  test("AUTH_CODES are the 401 codes", () => {
    assert.deepEqual([...AUTH_CODES].sort(),
      Object.entries(SERVER_ANSWERS).filter(([, [status]]) => status === 401).map(([code]) => code).sort());
  });
});

describe("HTTP statuses without a code of the origin's", () => {
  const cases = [[400, "bad_request"], [401, "token_invalid"], [403, "forbidden"], [404, "not_found"],
    [405, "method_not_allowed"], [410, "not_found"], [413, "payload_too_large"], [503, "not_configured"],
    [409, "publisher_conflict"], [415, "unsupported_media"], [422, "invalid_playlist"], [507, "insufficient_storage"],
    [0, "server"], [418, "server"], [429, "server"], [500, "server"], [502, "server"], [504, "server"]];
  for (const [status, code] of cases) {
    test(`${status} -> ${code}`, () => assert.equal(codeForStatus(status), code));
  }
});

describe("playerError and messages", () => {
  test("every code has a message; every code a viewer can see also says what to do", () => {
    for (const code of Object.values(Code)) {
      assert.ok(messages[code] && messages[code].message, code);
      if (![Code.BAD_CONFIG, Code.DESTROYED, Code.CANCELLED].includes(code)) assert.ok(messages[code].hint, code);
    }
  });

  test("HlsGatePlayer.messages is frozen", () => {
    assert.ok(Object.isFrozen(messages));
    assert.ok(Object.isFrozen(messages.token_expired));
  });

  test("an unknown code becomes media", () => {
    const error = playerError("no_such_code");
    assert.equal(error.code, "media");
    assert.equal(error.message, messages.media.message);
  });

  test("the message and hint can be given; detail is kept apart", () => {
    const error = playerError("server", {message: "Down.", hint: "", detail: "HTTP 502"});
    assert.equal(error.message, "Down.");
    assert.equal(error.hint, "");
    assert.equal(error.detail, "HTTP 502");
    assert.equal(error.name, "HlsGatePlayerError");
  });

  test("configError names the problem", () => {
    const error = configError("source is missing");
    assert.equal(error.code, "bad_config");
    assert.equal(error.message, "The player configuration is not valid: source is missing.");
  });
});
