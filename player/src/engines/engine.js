// What every engine is: one load of one URL into the player's <video>, reporting on the player's bus.
// The player makes a new engine for each load and destroys it before the next (hls.js's shape: small
// controllers behind one interface, talking through events).
//
// What an engine is given (`ctx`): `video`, `bus`, `tokens` (the TokenController: the current token, renewal),
// `scope` ("group" | "stream" | null, for the words of a refusal), `state()` (the player's state), `clock`,
// and per engine: `Hls` and `hlsjs` (the host's hls.js settings), or `fetchFn` (the native engine's probe).
//
// What it sends (events.js `Internal`): MANIFEST_PARSED or MEDIA_READY once the load can play,
// LEVELS_UPDATED, LEVEL_SWITCHED, LEVEL_LOADED, RECONNECTING, PLAY_REFUSED, FATAL with the error to show, and
// GONE with the error of a 404/410 (the player's live state decides whether the stream ended or is not live yet).

import {Internal} from "../events.js";
import {Timers} from "../timers.js";

export class Engine {
  constructor(ctx) {
    this.ctx = ctx;
    this.video = ctx.video;
    this.timers = new Timers(ctx.clock);
    this.destroyed = false;
  }

  /** Start loading `url` (without a token: the engine adds the current one), at `startTime` (-1: the start). */
  load(url, startTime) {
    throw new Error(`${this.constructor.name} cannot load ${url} at ${startTime}`);
  }

  /** The Hls instance, or null. */
  get hls() {
    return null;
  }

  /** The index of the level being played (hls.js), or null. */
  get currentLevel() {
    return null;
  }

  /** True while the engine swaps the source itself (the pause it causes is not the viewer's). */
  get swapping() {
    return false;
  }

  /** Let the engine choose the level (ABR). Nothing to do without levels of its own. */
  autoLevel() {}

  /** `switchLevel(index)` plays one level of `player.levels` from now on. Nothing to do without levels. */
  switchLevel() {}

  isLive() {
    return this.video.duration === Infinity;
  }

  /** What the engine knows of the stream: true (live, no ENDLIST), false (ENDLIST), null (nothing loaded yet). */
  liveness() {
    const duration = this.video.duration;
    return Number.isNaN(duration) ? null : duration === Infinity;
  }

  /** Far enough behind the live edge to dim the LIVE badge. */
  behindLive() {
    return false;
  }

  goLive() {
    const seekable = this.video.seekable;
    if (seekable.length) this.video.currentTime = seekable.end(seekable.length - 1);
  }

  destroy() {
    this.destroyed = true;
    this.timers.clear();
  }

  /** Send `name` on the player's bus, unless this engine was destroyed meanwhile. */
  trigger(name, data) {
    if (!this.destroyed) this.ctx.bus.emit(name, data);
  }

  fail(error) {
    this.trigger(Internal.FATAL, {error});
  }
}
