// Journal: load (none, garbage, another version), save/record as rewritten JSON, and remove
// (the file, then the directories made for it while they are empty).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { nodeHostIo, type HostIo } from '../../lib/apply/host-io.js';
import { Journal, JournalError, journalPath, type JournalState } from '../../lib/apply/journal.js';
import { tree } from '../fixtures/trees.js';

/** The error `body` throws (the test fails when it returns). */
function thrown(body: () => unknown): Error {
  try {
    body();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected it to throw');
}

const stateOf = (extra: Partial<JournalState> = {}): JournalState => ({
  version: 1,
  vm: 'vm',
  file: '/profiles/vm.yaml',
  sysroot: '/fake',
  phases: [],
  prepared: [],
  createdDirs: [],
  entries: [],
  ...extra,
});

t.test('journalPath', async (t) => {
  t.equal(journalPath('gaming-9900k'), '/run/boot-vm/gaming-9900k.journal');
});

t.test('load: no file is no journal', async (t) => {
  const dir = tree(t, {});
  t.equal(Journal.load(join(dir, 'vm.journal'), nodeHostIo), undefined);
});

t.test('load: a file that is not JSON is a JournalError naming the file', async (t) => {
  const dir = tree(t, { 'vm.journal': '{"version": 1, "entr' });
  const file = join(dir, 'vm.journal');
  let parseMessage = '';
  try {
    JSON.parse('{"version": 1, "entr');
  } catch (error) {
    parseMessage = (error as Error).message;
  }
  const error = thrown(() => Journal.load(file, nodeHostIo));
  t.type(error, JournalError);
  t.equal(error.name, 'JournalError');
  t.equal(error.message, `${file} is not a boot-vm journal (${parseMessage}); look at it, then remove it`);
});

t.test('load: JSON of another shape or version is a JournalError', async (t) => {
  const dir = tree(t, {});
  const file = join(dir, 'vm.journal');
  const message = `${file} is not a boot-vm journal this version understands; look at it, then remove it`;
  for (const text of ['null', '[]', '"text"', '{"version":2,"entries":[]}', '{"version":1}', '{"version":1,"entries":{}}']) {
    writeFileSync(file, text);
    const error = thrown(() => Journal.load(file, nodeHostIo));
    t.type(error, JournalError, text);
    t.equal(error.message, message, text);
  }
});

t.test('save writes the state as JSON and load reads it back', async (t) => {
  const dir = tree(t, {});
  const file = join(dir, 'run/boot-vm/vm.journal');
  const state = stateOf({ phases: ['prepare'], prepared: ['bind-vfio 0000:01:00.0'] });
  new Journal(file, state, nodeHostIo).save();
  t.equal(readFileSync(file, 'utf8'), JSON.stringify(state, null, 1) + '\n');
  const loaded = Journal.load(file, nodeHostIo)!;
  t.equal(loaded.file, file);
  t.strictSame(loaded.state, state);
});

t.test('record appends an entry and saves at once', async (t) => {
  const dir = tree(t, {});
  const file = join(dir, 'vm.journal');
  const journal = new Journal(file, stateOf(), nodeHostIo);
  const entry = { n: 2, step: 'unbind-consoles', phase: 'prepare' as const, undo: [{ kind: 'restore' as const, path: '/sys/x' }], path: '/sys/x', old: '1\n' };
  t.equal(journal.record(entry), entry, 'returns the entry itself');
  t.strictSame(JSON.parse(readFileSync(file, 'utf8')).entries, [entry]);
  journal.record({ n: 3, step: 'three', phase: 'launch', undo: [] });
  t.strictSame(Journal.load(file, nodeHostIo)!.state.entries.map((e) => e.step), ['unbind-consoles', 'three']);
});

t.test('every save goes through replace', async (t) => {
  const calls: string[] = [];
  const io: HostIo = { ...nodeHostIo, replace: (path, text) => void calls.push(`${path}:${JSON.parse(text).entries.length}`) };
  const journal = new Journal('/j', stateOf(), io);
  journal.record({ n: 1, step: 'a', phase: 'prepare', undo: [] });
  journal.record({ n: 2, step: 'b', phase: 'prepare', undo: [] });
  journal.save();
  t.strictSame(calls, ['/j:1', '/j:2', '/j:2']);
});

t.test('remove deletes the file and the directories made for it, deepest first', async (t) => {
  const dir = tree(t, {});
  const file = join(dir, 'run/boot-vm/vm.journal');
  const journal = new Journal(file, stateOf({ createdDirs: [join(dir, 'run'), join(dir, 'run/boot-vm')] }), nodeHostIo);
  journal.save();
  journal.remove();
  t.equal(nodeHostIo.exists(file), false);
  t.equal(nodeHostIo.exists(join(dir, 'run/boot-vm')), false);
  t.equal(nodeHostIo.exists(join(dir, 'run')), false);
  t.equal(nodeHostIo.exists(dir), true);
  t.doesNotThrow(() => journal.remove(), 'a second remove is no error');
});

t.test('remove keeps a created directory something else still uses', async (t) => {
  const dir = tree(t, {});
  const file = join(dir, 'run/boot-vm/vm.journal');
  const journal = new Journal(file, stateOf({ createdDirs: [join(dir, 'run'), join(dir, 'run/boot-vm')] }), nodeHostIo);
  journal.save();
  writeFileSync(join(dir, 'run/boot-vm/other.journal'), '{}');
  journal.remove();
  t.equal(nodeHostIo.exists(file), false);
  t.equal(readFileSync(join(dir, 'run/boot-vm/other.journal'), 'utf8'), '{}');
  t.equal(nodeHostIo.exists(join(dir, 'run')), true);
});

t.test('remove leaves directories it did not make', async (t) => {
  const dir = tree(t, {});
  mkdirSync(join(dir, 'run/boot-vm'), { recursive: true });
  const file = join(dir, 'run/boot-vm/vm.journal');
  const journal = new Journal(file, stateOf(), nodeHostIo);
  journal.save();
  journal.remove();
  t.equal(nodeHostIo.exists(file), false);
  t.equal(nodeHostIo.exists(join(dir, 'run/boot-vm')), true);
});
