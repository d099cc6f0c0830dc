// A clock for tests: time moves only when a test says so, and due timeouts run in order.

/** Lets every pending promise callback run (setImmediate comes after the microtask queue). */
export const settle = async (rounds = 5) => {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

export class FakeClock {
  constructor(nowMs) {
    this._now = nowMs;
    this._timers = new Map();
    this._nextId = 1;
  }

  now() {
    return this._now;
  }

  setTimeout(fn, ms) {
    const id = this._nextId++;
    this._timers.set(id, {at: this._now + Math.max(0, ms || 0), fn});
    return id;
  }

  clearTimeout(id) {
    this._timers.delete(id);
  }

  get pending() {
    return this._timers.size;
  }

  /** Move time forward by `ms`, running each timeout that falls due (and what its promises then do). */
  async advance(ms) {
    const end = this._now + ms;
    await settle();
    for (;;) {
      let next = null;
      for (const [id, timer] of this._timers) {
        if (timer.at <= end && (!next || timer.at < next[1].at)) next = [id, timer];
      }
      if (!next) break;
      this._timers.delete(next[0]);
      this._now = next[1].at;
      next[1].fn();
      await settle();
    }
    this._now = end;
    await settle();
  }

  /** Move time forward without running any timeout: a background tab whose timers were throttled. */
  jump(ms) {
    this._now += ms;
  }
}

/** An unsigned JWT with these claims: the player only reads them. */
export function fakeJwt(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({alg: "HS256", typ: "JWT"})}.${part(claims)}.c2lnbmF0dXJl`;
}
