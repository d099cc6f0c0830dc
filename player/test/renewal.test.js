import assert from "node:assert/strict";
import {describe, test} from "node:test";

import {EventBus, Internal} from "../src/events.js";
import {
  MAX_TIMER_MS, clockOffset, renewAt, renewalFrom, retryAt, tokenExpiry, unauthorizedCode,
} from "../src/renewal.js";
import {TokenController} from "../src/tokens.js";
import {FakeClock, fakeJwt, settle} from "./fake-clock.js";

const SERVER_NOW = 1_750_000_000; // unix seconds on the server's clock when it answered the config
const MINUTE = 60;
const SERVER = "https://media.example";

/**
 * A TokenController started as the player starts one: from a player config whose security block carries
 * `security` (the server's expiresAt, serverTime and renewBefore, the host's renewal source), on a browser
 * whose clock reads `skew` seconds ahead of the server's.
 */
function start({skew = 0, token, security, fetchFn}) {
  const clock = new FakeClock((SERVER_NOW + skew) * 1000);
  const bus = new EventBus();
  const renewed = [];
  const warnings = [];
  bus.on(Internal.TOKEN_RENEWED, (event) => renewed.push(event));
  const tokens = new TokenController({bus, clock, fetchFn, defaultServer: SERVER, warn: (text) => warnings.push(text),
    context: () => ({stream: "show", group: "stage"})});
  tokens.begin({security, server: SERVER, baseToken: token, offset: clockOffset(security, clock.now())});
  tokens.select(null);
  tokens.schedule();
  return {clock, tokens, renewed, warnings};
}

/** A renewToken callback that records when (server clock) and with what it was called. */
function renewer(answer) {
  const calls = [];
  const renewToken = async (context) => {
    calls.push(context);
    return typeof answer === "function" ? answer(context, calls.length) : answer;
  };
  return {renewToken, calls};
}

/** Seconds on the server's clock for this browser's clock reading. */
const serverSeconds = (clock, skew) => clock.now() / 1000 - skew;

describe("renewal is scheduled against the server's clock", () => {
  for (const skew of [-10 * MINUTE, -3 * MINUTE, 0, 3 * MINUTE, 10 * MINUTE]) {
    test(`a browser clock ${skew / MINUTE} min off renews renewBefore s before the server's expiry`, async () => {
      const token = fakeJwt({iat: SERVER_NOW, exp: SERVER_NOW + 600});
      const {renewToken, calls} = renewer({token: "T2", expiresAt: SERVER_NOW + 1200});
      const security = {expiresAt: SERVER_NOW + 600, serverTime: SERVER_NOW, renewBefore: 60, renewToken};
      const {clock, tokens, renewed} = start({skew, token, security});
      assert.equal(tokens.expiresAt, SERVER_NOW + 600);
      assert.equal(tokens.nextRenewalAt, (SERVER_NOW + skew + 540) * 1000);

      await clock.advance(539_900);
      assert.equal(calls.length, 0, "renewed too early");
      await clock.advance(100);
      assert.equal(calls.length, 1);
      assert.equal(serverSeconds(clock, skew), SERVER_NOW + 540);
      assert.deepEqual(calls[0], {token, expiresAt: SERVER_NOW + 600, reason: "schedule", stream: "show",
        group: "stage"});
      assert.equal(tokens.token, "T2");
      assert.deepEqual(renewed, [{expiresAt: SERVER_NOW + 1200, reason: "schedule"}]);
      // the next one: 60 s before the new expiry, still on the server's clock
      assert.equal(tokens.nextRenewalAt, (SERVER_NOW + skew + 1140) * 1000);
    });
  }

  test("the JWT's exp is used when the config gives no expiresAt, still corrected by serverTime", async () => {
    const skew = 7 * MINUTE;
    const {renewToken, calls} = renewer("T2");
    const token = fakeJwt({iat: SERVER_NOW, exp: SERVER_NOW + 300});
    const {clock, tokens} = start({skew, token, security: {serverTime: SERVER_NOW, renewBefore: 30, renewToken}});
    assert.equal(tokens.expiresAt, SERVER_NOW + 300);
    await clock.advance(270_000);
    assert.equal(calls.length, 1);
    assert.equal(serverSeconds(clock, skew), SERVER_NOW + 270);
  });

  test("a renewal answer that dates itself (a whole player config) corrects the offset again", async () => {
    const answer = (context, n) => ({source: {group: {id: "stage", security: {jwtoken: `T${n + 1}`}}},
      security: {expiresAt: SERVER_NOW + 1200, serverTime: SERVER_NOW + 540}});
    const {renewToken} = renewer(answer);
    // the server's clock answered 540 s after the config, but the browser's moved 540 s too, then drifted 20 s
    const {clock, tokens} = start({skew: 0, token: "T1",
      security: {expiresAt: SERVER_NOW + 600, serverTime: SERVER_NOW, renewBefore: 60, renewToken}});
    await clock.advance(540_000);
    assert.equal(tokens.token, "T2");
    assert.equal(tokens.nextRenewalAt, (SERVER_NOW + 1140) * 1000);
    const drifted = renewalFrom(answer(null, 1), "test", (SERVER_NOW + 560) * 1000);
    assert.equal(drifted.offset, -20);
  });

  test("without serverTime the browser's clock is taken as the server's", () => {
    const {renewToken} = renewer("T2");
    const {tokens} = start({skew: 5 * MINUTE, token: "T1", security: {expiresAt: SERVER_NOW + 600, renewToken}});
    assert.equal(tokens.nextRenewalAt, (SERVER_NOW + 540) * 1000); // not skew-corrected: nothing to correct by
  });

  test("no renewal is planned without a source, or without a known expiry", () => {
    assert.equal(start({token: "T1", security: {expiresAt: SERVER_NOW + 600, serverTime: SERVER_NOW}})
      .tokens.nextRenewalAt, null);
    const {renewToken} = renewer("T2");
    const unknown = start({token: "not-a-jwt", security: {serverTime: SERVER_NOW, renewToken}});
    assert.equal(unknown.tokens.expiresAt, null);
    assert.equal(unknown.tokens.nextRenewalAt, null);
  });
});

describe("expired and near-expiry tokens", () => {
  // issued 1000 s ago, so that renewBefore (100 s) is less than a quarter of its lifetime
  const LONG_LIVED = fakeJwt({iat: SERVER_NOW - 1000, exp: SERVER_NOW + 200});

  test("a token that has already expired is renewed at once", async () => {
    const {renewToken, calls} = renewer("T2");
    const {clock} = start({skew: -4 * MINUTE, token: fakeJwt({iat: SERVER_NOW - 700, exp: SERVER_NOW - 100}),
      security: {serverTime: SERVER_NOW, renewToken}});
    await clock.advance(0);
    assert.equal(calls.length, 1);
  });

  test("an expired token whose renewal fails is not retried: the next 401 decides", async () => {
    const {renewToken, calls} = renewer(() => Promise.reject(new Error("backend down")));
    const {clock, warnings} = start({token: "T1", security: {expiresAt: SERVER_NOW - 1, serverTime: SERVER_NOW,
      renewToken}});
    await clock.advance(60_000);
    assert.equal(calls.length, 1);
    assert.equal(warnings.length, 1);
    assert.equal(clock.pending, 0);
  });

  test("closer to its expiry than renewBefore: renewed at once", async () => {
    const {renewToken, calls} = renewer("T2");
    const {clock} = start({skew: 2 * MINUTE, token: fakeJwt({iat: SERVER_NOW - 580, exp: SERVER_NOW + 20}),
      security: {expiresAt: SERVER_NOW + 20, serverTime: SERVER_NOW, renewBefore: 60, renewToken}});
    await clock.advance(0);
    assert.equal(calls.length, 1);
  });

  test("a short-lived token renews a quarter of its lifetime early, not renewBefore", async () => {
    const {renewToken, calls} = renewer("T2");
    const {clock, tokens} = start({skew: MINUTE, token: fakeJwt({iat: SERVER_NOW, exp: SERVER_NOW + 40}),
      security: {serverTime: SERVER_NOW, renewBefore: 60, renewToken}});
    assert.equal(tokens.nextRenewalAt, (SERVER_NOW + MINUTE + 30) * 1000);
    await clock.advance(30_000);
    assert.equal(calls.length, 1);
  });

  test("the lead is at least a second", () => {
    const {expiry} = tokenExpiry({token: "T", expiresAt: SERVER_NOW + 2, renewBefore: 0, nowMs: SERVER_NOW * 1000});
    assert.equal(expiry.leadMs, 1000);
    assert.equal(renewAt(expiry), (SERVER_NOW + 1) * 1000);
  });

  test("a failed renewal is retried with backoff (2 s, 4 s, ... 30 s) until the token expires", async () => {
    const {renewToken, calls} = renewer(() => {
      throw new Error("backend down");
    });
    const skew = -90;
    const {clock, warnings} = start({skew, token: LONG_LIVED,
      security: {expiresAt: SERVER_NOW + 200, serverTime: SERVER_NOW, renewBefore: 100, renewToken}});
    const at = [];
    for (let second = 0; second <= 220; second += 1) {
      const before = calls.length;
      await clock.advance(1000);
      if (calls.length > before) at.push(Math.round(serverSeconds(clock, skew)) - SERVER_NOW);
    }
    // from 100 s: +2, +4, +8, +16, +30 ... and a last try a second before the expiry at 200 s
    assert.deepEqual(at, [100, 102, 106, 114, 130, 160, 190, 199]);
    assert.equal(warnings.length, at.length);
    assert.ok(warnings.every((text) => text.includes("backend down") && text.endsWith("; retrying")));
  });

  test("a renewal after a failure starts the backoff over", async () => {
    const {renewToken, calls} = renewer((context, n) => {
      if (n === 1) throw new Error("once");
      return {token: `T${n}`, expiresAt: SERVER_NOW + 1000};
    });
    const {clock, tokens} = start({token: LONG_LIVED, security: {expiresAt: SERVER_NOW + 200, serverTime: SERVER_NOW,
      renewBefore: 100, renewToken}});
    await clock.advance(102_000);
    assert.equal(calls.length, 2);
    assert.equal(tokens.token, "T2");
    assert.equal(tokens.nextRenewalAt, (SERVER_NOW + 900) * 1000);
  });
});

describe("timers", () => {
  test("a wait longer than setTimeout allows is chained, and still on time", async () => {
    const {renewToken, calls} = renewer("T2");
    const days = 3 * 24 * 3600;
    const {clock} = start({skew: 5 * MINUTE, token: "T1",
      security: {expiresAt: SERVER_NOW + days, serverTime: SERVER_NOW, renewBefore: 60, renewToken}});
    assert.equal(clock.pending, 1);
    await clock.advance(MAX_TIMER_MS);
    assert.equal(calls.length, 0);
    await clock.advance((days - 60) * 1000 - MAX_TIMER_MS - 1);
    assert.equal(calls.length, 0);
    await clock.advance(1);
    assert.equal(calls.length, 1);
  });

  test("a renewal a throttled background tab missed runs when the page is shown (catchUp)", async () => {
    const {renewToken, calls} = renewer("T2");
    const {clock, tokens} = start({token: "T1", security: {expiresAt: SERVER_NOW + 600, serverTime: SERVER_NOW,
      renewToken}});
    tokens.catchUp();
    await settle();
    assert.equal(calls.length, 0, "not due yet");
    clock.jump(545_000); // the timer did not fire
    tokens.catchUp();
    await settle();
    assert.equal(calls.length, 1);
    await clock.advance(1000);
    assert.equal(calls.length, 1, "the missed timer does not renew a second time");
  });

  test("one renewal at a time: concurrent asks share it", async () => {
    let release;
    const {renewToken, calls} = renewer(() => new Promise((resolve) => {
      release = resolve;
    }));
    const {tokens} = start({token: "T1", security: {expiresAt: SERVER_NOW + 600, serverTime: SERVER_NOW,
      renewToken}});
    const first = tokens.renew("unauthorized");
    const second = tokens.renew("unauthorized");
    assert.equal(first, second);
    await settle();
    release("T2");
    assert.equal(await first, "T2");
    assert.equal(calls.length, 1);
  });

  test("a renewal that ends after a new setup started is cancelled and changes nothing", async () => {
    let release;
    const {renewToken} = renewer(() => new Promise((resolve) => {
      release = resolve;
    }));
    const {tokens, renewed} = start({token: "T1", security: {expiresAt: SERVER_NOW + 600, serverTime: SERVER_NOW,
      renewToken}});
    const pending = tokens.renew("schedule");
    await settle();
    tokens.reset();
    release("T2");
    await assert.rejects(pending, {code: "cancelled"});
    assert.equal(tokens.token, null);
    assert.deepEqual(renewed, []);
  });
});

describe("renewal sources", () => {
  test("renewUrl: GET with the page's cookies, relative to the server; expires_at as POST /api/v1/tokens answers", async () => {
    const requests = [];
    const fetchFn = async (url, init) => {
      requests.push([url, init]);
      return {ok: true, status: 200, json: async () => ({token: "T2", expires_at: SERVER_NOW + 900})};
    };
    const {clock, tokens} = start({token: "T1", fetchFn,
      security: {expiresAt: SERVER_NOW + 600, serverTime: SERVER_NOW, renewUrl: "/my/token"}});
    await clock.advance(540_000);
    assert.equal(requests.length, 1);
    assert.equal(requests[0][0], `${SERVER}/my/token`);
    assert.equal(requests[0][1].credentials, "include");
    assert.equal(tokens.token, "T2");
    assert.equal(tokens.expiresAt, SERVER_NOW + 900);
  });

  test("a failing renewUrl is named without its query (it may hold a token)", async () => {
    const fetchFn = async () => ({ok: false, status: 502, json: async () => ({})});
    const {clock, warnings} = start({token: "T1", fetchFn, security: {expiresAt: SERVER_NOW + 600,
      serverTime: SERVER_NOW, renewUrl: "https://app.example/token?session=SECRET"}});
    await clock.advance(540_000);
    assert.deepEqual(warnings, ["hlsgate-player: token renewal: https://app.example/token answered 502; retrying"]);
  });

  test("renewalFrom reads a token, {token, expiresAt|expires_at}, or a whole player config", () => {
    const now = SERVER_NOW * 1000;
    assert.deepEqual(renewalFrom("T2", "x", now), {token: "T2", expiresAt: null, offset: null});
    assert.deepEqual(renewalFrom({token: "T2", expiresAt: 9}, "x", now), {token: "T2", expiresAt: 9, offset: null});
    assert.deepEqual(renewalFrom({token: "T2", expires_at: 8}, "x", now), {token: "T2", expiresAt: 8, offset: null});
    const config = {source: {entries: [{h5live: {security: {jwtoken: "T3"}}}]}, security: {expiresAt: 7}};
    assert.deepEqual(renewalFrom(config, "x", now), {token: "T3", expiresAt: 7, offset: null});
    for (const bad of [null, "", "a b", {}, {token: ""}, {source: {group: {id: "g"}}}]) {
      assert.throws(() => renewalFrom(bad, "the renewal URL", now), /the renewal URL gave no token/);
    }
  });
});

describe("why a 401", () => {
  const now = SERVER_NOW * 1000;
  const expiry = {serverSeconds: SERVER_NOW + 60, localMs: now + 60_000, leadMs: 15_000};
  test("the origin's code, when it gave one", () => {
    assert.equal(unauthorizedCode({serverCode: "token_conflict", token: "T", nowMs: now}), "token_conflict");
    assert.equal(unauthorizedCode({serverCode: "forbidden", token: "T", nowMs: now}), "token_invalid");
  });
  test("no token, not yet valid, expired, else invalid", () => {
    assert.equal(unauthorizedCode({token: null, nowMs: now}), "token_missing");
    assert.equal(unauthorizedCode({token: "T", notBefore: SERVER_NOW + 30, nowMs: now}), "token_not_yet_valid");
    assert.equal(unauthorizedCode({token: "T", notBefore: SERVER_NOW + 30, offset: 40, nowMs: now}),
      "token_invalid");
    assert.equal(unauthorizedCode({token: "T", expiry, nowMs: now + 59_000}), "token_expired");
    assert.equal(unauthorizedCode({token: "T", expiry, nowMs: now + 30_000}), "token_invalid");
  });
  test("the TokenController answers the same on a skewed clock", () => {
    const {clock, tokens} = start({skew: 10 * MINUTE, token: "T1",
      security: {expiresAt: SERVER_NOW + 60, serverTime: SERVER_NOW}});
    assert.equal(tokens.unauthorizedError().code, "token_invalid");
    clock.jump(60_000);
    assert.equal(tokens.unauthorizedError().code, "token_expired");
    assert.equal(tokens.unauthorizedError().message, "Your access has expired.");
  });
});

describe("the arithmetic", () => {
  test("clockOffset is the server's time minus this clock's", () => {
    assert.equal(clockOffset({serverTime: SERVER_NOW}, (SERVER_NOW + 300) * 1000), -300);
    assert.equal(clockOffset({}, 123), 0);
    assert.equal(clockOffset(null, 123), 0);
  });
  test("tokenExpiry puts the expiry on both clocks", () => {
    const {expiry, notBefore} = tokenExpiry({token: fakeJwt({iat: SERVER_NOW, exp: SERVER_NOW + 3600, nbf: SERVER_NOW}),
      offset: -300, nowMs: (SERVER_NOW + 300) * 1000, renewBefore: 120});
    assert.deepEqual(expiry, {serverSeconds: SERVER_NOW + 3600, localMs: (SERVER_NOW + 3900) * 1000, leadMs: 120_000});
    assert.equal(notBefore, SERVER_NOW);
  });
  test("retryAt: backoff capped at 30 s and a second before the expiry; none once expired", () => {
    const expiry = {serverSeconds: 0, localMs: 100_000, leadMs: 0};
    assert.equal(retryAt(expiry, 0, 0), 2000);
    assert.equal(retryAt(expiry, 3, 0), 16_000);
    assert.equal(retryAt(expiry, 10, 0), 30_000);
    assert.equal(retryAt(expiry, 0, 98_500), 99_000);
    assert.equal(retryAt(expiry, 0, 99_000), null, "the last try was a second before the expiry");
    assert.equal(retryAt(expiry, 0, 99_500), null);
    assert.equal(retryAt(expiry, 0, 100_000), null);
    assert.equal(retryAt(null, 0, 0), null);
  });
});
