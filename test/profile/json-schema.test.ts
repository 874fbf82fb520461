// profile.schema.json (written by `npm run build` from lib/profile/schema.ts) is what editors
// check profiles with; it must agree with boot-vm's own validation.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import t from 'tap';
import { parse } from 'yaml';
import { REPO } from '../fixtures/helpers.js';

const schema = JSON.parse(readFileSync(join(REPO, 'profile.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const check = (yaml: string) => (validate(parse(yaml)) ? [] : validate.errors!.map((error) => `${error.instancePath} ${error.message}`));

t.test('every shipped profile passes the editor schema and points editors at it', async (t) => {
  for (const name of readdirSync(join(REPO, 'profiles')).filter((file) => file.endsWith('.yaml'))) {
    const text = readFileSync(join(REPO, 'profiles', name), 'utf8');
    t.same(check(text), [], name);
    t.match(text, /^# yaml-language-server: \$schema=\.\.\/profile\.schema\.json$/m, `${name} names the schema`);
  }
});

t.test('the editor schema refuses what boot-vm refuses', async (t) => {
  t.same(check('memroy: { size: 8G }\n'), [' must NOT have additional properties'], 'an unknown key');
  t.not(check('memory: { size: 8G, hugepages: 4M }\n').length, 0, 'a hugepage size other than 2M or 1G');
  t.not(check('memory: { size: 8192 }\n').length, 0, 'a size without a unit');
  t.not(check('cpu: { hyperv: { spinlocks: 0x100 } }\n').length, 0, 'spinlocks below 0xfff');
  t.not(check('passthrough: [ { host: "1:00.0" } ]\n').length, 0, 'a malformed PCI address');
  t.not(check('cpu: { hyperv: { stimerDirekt: true } }\n').length, 0, 'an unknown Hyper-V flag');
});

t.test('a profile that leaves memory.size to its base is fine for editors', async (t) => {
  t.same(check('extends: windows-base\nmemory: { lock: true }\n'), []);
});

t.test('pinning: auto and vcpus: auto are fine for editors, other words are not', async (t) => {
  t.same(check('pinning: auto\n'), []);
  t.same(check('pinning: { vcpus: auto, emulator: [0, 1] }\n'), []);
  t.not(check('pinning: automatic\n').length, 0);
  t.same(check('extends: ../../../../profiles/windows-base.yaml\n' + readFileSync(join(REPO, 'test/fixtures/inspect/profiles/hybrid-gaming.yaml'), 'utf8').split('\n').filter((line) => !line.startsWith('extends')).join('\n')), []);
});

t.test('pinning.cpus, and every imported profile, are fine for editors', async (t) => {
  t.same(check('pinning: { cpus: "14-17,32-35", mode: process }\n'), []);
  const imported = join(REPO, 'test/fixtures/import');
  for (const name of readdirSync(imported).filter((file) => file.endsWith('.yaml'))) t.same(check(readFileSync(join(imported, name), 'utf8')), [], name);
});
