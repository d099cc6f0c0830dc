// The widget's icons, drawn as inline SVG (no external assets), and which one an error shows.

import {Code, isAuthCode} from "./errors.js";

const SVG_NS = "http://www.w3.org/2000/svg";

const ICONS = {
  play: [["path", {class: "fill",
    d: "M8 5.5v13a1 1 0 0 0 1.5.86l10.4-6.5a1 1 0 0 0 0-1.72L9.5 4.64A1 1 0 0 0 8 5.5z"}]],
  pause: [["rect", {x: 6, y: 5, width: 4, height: 14, rx: 1, class: "fill"}],
    ["rect", {x: 14, y: 5, width: 4, height: 14, rx: 1, class: "fill"}]],
  volume: [["path", {d: "M4 9.5h3.5L12 5.5v13l-4.5-4H4z", class: "fill"}],
    ["path", {d: "M15.5 9a4 4 0 0 1 0 6M18.5 6.5a7.5 7.5 0 0 1 0 11"}]],
  muted: [["path", {d: "M4 9.5h3.5L12 5.5v13l-4.5-4H4z", class: "fill"}], ["path", {d: "M16 9.5l5 5M21 9.5l-5 5"}]],
  fullscreen: [["path", {d: "M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"}]],
  exitFullscreen: [["path", {d: "M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5"}]],
  lock: [["rect", {x: 5, y: 10.5, width: 14, height: 10, rx: 2}], ["path", {d: "M8.5 10.5V7.5a3.5 3.5 0 0 1 7 0v3"}],
    ["path", {d: "M12 14.5v2.5"}]],
  clock: [["circle", {cx: 12, cy: 12, r: 8.5}], ["path", {d: "M12 7.5V12l3 2"}]],
  offline: [["path", {d: "M3.5 9a12.5 12.5 0 0 1 17 0M6.5 12.5a8 8 0 0 1 11 0M9.5 16a3.5 3.5 0 0 1 5 0"}],
    ["path", {d: "M4 4l16 16"}]],
  broadcast: [["circle", {cx: 12, cy: 12, r: 2, class: "fill"}],
    ["path", {d: "M8 8a5.5 5.5 0 0 0 0 8M16 8a5.5 5.5 0 0 1 0 8M5 5a9.9 9.9 0 0 0 0 14M19 5a9.9 9.9 0 0 1 0 14"}]],
  alert: [["path", {d: "M12 4.5l8.5 15h-17z"}], ["path", {d: "M12 10v4"}],
    ["circle", {cx: 12, cy: 16.8, r: 0.6, class: "fill"}]],
  retry: [["path", {d: "M19.5 12a7.5 7.5 0 1 1-2.2-5.3"}], ["path", {d: "M19.5 4.5v4h-4"}]],
};

export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", `hlsgate-icon hlsgate-icon-${name}`);
  for (const [tag, attrs] of ICONS[name]) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    svg.appendChild(node);
  }
  return svg;
}

export function iconForCode(code) {
  if (code === Code.TOKEN_EXPIRED || code === Code.TOKEN_NOT_YET_VALID) return "clock";
  if (isAuthCode(code) || code === Code.FORBIDDEN) return "lock";
  if (code === Code.NETWORK) return "offline";
  if (code === Code.EMPTY || code === Code.NOT_FOUND) return "broadcast";
  return "alert";
}
