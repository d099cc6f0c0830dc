// The widget's DOM: built once in the host's element, rendered from what the player tells it, and the
// viewer's clicks and keys handed back as `actions`. It decides nothing about playback.
//
// Stable for tests and host CSS: the root's class `hlsgate-player`, `data-state`, `data-code`, `data-engine`,
// `data-live`; `select.hlsgate-quality`, `select.hlsgate-stream`, `.hlsgate-status`, `.hlsgate-message`.

import {AUTO_QUALITY, State} from "./defs.js";
import {formatTime} from "./format.js";
import {icon, iconForCode} from "./icons.js";
import {offersChoice} from "./streams.js";

const COMPACT_WIDTH_PX = 480; // a narrower bar keeps "Auto" short
const ROOT_ATTRIBUTES = ["data-state", "data-code", "data-engine", "data-live", "tabindex"];

/** The status line for a state: "Playing · 720p · Auto", "Buffering…", "Reconnecting…", a note, the error. */
export function statusText({state, label = "", auto = false, error = null, reconnecting = false, note = ""}) {
  let text;
  switch (state) {
    case State.LOADING: text = "Loading…"; break;
    case State.READY: text = label ? `Ready · ${label}` : "Ready"; break;
    case State.PLAYING: {
      const parts = ["Playing"];
      if (label) parts.push(label);
      if (auto) parts.push("Auto");
      text = parts.join(" · ");
      break;
    }
    case State.PAUSED: text = "Paused"; break;
    case State.BUFFERING: text = "Buffering…"; break;
    case State.ERROR: text = error ? error.message : "Error"; break;
    default: text = "";
  }
  if (state !== State.ERROR) {
    if (reconnecting) text = "Reconnecting…";
    else if (note) text = note;
  }
  return text;
}

function el(tag, className, attrs) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (attrs) for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

function button(className, label, iconName) {
  const node = el("button", `hlsgate-button ${className}`, {type: "button", "aria-label": label, title: label});
  if (iconName) node.appendChild(icon(iconName));
  return node;
}

function setIcon(buttonNode, iconName, label) {
  buttonNode.replaceChildren(icon(iconName));
  buttonNode.setAttribute("aria-label", label);
  buttonNode.title = label;
}

function option(value, text) {
  const node = el("option");
  node.value = value;
  node.textContent = text;
  return node;
}

/** Add the widget's stylesheet once, unless the page already links it (the /player/ page does). */
function ensureStylesheet(url) {
  if (!url) return;
  for (const link of document.querySelectorAll('link[rel~="stylesheet"]')) {
    if (link.href === url || link.hasAttribute("data-hlsgate")) return;
  }
  document.head.appendChild(el("link", "", {rel: "stylesheet", href: url, "data-hlsgate": ""}));
}

export class PlayerUI {
  /**
   * `actions`: `togglePlay() -> boolean` (false while nothing can play), `goLive()`, `retry()`,
   * `selectQuality("auto" | index)`, `selectStream(id)`.
   */
  constructor(root, {actions, stylesheetUrl}) {
    ensureStylesheet(stylesheetUrl);
    this.root = root;
    this._actions = actions;
    this._listeners = [];
    this._state = "";
    this._statusText = "";
    this._build();
    this._wire();
  }

  /** addEventListener, undone by destroy(). */
  listen(target, type, fn, options) {
    target.addEventListener(type, fn, options);
    this._listeners.push([target, type, fn, options]);
  }

  _build() {
    const root = this.root;
    root.replaceChildren();
    root.classList.add("hlsgate-player");
    root.setAttribute("tabindex", "-1");

    const stage = el("div", "hlsgate-stage");
    const video = el("video", "hlsgate-video", {playsinline: "", "webkit-playsinline": "", preload: "auto"});
    video.playsInline = true;
    this.video = video;

    const spinner = el("div", "hlsgate-spinner", {"aria-hidden": "true"});
    const bigPlay = button("hlsgate-bigplay", "Play", "play");
    const unmute = button("hlsgate-unmute", "Unmute", "muted");
    const unmuteText = el("span");
    unmuteText.textContent = "Tap to unmute";
    unmute.appendChild(unmuteText);
    unmute.hidden = true;

    const message = el("div", "hlsgate-message", {role: "alert"});
    message.hidden = true;
    const messageIcon = el("div", "hlsgate-message-icon");
    const messageTitle = el("p", "hlsgate-message-title");
    const messageHint = el("p", "hlsgate-message-hint");
    const retry = el("button", "hlsgate-retry", {type: "button"});
    retry.append(icon("retry"), document.createTextNode("Try again"));
    const messageBody = el("div", "hlsgate-message-body");
    messageBody.append(messageIcon, messageTitle, messageHint, retry);
    message.appendChild(messageBody);

    stage.append(video, spinner, bigPlay, unmute, message);

    const bar = el("div", "hlsgate-bar");
    const seek = el("input", "hlsgate-seek", {type: "range", min: "0", max: "0", step: "any", value: "0",
      "aria-label": "Seek"});
    seek.hidden = true; // shown once there is a duration to seek in
    const controls = el("div", "hlsgate-controls");
    const playButton = button("hlsgate-play", "Play", "play");
    const muteButton = button("hlsgate-mute", "Mute", "volume");
    const volume = el("input", "hlsgate-volume", {type: "range", min: "0", max: "1", step: "0.05", value: "1",
      "aria-label": "Volume"});
    const time = el("span", "hlsgate-time");
    const live = el("button", "hlsgate-live", {type: "button", title: "Live", "aria-label": "Live"});
    live.textContent = "Live";
    live.hidden = true;
    const status = el("span", "hlsgate-status", {role: "status", "aria-live": "polite"});
    const spacer = el("span", "hlsgate-spacer");
    const streamSelect = el("select", "hlsgate-select hlsgate-stream", {"aria-label": "Stream", title: "Stream"});
    streamSelect.hidden = true;
    const qualitySelect = el("select", "hlsgate-select hlsgate-quality", {"aria-label": "Quality", title: "Quality"});
    const fullscreen = button("hlsgate-fullscreen", "Full screen", "fullscreen");
    controls.append(playButton, muteButton, volume, time, live, status, spacer, streamSelect, qualitySelect,
      fullscreen);
    bar.append(seek, controls);
    root.append(stage, bar);

    this._el = {stage, spinner, bigPlay, unmute, message, messageIcon, messageTitle, messageHint, retry, bar, seek,
      playButton, muteButton, volume, time, live, status, streamSelect, qualitySelect, fullscreen};
  }

  _wire() {
    const ui = this._el;
    const video = this.video;
    const actions = this._actions;
    const togglePlay = () => actions.togglePlay();
    this.listen(ui.playButton, "click", togglePlay);
    this.listen(ui.bigPlay, "click", togglePlay);
    this.listen(video, "click", togglePlay);
    this.listen(video, "dblclick", () => this.toggleFullscreen());
    this.listen(ui.muteButton, "click", () => {
      video.muted = !video.muted;
      if (!video.muted && video.volume === 0) video.volume = 1;
    });
    this.listen(ui.unmute, "click", () => {
      video.muted = false;
      if (video.volume === 0) video.volume = 1;
    });
    this.listen(ui.volume, "input", () => {
      video.volume = Number(ui.volume.value);
      video.muted = video.volume === 0;
    });
    this.listen(ui.seek, "input", () => {
      if (Number.isFinite(video.duration)) video.currentTime = Number(ui.seek.value);
    });
    this.listen(ui.live, "click", () => actions.goLive());
    this.listen(ui.fullscreen, "click", () => this.toggleFullscreen());
    this.listen(ui.retry, "click", () => actions.retry());
    this.listen(ui.qualitySelect, "change", () => {
      const value = ui.qualitySelect.value;
      actions.selectQuality(value === AUTO_QUALITY ? AUTO_QUALITY : Number(value));
    });
    this.listen(ui.streamSelect, "change", () => actions.selectStream(ui.streamSelect.value));
    this.listen(document, "fullscreenchange", () => this.renderFullscreen());
    this.listen(document, "webkitfullscreenchange", () => this.renderFullscreen());
    this.listen(this.root, "keydown", (event) => this._onKey(event));
  }

  _onKey(event) {
    if (event.target instanceof HTMLSelectElement || event.target instanceof HTMLInputElement) return;
    const key = (event.key || "").toLowerCase();
    if (key === " " || key === "k") {
      if (this._actions.togglePlay()) event.preventDefault();
    } else if (key === "m") {
      this.video.muted = !this.video.muted;
    } else if (key === "f") {
      this.toggleFullscreen();
    }
  }

  renderState(state) {
    if (state === this._state) return;
    this._state = state;
    this.root.setAttribute("data-state", state);
    const ui = this._el;
    ui.playButton.disabled = state === State.LOADING || state === State.ERROR;
    const playing = state === State.PLAYING || state === State.BUFFERING;
    setIcon(ui.playButton, playing ? "pause" : "play", playing ? "Pause" : "Play");
    ui.bigPlay.hidden = !(state === State.READY || state === State.PAUSED);
  }

  /** Shows `text` in the status line; true when it changed. */
  renderStatus(text) {
    if (text === this._statusText) return false;
    this._statusText = text;
    this._el.status.textContent = text;
    return true;
  }

  setEngine(name) {
    this.root.setAttribute("data-engine", name);
  }

  /** The quality menu: Auto (`withAuto`) and the levels, highest first, valued by level index. */
  renderQualityMenu(levels, withAuto) {
    const select = this._el.qualitySelect;
    const options = withAuto ? [option(AUTO_QUALITY, "Auto")] : [];
    for (const level of levels) options.push(option(String(level.index), level.label));
    select.replaceChildren(...options);
    select.disabled = options.length < 2;
  }

  /** Select `current`; "Auto" says what plays (`playing`) when there is a choice and room for it. */
  syncQualityMenu({current, playing, levelCount}) {
    const select = this._el.qualitySelect;
    select.value = String(current);
    const auto = select.querySelector(`option[value="${AUTO_QUALITY}"]`);
    if (auto) {
      const roomy = this.root.clientWidth >= COMPACT_WIDTH_PX;
      auto.textContent = current === AUTO_QUALITY && playing && levelCount > 1 && roomy ? `Auto (${playing})` : "Auto";
    }
  }

  /** The stream menu (streams.js `streamChoices`: valued by id, labelled), hidden for fewer than two streams. */
  renderStreamMenu(choices) {
    const select = this._el.streamSelect;
    select.replaceChildren(...choices.map((choice) => option(choice.id, choice.label)));
    select.hidden = !offersChoice(choices);
    const current = choices.find((choice) => choice.current);
    if (current) select.value = current.id;
  }

  /** Live: the LIVE badge (dimmed when `behind`); else the time and, with a duration, the seek bar. */
  renderTime({live, behind}) {
    const ui = this._el;
    const video = this.video;
    const duration = video.duration;
    this.root.toggleAttribute("data-live", live);
    ui.live.hidden = !live;
    ui.seek.hidden = live || !Number.isFinite(duration) || duration <= 0;
    ui.time.hidden = live;
    if (live) {
      ui.live.classList.toggle("hlsgate-behind", behind);
      // behind the live edge, the badge says where it takes the viewer
      const label = behind ? "Behind live: go to the live edge" : "Live";
      ui.live.setAttribute("aria-label", label);
      ui.live.title = label;
      return;
    }
    const current = video.currentTime || 0;
    ui.time.textContent = Number.isFinite(duration) && duration > 0
      ? `${formatTime(current)} / ${formatTime(duration)}` : formatTime(current);
    if (!ui.seek.hidden) {
      ui.seek.max = String(duration);
      if (document.activeElement !== ui.seek) ui.seek.value = String(current);
      ui.seek.style.setProperty("--hlsgate-fill", `${Math.min(100, (current / duration) * 100)}%`);
    }
  }

  renderVolume({muted, volume, showUnmute}) {
    const ui = this._el;
    setIcon(ui.muteButton, muted ? "muted" : "volume", muted ? "Unmute" : "Mute");
    ui.volume.value = String(muted ? 0 : volume);
    ui.volume.style.setProperty("--hlsgate-fill", `${(muted ? 0 : volume) * 100}%`);
    ui.unmute.hidden = !showUnmute;
  }

  showError(error, {retryable}) {
    const ui = this._el;
    ui.messageIcon.replaceChildren(icon(iconForCode(error.code)));
    ui.messageTitle.textContent = error.message;
    ui.messageHint.textContent = error.hint || "";
    ui.messageHint.hidden = !error.hint;
    ui.retry.hidden = !retryable;
    ui.message.hidden = false;
    ui.unmute.hidden = true;
    this.root.setAttribute("data-code", error.code);
  }

  hideError() {
    this._el.message.hidden = true;
    this.root.removeAttribute("data-code");
  }

  toggleFullscreen() {
    const doc = document;
    const current = doc.fullscreenElement || doc.webkitFullscreenElement;
    if (current) {
      (doc.exitFullscreen || doc.webkitExitFullscreen).call(doc);
    } else if (this.root.requestFullscreen) {
      const request = this.root.requestFullscreen();
      if (request && typeof request.catch === "function") request.catch(() => {});
    } else if (this.root.webkitRequestFullscreen) {
      this.root.webkitRequestFullscreen();
    } else if (this.video.webkitEnterFullscreen) {
      this.video.webkitEnterFullscreen(); // iPhone: only the video itself can go full screen
    }
  }

  renderFullscreen() {
    const full = (document.fullscreenElement || document.webkitFullscreenElement) === this.root;
    this.root.classList.toggle("hlsgate-is-fullscreen", full);
    setIcon(this._el.fullscreen, full ? "exitFullscreen" : "fullscreen", full ? "Exit full screen" : "Full screen");
  }

  /** Undo everything: listeners, the DOM, the root's class and attributes. */
  destroy() {
    for (const [target, type, fn, options] of this._listeners) target.removeEventListener(type, fn, options);
    this._listeners = [];
    this.root.replaceChildren();
    this.root.classList.remove("hlsgate-player");
    for (const name of ROOT_ATTRIBUTES) this.root.removeAttribute(name);
    this.video = null;
  }
}
