// How numbers are shown: times and bitrates. A leaf.

export function formatTime(seconds) {
  const value = Number.isFinite(seconds) && seconds >= 0 ? seconds : 0;
  const s = Math.floor(value % 60);
  const m = Math.floor(value / 60) % 60;
  const h = Math.floor(value / 3600);
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

/** bit/s -> "2.8 Mbps" or "800 kbps"; "" when unknown. */
export function formatBitrate(bps) {
  if (!bps) return "";
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mbps` : `${Math.round(bps / 1000)} kbps`;
}
