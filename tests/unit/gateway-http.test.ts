// Edge parsing of the gateway API without a database: body limits, content types, scope syntax,
// key registration rules, capped expires_in.
import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { validateGatewayJwks } from "@/lib/gateways/keys";
import { fromWebRequest, MAX_BODY_BYTES, readBodyText, readForm, readJson } from "@/lib/gateway-api/http";
import { parseScopes } from "@/lib/gateway-api/target";
import { cappedExpiresIn } from "@/lib/gateway-api/token-exchange";

const post = (body: BodyInit, type: string, headers: Record<string, string> = {}) =>
  fromWebRequest(new Request("http://x/", { method: "POST", headers: { "content-type": type, ...headers }, body }));

const chunked = (chunks: number, size: number) =>
  new Request("http://x/", {
    method: "POST",
    duplex: "half",
    body: new ReadableStream({
      start(c) {
        for (let i = 0; i < chunks; i++) c.enqueue(new TextEncoder().encode("x".repeat(size)));
        c.close();
      },
    }),
  } as RequestInit);

describe("gateway API edge parsing", () => {
  it("refuses bodies over the limit, by declared length or by streaming", async () => {
    const declared = await post("x".repeat(11), "text/plain");
    expect(() => readBodyText(declared, 10)).toThrow(expect.objectContaining({ code: "payload_too_large" }));
    const streamed = await fromWebRequest(chunked(5, 5));
    expect(() => readBodyText(streamed, 10)).toThrow(expect.objectContaining({ code: "payload_too_large" }));
    expect(readBodyText(await post("0123456789", "text/plain"), 10)).toBe("0123456789");
    expect(readBodyText(await post("\ufeff{}", "text/plain"))).toBe("{}");
  });

  it("reads a web Request's body only up to one byte past the limit", async () => {
    const big = await fromWebRequest(chunked(20, 8 * 1024));
    expect({ bytes: big.body?.length, truncated: big.truncated }).toEqual({ bytes: MAX_BODY_BYTES + 1, truncated: true });
    expect(() => readBodyText(big)).toThrow(expect.objectContaining({ code: "payload_too_large" }));
    const exact = await fromWebRequest(chunked(8, 8 * 1024));
    expect({ bytes: exact.body?.length, truncated: exact.truncated }).toEqual({ bytes: MAX_BODY_BYTES, truncated: false });
    expect(readBodyText(exact)).toHaveLength(MAX_BODY_BYTES);
  });

  it("checks content types and JSON/UTF-8 validity", async () => {
    const refused = (code: string) => expect.objectContaining({ code });
    expect(readForm.bind(null, await post("a=1", "application/json"))).toThrow(refused("unsupported_media_type"));
    expect(readForm(await post("a=1&a=2", "application/x-www-form-urlencoded; charset=UTF-8")).getAll("a")).toEqual(["1", "2"]);
    expect(readJson.bind(null, await post("{}", "text/plain"))).toThrow(refused("unsupported_media_type"));
    expect(readJson.bind(null, await post("{", "application/json"))).toThrow(refused("invalid_body"));
    expect(readJson.bind(null, await post(new Uint8Array([0xff, 0xfe]), "application/json"))).toThrow(refused("invalid_body"));
    expect(readJson(await post('{"a":1}', "application/json"))).toEqual({ a: 1 });
  });

  it("accepts RFC 6749 scope tokens only", () => {
    expect(parseScopes(["notes:read", "notes:read", "repo"])).toEqual(["notes:read", "repo"]);
    expect(() => parseScopes(['a"b'])).toThrow();
    expect(() => parseScopes(["a\\b"])).toThrow();
    expect(() => parseScopes(["é"])).toThrow();
    expect(() => parseScopes(Array.from({ length: 51 }, (_, i) => `s${i}`))).toThrow();
  });

  it("caps expires_in at TOKEN_MAX_EXPIRES_IN and never returns less than one second", () => {
    const now = Date.now();
    expect(cappedExpiresIn(new Date(now + 3600_000), now)).toBe(300);
    expect(cappedExpiresIn(new Date(now + 42_000), now)).toBe(42);
    expect(cappedExpiresIn(new Date(now - 5_000), now)).toBe(1);
    expect(cappedExpiresIn(null, now)).toBe(300);
  });
});

describe("gateway key registration", () => {
  it("takes public asymmetric keys only", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const pub = await exportJWK(publicKey);
    const priv = await exportJWK(privateKey);
    expect(validateGatewayJwks({ keys: [pub] }).keys).toHaveLength(1);
    expect(() => validateGatewayJwks({ keys: [priv] })).toThrow(/public keys only/);
    expect(() => validateGatewayJwks({ keys: [{ kty: "oct", k: "c2VjcmV0" }] })).toThrow();
    expect(() => validateGatewayJwks({ keys: [] })).toThrow();
    expect(() => validateGatewayJwks("nope")).toThrow();
  });
});
