import { BootVmError, UsageError } from '../errors.js';
import { suggestKey } from '../profile/suggest.js';

/**
 * minimist's `unknown` hook: lets positional arguments through and refuses unknown options,
 * suggesting the closest known one.
 */
export function unknownOption(arg: string, options: { boolean: string[]; string: string[] }): true {
  if (!arg.startsWith('-')) return true;
  const name = arg.replace(/^-+/, '').split('=')[0]!;
  const suggestion = suggestKey(name, [...options.boolean, ...options.string]);
  throw new UsageError(`unknown option ${arg}${suggestion ? `; did you mean --${suggestion}?` : ''} (see --help)`);
}

/**
 * Runs a CLI body: its result goes to stdout, boot-vm's own errors become one line per problem
 * on stderr with their exit code, anything else is a bug reported without a stack trace
 * unless BOOT_VM_DEBUG is set.
 */
export async function runCli(name: string, body: () => Promise<string> | string): Promise<void> {
  try {
    process.stdout.write(await body());
  } catch (error) {
    if (error instanceof BootVmError) {
      for (const line of error.lines()) process.stderr.write(`${line}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    if (process.env.BOOT_VM_DEBUG) throw error;
    process.stderr.write(`${name}: internal error: ${(error as Error)?.message ?? String(error)} (set BOOT_VM_DEBUG=1 for the stack)\n`);
    process.exitCode = 70;
  }
}
