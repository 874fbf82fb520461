// Golden command lines, libvirt style: test/fixtures/argv/<case>.yaml → <case>.args, one argument
// per line. BOOT_VM_REGENERATE=1 rewrites the .args files; review their diff like code.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FIXTURES, REPO, planOn } from './fixtures/helpers.js';

const CASES = join(FIXTURES, 'argv');
const regenerate = process.env.BOOT_VM_REGENERATE === '1';

const cases = readdirSync(CASES).filter((name) => name.endsWith('.yaml')).sort();

for (const name of cases) {
  const file = join(CASES, name);
  const hostName = /^# host: (\S+)$/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 'lab';
  t.test(name, async (t) => {
    const plan = planOn(file, hostName);
    const actual = plan.argv.join('\n') + '\n';
    const expectedFile = file.replace(/\.yaml$/, '.args');
    if (regenerate || !existsSync(expectedFile)) {
      t.ok(regenerate, `${expectedFile} is missing; run with BOOT_VM_REGENERATE=1 to create it`);
      if (regenerate) writeFileSync(expectedFile, actual);
      return;
    }
    t.equal(actual, readFileSync(expectedFile, 'utf8'), `${name} against host ${hostName}`);
  });
}

t.test('every shipped profile has a golden case', async (t) => {
  const shipped = readdirSync(join(REPO, 'profiles')).filter((name) => name.endsWith('.yaml') && name !== 'windows-base.yaml');
  for (const name of shipped) t.ok(cases.includes(name), `test/fixtures/argv/${name} exists`);
});
