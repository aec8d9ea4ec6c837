// The Dockerfile as data, for the tests that check or reproduce it (image-build, helm-chart,
// deploy-files). Parsed by dockerfile-ast (the parser behind the VS Code Docker extension), with
// build arguments expanded, so the tests follow the Dockerfile instead of restating it.
import { readFileSync } from "node:fs";
import { DockerfileParser, type Instruction, type JSONInstruction } from "dockerfile-ast";

export interface DockerStep {
  keyword: string;
  /** 1-based line in the Dockerfile, for messages. */
  line: number;
  /** `--from=build`, `--interval=10s`, ... */
  flags: Record<string, string | null>;
  /** The arguments after the flags, variables expanded (shell form: words). */
  args: string[];
  /** The arguments as one string, flags and variables as written (a RUN's shell command). */
  text: string;
}

export interface DockerStage {
  name: string;
  /** The base image, build arguments expanded. */
  image: string;
  steps: DockerStep[];
}

function flagsOf(instruction: Instruction): Record<string, string | null> {
  const withFlags = instruction as Instruction & { getFlags?: () => { getName(): string; getValue(): string | null }[] };
  return Object.fromEntries((withFlags.getFlags?.() ?? []).map((f) => [f.getName(), f.getValue()]));
}

export function readDockerfile(file = "Dockerfile"): DockerStage[] {
  const parsed = DockerfileParser.parse(readFileSync(file, "utf8"));
  const stages: DockerStage[] = [];
  for (const instruction of parsed.getInstructions()) {
    const keyword = instruction.getKeyword();
    const flags = flagsOf(instruction);
    const args = instruction.getExpandedArguments().map((a) => a.getValue());
    const step: DockerStep = { keyword, line: instruction.getRange().start.line + 1, flags, args, text: instruction.getArgumentsContent() ?? "" };
    if (keyword === "FROM") {
      const asAt = args.findIndex((a) => a.toUpperCase() === "AS");
      stages.push({ name: asAt >= 0 ? args[asAt + 1]! : String(stages.length), image: args[0]!, steps: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1]!.steps.push(step);
    } else if (keyword !== "ARG") {
      throw new Error(`Dockerfile line ${step.line}: ${keyword} before the first FROM`);
    }
  }
  // Re-read exec-form (JSON) arguments, which the word split above breaks apart.
  const json = new Map(
    parsed
      .getInstructions()
      .filter((i): i is JSONInstruction => typeof (i as Partial<JSONInstruction>).getJSONStrings === "function")
      .map((i) => [i.getRange().start.line + 1, i.getJSONStrings().map((s) => s.getJSONValue())]),
  );
  for (const step of stages.flatMap((s) => s.steps)) {
    const strings = json.get(step.line);
    if (strings && strings.length > 0) step.args = strings;
  }
  return stages;
}

export function stage(stages: DockerStage[], name: string): DockerStage {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile has no stage ${name} (stages: ${stages.map((s) => s.name).join(", ")})`);
  return found;
}

/** The steps of a stage with the given keyword. */
export function steps(s: DockerStage, keyword: string): DockerStep[] {
  return s.steps.filter((x) => x.keyword === keyword);
}

/** The single step with that keyword (ENTRYPOINT, CMD, USER, HEALTHCHECK: the last one counts in Docker; we allow one). */
export function only(s: DockerStage, keyword: string): DockerStep {
  const found = steps(s, keyword);
  if (found.length !== 1) throw new Error(`stage ${s.name} has ${found.length} ${keyword} instructions, expected 1`);
  return found[0]!;
}

/** ENV of a stage, in order (KEY=value pairs). */
export function stageEnv(s: DockerStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const step of steps(s, "ENV")) {
    for (const pair of step.args) {
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new Error(`Dockerfile line ${step.line}: ENV ${pair} is not KEY=value (the legacy "ENV KEY value" form is not read here)`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The exec-form command of a HEALTHCHECK (`HEALTHCHECK [flags] CMD ["..."]`). */
export function healthcheckCommand(step: DockerStep): string[] {
  const at = step.text.search(/\bCMD\s+\[/);
  if (at < 0) throw new Error(`Dockerfile line ${step.line}: HEALTHCHECK must use CMD in exec form (no shell)`);
  // Continuation lines are joined by the parser's argument content; JSON does the rest.
  return JSON.parse(step.text.slice(at + 3).replace(/\\\r?\n/g, " ")) as string[];
}

/** Paths the final stage declares writable (VOLUME): everything else is read-only at run time. */
export function writablePaths(s: DockerStage): string[] {
  return steps(s, "VOLUME").flatMap((v) => v.args);
}
