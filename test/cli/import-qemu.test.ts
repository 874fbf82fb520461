// import-qemu on the posts' scripts and the other forms in test/fixtures/import/scripts/: the profile
// and stderr against goldens (BOOT_VM_REGENERATE=1 rewrites them), then the round trip: the
// profile's dry-run command line holds every device, property and value of the script's, the same
// taskset CPU set and the same chrt policy, with the differences test/import/argv-facts.ts lists.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { importQemu } from '../../lib/cli/import-qemu.js';
import { parseScript } from '../../lib/import/script.js';
import { FIXTURES, REPO } from '../fixtures/helpers.js';
import { tree } from '../fixtures/trees.js';
import { BOOT_VM_DECIDES, MODERNISED, REPLACED_MACHINES, commandFacts } from '../import/argv-facts.js';

const SCRIPTS = join(FIXTURES, 'import', 'scripts');
const GOLDEN = join(FIXTURES, 'import');
const HOSTS = join(FIXTURES, 'hosts');
const regenerate = process.env.BOOT_VM_REGENERATE === '1';
const ENV = { PATH: '', HOME: '/nonexistent' };

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

// As many CLI processes at once as there are CPUs: more only thrash.
let running = 0;
const waiting: (() => void)[] = [];
async function run(script: string, args: string[], options: { cwd?: string; input?: string } = {}): Promise<Run> {
  if (running >= availableParallelism()) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await spawnCli(script, args, options);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function spawnCli(script: string, args: string[], options: { cwd?: string; input?: string }): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [join(REPO, script), ...args], { cwd: options.cwd ?? REPO, env: ENV, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ status: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
}

/** Which fake host a script's devices are on, for the dry-run's --sysroot. */
const hostOf = (stem: string) => (stem.startsWith('blog') ? 'z77-i5-2500' : stem.startsWith('server-guide') ? 'inspur-nf5212m5' : undefined);

interface Case {
  stem: string;
  /** The script text the round trip compares with (for stdin cases, what was piped). */
  text: string;
  args: string[];
  input?: string;
}

const scriptFiles = readdirSync(SCRIPTS).filter((name) => !name.startsWith('.')).sort();
const onBoot = 'blog-on-boot.sh';
const cases: Case[] = scriptFiles
  .filter((name) => name !== onBoot)
  .map((name) => ({ stem: name.replace(/\.[^.]+$/, ''), text: readFileSync(join(SCRIPTS, name), 'utf8'), args: [`test/fixtures/import/scripts/${name}`] }));
// The blog's two scripts piped together: the on-boot lines become host keys.
const combined = readFileSync(join(SCRIPTS, onBoot), 'utf8') + readFileSync(join(SCRIPTS, 'blog-boot-mediapc.sh'), 'utf8');
cases.push({ stem: 'blog-combined', text: combined, args: ['-', '--name', 'mediapc'], input: combined });

// In-process, as scripts/import-qemu.mjs calls it: the CLI itself is run below for the posts' scripts.
const imported = cases.map((c): Run => {
  const [script, ...rest] = c.args;
  const { stdout, stderr } = importQemu({ script: script!, force: false, ...(rest[0] === '--name' ? { name: rest[1]! } : {}) }, REPO, () => c.input!);
  return { status: 0, stdout, stderr: stderr.map((line) => `${line}\n`).join('') };
});

t.test('every script imports to its golden profile and messages', async (t) => {
  const results = imported;
  cases.forEach((c, i) => {
    const result = results[i]!;
    for (const [ext, actual] of [['yaml', result.stdout], ['stderr', result.stderr]] as const) {
      const file = join(GOLDEN, `${c.stem}.${ext}`);
      if (regenerate) writeFileSync(file, actual);
      else if (!existsSync(file)) t.fail(`${file} is missing; run with BOOT_VM_REGENERATE=1 to create it`);
      else t.equal(actual, readFileSync(file, 'utf8'), `${c.stem}.${ext}`);
    }
  });
});

t.test('round trip: the dry-run of each profile has every fact of the script', async (t) => {
  t.comment(`allowed, modernised: ${Object.entries(MODERNISED).map(([from, to]) => `${from} → ${to}`).join('; ')}`);
  t.comment(`allowed, boot-vm's own: ${BOOT_VM_DECIDES.join(', ')}`);
  const results = imported;
  const dir = tree(t, {});
  mkdirSync(join(dir, 'profiles'));
  const plans = await Promise.all(
    cases.map((c, i) => {
      writeFileSync(join(dir, 'profiles', `${c.stem}.yaml`), results[i]!.stdout);
      const host = hostOf(c.stem);
      return run('boot-vm.mjs', [c.stem, '--dry-run', '--json', '--qemu-version', '7.2', ...(host ? ['--sysroot', join(HOSTS, host)] : [])], { cwd: dir });
    }),
  );
  cases.forEach((c, i) => {
    const plan = plans[i]!;
    if (!t.equal(plan.status, 0, `${c.stem}: the dry-run plans it (${plan.stderr.trim().split('\n')[0]})`)) return;
    const argv: string[] = JSON.parse(plan.stdout).argv;
    const binary = argv.findIndex((word) => /qemu/.test(word));
    const planned = commandFacts(argv.slice(binary + 1), argv.slice(0, binary));
    const { command } = parseScript(c.text, c.stem);
    const original = commandFacts(command.args.map((word) => word.text));
    t.strictSame([...original.facts].filter((fact) => !planned.facts.has(fact)), [], `${c.stem}: every device, property and value of the script is planned`);
    t.equal(planned.taskset, command.taskset ? command.taskset.cpus.join(',') : undefined, `${c.stem}: the same taskset CPU set`);
    t.equal(planned.chrt, command.chrt ? `${command.chrt.policy} ${command.chrt.priority}` : undefined, `${c.stem}: the same chrt policy and priority`);
    const machine = command.args.map((word) => word.text).find((word, j, all) => /^--?(M|machine)$/.test(all[j - 1] ?? '') && REPLACED_MACHINES.test(word.split(',')[0]!.replace(/^type=/, '')));
    if (machine) t.match(results[i]!.stderr, /warning: -machine pc[^:]*: boot-vm plans the Q35 machine only/, `${c.stem}: the machine type it changes is warned about`);
  });
});

t.test('the CLI prints what the import gives, from a file and from stdin', async (t) => {
  const [file, piped] = await Promise.all([
    run('scripts/import-qemu.mjs', ['test/fixtures/import/scripts/blog-boot-mediapc.sh']),
    run('scripts/import-qemu.mjs', ['-', '--name', 'mediapc'], { input: combined }),
  ]);
  for (const [result, stem] of [[file, 'blog-boot-mediapc'], [piped, 'blog-combined']] as const) {
    t.equal(result.status, 0);
    t.equal(result.stdout, readFileSync(join(GOLDEN, `${stem}.yaml`), 'utf8'), `${stem}: stdout`);
    t.equal(result.stderr, readFileSync(join(GOLDEN, `${stem}.stderr`), 'utf8'), `${stem}: stderr`);
  }
});

t.test('an import leaves nothing behind: not its check of the profile, not a parse-cache entry for it', async (t) => {
  const home = tree(t, {});
  const result = spawnSync(process.execPath, [join(REPO, 'scripts/import-qemu.mjs'), 'test/fixtures/import/scripts/blog-boot-mediapc.sh'], { cwd: REPO, env: { PATH: '', HOME: home }, encoding: 'utf8' });
  t.equal(result.status, 0, result.stderr);
  t.strictSame(readdirSync(home), [], 'nothing written under $HOME (its parse cache is ~/.cache/boot-vm)');
});

t.test('the blog: plain -drive stays IDE, the root port and -realtime come back modernised', async (t) => {
  const blog = imported[cases.findIndex((c) => c.stem === 'blog-boot-mediapc')]!;
  t.match(blog.stdout, /bus: sata +# no if=: QEMU's default, IDE, which on Q35 is a port of the ICH9 AHCI/);
  t.match(blog.stderr, /blog-boot-mediapc\.sh:8: modernised: -realtime mlock=on → -overcommit mem-lock=on/);
  t.match(blog.stderr, /blog-boot-mediapc\.sh:17: modernised: ioh3420 → pcie-root-port/);
});

t.test('stdin, --out, --force and bad input', async (t) => {
  const dir = tree(t, {});
  const script = 'qemu-system-x86_64 -enable-kvm -machine q35 -m 2G -name guest=box\n';
  // Independent of each other: run together.
  const [printed, none, missing, unknown, help] = await Promise.all([
    run('scripts/import-qemu.mjs', ['-'], { input: script, cwd: dir }),
    run('scripts/import-qemu.mjs', [`test/fixtures/import/scripts/${onBoot}`]),
    run('scripts/import-qemu.mjs', ['nowhere.sh']),
    run('scripts/import-qemu.mjs', ['-', '--nmae', 'x']),
    run('scripts/import-qemu.mjs', ['--help']),
  ]);
  t.equal(printed.status, 0);
  t.match(printed.stdout, /save this as profiles\/box\.yaml/, '--name defaults to -name');
  const out = join(dir, 'vm.yaml');
  const wrote = await run('scripts/import-qemu.mjs', ['-', '--out', out], { input: script, cwd: dir });
  t.equal(wrote.status, 0);
  t.match(wrote.stderr, new RegExp(`wrote ${out}\\n$`));
  t.equal(readFileSync(out, 'utf8').includes('size: 2G'), true);
  const again = await run('scripts/import-qemu.mjs', ['-', '--out', out], { input: script, cwd: dir });
  t.equal(again.status, 2);
  t.equal(again.stderr, `${out} exists; nothing written (--force replaces it)\n`);
  const forced = await run('scripts/import-qemu.mjs', ['-', '--out', out, '--force'], { input: script.replace('2G', '4G'), cwd: dir });
  t.equal(forced.status, 0);
  t.equal(readFileSync(out, 'utf8').includes('size: 4G'), true);
  t.same(readdirSync(dir), ['vm.yaml'], 'no temporary file left');
  t.equal(none.status, 2);
  t.equal(none.stderr.trim().split('\n').length, 1, 'one line');
  t.match(none.stderr, /no QEMU command/);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /^nowhere\.sh: cannot read the script/);
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /^unknown option --nmae/);
  t.match(help.stdout, /^Usage: import-qemu <script \| ->/);
});
