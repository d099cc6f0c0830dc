// hls.js: plays the URL through MSE. Every request it makes goes through `xhrSetup`/`fetchSetup`, which swap
// in the current token (token-url.js), so requests after a renewal carry the new one; a 401 keeps retrying
// (hls.js's `shouldRetry` hook) while one renewal runs. Its errors become words or recoveries here.

import {AuthEpisode, RenewReason, State} from "../defs.js";
import {Internal} from "../events.js";
import {Code, codeForStatus, playerError} from "../errors.js";
import {swapToken, withToken} from "../token-url.js";
import {overlay} from "../util.js";
import {Engine} from "./engine.js";

export const AUTH_RETRY_LIMIT = 4; // hls.js retries (1 s, 2 s, 4 s, 8 s) while a renewal after a 401 is under way
const NETWORK_RECOVERY_LIMIT = 3;
const NETWORK_RECOVERY_FIRST_MS = 2000;
const MEDIA_RECOVERY_WINDOW_MS = 5000;
const STALL_LIMIT_MS = 30000; // reconnecting this long without a single successful load ends in a message
export const DEFAULT_MAX_BUFFER_S = 60;
export const DEFAULT_BACK_BUFFER_S = 60;
const LIVE_EDGE_SLACK_TARGETS = 3; // target durations behind the live edge before the LIVE badge dims
const DEFAULT_TARGET_DURATION_S = 4;
const LOAD_POLICIES = ["manifestLoadPolicy", "playlistLoadPolicy", "fragLoadPolicy", "keyLoadPolicy"];

/** A copy of one of hls.js's load policies whose errorRetry consults `hook` (hls.js's `shouldRetry`). */
export function withRetryHook(policy, hook) {
  const base = policy && policy.default ? policy.default : {};
  const errorRetry = Object.assign({maxNumRetry: 0, retryDelayMs: 1000, maxRetryDelayMs: 8000}, base.errorRetry || {},
    {shouldRetry: hook});
  return {default: Object.assign({}, base, {errorRetry})};
}

/**
 * The settings the player gives hls.js: its defaults, then the host's (`extra`, playback.hlsjs), then what the
 * player needs and no host may change: no debug logs (they print URLs, and those carry the token), the start
 * position, the token swap in every request and the 401 retry hook in every load policy.
 */
export function hlsConfig({defaults, extra, startPosition, rewrite, shouldRetry}) {
  const settings = {
    enableWorker: true,
    // hls.js buffers up to 10 minutes ahead by default; a minute is plenty and keeps downloads to what is watched
    maxMaxBufferLength: DEFAULT_MAX_BUFFER_S,
    backBufferLength: DEFAULT_BACK_BUFFER_S,
    ...overlay({}, extra), // without undefined values: hls.js would take `loader: undefined` literally
    debug: false,
    startPosition,
    // xhrSetup runs before hls.js opens the request; opening it here makes hls.js keep this URL (see README).
    xhrSetup: (xhr, url) => {
      xhr.open("GET", rewrite(url), true);
    },
    fetchSetup: (context, init) => new Request(rewrite(context.url), init),
  };
  for (const name of LOAD_POLICIES) settings[name] = withRetryHook(defaults && defaults[name], shouldRetry);
  return settings;
}

export class HlsJsEngine extends Engine {
  constructor(ctx) {
    super(ctx);
    this.Hls = ctx.Hls;
    this._hls = null;
    this._url = null;
    this._origin = null;
    this._parsed = false;
    this._networkRecoveries = 0;
    this._mediaRecoveries = [];
    this._authEpisode = null;
    this._reconnecting = false;
    this._stallTimer = null;
    this._lastNetworkStatus = 0;
  }

  get hls() {
    return this._hls;
  }

  get currentLevel() {
    return this._hls ? this._hls.currentLevel : null;
  }

  load(url, startTime) {
    const Hls = this.Hls;
    const tokens = this.ctx.tokens;
    this._url = url;
    this._origin = new URL(url).origin;
    const shouldRetry = (retryConfig, retryCount, isTimeout, response, retry) => {
      if (response && response.code === 401 && tokens.canRenew && this._authEpisode !== AuthEpisode.FAILED
        && retryCount < AUTH_RETRY_LIMIT) {
        this._renewAfterUnauthorized();
        return true;
      }
      return retry;
    };
    const hls = new Hls(hlsConfig({defaults: Hls.DefaultConfig, extra: this.ctx.hlsjs, startPosition: startTime,
      rewrite: (requestUrl) => swapToken(requestUrl, tokens.token, this._origin), shouldRetry}));
    this._hls = hls;
    const Events = Hls.Events;
    hls.on(Events.MANIFEST_PARSED, () => {
      this._parsed = true;
      this.trigger(Internal.MANIFEST_PARSED, {levels: hls.levels});
    });
    hls.on(Events.LEVELS_UPDATED, () => this.trigger(Internal.LEVELS_UPDATED, {levels: hls.levels}));
    hls.on(Events.LEVEL_SWITCHED, (event, data) => this.trigger(Internal.LEVEL_SWITCHED, {level: data.level}));
    hls.on(Events.LEVEL_LOADED, (event, data) => {
      this.trigger(Internal.LEVEL_LOADED, {live: Boolean(data.details && data.details.live)});
      this._loadSucceeded();
    });
    hls.on(Events.FRAG_LOADED, () => this._loadSucceeded());
    hls.on(Events.ERROR, (event, data) => {
      if (!this.destroyed) this._onError(data);
    });
    hls.loadSource(withToken(url, tokens.token));
    hls.attachMedia(this.video);
  }

  autoLevel() {
    if (this._hls) this._hls.nextLevel = -1; // back to ABR without flushing what is buffered
  }

  switchLevel(index) {
    if (this._hls) this._hls.currentLevel = index; // an immediate switch
  }

  isLive() {
    const details = this._hls && this._hls.latestLevelDetails;
    return Boolean(details && details.live);
  }

  liveness() {
    const details = this._hls && this._hls.latestLevelDetails;
    return details ? Boolean(details.live) : null;
  }

  behindLive() {
    const hls = this._hls;
    if (!hls || hls.liveSyncPosition == null) return false;
    const details = hls.latestLevelDetails;
    const target = (details && details.targetduration) || DEFAULT_TARGET_DURATION_S;
    return hls.liveSyncPosition - this.video.currentTime > target * LIVE_EDGE_SLACK_TARGETS;
  }

  goLive() {
    if (this._hls && this._hls.liveSyncPosition != null) this.video.currentTime = this._hls.liveSyncPosition;
    else super.goLive();
  }

  destroy() {
    super.destroy();
    if (this._hls) {
      this._hls.destroy();
      this._hls = null;
    }
  }

  _setReconnecting(value) {
    this._reconnecting = value;
    this.trigger(Internal.RECONNECTING, {reconnecting: value});
  }

  _loadSucceeded() {
    if (this.destroyed) return;
    this.timers.cancel(this._stallTimer);
    this._stallTimer = null;
    this._networkRecoveries = 0;
    if (this._authEpisode && this._authEpisode !== AuthEpisode.PENDING) this._authEpisode = null;
    this._setReconnecting(false);
  }

  /** From the retry hook on a 401: one renewal per episode, joined by every failing request. */
  _renewAfterUnauthorized() {
    if (this._authEpisode) return;
    this._authEpisode = AuthEpisode.PENDING;
    this._setReconnecting(true);
    this.ctx.tokens.renew(RenewReason.UNAUTHORIZED).then(() => {
      this._authEpisode = AuthEpisode.RENEWED;
    }, () => {
      this._authEpisode = AuthEpisode.FAILED;
    });
  }

  /** Reconnecting for too long without one successful load: say so instead of spinning forever. */
  _watchStall() {
    if (this._stallTimer) return;
    this._stallTimer = this.timers.later(() => {
      this._stallTimer = null;
      if (!this._reconnecting || this.ctx.state() === State.ERROR) return;
      const status = this._lastNetworkStatus || 0;
      const code = status >= 400 && status < 500 ? codeForStatus(status) : status >= 500 ? Code.SERVER : Code.NETWORK;
      this._failOrGone(playerError(code, {scope: this.ctx.scope, status}));
    }, STALL_LIMIT_MS);
  }

  _onError(data) {
    const {ErrorTypes} = this.Hls;
    const tokens = this.ctx.tokens;
    const scope = this.ctx.scope;
    const status = data.response && typeof data.response.code === "number" ? data.response.code : 0;
    const mayRenew = tokens.canRenew && this._authEpisode !== AuthEpisode.FAILED;
    if (!data.fatal) {
      if (data.type !== ErrorTypes.NETWORK_ERROR) return;
      // hls.js does not give up on a 401 or 403 (it tries the other levels, again and again): the answer is
      // final unless a renewal is under way (the retry hook keeps those requests going meanwhile).
      if (status === 401 && !mayRenew) {
        this.fail(tokens.unauthorizedError());
      } else if (status === 403) {
        this.fail(playerError(Code.FORBIDDEN, {scope, status}));
      } else if (status !== 401) {
        this._lastNetworkStatus = status;
        this._setReconnecting(true);
        this._watchStall();
      }
      return;
    }
    if (data.type === ErrorTypes.MEDIA_ERROR) {
      this._recoverMedia();
      return;
    }
    if (data.type !== ErrorTypes.NETWORK_ERROR) {
      this.fail(playerError(Code.MEDIA, {detail: data.details}));
      return;
    }
    if (status === 401) {
      if (mayRenew && this._authEpisode !== AuthEpisode.RESUMED) {
        // The retries hls.js made while the renewal ran were not enough: renew once more, then resume.
        this._setReconnecting(true);
        tokens.renew(RenewReason.UNAUTHORIZED).then(() => {
          if (this.destroyed) return;
          this._authEpisode = AuthEpisode.RESUMED;
          this._resume();
        }, () => this.fail(tokens.unauthorizedError()));
        return;
      }
      this.fail(tokens.unauthorizedError());
      return;
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      this._failOrGone(playerError(codeForStatus(status), {scope, status, detail: data.details}));
      return;
    }
    // Status 0 (unreachable), 5xx or a timeout, after hls.js's own retries.
    if (this._parsed && this._networkRecoveries < NETWORK_RECOVERY_LIMIT) {
      const delay = NETWORK_RECOVERY_FIRST_MS * 2 ** this._networkRecoveries;
      this._networkRecoveries += 1;
      this._setReconnecting(true);
      this.timers.later(() => this._resume(), delay);
      return;
    }
    this.fail(playerError(status >= 500 ? Code.SERVER : Code.NETWORK, {status, detail: data.details}));
  }

  /** A 404 or 410 is "gone": the player's live state decides whether that means ended or not live yet. */
  _failOrGone(error) {
    if (error.status === 404 || error.status === 410) this.trigger(Internal.GONE, {error});
    else this.fail(error);
  }

  _resume() {
    const hls = this._hls;
    if (!hls) return;
    if (hls.levels.length === 0) hls.loadSource(withToken(this._url, this.ctx.tokens.token)); // the master never loaded
    else hls.startLoad(this.video.currentTime || -1);
  }

  _recoverMedia() {
    const now = this.ctx.clock.now();
    this._mediaRecoveries = this._mediaRecoveries.filter((at) => now - at < MEDIA_RECOVERY_WINDOW_MS);
    this._mediaRecoveries.push(now);
    if (this._mediaRecoveries.length === 1) {
      this._hls.recoverMediaError();
    } else if (this._mediaRecoveries.length === 2) {
      this._hls.swapAudioCodec();
      this._hls.recoverMediaError();
    } else {
      this.fail(playerError(Code.MEDIA));
    }
  }
}
