// The event bus, and the names of the events on it: the public ones (`player.on(name, fn)`) and the ones the
// player's parts send each other (an engine saying its levels are known, the tokens saying one was renewed).

/** The events a host page listens to. README.md lists what each carries. */
export const PlayerEvent = Object.freeze({
  READY: "ready",
  PLAYING: "playing",
  PAUSE: "pause",
  QUALITY: "quality",
  STATUS: "status",
  STREAM: "stream",
  TOKEN_RENEWED: "tokenrenewed",
  LIVE: "live",
  ERROR: "error",
});

/** Between the player's parts only. */
export const Internal = Object.freeze({
  MANIFEST_PARSED: "manifest-parsed", // {levels}: hls.js's levels are known; the load is ready
  LEVELS_UPDATED: "levels-updated", // {levels}
  LEVEL_SWITCHED: "level-switched", // {level}: the level on screen changed
  LEVEL_LOADED: "level-loaded", // {live}: a media playlist loaded (duration and liveness may have changed)
  GONE: "gone", // {error}: the origin answered 404/410 for good; the live state decides the words
  MEDIA_READY: "media-ready", // the native engine's metadata are loaded; the load is ready
  PLAY_REFUSED: "play-refused", // the browser did not resume playback after a source swap
  RECONNECTING: "reconnecting", // {reconnecting}
  FATAL: "fatal", // {error}: a PlayerError to show
  TOKEN_RENEWED: "token-renewed", // {token, expiresAt, reason}
});

export class EventBus {
  /**
   * `target` is the `this` of the listeners. With `onListenerError`, a listener that throws is reported there
   * and the others still run (a host's listener must not break the player); without, the error propagates.
   */
  constructor({target = null, onListenerError = null} = {}) {
    this._target = target;
    this._onListenerError = onListenerError;
    this._listeners = new Map();
  }

  on(name, fn) {
    if (typeof fn !== "function") return;
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(fn);
  }

  /** Without `fn`, every listener of `name`. */
  off(name, fn) {
    const set = this._listeners.get(name);
    if (!set) return;
    if (fn) set.delete(fn);
    else set.clear();
  }

  emit(name, data) {
    const set = this._listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      if (!this._onListenerError) {
        fn.call(this._target, data);
        continue;
      }
      try {
        fn.call(this._target, data);
      } catch (err) {
        this._onListenerError(name, err);
      }
    }
  }

  clear() {
    this._listeners.clear();
  }
}
