// `keys generate` and `keys rotate`: the key-encryption-key lifecycle.
// Rotation procedure: generate a key, put it first in FRONTDESK_KEYS on every instance (keeping
// the old ones after it), restart, run `keys rotate`, then remove the old key from config.
import { generateKeySpec, nextKeyVersion, parseKeySpecs } from "@/lib/crypto/key-spec";
import { env } from "@/lib/env";
import { defineCommand, UsageError } from "../registry";

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
        ? `Put it first in FRONTDESK_KEYS (FRONTDESK_KEYS=${version}:...,${existing.join(",")}) on every instance, restart, then run: npm run frontdesk -- keys rotate`
        : "Set FRONTDESK_KEYS to this line (keep it secret: it decrypts every stored credential).",
    };
  },
});

defineCommand({
  path: ["keys", "rotate"],
  summary: "Re-wrap every stored data key under the active (first) key; online, idempotent, resumable",
  description:
    "Run after every instance has the new key first in FRONTDESK_KEYS. Only data keys are re-wrapped;\n" +
    "encrypted fields are untouched and stay readable throughout. Safe to interrupt and run again.\n" +
    "When it reports failed 0, the old key can be removed from FRONTDESK_KEYS.",
  options: { "batch-size": { type: "string", description: "rows per batch (default 200)", placeholder: "n" } },
  async run({ options }) {
    const raw = options["batch-size"];
    const batchSize = typeof raw === "string" ? Number(raw) : undefined;
    if (batchSize !== undefined && (!/^\d+$/.test(String(raw)) || batchSize < 1 || batchSize > 5000)) {
      throw new UsageError("--batch-size must be an integer between 1 and 5000");
    }
    const { getKeyring } = await import("@/lib/crypto/keyring");
    const { rotateDataKeys } = await import("@/lib/crypto/rotate");
    const activeVersion = getKeyring().activeVersion;
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
