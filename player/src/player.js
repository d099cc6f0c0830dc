// HlsGatePlayer: composes the parts and keeps what one setup is playing. The config (config.js, fetched by
// loader.js) says what to play; the tokens (tokens.js) which token it carries and when it is renewed; an engine
// (engines/) plays one load and reports on the internal bus; the UI (ui.js) shows what the player says.
// Public events go through their own bus (`on`/`off`), so a host's listener cannot break the player.

import {AUTO_QUALITY, EngineName, LevelSource, Scope, State} from "./defs.js";
import {chooseEngine, createEngine} from "./engines/index.js";
import {DEFAULT_SERVER, STYLESHEET_URL, pageUrl} from "./environment.js";
import {EventBus, Internal, PlayerEvent} from "./events.js";
import {Code, PlayerError, isRetryable, isSilent, playerError} from "./errors.js";
import {clockSecurity, mergeConfig, needsFetch, planPlayback, validateHostConfig} from "./config.js";
import {entryLevels, findQuality, hlsLevels, normaliseQuality} from "./levels.js";
import {LiveEvent, LiveState, LiveTracker, liveError} from "./live.js";
import {fetchPlayerConfig} from "./loader.js";
import {clockOffset} from "./renewal.js";
import {streamChoices} from "./streams.js";
import {systemClock, Timers} from "./timers.js";
import {TokenController} from "./tokens.js";
import {PlayerUI, statusText} from "./ui.js";

const EMPTY_POLL_MS = 20000;
const NOT_LIVE_POLL_MS = 10000; // a live stream that has not started: look again this often
const NOTE_MS = 4000;

export class HlsGatePlayer {
  constructor(elementOrId) {
    const root = typeof elementOrId === "string" ? document.getElementById(elementOrId) : elementOrId;
    if (!(root instanceof HTMLElement)) {
      const what = typeof elementOrId === "string" ? `with id "${elementOrId}"` : "given";
      throw new Error(`HlsGatePlayer: no element ${what}`);
    }
    this.root = root;
    this.levels = [];
    this.currentQuality = AUTO_QUALITY;
    this.engine = null;
    this.config = null;
    this._clock = systemClock;
    this._events = new EventBus({target: this, onListenerError: (name, err) => {
      console.error(`hlsgate-player: a "${name}" listener threw`, err);
    }});
    this._bus = new EventBus();
    this._timers = new Timers(this._clock);
    this._tokens = new TokenController({bus: this._bus, clock: this._clock, defaultServer: DEFAULT_SERVER,
      context: () => ({stream: this.stream, group: this._scope === Scope.GROUP ? this._scopeId : null})});
    this._engine = null;
    this._generation = 0;
    this._destroyed = false;
    this._hostConfig = null;
    this._state = "";
    this._error = null;
    this._note = "";
    this._noteTimer = null;
    this._reconnecting = false;
    this._scope = null;
    this._scopeId = null;
    this._streams = null;
    this._stream = null;
    this._entry = null;
    this._levelSource = null;
    this._shownLevel = null;
    this._pendingLoad = null;
    this._autoplay = false;
    this._initialMute = false;
    this._autoMuted = false;
    this._preferredQuality = null;
    this._live = new LiveTracker();
    this._ui = new PlayerUI(root, {stylesheetUrl: STYLESHEET_URL, actions: {
      togglePlay: () => this._togglePlay(),
      goLive: () => this._goLive(),
      retry: () => this._retry(),
      selectQuality: (quality) => this.setQuality(quality),
      selectStream: (id) => this.setStream(id).catch(() => {}),
    }});
    this.video = this._ui.video;
    this._renderQualityMenu();
    this._wireBus();
    this._wireMedia();
    this._setState(State.LOADING);
  }

  // -- public API --------------------------------------------------------------------------------------------

  /** Resolves with the effective config once the source is loaded and its levels are known. */
  setup(config) {
    if (this._destroyed) return Promise.reject(playerError(Code.DESTROYED));
    this._hostConfig = config;
    return this._start().catch((error) => {
      throw this._failOnce(error);
    });
  }

  on(name, fn) {
    this._events.on(name, fn);
    return this;
  }

  off(name, fn) {
    this._events.off(name, fn);
    return this;
  }

  /** "auto" or a level index from `player.levels`. Returns false when that quality is not available. */
  setQuality(quality) {
    if (!this._stream || this._state === State.ERROR) return false;
    if (this._levelSource === LevelSource.HLS && this.hls) {
      if (quality === AUTO_QUALITY) {
        this._engine.autoLevel();
        this.currentQuality = AUTO_QUALITY;
      } else {
        const index = Number(quality);
        if (!this.levels.some((level) => level.index === index)) return false;
        this._engine.switchLevel(index);
        this.currentQuality = index;
      }
      this._syncQualityMenu();
      this._renderStatus();
      return true;
    }
    if (this._levelSource === LevelSource.ENTRIES) {
      const index = Number(quality);
      const entry = this._stream.entries.find((candidate) => candidate.index === index);
      if (!entry) return false;
      if (entry === this._entry) return true;
      this._reload({entry, keepTime: true}).catch(() => {});
      return true;
    }
    return quality === AUTO_QUALITY;
  }

  /** Play another stream of the group. Resolves once its levels are known. */
  setStream(id) {
    const stream = this._streams && this._streams.find((candidate) => candidate.id === id);
    if (!stream) return Promise.reject(playerError(Code.NOT_FOUND));
    if (stream === this._stream && this._state !== State.ERROR) return Promise.resolve(this.config);
    this._preferredQuality = null;
    return this._reload({stream, keepTime: false});
  }

  play() {
    if (!this.video) return Promise.resolve();
    return this.video.play();
  }

  pause() {
    if (this.video) this.video.pause();
  }

  get state() {
    return this._state;
  }

  get stream() {
    return this._stream ? this._stream.id : null;
  }

  /** "unknown" | "waiting" | "live" | "ending" | "ended" | "vod": what the stream playing now is (live.js). */
  get liveState() {
    return this._live.state;
  }

  get streams() {
    return this._streams ? this._streams.map((stream) => stream.id) : [];
  }

  /** The Hls instance, or null with native HLS. */
  get hls() {
    return this._engine ? this._engine.hls : null;
  }

  /** The token the media requests carry now. */
  get token() {
    return this._tokens.token;
  }

  /** When the current token expires: unix seconds on the server's clock, or null when unknown. */
  get expiresAt() {
    return this._tokens.expiresAt;
  }

  destroy() {
    if (this._destroyed) return;
    this._destroyed = true;
    this._generation += 1;
    this._stopPlayback();
    this._timers.clear();
    this._tokens.destroy();
    if (this._pendingLoad) this._pendingLoad.reject(playerError(Code.DESTROYED));
    this._pendingLoad = null;
    this._events.clear();
    this._bus.clear();
    this._ui.destroy();
    this.video = null;
  }

  // -- wiring -----------------------------------------------------------------------------------------------

  /** What the engines and the tokens report. */
  _wireBus() {
    const bus = this._bus;
    bus.on(Internal.MANIFEST_PARSED, ({levels}) => {
      this._onLevels(levels);
      this._applyPreferredQuality();
      this._loaded();
    });
    bus.on(Internal.LEVELS_UPDATED, ({levels}) => {
      if (this._levelSource === LevelSource.HLS) this._onLevels(levels);
    });
    bus.on(Internal.LEVEL_SWITCHED, ({level}) => {
      this._shownLevel = level;
      this._renderStatus();
      if (this._levelSource === LevelSource.HLS) {
        const shown = this.levels.find((candidate) => candidate.index === level) || null;
        this._emit(PlayerEvent.QUALITY, {index: level, label: shown ? shown.label : "",
          auto: this.currentQuality === AUTO_QUALITY, level: shown});
      }
    });
    bus.on(Internal.LEVEL_LOADED, ({live}) => {
      this._feedLive({type: LiveEvent.PLAYLIST, live});
      this._renderTime();
    });
    bus.on(Internal.GONE, ({error}) => {
      this._feedLive({type: LiveEvent.GONE});
      this._fail(liveError(this._live.state) || error);
    });
    bus.on(Internal.MEDIA_READY, () => {
      this._renderQualityMenu();
      this._loaded();
    });
    bus.on(Internal.PLAY_REFUSED, () => this._setState(State.READY));
    bus.on(Internal.RECONNECTING, ({reconnecting}) => this._setReconnecting(reconnecting));
    bus.on(Internal.FATAL, ({error}) => this._fail(error));
    bus.on(Internal.TOKEN_RENEWED, ({expiresAt, reason}) => {
      this._flashNote("Token renewed");
      this._emit(PlayerEvent.TOKEN_RENEWED, {expiresAt, reason});
    });
  }

  /** What the <video>, the page and the network say. */
  _wireMedia() {
    const video = this.video;
    const listen = (target, type, fn) => this._ui.listen(target, type, fn);
    listen(video, "playing", () => {
      this._setState(State.PLAYING);
      this._emit(PlayerEvent.PLAYING, {});
    });
    listen(video, "pause", () => {
      // pause events are queued: one from an engine being stopped or an error arrives after the state moved on
      if (this._state === State.ERROR || this._state === State.LOADING || (this._engine && this._engine.swapping)) {
        return;
      }
      this._setState(State.PAUSED);
      this._emit(PlayerEvent.PAUSE, {});
    });
    listen(video, "waiting", () => {
      if (!video.paused && this._state !== State.ERROR && this._state !== State.LOADING) {
        this._setState(State.BUFFERING);
      }
    });
    listen(video, "seeked", () => {
      if (!video.paused && this._state === State.BUFFERING) this._setState(State.PLAYING);
    });
    listen(video, "ended", () => {
      if (this._state === State.ERROR) return;
      this._feedLive({type: LiveEvent.MEDIA_ENDED});
      if (this._live.state === LiveState.ENDED) this._fail(liveError(LiveState.ENDED));
      else this._setState(State.PAUSED);
    });
    listen(video, "timeupdate", () => this._renderTime());
    listen(video, "durationchange", () => {
      // the native engine has no playlist events: an Infinity duration is live, a finite one has ENDLIST
      if (this._engine && this.engine === EngineName.NATIVE) {
        const live = this._engine.liveness();
        if (live !== null) this._feedLive({type: LiveEvent.PLAYLIST, live});
      }
      this._renderTime();
    });
    listen(video, "volumechange", () => this._renderVolume());
    listen(video, "resize", () => this._renderStatus());
    listen(document, "visibilitychange", () => {
      if (document.visibilityState === "visible") this._tokens.catchUp();
    });
    listen(window, "online", () => {
      if (this._error && this._error.code === Code.NETWORK) this._retry();
    });
    this._renderVolume();
  }

  /** Feed the live state machine; a change is the public `live` event. */
  _feedLive(event) {
    if (this._live.feed(event)) this._emit(PlayerEvent.LIVE, {state: this._live.state, stream: this.stream});
  }

  _emit(name, data) {
    this._events.emit(name, data);
  }

  _later(fn, ms) {
    return this._timers.later(() => {
      if (!this._destroyed) fn();
    }, ms);
  }

  // -- the viewer's actions ---------------------------------------------------------------------------------

  /** Play or pause; false while there is nothing to play (loading, an error). */
  _togglePlay() {
    if (this._state === State.ERROR || this._state === State.LOADING) return false;
    if (this.video.paused || this.video.ended) this._play(true);
    else this.video.pause();
    return true;
  }

  _goLive() {
    if (this._engine) this._engine.goLive();
    if (this.video.paused) this._play(true);
  }

  _retry() {
    if (this._destroyed) return;
    // An empty group or an ended stream asks for the config again: a room's config lists who is live now.
    const restart = !this.config || !this._stream
      || (this._error && (this._error.code === Code.EMPTY || this._error.code === Code.ENDED));
    this._clearError();
    if (restart) {
      this._start().catch((error) => this._failOnce(error)); // fetch the config again, then play
      return;
    }
    this._reload({keepTime: true}).catch(() => {});
  }

  // -- rendering --------------------------------------------------------------------------------------------

  _setState(state) {
    if (this._destroyed) return;
    if (state !== this._state) {
      this._state = state;
      this._ui.renderState(state);
    }
    this._renderStatus();
  }

  _renderStatus() {
    if (this._destroyed) return;
    const text = statusText({state: this._state, label: this._playingLabel(), error: this._error,
      auto: this.currentQuality === AUTO_QUALITY && this._levelSource !== LevelSource.ENTRIES,
      reconnecting: this._reconnecting, note: this._note});
    this._syncQualityMenu();
    if (this._ui.renderStatus(text)) this._emit(PlayerEvent.STATUS, {state: this._state, text});
  }

  /** A short-lived status note ("Token renewed") that yields to the state's own text afterwards. */
  _flashNote(text) {
    this._note = text;
    this._renderStatus();
    this._timers.cancel(this._noteTimer);
    this._noteTimer = this._later(() => {
      this._note = "";
      this._renderStatus();
    }, NOTE_MS);
  }

  _setReconnecting(value) {
    if (this._reconnecting === value) return;
    this._reconnecting = value;
    this._renderStatus();
  }

  _renderQualityMenu() {
    this._ui.renderQualityMenu(this.levels, this._levelSource !== LevelSource.ENTRIES);
    this._syncQualityMenu();
  }

  _syncQualityMenu() {
    this._ui.syncQualityMenu({current: this.currentQuality, playing: this._playingLabel(),
      levelCount: this.levels.length});
  }

  _renderStreamMenu() {
    this._ui.renderStreamMenu(streamChoices(this._streams, this.stream));
  }

  _renderTime() {
    if (!this.video) return;
    const engine = this._engine;
    this._ui.renderTime({live: engine ? engine.isLive() : false, behind: engine ? engine.behindLive() : false});
  }

  _renderVolume() {
    const video = this.video;
    if (!video) return;
    const muted = video.muted || video.volume === 0;
    const style = (this.config && this.config.style) || {};
    this._ui.renderVolume({muted, volume: video.volume, showUnmute: muted && this._autoMuted
      && style.displayMutedAutoplay !== false && this._state !== State.ERROR});
    if (!muted) this._autoMuted = false;
  }

  /** The label of what is on screen now: the hls.js level playing, the entry, or the video's height. */
  _playingLabel() {
    if (this._levelSource === LevelSource.HLS && this.hls) {
      const index = this._shownLevel != null ? this._shownLevel : this._engine.currentLevel;
      const level = this.levels.find((candidate) => candidate.index === index);
      if (level) return level.label;
    }
    if (this._levelSource === LevelSource.ENTRIES && this._entry) return this._entry.label;
    if (this.video && this.video.videoHeight) return `${this.video.videoHeight}p`;
    return "";
  }

  // -- errors -----------------------------------------------------------------------------------------------

  _fail(error) {
    if (this._destroyed) return;
    this._error = error;
    this._reconnecting = false;
    this._ui.showError(error, {retryable: isRetryable(error.code)});
    this._setState(State.ERROR);
    if (this.video && !this.video.paused) this.video.pause(); // no sound under the message
    if (this._pendingLoad) {
      this._pendingLoad.reject(error);
      this._pendingLoad = null;
    }
    this._emit(PlayerEvent.ERROR, {code: error.code, message: error.message, hint: error.hint});
    const poll = {[Code.EMPTY]: EMPTY_POLL_MS, [Code.NOT_LIVE]: NOT_LIVE_POLL_MS}[error.code];
    if (poll) {
      this._later(() => {
        if (this._error === error) this._retry(); // unless the viewer retried (or anything else) meanwhile
      }, poll);
    }
  }

  /** Show `error` unless it is already shown (a load rejects with the error its handler displayed). */
  _failOnce(error) {
    const failure = error instanceof PlayerError ? error : playerError(Code.MEDIA, {detail: String(error)});
    if (failure !== this._error && !isSilent(failure)) this._fail(failure);
    return failure;
  }

  _clearError() {
    this._error = null;
    this._ui.hideError();
  }

  /** Why an older setup or load stops: the player was destroyed, or a newer one took its place. */
  _superseded() {
    return playerError(this._destroyed ? Code.DESTROYED : Code.CANCELLED);
  }

  // -- setup ------------------------------------------------------------------------------------------------

  async _start() {
    const generation = ++this._generation;
    this._stopPlayback();
    this._timers.clear();
    this._tokens.reset();
    this._clearError();
    this.config = null;
    this._streams = null;
    this._stream = null;
    this.levels = [];
    this._levelSource = null;
    this._renderQualityMenu();
    this._renderStreamMenu();
    this._setState(State.LOADING);

    const host = this._hostConfig;
    validateHostConfig(host, pageUrl());
    const fetched = needsFetch(host) ? await fetchPlayerConfig(host, {defaultServer: DEFAULT_SERVER}) : null;
    const config = mergeConfig(host, fetched, DEFAULT_SERVER);
    const offset = clockOffset(clockSecurity(fetched, config), this._clock.now());
    if (generation !== this._generation) throw this._superseded();
    this.config = config;
    const plan = planPlayback(config, DEFAULT_SERVER);
    this._scope = plan.scope.kind;
    this._scopeId = plan.scope.id;
    this._streams = plan.streams;
    this._tokens.begin({security: config.security, server: config.hlsgate.server, baseToken: plan.baseToken,
      offset});
    this.engine = chooseEngine(config.playback.engine || EngineName.AUTO, {Hls: window.Hls, video: this.video});
    this._ui.setEngine(this.engine);
    this._preferredQuality = normaliseQuality(config.playback.quality);
    this._initialMute = true;

    await this._load({stream: plan.startStream, entry: plan.startEntry, keepTime: false,
      autoplay: config.playback.autoplay !== false});
    if (generation !== this._generation) throw this._superseded();
    this._tokens.schedule();
    this._emit(PlayerEvent.READY, {config, levels: this.levels, stream: this.stream, engine: this.engine});
    return config;
  }

  // -- loading ----------------------------------------------------------------------------------------------

  /** Stop the engine and load `stream` (and `entry`, for entries without a master) again. */
  _reload(options) {
    const generation = this._generation;
    const stream = options.stream || this._stream;
    const entry = options.entry || (options.stream ? null : this._entry);
    const wasPlaying = this.video && !this.video.paused && this._state !== State.ERROR;
    let autoplay = options.autoplay;
    if (autoplay === undefined) {
      const starting = this._state === State.ERROR || this._state === State.LOADING;
      autoplay = wasPlaying || this._state === State.BUFFERING
        || (starting && this.config.playback.autoplay !== false);
    }
    this._clearError();
    return this._load({stream, entry, keepTime: options.keepTime, autoplay}).then(() => {
      if (generation !== this._generation) return this.config;
      this._tokens.schedule();
      if (options.stream) this._emit(PlayerEvent.STREAM, {id: stream.id, levels: this.levels});
      if (options.entry && this._levelSource === LevelSource.ENTRIES) {
        const level = this.levels.find((candidate) => candidate.index === options.entry.index) || null;
        this._emit(PlayerEvent.QUALITY, {index: options.entry.index, label: options.entry.label, auto: false,
          level});
      }
      return this.config;
    });
  }

  _load({stream, entry, keepTime, autoplay}) {
    const startTime = keepTime && this.video && Number.isFinite(this.video.duration) ? this.video.currentTime : -1;
    this._stopPlayback();
    this._setState(State.LOADING);
    this._stream = stream;
    this._live = new LiveTracker({expectLive: stream.live});
    this._entry = stream.master ? null : entry || this._preferredEntry(stream) || stream.entries[0];
    this._autoplay = autoplay;
    this._tokens.select(this._entry ? this._entry.token : null);
    const url = stream.master || this._entry.url;
    this._renderStreamMenu();
    if (this._entry) {
      this.levels = entryLevels(stream.entries);
      this._levelSource = LevelSource.ENTRIES;
      this.currentQuality = this._entry.index;
    } else {
      this.levels = [];
      this._levelSource = this.engine === EngineName.HLSJS ? LevelSource.HLS : LevelSource.NATIVE;
      this.currentQuality = AUTO_QUALITY;
    }
    this._renderQualityMenu();

    if (this._pendingLoad) this._pendingLoad.reject(this._superseded()); // a newer load wins
    return new Promise((resolve, reject) => {
      this._pendingLoad = {resolve, reject};
      try {
        this._engine = createEngine(this.engine, {video: this.video, bus: this._bus, tokens: this._tokens,
          scope: this._scope, state: () => this._state, clock: this._clock, Hls: window.Hls,
          hlsjs: this.config.playback.hlsjs});
        this._engine.load(url, startTime);
      } catch (err) {
        // hls.js refused its settings (playback.hlsjs) or the media element refused the URL
        this._fail(playerError(Code.MEDIA, {detail: err && err.message}));
      }
    });
  }

  _preferredEntry(stream) {
    return findQuality(stream.entries, this._preferredQuality, (entry) => entry.info.height);
  }

  /** hls.js's levels are known (or changed): the menu lists them, unless entries are switched. */
  _onLevels(levels) {
    if (this._levelSource === LevelSource.ENTRIES && levels.length > 1) {
      // An entry's URL that is itself a master with several variants: hls.js chooses among them.
      this._levelSource = LevelSource.HLS;
      this.currentQuality = AUTO_QUALITY;
    }
    if (this._levelSource === LevelSource.HLS) {
      this.levels = hlsLevels(levels, this._stream.entries);
      if (this.currentQuality !== AUTO_QUALITY && !this.levels.some((level) => level.index === this.currentQuality)) {
        this.currentQuality = AUTO_QUALITY;
      }
    }
    this._renderQualityMenu();
  }

  _applyPreferredQuality() {
    if (this._levelSource !== LevelSource.HLS) return;
    const level = findQuality(this.levels, this._preferredQuality, (candidate) => candidate.height);
    if (!level) return;
    this._engine.switchLevel(level.index);
    this.currentQuality = level.index;
    this._syncQualityMenu();
  }

  _loaded() {
    if (this._pendingLoad) {
      this._pendingLoad.resolve();
      this._pendingLoad = null;
    }
    this._setState(State.READY);
    this._renderTime();
    if (this._autoplay) this._play(false);
  }

  /**
   * Start playback. Autoplay follows playback.muted/automute: when the browser refuses sound, retry muted
   * (if automute); when it refuses that too, the big play button waits for the viewer.
   */
  _play(byViewer) {
    const video = this.video;
    const playback = (this.config && this.config.playback) || {};
    if (this._initialMute) {
      this._initialMute = false; // once per setup: a viewer who unmuted stays unmuted across reloads
      if (!byViewer && playback.muted) {
        video.muted = true;
        this._autoMuted = true;
      }
    }
    const attempt = video.play();
    if (!attempt || typeof attempt.catch !== "function") return;
    attempt.catch((err) => {
      if (this._destroyed || !err || err.name !== "NotAllowedError") return;
      if (!video.muted && playback.automute !== false) {
        video.muted = true;
        this._autoMuted = true;
        video.play().catch(() => this._setState(this._state === State.ERROR ? State.ERROR : State.READY));
      } else if (this._state !== State.ERROR) {
        this._setState(State.READY);
      }
    }).finally(() => this._renderVolume());
  }

  _stopPlayback() {
    if (this._engine) {
      this._engine.destroy();
      this._engine = null;
    }
    this._shownLevel = null;
    this._reconnecting = false;
    const video = this.video;
    if (video && (video.getAttribute("src") || video.srcObject)) {
      video.pause();
      video.removeAttribute("src");
      video.load();
    }
  }
}
