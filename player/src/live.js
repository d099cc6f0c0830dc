// Live or not, and how a live stream ends: a small state machine over what the engine saw (pure, no DOM). The
// player feeds it each playlist load, each "gone" (a 404 or 410 on a playlist or segment) and the <video>'s
// `ended`; it answers the state, and the words for the states that stop playback (`liveError`).
//
//   unknown --playlist(live)--> live --playlist(not live: ENDLIST)--> ending --media ended--> ended
//      |                         |                                      \--gone-------------> ended
//      |                         \--gone (the playlist stopped being served)----------------> ended
//      |--playlist(not live)--> vod
//      \--gone before any playlist (a live stream that has not started)--> waiting --playlist--> live | vod
//
// A stream the config marks `live: false` is never `waiting`: a 404 there is the plain `not_found`.

import {Code, playerError} from "./errors.js";

export const LiveState = Object.freeze({
  UNKNOWN: "unknown", // nothing loaded yet
  WAITING: "waiting", // the playlist is not served (yet): a live stream that has not started
  LIVE: "live", // a playlist without ENDLIST: hls.js reloads it every target duration
  ENDING: "ending", // ENDLIST appeared: the last segments still play
  ENDED: "ended", // the stream is over
  VOD: "vod", // a playlist with ENDLIST from the first load
});

export const LiveEvent = Object.freeze({
  PLAYLIST: "playlist", // {live}: a media playlist loaded; live = no ENDLIST
  GONE: "gone", // a playlist (or segment) answered 404/410, after hls.js's own retries
  MEDIA_ENDED: "media-ended", // the <video> played to the end
});

/** The state after `event` ({type, live}); `expectLive` is the stream's `live` flag (true, false or undefined). */
export function nextLiveState(state, event, {expectLive} = {}) {
  switch (event.type) {
    case LiveEvent.PLAYLIST:
      if (state === LiveState.ENDED || state === LiveState.VOD) return state;
      if (event.live) return LiveState.LIVE;
      return state === LiveState.LIVE || state === LiveState.ENDING ? LiveState.ENDING : LiveState.VOD;
    case LiveEvent.GONE:
      if (state === LiveState.LIVE || state === LiveState.ENDING || state === LiveState.ENDED) return LiveState.ENDED;
      if (state === LiveState.UNKNOWN || state === LiveState.WAITING) {
        return expectLive === false ? state : LiveState.WAITING;
      }
      return state; // a VOD's file went missing: the plain not_found
    case LiveEvent.MEDIA_ENDED:
      return state === LiveState.ENDING || state === LiveState.LIVE ? LiveState.ENDED : state;
    default:
      return state;
  }
}

/** True while the LIVE badge belongs on screen. */
export const isLiveState = (state) => state === LiveState.LIVE;

/** The error a state stops playback with (`ended`, `not_live`), or null when it does not stop playback. */
export function liveError(state) {
  if (state === LiveState.ENDED) return playerError(Code.ENDED);
  if (state === LiveState.WAITING) return playerError(Code.NOT_LIVE);
  return null;
}

/** One load's live state (the player makes one per load). */
export class LiveTracker {
  constructor({expectLive} = {}) {
    this.expectLive = expectLive;
    this.state = LiveState.UNKNOWN;
  }

  /** Apply `event`; true when the state changed. */
  feed(event) {
    const before = this.state;
    this.state = nextLiveState(before, event, {expectLive: this.expectLive});
    return this.state !== before;
  }
}
