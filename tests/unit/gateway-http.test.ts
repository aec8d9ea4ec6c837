// Edge parsing of the gateway API without a database: body limits, content types, scope syntax,
// key registration rules, capped expires_in.
import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { validateGatewayJwks } from "@/lib/gateways/keys";
import { readBodyText, readForm, readJson } from "@/lib/gateway-api/http";
import { parseScopes } from "@/lib/gateway-api/target";
import { cappedExpiresIn } from "@/lib/gateway-api/token-exchange";

const post = (body: BodyInit, type: string, headers: Record<string, string> = {}) =>
  new Request("http://x/", { method: "POST", headers: { "content-type": type, ...headers }, body });

describe("gateway API edge parsing", () => {
  it("refuses bodies over the limit, by declared length or by streaming", async () => {
    await expect(readBodyText(post("x".repeat(11), "text/plain"), 10)).rejects.toMatchObject({ code: "payload_too_large" });
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode("x".repeat(5)));
        c.close();
      },
    });
    const req = new Request("http://x/", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    await expect(readBodyText(req, 10)).rejects.toMatchObject({ code: "payload_too_large" });
    expect(await readBodyText(post("0123456789", "text/plain"), 10)).toBe("0123456789");
  });

  it("checks content types and JSON/UTF-8 validity", async () => {
    await expect(readForm(post("a=1", "application/json"))).rejects.toMatchObject({ code: "unsupported_media_type" });
    expect((await readForm(post("a=1&a=2", "application/x-www-form-urlencoded; charset=UTF-8"))).getAll("a")).toEqual(["1", "2"]);
    await expect(readJson(post("{}", "text/plain"))).rejects.toMatchObject({ code: "unsupported_media_type" });
    await expect(readJson(post("{", "application/json"))).rejects.toMatchObject({ code: "invalid_body" });
    await expect(readJson(post(new Uint8Array([0xff, 0xfe]), "application/json"))).rejects.toMatchObject({ code: "invalid_body" });
    expect(await readJson(post('{"a":1}', "application/json"))).toEqual({ a: 1 });
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
