// The import as the reverse of boot-vm's builders: each golden command line boot-vm writes
// (test/fixtures/argv/*.args), pasted into import-qemu, plans again (in-process, on the same fake
// host and QEMU version) to a command line with every fact of the first. Threads-mode pinning is
// not on a command line (QMP pins the threads), so what follows from it is not either.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { importQemu } from '../../lib/cli/import-qemu.js';
import { parseQemuVersion } from '../../lib/qemu/version.js';
import { shellQuote } from '../../lib/qemu/shell-quote.js';
import { FIXTURES, REPO, planOn } from '../fixtures/helpers.js';
import { tree } from '../fixtures/trees.js';
import { commandFacts } from './argv-facts.js';

const CASES = join(FIXTURES, 'argv');

/** Guest memory bound to the node of CPUs that threads mode pins over QMP: the binding came from pinning the import cannot see. */
const FROM_THREADS_PINNING = new Set(['memory host-nodes=0', 'memory host-nodes=1', 'memory policy=bind']);

for (const name of readdirSync(CASES).filter((file) => file.endsWith('.args')).sort()) {
  const stem = name.replace(/\.args$/, '');
  t.test(stem, async (t) => {
    const yaml = readFileSync(join(CASES, `${stem}.yaml`), 'utf8');
    const hostName = /^# host: (\S+)$/m.exec(yaml)?.[1] ?? 'lab';
    const version = parseQemuVersion(/version: "([\d.]+)"/.exec(yaml)?.[1] ?? '7.2')!;
    const args = readFileSync(join(CASES, name), 'utf8').trim().split('\n');
    const binary = args.findIndex((word) => /qemu/.test(word));
    const script = `${args.map(shellQuote).join(' ')}\n`;
    const { stdout } = importQemu({ script: '-', name: stem, force: false }, REPO, () => script);
    const dir = tree(t, { [`${stem}.yaml`]: stdout });
    const plan = planOn(join(dir, `${stem}.yaml`), hostName, { qemuVersion: version }, dir);
    const plannedBinary = plan.argv.findIndex((word) => /qemu/.test(word));
    const planned = commandFacts(plan.argv.slice(plannedBinary + 1), plan.argv.slice(0, plannedBinary));
    const original = commandFacts(args.slice(binary + 1), args.slice(0, binary));
    const threadsMode = !args.slice(0, binary).includes('taskset');
    t.strictSame([...original.facts].filter((fact) => !planned.facts.has(fact) && !(threadsMode && FROM_THREADS_PINNING.has(fact))), [], 'every fact planned again');
    t.equal(planned.taskset, original.taskset, 'the same taskset');
    t.equal(planned.chrt, original.chrt, 'the same chrt');
  });
}
