// When a token expires and when to renew it, on the server's clock: the config's `security.serverTime` says
// how far this browser's clock is off, `security.expiresAt` (else the JWT's `exp`) when the token ends, and
// `renewBefore` how early to renew. The arithmetic is pure; RenewalScheduler waits on an injected clock.

import {scopeOf} from "./config.js";
import {Code, isAuthCode, isSilent} from "./errors.js";
import {isToken, jwtClaims} from "./jwt.js";
import {systemClock, Timers} from "./timers.js";
import {finite, isObject} from "./util.js";

export const DEFAULT_RENEW_BEFORE_S = 60;
export const MIN_RENEW_LEAD_S = 1;
export const RENEW_RETRY_FIRST_MS = 2000;
export const RENEW_RETRY_MAX_MS = 30000;
export const MAX_TIMER_MS = 24 * 3600 * 1000; // setTimeout overflows past 2^31-1 ms: long waits are chained
const EXPIRED_SLACK_MS = 1000; // a 401 this close to the known expiry is an expiry
const EARLY_WAKE_MS = 50; // a timer that fires this much early is on time

/** Seconds to add to this clock to read the server's (from `security.serverTime`); 0 without one. */
export function clockOffset(security, nowMs) {
  const serverTime = isObject(security) ? finite(security.serverTime) : null;
  return serverTime === null ? 0 : serverTime - nowMs / 1000;
}

/**
 * When `token` expires: `expiresAt` (unix seconds, server clock) or else the JWT's own `exp`. Returns
 * `{expiry, notBefore}`: `expiry` is null when unknown, else `{serverSeconds, localMs, leadMs}` with the expiry
 * on both clocks and how long before it to renew: `max(1 s, min(renewBefore ?? 60 s, lifetime / 4))`.
 */
export function tokenExpiry({token, expiresAt = null, renewBefore = null, offset = 0, nowMs}) {
  const claims = jwtClaims(token);
  const notBefore = claims && finite(claims.nbf) !== null ? claims.nbf : null;
  const ends = finite(expiresAt) ?? (claims ? finite(claims.exp) : null);
  if (ends === null) return {expiry: null, notBefore};
  const serverNow = nowMs / 1000 + offset;
  const issuedAt = claims && finite(claims.iat) !== null ? claims.iat : serverNow;
  const lifetime = Math.max(0, ends - Math.min(issuedAt, serverNow));
  const lead = Math.max(MIN_RENEW_LEAD_S, Math.min(finite(renewBefore) ?? DEFAULT_RENEW_BEFORE_S, lifetime / 4));
  return {expiry: {serverSeconds: ends, localMs: (ends - offset) * 1000, leadMs: lead * 1000}, notBefore};
}

/** When (this clock, ms) the renewal of a token with `expiry` starts. */
export const renewAt = (expiry) => expiry.localMs - expiry.leadMs;

/**
 * After `failures` failed tries, when to try again: 2 s, 4 s, ... 30 s later, and at the latest a second before
 * the expiry. Null once that last try is past: too late, the next 401 decides (and no retry loop runs hot in
 * the last second).
 */
export function retryAt(expiry, failures, nowMs) {
  if (!expiry) return null;
  const backoff = Math.min(RENEW_RETRY_MAX_MS, RENEW_RETRY_FIRST_MS * 2 ** failures);
  const at = Math.min(nowMs + backoff, expiry.localMs - MIN_RENEW_LEAD_S * 1000);
  return at > nowMs ? at : null;
}

/** Why a request was refused with 401: the origin's code when it gave one, else what the player knows. */
export function unauthorizedCode({serverCode = "", token, notBefore = null, expiry = null, offset = 0, nowMs}) {
  if (serverCode && isAuthCode(serverCode)) return serverCode;
  if (!token) return Code.TOKEN_MISSING;
  if (notBefore !== null && nowMs / 1000 + offset < notBefore) return Code.TOKEN_NOT_YET_VALID;
  if (expiry && nowMs >= expiry.localMs - EXPIRED_SLACK_MS) return Code.TOKEN_EXPIRED;
  return Code.TOKEN_INVALID;
}

/**
 * A renewal source's answer -> `{token, expiresAt, offset}`: a token string; `{token, expiresAt|expires_at}`
 * (as POST /api/v1/tokens answers); or a whole player config (its token, expiry and serverTime). `offset` is
 * null unless the answer dates itself. Anything else throws, naming `where`.
 */
export function renewalFrom(answer, where, nowMs) {
  if (isToken(answer)) return {token: answer, expiresAt: null, offset: null};
  if (!isObject(answer)) throw new Error(`token renewal: ${where} gave no token`);
  if (isToken(answer.token)) {
    return {token: answer.token, expiresAt: finite(answer.expiresAt) ?? finite(answer.expires_at), offset: null};
  }
  if (isObject(answer.source)) {
    const scope = scopeOf(answer.source);
    let token = isObject(scope.security) ? scope.security.jwtoken : null;
    if (!isToken(token) && Array.isArray(answer.source.entries)) {
      const entry = answer.source.entries.find((candidate) => isObject(candidate) && isObject(candidate.h5live)
        && isObject(candidate.h5live.security) && isToken(candidate.h5live.security.jwtoken));
      token = entry ? entry.h5live.security.jwtoken : null;
    }
    if (isToken(token)) {
      const security = isObject(answer.security) ? answer.security : {};
      return {token, expiresAt: finite(security.expiresAt),
        offset: finite(security.serverTime) === null ? null : clockOffset(security, nowMs)};
    }
  }
  throw new Error(`token renewal: ${where} gave no token`);
}

/**
 * Runs `run()` (a renewal, a Promise) when a token's renewal is due, and again with backoff while it fails and
 * the token has not expired. Waits longer than setTimeout can are chained; `catchUp()` runs a renewal that a
 * throttled background tab let pass.
 */
export class RenewalScheduler {
  constructor({run, clock = systemClock, warn = (text) => console.warn(text)}) {
    this._run = run;
    this._clock = clock;
    this._warn = warn;
    this._timers = new Timers(clock);
    this._timer = null;
    this._at = null;
    this._expiry = null;
    this._failures = 0;
    this._running = false;
  }

  /** When (this clock, ms) the next renewal runs, or null when none is planned. */
  get nextAt() {
    return this._timer === null ? null : this._at;
  }

  /** Plan the renewal of a token with `expiry` (null: none), forgetting earlier failures. */
  schedule(expiry) {
    this.cancel();
    this._failures = 0;
    this._expiry = expiry;
    if (expiry) this._arm(renewAt(expiry));
  }

  cancel() {
    this._timers.cancel(this._timer);
    this._timer = null;
    this._at = null;
  }

  catchUp() {
    if (this._timer !== null && this._clock.now() >= this._at && !this._running) {
      this.cancel();
      this._fire();
    }
  }

  _arm(atMs) {
    this.cancel();
    this._at = atMs;
    const delay = Math.max(0, atMs - this._clock.now());
    this._timer = this._timers.later(() => {
      this._timer = null;
      if (this._clock.now() + EARLY_WAKE_MS < atMs) this._arm(atMs); // a chained long wait
      else this._fire();
    }, Math.min(delay, MAX_TIMER_MS));
  }

  _fire() {
    this._running = true;
    Promise.resolve().then(() => this._run()).then(() => {
      this._running = false;
    }, (err) => {
      this._running = false;
      this._failed(err);
    });
  }

  _failed(err) {
    if (isSilent(err)) return;
    this._warn(`hlsgate-player: ${err && err.message ? err.message : "token renewal failed"}; retrying`);
    const at = retryAt(this._expiry, this._failures, this._clock.now());
    if (at === null) return;
    this._failures += 1;
    this._arm(at);
  }
}
