/** Where a problem is: a file, optionally a line and column, optionally a profile key. */
export interface Problem {
  file?: string;
  line?: number;
  column?: number;
  /** Profile key path, e.g. `memory.size` or `passthrough[1].host`. */
  key?: string;
  message: string;
}

/** `profiles/x.yaml:12:5: memory.size: expected a size like 8G` */
export function formatProblem(problem: Problem): string {
  let where = '';
  if (problem.file !== undefined) {
    where = problem.file;
    if (problem.line !== undefined) where += `:${problem.line}`;
    if (problem.line !== undefined && problem.column !== undefined) where += `:${problem.column}`;
    where += ': ';
  }
  const key = problem.key ? `${problem.key}: ` : '';
  return `${where}${key}${problem.message}`;
}

/** Orders problems by file, line and column. (Not localeCompare: its first call costs ~15 ms of ICU set-up.) */
export function byLocation(a: Problem, b: Problem): number {
  const fileA = a.file ?? '';
  const fileB = b.file ?? '';
  if (fileA !== fileB) return fileA < fileB ? -1 : 1;
  return (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
}

/** Base of every error boot-vm raises on purpose; anything else is a bug. */
export class BootVmError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  override name = this.constructor.name;
  /** One line per problem, already formatted. */
  lines(): string[] {
    return [this.message];
  }
}

/** Bad input: a profile, a command-line argument or a host that does not fit. Exit code 2. */
export class InputError extends BootVmError {
  override readonly exitCode = 2;
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }

  override lines(): string[] {
    return this.problems.map(formatProblem);
  }
}

/** A profile that cannot be read, parsed or validated. */
export class ProfileError extends InputError {}

/** A command-line usage mistake. */
export class UsageError extends InputError {
  constructor(message: string) {
    super([{ message }]);
  }
}

/** A host step failed while applying; what was done before it has been undone. Exit code 1. */
export class StepFailedError extends BootVmError {}

/** The host is not in a state to start: a live or leftover journal, a VM still running. Exit code 1. */
export class HostStateError extends BootVmError {}

/** A plan that cannot be written in the asked-for export format (a libvirt domain, …). Exit code 2. */
export class ExportError extends InputError {
  constructor(problems: Problem | Problem[]) {
    super(Array.isArray(problems) ? problems : [problems]);
  }
}
