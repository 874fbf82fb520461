// Golden host steps: every shipped profile planned against every fake host, as the dry-run prints
// them (steps, then the running steps; the command itself is the argv golden files' business), or
// the errors when the profile does not fit that host. Paths under the host's tree read $SYSROOT.
// BOOT_VM_REGENERATE=1 rewrites test/fixtures/steps/<profile>@<host>.steps; review the diff like code.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { InputError } from '../lib/errors.js';
import { renderSteps } from '../lib/plan/render-steps.js';
import { FIXTURES, REPO, hostRoot, planOn } from './fixtures/helpers.js';

const GOLDEN = join(FIXTURES, 'steps');
const regenerate = process.env.BOOT_VM_REGENERATE === '1';
const profiles = readdirSync(join(REPO, 'profiles')).filter((name) => name.endsWith('.yaml') && name !== 'windows-base.yaml').sort();
const hosts = readdirSync(join(FIXTURES, 'hosts')).filter((name) => existsSync(join(hostRoot(name), 'README'))).sort();

function stepsText(profile: string, hostName: string): string {
  const root = hostRoot(hostName);
  try {
    const plan = planOn(profile, hostName, { qemuVersion: { major: 7, minor: 2 } });
    const warnings = plan.warnings.map((warning) => `# warning: ${warning.key}: ${warning.message}`);
    // A hooks file is named by its absolute path, which is where this checkout is.
    return [...warnings, ...renderSteps(plan.steps, root)].join('\n').replaceAll(root, '$SYSROOT').replaceAll(REPO, '$REPO') + '\n';
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return error.lines().map((line) => `# error: ${line}`).join('\n').replaceAll(root, '$SYSROOT') + '\n';
  }
}

// Besides, cases of their own: test/fixtures/steps/cases/<case>.yaml, planned on its `# host:`.
const CASES = join(GOLDEN, 'cases');
const caseOf = (file: string) => {
  const hostName = /^# host: (\S+)$/m.exec(readFileSync(join(CASES, file), 'utf8'))![1]!;
  return { name: `${file.replace(/\.yaml$/, '')}@${hostName}`, profile: join(CASES, file), hostName };
};
const goldens = [
  ...profiles.flatMap((profile) => hosts.map((hostName) => ({ name: `${profile.replace(/\.yaml$/, '')}@${hostName}`, profile: join(REPO, 'profiles', profile), hostName }))),
  ...readdirSync(CASES).filter((file) => file.endsWith('.yaml')).map(caseOf),
];

for (const { name, profile, hostName } of goldens) {
  t.test(name, async (t) => {
    const actual = stepsText(profile, hostName);
    const file = join(GOLDEN, `${name}.steps`);
    if (regenerate || !existsSync(file)) {
      t.ok(regenerate, `${file} is missing; run with BOOT_VM_REGENERATE=1 to create it`);
      if (regenerate) writeFileSync(file, actual);
      return;
    }
    t.equal(actual, readFileSync(file, 'utf8'));
  });
}

t.test('each profile fits the host of its post', async (t) => {
  const fits = { 'mediapc.yaml': 'z77-i5-2500', 'workstation-gtx1060.yaml': 'inspur-nf5212m5', 'gaming-9900k.yaml': 'i9-9900k', 'desktop-4790k.yaml': 'i7-4790k', 'windows11.yaml': 'i7-12700k' };
  t.strictSame(Object.keys(fits).sort(), profiles, 'every shipped profile has its host');
  for (const [profile, hostName] of Object.entries(fits)) t.notMatch(stepsText(join(REPO, 'profiles', profile), hostName), /^# error:/m, `${profile} plans on ${hostName}`);
});
