// The browser's own HLS (Safari, iOS): `video.src` is the tokenised URL, and the origin writes the token into
// every URI of the playlists it serves. After a renewal the source is swapped for the same URL with the new
// token, at the same position and play state. A <video> error says nothing about HTTP, so the engine asks the
// origin what it answers for the same URL.

import {AuthEpisode, RenewReason, State} from "../defs.js";
import {Internal} from "../events.js";
import {Code, errorForAnswer, playerError} from "../errors.js";
import {probe} from "../loader.js";
import {withToken} from "../token-url.js";
import {Engine} from "./engine.js";

const MEDIA_ERR_NETWORK = 2; // MediaError.MEDIA_ERR_NETWORK

export class NativeEngine extends Engine {
  constructor(ctx) {
    super(ctx);
    this._url = null;
    this._wanted = null; // the tokenised URL the <video> is loading now
    this._swapping = false;
    this._authEpisode = null;
    this._onMetadata = null;
    this._onVideoError = () => {
      this._diagnose();
    };
    this._onTokenRenewed = () => this._swapSource();
    this.video.addEventListener("error", this._onVideoError);
    ctx.bus.on(Internal.TOKEN_RENEWED, this._onTokenRenewed);
  }

  get swapping() {
    return this._swapping;
  }

  load(url, startTime) {
    this._url = url;
    this._setSource(withToken(url, this.ctx.tokens.token), () => {
      if (startTime > 0 && Number.isFinite(this.video.duration)) this.video.currentTime = startTime;
      this.trigger(Internal.MEDIA_READY, {});
    });
    this.video.load();
  }

  destroy() {
    super.destroy();
    this.video.removeEventListener("error", this._onVideoError);
    if (this._onMetadata) this.video.removeEventListener("loadedmetadata", this._onMetadata);
    this.ctx.bus.off(Internal.TOKEN_RENEWED, this._onTokenRenewed);
    this._wanted = null;
    this._swapping = false;
  }

  /** Point the <video> at `wanted`; `then()` once its metadata are loaded, unless another source came first. */
  _setSource(wanted, then) {
    const video = this.video;
    if (this._onMetadata) video.removeEventListener("loadedmetadata", this._onMetadata);
    this._wanted = wanted;
    this._onMetadata = () => {
      video.removeEventListener("loadedmetadata", this._onMetadata);
      this._onMetadata = null;
      if (this._wanted === wanted && !this.destroyed) then();
    };
    video.addEventListener("loadedmetadata", this._onMetadata);
    video.src = wanted;
  }

  /** After a renewal: the same stream with the new token, at the same position and play state. */
  _swapSource() {
    if (this.destroyed || !this._wanted) return;
    const video = this.video;
    const position = video.currentTime;
    const wasPlaying = !video.paused;
    this._swapping = true;
    this._setSource(withToken(this._url, this.ctx.tokens.token), () => {
      if (Number.isFinite(video.duration) && position > 0) video.currentTime = position;
      this._swapping = false;
      if (wasPlaying) video.play().catch(() => this.trigger(Internal.PLAY_REFUSED, {}));
    });
  }

  async _diagnose() {
    if (this.destroyed || !this._wanted || this.ctx.state() === State.ERROR) return;
    const mediaError = this.video.error;
    const probed = this._wanted;
    const answer = await probe(probed, {fetchFn: this.ctx.fetchFn});
    if (this._wanted !== probed || this.destroyed) return;
    if (!answer) {
      this.fail(playerError(Code.NETWORK));
      return;
    }
    if (answer.ok) {
      const code = mediaError && mediaError.code === MEDIA_ERR_NETWORK ? Code.NETWORK : Code.MEDIA;
      this.fail(playerError(code, {detail: mediaError ? `MediaError ${mediaError.code}` : ""}));
      return;
    }
    const tokens = this.ctx.tokens;
    if (answer.status === 401) {
      if (tokens.canRenew && this._authEpisode !== AuthEpisode.FAILED && this._authEpisode !== AuthEpisode.RESUMED) {
        this._authEpisode = AuthEpisode.RESUMED; // the renewal swaps the source (TOKEN_RENEWED)
        tokens.renew(RenewReason.UNAUTHORIZED).catch(() => this.fail(tokens.unauthorizedError(answer.code)));
        return;
      }
      this.fail(tokens.unauthorizedError(answer.code));
      return;
    }
    const error = errorForAnswer(answer, this.ctx.scope);
    if (answer.status === 404 || answer.status === 410) this.trigger(Internal.GONE, {error});
    else this.fail(error);
  }
}
