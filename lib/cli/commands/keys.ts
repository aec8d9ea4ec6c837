// `keys generate`, `keys status` and `keys rotate`: the key-encryption-key lifecycle; and
// `keys request-state ...`, the keys that seal MCP requestStates (at the end of this file).
// Rolling rotation, in the order that never leaves an instance unable to read what another wrote:
//   1. add the new key LAST in FRONTDESK_KEYS on every instance (decrypt-only), rolling restart;
//   2. move it FIRST on every instance (active), rolling restart;
//   3. `keys rotate` (re-wraps every data key under it);
//   4. remove the old key on every instance, rolling restart.
// Promoting before every instance can decrypt with the new key is what broke rolling rotations:
// the instances still without it cannot open grants the others have just refreshed.
import { generateKeySpec, nextKeyVersion, parseKeySpecs } from "@/lib/crypto/key-spec";
import { env } from "@/lib/env";
import { defineCommand, UsageError } from "../registry";

export const ROTATION_STEPS = [
  "1. Add the new key LAST in FRONTDESK_KEYS on every instance (decrypt-only there), then restart them one by one.",
  "2. When every instance runs with it, move it FIRST (active) on every instance, then restart them one by one.",
  "3. Run: npm run frontdesk -- keys rotate   (re-wraps every stored data key under the active key)",
  "4. When it reports failed 0, remove the old key on every instance, then restart them one by one.",
] as const;

defineCommand({
  path: ["keys", "generate"],
  summary: "Print a new key-encryption key line (version:base64) for FRONTDESK_KEYS",
  description:
    "Prints only the key line on stdout, so it can be captured by a script. Without --label, the\n" +
    "version is the next vN after those in FRONTDESK_KEYS (v1 when none is configured).",
  options: { label: { type: "string", description: "version label to use, [A-Za-z0-9_-]{1,32}", placeholder: "version" } },
  async run({ options }) {
    const label = typeof options.label === "string" ? options.label : undefined;
    if (label !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(label)) {
      throw new UsageError("--label must be 1-32 characters of A-Z a-z 0-9 _ -");
    }
    const configured = env().FRONTDESK_KEYS;
    const existing = configured ? parseKeySpecs(configured).map((k) => k.version) : [];
    if (label !== undefined && existing.includes(label)) throw new UsageError(`key version "${label}" is already in FRONTDESK_KEYS`);
    const version = label ?? nextKeyVersion(existing);
    const key = generateKeySpec(version);
    return {
      exitCode: 0,
      text: key,
      data: { version, key },
      note: existing.length
        ? [
            `Add it LAST first (FRONTDESK_KEYS=${existing.join(",")},${version}:...): decrypt-only until every instance has it.`,
            ...ROTATION_STEPS,
            "npm run frontdesk -- keys status shows where a rotation stands.",
          ].join("\n")
        : "Set FRONTDESK_KEYS to this line (keep it secret: it decrypts every stored credential).",
    };
  },
});

defineCommand({
  path: ["keys", "rotate"],
  summary: "Re-wrap every stored data key under the active (first) key; online, idempotent, resumable",
  description:
    "Run after every instance has the new key first in FRONTDESK_KEYS (step 3 of `keys status`). Only\n" +
    "data keys are re-wrapped; " +
    "encrypted fields are untouched and stay readable throughout. Safe to interrupt and run again.\n" +
    "When it reports failed 0, the old key can be removed from FRONTDESK_KEYS.",
  options: { "batch-size": { type: "string", description: "rows per batch (default 200)", placeholder: "n" } },
  async run({ options }) {
    const raw = options["batch-size"];
    const batchSize = typeof raw === "string" ? Number(raw) : undefined;
    if (batchSize !== undefined && (!/^\d+$/.test(String(raw)) || batchSize < 1 || batchSize > 5000)) {
      throw new UsageError("--batch-size must be an integer between 1 and 5000");
    }
    const { ensureKeyring } = await import("@/lib/crypto/keyring");
    const { rotateDataKeys } = await import("@/lib/crypto/rotate");
    const activeVersion = (await ensureKeyring()).activeVersion;
    const result = await rotateDataKeys({ batchSize });
    const ok = result.failed === 0;
    return {
      exitCode: ok ? 0 : 1,
      text: [
        `Active key: ${activeVersion}`,
        `scanned ${result.scanned}, rewrapped ${result.rewrapped}, already current ${result.alreadyCurrent}, failed ${result.failed}`,
        ok
          ? "Every data key is on the active key; older keys may now be removed from FRONTDESK_KEYS."
          : "Some data keys could not be re-wrapped (see the log lines above); keep the old keys configured and run again.",
      ].join("\n"),
      data: { activeVersion, ...result },
    };
  },
});

defineCommand({
  path: ["keys", "status"],
  summary: "Show the configured keys (active, decrypt-only), how many data keys each wraps, and the rotation steps",
  description:
    "Counts stored data keys per key version in the database and names, for each configured key, whether\n" +
    "it is active or decrypt-only and whether anything still needs it. A decrypt-only key that wraps\n" +
    "nothing is either new (promote it: step 2) or retired (remove it: step 4).",
  async run() {
    const { ensureKeyring, loadedKeySourceDescription } = await import("@/lib/crypto/keyring");
    const { countDataKeysByVersion } = await import("@/lib/crypto/rotate");
    const keyring = await ensureKeyring();
    const counts = await countDataKeysByVersion();
    const keys = keyring.versions.map((version) => ({
      version,
      role: version === keyring.activeVersion ? ("active" as const) : ("decrypt-only" as const),
      dataKeys: counts[version] ?? 0,
    }));
    const unknown = Object.keys(counts).filter((v) => !keyring.hasVersion(v));
    const lines = [`Key source: ${loadedKeySourceDescription()}`, ...keys.map((k) => `${k.version.padEnd(12)} ${k.role.padEnd(13)} wraps ${k.dataKeys} data key(s)`)];
    for (const v of unknown) lines.push(`${v.padEnd(12)} NOT CONFIGURED wraps ${counts[v]} data key(s): add this key back before anything else`);
    const pending = keys.filter((k) => k.role === "decrypt-only" && k.dataKeys > 0);
    if (pending.length) lines.push("", `Still needed: ${pending.map((k) => k.version).join(", ")} (run keys rotate once every instance has ${keyring.activeVersion} first).`);
    lines.push("", "Rolling rotation:", ...ROTATION_STEPS);
    return { exitCode: unknown.length ? 1 : 0, text: lines.join("\n"), data: { activeVersion: keyring.activeVersion, keys, unknownVersions: unknown } };
  },
});

// `keys hsm create`: a new KEK inside the PKCS#11 token (softhsm2-util cannot make secret keys,
// and a vendor tool may set other attributes than start-up insists on). Uses the same
// FRONTDESK_PKCS11_MODULE / _TOKEN_LABEL or _SLOT / _PIN_FILE as the server.
defineCommand({
  path: ["keys", "hsm", "create"],
  summary: "Create a key-encryption key inside the PKCS#11 token (AES-256, non-extractable, sensitive)",
  description:
    "Generates the key in the token given by FRONTDESK_PKCS11_MODULE, FRONTDESK_PKCS11_TOKEN_LABEL (or\n" +
    "FRONTDESK_PKCS11_SLOT) and FRONTDESK_PKCS11_PIN_FILE; its bytes never leave the token. The label is\n" +
    "the key version stored with every data key it wraps. Without --label: the next vN after every\n" +
    "configured version. Then add the label to FRONTDESK_PKCS11_KEYS in the rolling order below.",
  options: { label: { type: "string", description: "key label (= key version), [A-Za-z0-9_-]{1,32}", placeholder: "label" } },
  async run({ options }) {
    const label = typeof options.label === "string" ? options.label : undefined;
    if (label !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(label)) throw new UsageError("--label must be 1-32 characters of A-Z a-z 0-9 _ -");
    const e = env();
    if (!e.FRONTDESK_PKCS11_MODULE) throw new UsageError("set FRONTDESK_PKCS11_MODULE, FRONTDESK_PKCS11_TOKEN_LABEL (or _SLOT) and FRONTDESK_PKCS11_PIN_FILE first");
    const { keyringConfigFromEnv } = await import("@/lib/crypto/keyring");
    const { createTokenKey } = await import("@/lib/crypto/pkcs11-keys");
    const configured = [...(e.FRONTDESK_KEYS ? parseKeySpecs(e.FRONTDESK_KEYS).map((k) => k.version) : []), ...e.FRONTDESK_PKCS11_KEYS];
    if (label !== undefined && configured.includes(label)) throw new UsageError(`key version "${label}" is already configured`);
    const version = label ?? nextKeyVersion(configured);
    const attributes = await createTokenKey(keyringConfigFromEnv(e).pkcs11!, version);
    const listed = e.FRONTDESK_PKCS11_KEYS;
    return {
      exitCode: 0,
      text: version,
      data: { label: version, attributes },
      note: [
        `Created AES-256 key "${version}" in the token (extractable: ${attributes.extractable}, sensitive: ${attributes.sensitive}).`,
        ...(listed.length || e.FRONTDESK_KEYS || e.FRONTDESK_KEYS_FILE
          ? [
              listed.length
                ? `Add it LAST first (FRONTDESK_PKCS11_KEYS=${[...listed, version].join(",")}): decrypt-only until every instance has it; then the same steps as for FRONTDESK_KEYS:`
                : `Set FRONTDESK_PKCS11_KEYS=${version} with FRONTDESK_ACTIVE_KEY_VERSION=<the current local version> on every instance first, then drop that variable, then keys rotate (docs/operations.md "Key sources").`,
              ...(listed.length ? ROTATION_STEPS : []),
            ]
          : [`Set FRONTDESK_PKCS11_KEYS=${version}.`]),
      ].join("\n"),
    };
  },
});

// `keys request-state status|rotate|retire`: the keys that seal MCP 2026-07-28 requestStates
// (lib/elicitations/request-state-keys.ts). They are data keys of their own, stored sealed in the
// database, so they need no restart: a new key seals on this instance at once and on the others
// within a minute; an older key keeps opening until it is retired.
const REQUEST_STATE_ACTOR = { type: "admin" as const, id: "cli" };

function describeRequestStateKeys(keys: Awaited<ReturnType<typeof import("@/lib/elicitations/request-state-keys").listRequestStateKeys>>): string[] {
  if (keys.length === 0) return ["No request-state key yet (the first consent-needed answer creates one)."];
  return keys.map((k) => {
    const when = k.role === "opening" && k.retirableAt ? `, retirable from ${k.retirableAt.toISOString()}` : "";
    return `${k.id.padEnd(18)} ${k.role.padEnd(8)} created ${k.createdAt.toISOString()}${when}`;
  });
}

defineCommand({
  path: ["keys", "request-state", "status"],
  summary: "List the requestState keys: the one that seals, older ones that still open, retired ones",
  async run() {
    const { listRequestStateKeys } = await import("@/lib/elicitations/request-state-keys");
    const keys = await listRequestStateKeys();
    return { exitCode: 0, text: describeRequestStateKeys(keys).join("\n"), data: { keys } };
  },
});

defineCommand({
  path: ["keys", "request-state", "rotate"],
  summary: "Add a new requestState key that seals from now on; older keys keep opening until retired",
  description:
    "Online: this instance seals with the new key at once, the others within a minute (and open it at\n" +
    "once when a state names it). States sealed before stay valid. Run `keys request-state retire`\n" +
    "once they have expired (`keys request-state status` says when).",
  async run() {
    const { listRequestStateKeys, retireGraceMs, rotateRequestStateKey } = await import("@/lib/elicitations/request-state-keys");
    const id = await rotateRequestStateKey(REQUEST_STATE_ACTOR);
    const keys = await listRequestStateKeys();
    const minutes = Math.ceil(retireGraceMs() / 60_000);
    return {
      exitCode: 0,
      text: [`New requestState key: ${id} (seals from now on)`, ...describeRequestStateKeys(keys)].join("\n"),
      data: { keyId: id, keys },
      note: `Older keys still open states sealed before; retire them in ${minutes} minutes: npm run frontdesk -- keys request-state retire`,
    };
  },
});

defineCommand({
  path: ["keys", "request-state", "retire"],
  summary: "Retire the requestState keys whose states have all expired (or, --immediately, every key but the newest)",
  description:
    "A retired key opens nothing: a state sealed under it is refused as invalid_request_state (the MCP\n" +
    "server's next call gets a fresh link). Without --immediately only keys superseded longer ago than\n" +
    "the elicitation lifetime (plus a minute for other instances) are retired, so no live state breaks.\n" +
    "--immediately is for a key thought exposed. Other instances stop opening with a retired key\n" +
    "within a minute.",
  options: { immediately: { type: "boolean", description: "retire every key but the newest now, even if live states use it" } },
  async run({ options }) {
    const { listRequestStateKeys, retireRequestStateKeys } = await import("@/lib/elicitations/request-state-keys");
    const retired = await retireRequestStateKeys(REQUEST_STATE_ACTOR, { immediately: options.immediately === true });
    const keys = await listRequestStateKeys();
    const waiting = keys.filter((k) => k.role === "opening");
    return {
      exitCode: 0,
      text: [
        retired.length ? `Retired: ${retired.join(", ")}` : "Nothing to retire.",
        ...(waiting.length ? [`Still opening (retirable later): ${waiting.map((k) => k.id).join(", ")}`] : []),
        ...describeRequestStateKeys(keys),
      ].join("\n"),
      data: { retired, keys },
    };
  },
});
