// The quality menu's levels: from the config's entries or from hls.js's, labelled and ordered highest first,
// and the one `playback.quality` asks for. Pure.

import {AUTO_QUALITY} from "./defs.js";
import {formatBitrate} from "./format.js";

/** playback.quality: "auto"/absent -> null; 720 or "720" -> "720p"; a label stays as it is. */
export function normaliseQuality(value) {
  if (value === undefined || value === null || value === "" || value === AUTO_QUALITY) return null;
  const text = String(value).trim();
  return /^\d+$/.test(text) ? `${text}p` : text;
}

/** Highest first: by height, then bitrate. Sorts in place. */
export function sortLevels(levels) {
  return levels.sort((a, b) => (b.height || 0) - (a.height || 0) || (b.bitrate || 0) - (a.bitrate || 0));
}

/** Same label twice (two 720p rungs): tell them apart by bitrate. */
export function disambiguate(levels) {
  const counts = new Map();
  for (const level of levels) counts.set(level.label, (counts.get(level.label) || 0) + 1);
  for (const level of levels) {
    if (counts.get(level.label) > 1 && level.bitrate) {
      level.label = `${level.label} · ${formatBitrate(level.bitrate)}`;
    }
  }
  return levels;
}

/** A stream's entries as levels, indexed by entry index (info.bitrate is in kbps, levels' in bit/s). */
export function entryLevels(entries) {
  return sortLevels(entries.map((entry) => ({index: entry.index, label: entry.label, width: entry.info.width,
    height: entry.info.height, bitrate: entry.info.bitrate ? entry.info.bitrate * 1000 : null})));
}

/** hls.js's levels, indexed by hls.js level index, labelled like the entry of the same height and nearest bitrate. */
export function hlsLevels(levels, entries) {
  return disambiguate(sortLevels(levels.map((level, index) => {
    const height = level.height || null;
    let match = null;
    for (const entry of entries) {
      if (entry.info.height !== height) continue;
      const distance = Math.abs((entry.info.bitrate || 0) * 1000 - (level.bitrate || 0));
      if (!match || distance < match.distance) match = {entry, distance};
    }
    const label = match ? match.entry.label
      : height ? `${height}p` : formatBitrate(level.bitrate) || `Level ${index + 1}`;
    return {index, label, width: level.width || null, height, bitrate: level.bitrate || null};
  })));
}

/** The level or entry `wanted` (a normalised quality) names: by label, else by height; or null. */
export function findQuality(candidates, wanted, heightOf) {
  if (wanted === null) return null;
  return candidates.find((candidate) => candidate.label === wanted)
    || candidates.find((candidate) => heightOf(candidate) && `${heightOf(candidate)}p` === wanted) || null;
}
