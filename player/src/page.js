/*
 * The /player/ page: reads ?group=ID|stream=ID&token=T (&engine=, &quality=, &muted=) and plays it.
 * Served under a CSP without inline scripts: everything the page does is here.
 */
const PRODUCT = "hlsgate";

const byId = (id) => document.getElementById(id);

function setHeading(title, kind) {
  byId("hg-title").textContent = title;
  const badge = byId("hg-kind");
  badge.textContent = kind || "";
  badge.hidden = !kind;
}

function showEmptyState() {
  const base = `${window.location.origin}${window.location.pathname}`;
  for (const node of document.querySelectorAll(".hg-base")) node.textContent = base;
  setHeading("Player", "");
  byId("hg-empty").hidden = false;
}

function formatExpiry(unixSeconds) {
  const when = new Date(unixSeconds * 1000);
  const sameDay = when.toDateString() === new Date().toDateString();
  const time = when.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  return sameDay ? time : `${when.toLocaleDateString([], {month: "short", day: "numeric"})}, ${time}`;
}

function showAccess(player) {
  const expiresAt = player.expiresAt;
  byId("hg-access").hidden = !expiresAt;
  if (expiresAt) {
    byId("hg-access-text").textContent = `Access until ${formatExpiry(expiresAt)}`;
    byId("hg-access").title = "Your access to this stream is limited in time";
  }
}

function buildConfig(query, kind, id) {
  // Without ?token= the player asks anyway ("" = no token): the server answers token_missing, which the
  // player puts in words, or plays when it serves public streams (--no-auth).
  const scope = {id, security: {jwtoken: query.get("token") || ""}};
  const config = {source: {[kind]: scope}, playback: {}};
  const engine = query.get("engine");
  if (engine) config.playback.engine = engine;
  const quality = query.get("quality");
  if (quality) config.playback.quality = quality;
  const muted = query.get("muted");
  if (muted === "1" || muted === "0") config.playback.muted = muted === "1";
  return config;
}

function main() {
  const query = new URLSearchParams(window.location.search);
  const group = query.get("group");
  const stream = query.get("stream");
  if (!group && !stream) {
    showEmptyState();
    return;
  }
  const kind = group ? "group" : "stream";
  const id = group || stream;
  setHeading(id, kind === "group" ? "Group" : "Stream");
  document.title = `${id} · ${PRODUCT}`;

  const slot = byId("player");
  slot.hidden = false;
  if (typeof window.HlsGatePlayer !== "function") {
    slot.className = "hg-fallback";
    slot.textContent = "The player could not be loaded. Reload the page to try again.";
    return;
  }
  // ?group=a&stream=b reaches the player as both, and it says which one to drop.
  const config = buildConfig(query, kind, id);
  if (group && stream) config.source.stream = {id: stream};

  const player = new window.HlsGatePlayer(slot);
  window.hlsgatePlayer = player;
  const retitle = () => {
    const current = kind === "group" ? player.stream : null;
    const shown = byId("hg-current");
    shown.textContent = current || "";
    shown.hidden = !current;
    document.title = current ? `${current} · ${id} · ${PRODUCT}` : `${id} · ${PRODUCT}`;
  };
  player.on("ready", () => {
    retitle();
    showAccess(player);
  });
  player.on("stream", retitle);
  player.on("tokenrenewed", () => showAccess(player));
  player.on("error", () => {
    byId("hg-access").hidden = true;
  });
  // The widget shows any failure in words; nothing more to do with the rejection here.
  player.setup(config).catch(() => {});
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
