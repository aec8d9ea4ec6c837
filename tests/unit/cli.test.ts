// The admin CLI's parsing, help, exit codes and rendering, called in-process through runCli.
import { describe, expect, it } from "vitest";
import { runCli } from "@/lib/cli/main";
import { defineCommand, UsageError } from "@/lib/cli/registry";
import { parseKeySpecs } from "@/lib/crypto/key-spec";
import { EnvError } from "@/lib/env";

// A command registered only in this test process, to drive the error mapping.
defineCommand({
  path: ["test-only", "probe"],
  summary: "test probe",
  args: { usage: "<mode>", min: 1, max: 1 },
  options: { count: { type: "string", description: "a number" }, loud: { type: "boolean", description: "flag" } },
  async run({ args, options }) {
    switch (args[0]) {
      case "ok":
        return { exitCode: 0, text: `ok ${String(options.count)} ${String(options.loud)}`, data: { big: 12n, count: options.count } };
      case "usage":
        throw new UsageError("bad mode value");
      case "config":
        throw new EnvError(["FRONTDESK_KEYS: is broken"]);
      default:
        throw new Error("it broke");
    }
  },
});

describe("frontdesk CLI", () => {
  it("--help lists every command and exits 0", async () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const out = await runCli(argv);
      expect(out.exitCode).toBe(0);
      for (const name of ["db migrate", "keys generate", "keys rotate", "audit verify"]) expect(out.stdout).toContain(name);
      expect(out.stderr).toBe("");
    }
  });

  it("<command> --help shows that command's options", async () => {
    const out = await runCli(["keys", "rotate", "--help"]);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toContain("--batch-size <n>");
    expect((await runCli(["help", "keys", "rotate"])).stdout).toBe(out.stdout);
    const group = await runCli(["keys", "--help"]);
    expect(group.exitCode).toBe(0);
    expect(group.stdout).toContain("keys generate");
    expect(group.stdout).not.toContain("db migrate");
  });

  it.each([
    [[], /missing command/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["keys"], /"keys" needs a subcommand/],
    [["keys", "rotate", "--bogus"], /Unknown option '--bogus'/],
    [["keys", "rotate", "extra"], /unexpected argument "extra"/],
    [["keys", "rotate", "--batch-size", "0"], /--batch-size must be an integer/],
    [["keys", "rotate", "--batch-size"], /argument missing/],
    [["keys", "generate", "--label", "not valid!"], /--label must be/],
    [["--verbose"], /expected a command before --verbose/],
    [["test-only", "probe"], /missing argument <mode>/],
    [["test-only", "probe", "usage"], /bad mode value/],
  ])("%j is a usage error: clear message on stderr, exit 2", async (argv, message) => {
    const out = await runCli(argv as string[]);
    expect(out.exitCode).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr).toMatch(message);
    expect(out.stderr).toMatch(/^frontdesk: /);
  });

  it("--json puts errors on stderr as JSON", async () => {
    const out = await runCli(["frobnicate", "--json"]);
    expect(out.exitCode).toBe(2);
    expect(JSON.parse(out.stderr)).toEqual({ error: { code: "usage_error", message: 'unknown command "frobnicate"' } });
  });

  it("parses options and renders text or JSON (bigints as strings)", async () => {
    const human = await runCli(["test-only", "probe", "ok", "--count", "3", "--loud"]);
    expect(human).toEqual({ exitCode: 0, stdout: "ok 3 true\n", stderr: "" });
    const json = await runCli(["--json", "test-only", "probe", "ok", "--count=4"]);
    expect(JSON.parse(json.stdout)).toEqual({ big: "12", count: "4" });
  });

  it("maps configuration errors and failures to exit 1 with the message, no stack", async () => {
    const config = await runCli(["test-only", "probe", "config"]);
    expect(config.exitCode).toBe(1);
    expect(config.stderr).toMatch(/^frontdesk: configuration error: Invalid configuration:\n {2}- FRONTDESK_KEYS: is broken/);
    const failed = await runCli(["test-only", "probe", "boom"]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toBe("frontdesk: test-only probe failed: it broke\n");
  });

  it("keys generate prints one valid key line on stdout, guidance on stderr", async () => {
    const out = await runCli(["keys", "generate", "--label", "v9"]);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toMatch(/^v9:[A-Za-z0-9+/]{43}=\n$/);
    const [spec] = parseKeySpecs(out.stdout.trim());
    expect(spec!.version).toBe("v9");
    expect(spec!.key.length).toBe(32);
    expect(out.stderr).toMatch(/FRONTDESK_KEYS/);
    const json = JSON.parse((await runCli(["keys", "generate", "--label", "k2", "--json"])).stdout) as { version: string; key: string };
    expect(json.version).toBe("k2");
    expect(parseKeySpecs(json.key)[0]!.key.length).toBe(32);
    // Two runs never print the same key.
    expect((await runCli(["keys", "generate", "--label", "v9"])).stdout).not.toBe(out.stdout);
  });

  it("refuses to define a command twice or shadow global flags", () => {
    const run = async () => ({ exitCode: 0, text: "", data: null });
    expect(() => defineCommand({ path: ["keys", "rotate"], summary: "dup", run })).toThrow(/defined twice/);
    expect(() => defineCommand({ path: ["x"], summary: "", options: { json: { type: "boolean", description: "" } }, run })).toThrow(/--json/);
  });
});
