// The current token: which one the next load carries, when it expires, and its renewal (one at a time, from
// the host's `security.renewToken` or its `security.renewUrl`). A renewal is announced on the bus
// (Internal.TOKEN_RENEWED); requests made after it carry the new token (token-url.js, the engines).

import {Internal} from "./events.js";
import {Code, playerError} from "./errors.js";
import {fetchRenewal} from "./loader.js";
import {RenewalScheduler, renewalFrom, tokenExpiry, unauthorizedCode} from "./renewal.js";
import {RenewReason} from "./defs.js";
import {systemClock} from "./timers.js";
import {finite} from "./util.js";

export class TokenController {
  /**
   * `context()` adds `{stream, group}` to what `renewToken` is given. `fetchFn` fetches a renewal URL;
   * `defaultServer` resolves a relative one when the config names no server.
   */
  constructor({bus, clock = systemClock, fetchFn, defaultServer, context = () => ({}), warn}) {
    this._bus = bus;
    this._clock = clock;
    this._fetchFn = fetchFn;
    this._defaultServer = defaultServer;
    this._context = context;
    this._scheduler = new RenewalScheduler({clock, warn, run: () => this.renew(RenewReason.SCHEDULE)});
    this._generation = 0;
    this._destroyed = false;
    this.reset();
  }

  /** Forget the token and stop any renewal: a new setup starts, or the player is destroyed. */
  reset() {
    this._generation += 1;
    this._scheduler.cancel();
    this._renewing = null;
    this._security = {};
    this._server = null;
    this._offset = 0;
    this._baseToken = null;
    this._renewed = false;
    this._expiry = null;
    this._notBefore = null;
    this.token = null;
  }

  destroy() {
    this._destroyed = true;
    this.reset();
  }

  /**
   * A config is known: its `security` (renewal sources, renewBefore, expiresAt), `server` (a relative
   * renewUrl's base), the token it plays with and the clock `offset` its serverTime gave.
   */
  begin({security, server, baseToken, offset}) {
    this._security = security || {};
    this._server = server || null;
    this._offset = offset || 0;
    this._baseToken = baseToken;
    this._renewed = false;
    this._learn(baseToken, this._security.expiresAt);
  }

  /** A load starts: its entry's own token, unless a renewal replaced every token with one. */
  select(entryToken) {
    this.token = this._renewed ? this._baseToken : entryToken || this._baseToken;
    if (entryToken && !this._renewed && entryToken !== this._baseToken) this._learn(entryToken, null);
  }

  /** When the current token expires: unix seconds on the server's clock, or null when unknown. */
  get expiresAt() {
    return this._expiry ? Math.round(this._expiry.serverSeconds) : null;
  }

  get canRenew() {
    const security = this._security;
    return typeof security.renewToken === "function"
      || (typeof security.renewUrl === "string" && security.renewUrl !== "");
  }

  /** When (this clock, ms) the next renewal runs, or null. */
  get nextRenewalAt() {
    return this._scheduler.nextAt;
  }

  /** Plan the renewal of the current token (none without a source or a known expiry). */
  schedule() {
    this._scheduler.schedule(this.canRenew ? this._expiry : null);
  }

  /** The page is shown again: background tabs throttle timers. */
  catchUp() {
    this._scheduler.catchUp();
  }

  /** One renewal at a time; resolves with the new token once every later request will carry it. */
  renew(reason) {
    if (this._renewing) return this._renewing;
    const generation = this._generation;
    const run = async () => {
      const fresh = await this._fetch(reason);
      if (generation !== this._generation) throw playerError(this._destroyed ? Code.DESTROYED : Code.CANCELLED);
      if (fresh.offset !== null) this._offset = fresh.offset;
      this._baseToken = fresh.token;
      this.token = fresh.token;
      this._renewed = true;
      this._learn(fresh.token, fresh.expiresAt);
      this.schedule();
      this._bus.emit(Internal.TOKEN_RENEWED, {expiresAt: this.expiresAt, reason});
      return fresh.token;
    };
    const renewing = run().finally(() => {
      if (this._renewing === renewing) this._renewing = null;
    });
    this._renewing = renewing;
    return renewing;
  }

  /** The error for a 401 (`serverCode`: the origin's code, when the answer carried one). */
  unauthorizedError(serverCode) {
    return playerError(unauthorizedCode({serverCode, token: this.token, notBefore: this._notBefore,
      expiry: this._expiry, offset: this._offset, nowMs: this._clock.now()}));
  }

  _learn(token, expiresAt) {
    const known = tokenExpiry({token, expiresAt, renewBefore: finite(this._security.renewBefore),
      offset: this._offset, nowMs: this._clock.now()});
    this._expiry = known.expiry;
    this._notBefore = known.notBefore;
  }

  async _fetch(reason) {
    const security = this._security;
    const context = {token: this.token, expiresAt: this.expiresAt, reason, ...this._context()};
    if (typeof security.renewToken === "function") {
      return renewalFrom(await security.renewToken(context), "security.renewToken", this._clock.now());
    }
    const url = new URL(security.renewUrl, this._server || this._defaultServer).href;
    return renewalFrom(await fetchRenewal(url, {fetchFn: this._fetchFn}), "the renewal URL", this._clock.now());
  }
}
