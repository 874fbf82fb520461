import { execFileSync } from 'node:child_process';
import t from 'tap';
import { shellQuote } from '../../lib/qemu/shell-quote.js';

/** What `sh` makes of the words when it reads them from a command line. */
const readBack = (quoted: string[]) => execFileSync('sh', ['-c', `printf '%s\\0' ${quoted.join(' ')}`]).toString().split('\0').slice(0, -1);

t.test('safe words stay unquoted', async (t) => {
  for (const word of ['qemu-system-x86_64', '-device', 'vfio-pci,host=0000:01:00.0,x-vga=on', '/run/boot-vm/vm.pid', 'user@host:22', '50%', 'a+b']) {
    t.equal(shellQuote(word), word);
  }
});

t.test('anything else is single-quoted', async (t) => {
  t.equal(shellQuote('a b'), "'a b'");
  t.equal(shellQuote(''), "''", 'the empty word');
  t.equal(shellQuote('$HOME'), "'$HOME'");
  t.equal(shellQuote('`id`'), "'`id`'");
  t.equal(shellQuote('"q"'), `'"q"'`);
  t.equal(shellQuote('*'), "'*'");
  t.equal(shellQuote("it's"), `'it'\\''s'`, 'a quote closes, is escaped and reopens');
});

t.test('sh reads every quoted word back unchanged', async (t) => {
  const nasty = [
    '',
    ' ',
    "it's",
    "''",
    'a b  c',
    '$HOME ${PATH} $(id) `id`',
    '"double" \\back\\slash',
    'tab\there',
    'new\nline',
    '*?[a]~#!&;|<>(){}',
    "file=/vm/odd,,name's disk.img",
    '-',
    '=x',
  ];
  t.strictSame(readBack(nasty.map(shellQuote)), nasty);
});
