import assert from "node:assert/strict";
import {describe, test} from "node:test";

import {replaceToken, swapToken, withToken} from "../src/token-url.js";

const ORIGIN = "https://media.example";

describe("replaceToken: the token of a later request's URL", () => {
  const cases = [
    ["the value is replaced", `${ORIGIN}/hls/s/720p/seg1.ts?token=old`, "new", `${ORIGIN}/hls/s/720p/seg1.ts?token=new`],
    ["other parameters are kept byte for byte, in order",
      `${ORIGIN}/a.ts?b=%2F%20x&token=old&c=1+2&d`, "new", `${ORIGIN}/a.ts?b=%2F%20x&token=new&c=1+2&d`],
    ["the new token is percent-encoded", `${ORIGIN}/a.ts?token=old`, "a+b/c=d&e f",
      `${ORIGIN}/a.ts?token=a%2Bb%2Fc%3Dd%26e%20f`],
    ["a JWT stays readable", `${ORIGIN}/a.ts?token=old`, "eyJh.eyJz.c2ln_-", `${ORIGIN}/a.ts?token=eyJh.eyJz.c2ln_-`],
    ["an old percent-encoded value goes entirely", `${ORIGIN}/a.ts?token=a%2Bb%3D&x=1`, "n", `${ORIGIN}/a.ts?token=n&x=1`],
    ["a percent-encoded parameter name is the token too", `${ORIGIN}/a.ts?%74oken=old`, "n", `${ORIGIN}/a.ts?token=n`],
    ["every token parameter is replaced", `${ORIGIN}/a.ts?token=1&x=2&token=3`, "n", `${ORIGIN}/a.ts?token=n&x=2&token=n`],
    ["a token parameter without a value gets one", `${ORIGIN}/a.ts?token&x=1`, "n", `${ORIGIN}/a.ts?token=n&x=1`],
    ["the fragment is kept", `${ORIGIN}/a.ts?token=old#t=10`, "n", `${ORIGIN}/a.ts?token=n#t=10`],
    ["a URL without a query is left alone", `${ORIGIN}/a.ts`, "n", `${ORIGIN}/a.ts`],
    ["a URL without a token parameter is left alone", `${ORIGIN}/a.ts?x=1&tokens=2&my_token=3`, "n",
      `${ORIGIN}/a.ts?x=1&tokens=2&my_token=3`],
    ["a '?' in the fragment is not a query", `${ORIGIN}/a.ts#x?token=old`, "n", `${ORIGIN}/a.ts#x?token=old`],
    ["a malformed escape in another name is harmless", `${ORIGIN}/a.ts?%E0%A4%A=1&token=old`, "n",
      `${ORIGIN}/a.ts?%E0%A4%A=1&token=n`],
  ];
  for (const [name, url, token, expected] of cases) {
    test(name, () => assert.equal(replaceToken(url, token), expected));
  }
});

describe("swapToken: which requests get the current token", () => {
  test("a URL of the media origin that names a token", () => {
    assert.equal(swapToken(`${ORIGIN}/hls/s/master.m3u8?token=old`, "new", ORIGIN),
      `${ORIGIN}/hls/s/master.m3u8?token=new`);
  });
  test("a URL of another host is left alone, token or not", () => {
    for (const url of ["https://cdn.example/a.ts?token=old", "http://media.example/a.ts?token=old",
      "https://media.example:8443/a.ts?token=old"]) {
      assert.equal(swapToken(url, "new", ORIGIN), url);
    }
  });
  test("a URL of the media origin without a token parameter is left alone", () => {
    assert.equal(swapToken(`${ORIGIN}/key.bin?x=1`, "new", ORIGIN), `${ORIGIN}/key.bin?x=1`);
  });
  test("without a current token, or for something that is not an absolute URL, nothing changes", () => {
    assert.equal(swapToken(`${ORIGIN}/a.ts?token=old`, null, ORIGIN), `${ORIGIN}/a.ts?token=old`);
    assert.equal(swapToken(`${ORIGIN}/a.ts?token=old`, "", ORIGIN), `${ORIGIN}/a.ts?token=old`);
    assert.equal(swapToken("a.ts?token=old", "new", ORIGIN), "a.ts?token=old");
    assert.equal(swapToken(undefined, "new", ORIGIN), undefined);
  });
});

describe("withToken: the URL the player loads", () => {
  test("adds the token, percent-encoded, after the other parameters", () => {
    assert.equal(withToken(`${ORIGIN}/m.m3u8?x=1`, "a+b/c"), `${ORIGIN}/m.m3u8?x=1&token=a%2Bb%2Fc`);
  });
  test("replaces a token already there", () => {
    assert.equal(withToken(`${ORIGIN}/m.m3u8?token=old`, "new"), `${ORIGIN}/m.m3u8?token=new`);
  });
  test("without a token the URL is unchanged", () => {
    assert.equal(withToken(`${ORIGIN}/m.m3u8`, null), `${ORIGIN}/m.m3u8`);
    assert.equal(withToken(`${ORIGIN}/m.m3u8`, ""), `${ORIGIN}/m.m3u8`);
  });
});
