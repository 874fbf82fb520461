import t from 'tap';
import { atLeast, formatQemuVersion, parseQemuVersion, parseQemuVersionOutput } from '../../lib/qemu/version.js';

t.test('parseQemuVersion', async (t) => {
  t.strictSame(parseQemuVersion('7.2'), { major: 7, minor: 2 });
  t.strictSame(parseQemuVersion('7.2.19'), { major: 7, minor: 2 }, 'the micro version is dropped');
  t.strictSame(parseQemuVersion(' 10.1\n'), { major: 10, minor: 1 }, 'surrounding space is trimmed');
  t.equal(parseQemuVersion('7'), undefined);
  t.equal(parseQemuVersion('v7.2'), undefined);
  t.equal(parseQemuVersion('7.2.1.4'), undefined);
  t.equal(parseQemuVersion(''), undefined);
});

t.test('parseQemuVersionOutput reads `qemu-system-x86_64 --version`', async (t) => {
  const debian = 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n';
  t.strictSame(parseQemuVersionOutput(debian), { major: 7, minor: 2 }, 'the version, not the Debian package version');
  t.strictSame(parseQemuVersionOutput('QEMU emulator version 10.1.0\n'), { major: 10, minor: 1 });
  t.strictSame(parseQemuVersionOutput('QEMU emulator version 2.12.0\n'), { major: 2, minor: 12 });
  t.equal(parseQemuVersionOutput('qemu-system-x86_64: command not found\n'), undefined);
});

t.test('formatQemuVersion', async (t) => {
  t.equal(formatQemuVersion({ major: 2, minor: 12 }), '2.12');
});

t.test('atLeast compares major first, then minor', async (t) => {
  const v = { major: 7, minor: 2 };
  t.equal(atLeast(v, 7, 2), true, 'equal');
  t.equal(atLeast(v, 7, 1), true);
  t.equal(atLeast(v, 7, 3), false);
  t.equal(atLeast(v, 6, 9), true, 'a higher major wins over a lower minor');
  t.equal(atLeast(v, 8, 0), false);
  t.equal(atLeast({ major: 2, minor: 12 }, 2, 9), true, 'minors compare as numbers, not text');
});
