import { BootVmError } from '../errors.js';

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
