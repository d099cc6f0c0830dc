// The player's shared names: states, engines, level sources, scopes. A leaf: imports nothing.

export const VERSION = "0.1.0";

/** The widget's states: the root element's `data-state` and `player.state`. */
export const State = Object.freeze({
  LOADING: "loading",
  READY: "ready",
  PLAYING: "playing",
  PAUSED: "paused",
  BUFFERING: "buffering",
  ERROR: "error",
});

/** `playback.engine`: hls.js, the browser's own HLS, or whichever this browser has. */
export const EngineName = Object.freeze({AUTO: "auto", HLSJS: "hlsjs", NATIVE: "native"});

/** Where the quality menu's levels come from. */
export const LevelSource = Object.freeze({
  HLS: "hls", // hls.js's levels of a master playlist
  ENTRIES: "entries", // the config's entries, switched by loading the other URL
  NATIVE: "native", // the browser chooses: the menu offers Auto only
});

/** What a token (and a player config) is for. */
export const Scope = Object.freeze({GROUP: "group", STREAM: "stream"});

/** Why a token was renewed: the `reason` of the `tokenrenewed` event and of `renewToken(context)`. */
export const RenewReason = Object.freeze({SCHEDULE: "schedule", UNAUTHORIZED: "unauthorized"});

/** One 401 episode of a load: a renewal asked for, done, failed, or done and the load resumed after it. */
export const AuthEpisode = Object.freeze({PENDING: "pending", RENEWED: "renewed", FAILED: "failed", RESUMED: "resumed"});

/** The quality value that lets the engine choose (ABR). */
export const AUTO_QUALITY = "auto";

export const CONFIG_PATH = "/api/v1/player-config";
export const TOKEN_PARAM = "token";
export const HLS_MIME = "application/vnd.apple.mpegurl";
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/; // hlsgate's stream and group ids
