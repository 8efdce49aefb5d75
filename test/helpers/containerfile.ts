/**
 * A reader of the repository's Containerfile, enough for its tests: instructions with their line
 * continuations joined and comment lines dropped (as the builders do), grouped into stages, with the
 * `# hadolint ignore=` pragmas written just above them. Shell commands are split on `&&`, `||` and
 * `;` and then on white space, without quoting: the Containerfile's RUN lines quote nothing.
 */

export interface Instruction {
  /** Upper case: RUN, COPY, … */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined with one space. */
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
  /** Rule codes of the `# hadolint ignore=…` comment lines right above it. */
  readonly ignores: readonly string[];
}

export interface Stage {
  /** The image of its FROM line. */
  readonly image: string;
  /** Its `AS` name, if any. */
  readonly name: string | undefined;
  /** The instructions after FROM. */
  readonly instructions: readonly Instruction[];
}

export function parseContainerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  let pragmas: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') {
      pragmas = [];
      continue;
    }
    if (line.startsWith('#')) {
      const ignore = /^#\s*hadolint\s+ignore=([\w,]+)/.exec(line);
      if (ignore) pragmas.push(...ignore[1]!.split(','));
      continue;
    }
    const start = i;
    const parts: string[] = [];
    let current = line;
    // Comment and blank lines inside a continuation are dropped, as the builders drop them.
    while (current.endsWith('\\')) {
      parts.push(current.slice(0, -1).trim());
      do i++;
      while (i < lines.length && (lines[i]!.trim() === '' || lines[i]!.trim().startsWith('#')));
      current = (lines[i] ?? '').trim();
    }
    parts.push(current);
    const joined = parts.filter((p) => p !== '').join(' ');
    const space = joined.search(/\s/);
    instructions.push({
      keyword: (space < 0 ? joined : joined.slice(0, space)).toUpperCase(),
      args: space < 0 ? '' : joined.slice(space + 1).trim(),
      line: start + 1,
      ignores: pragmas,
    });
    pragmas = [];
  }
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(/\s+/);
      if (as !== undefined && as.toUpperCase() !== 'AS')
        throw new Error(`unexpected FROM: ${instruction.args}`);
      stages.push({ image: image!, name, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`${instruction.keyword} before the first FROM`);
    } else {
      (stages.at(-1)!.instructions as Instruction[]).push(instruction);
    }
  }
  return stages;
}

/** The instructions of a stage with this keyword. */
export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** The one instruction of a stage with this keyword; fails when there is none or several. */
export function single(stage: Stage, keyword: string): Instruction {
  const found = instructionsOf(stage, keyword);
  if (found.length !== 1)
    throw new Error(`expected one ${keyword} in stage ${stage.image}, found ${found.length}`);
  return found[0]!;
}

/** The JSON array of an exec-form instruction (ENTRYPOINT, CMD). */
export function execForm(instruction: Instruction): string[] {
  const parsed: unknown = JSON.parse(instruction.args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`line ${instruction.line}: not an exec-form array: ${instruction.args}`);
  return parsed;
}

/** The commands of a shell-form RUN, each split into words. */
export function shellCommands(run: Instruction): string[][] {
  return run.args
    .split(/&&|\|\||;/)
    .map((c) => c.trim().split(/\s+/).filter(Boolean))
    .filter((words) => words.length > 0);
}

/** A command's words after its leading `NAME=value` environment assignments. */
export function withoutAssignments(words: readonly string[]): string[] {
  const first = words.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  return first < 0 ? [] : words.slice(first);
}

/** The packages that `apt-get install` commands of this RUN install, with the options given to them. */
export function aptInstalls(run: Instruction): { packages: string[]; options: string[] }[] {
  return shellCommands(run)
    .map(withoutAssignments)
    .filter((words) => words[0] === 'apt-get' && words.includes('install'))
    .map((words) => {
      const rest = words.slice(words.indexOf('install') + 1);
      return {
        packages: rest.filter((w) => !w.startsWith('-')),
        options: [...words.slice(1, words.indexOf('install')), ...rest].filter((w) => w.startsWith('-')),
      };
    });
}

/** `KEY="value"` or `KEY=value` pairs of a LABEL or ENV instruction. */
export function keyValues(instruction: Instruction): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const [, key, quoted, bare] of instruction.args.matchAll(/([\w.-]+)=(?:"([^"]*)"|(\S+))/g))
    pairs.set(key!, quoted ?? bare!);
  return pairs;
}

export interface Copy {
  /** `--from=…`, undefined for the build context. */
  readonly from: string | undefined;
  /** Every `--flag` or `--flag=value`. */
  readonly flags: readonly string[];
  readonly sources: readonly string[];
  readonly destination: string;
}

export function parseCopy(instruction: Instruction): Copy {
  const words = instruction.args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  if (paths.length < 2) throw new Error(`line ${instruction.line}: COPY needs a source and a destination`);
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, flags, sources: paths.slice(0, -1), destination: paths.at(-1)! };
}
