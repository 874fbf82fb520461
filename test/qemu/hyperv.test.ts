import t from 'tap';
import type { Hyperv } from '../../lib/profile/schema.js';
import { buildHypervProps, qemuHypervName } from '../../lib/qemu/hyperv.js';
import { Recorder, version } from '../fixtures/build-input.js';

const build = (hyperv: Hyperv, at = '10.1') => {
  const diagnostics = new Recorder();
  return { ...buildHypervProps(hyperv, version(at), diagnostics), errors: diagnostics.errors, warnings: diagnostics.warnings };
};

t.test('qemuHypervName turns camelCase into QEMU names', async (t) => {
  t.equal(qemuHypervName('stimerDirect'), 'hv-stimer-direct');
  t.equal(qemuHypervName('noNonarchCoresharing'), 'hv-no-nonarch-coresharing');
  t.equal(qemuHypervName('relaxed'), 'hv-relaxed');
});

t.test('dependencies are added, transitively, with a note naming who needs them', async (t) => {
  t.strictSame(build({ synic: true }), {
    props: ['hv-vpindex=on', 'hv-synic=on'],
    from: ['cpu.hyperv.synic'],
    notes: ['hv-vpindex=on ← added: cpu.hyperv.synic needs it'],
    errors: [],
    warnings: [],
  });
  const stimer = build({ stimer: true });
  t.strictSame(stimer.props, ['hv-time=on', 'hv-vpindex=on', 'hv-synic=on', 'hv-stimer=on'], 'stimer → synic, time; synic → vpindex');
  t.strictSame(stimer.from, ['cpu.hyperv.stimer'], 'added flags are not profile keys');
  t.strictSame(stimer.notes, ['hv-synic=on ← added: cpu.hyperv.stimer needs it', 'hv-time=on ← added: cpu.hyperv.stimer needs it', 'hv-vpindex=on ← added: hv-synic needs it']);
  const direct = build({ stimerDirect: true });
  t.strictSame(direct.props, ['hv-time=on', 'hv-vpindex=on', 'hv-synic=on', 'hv-stimer=on', 'hv-stimer-direct=on'], 'stimerDirect pulls in the whole stimer chain');
  t.strictSame(direct.notes, [
    'hv-stimer=on ← added: cpu.hyperv.stimerDirect needs it',
    'hv-synic=on ← added: hv-stimer needs it',
    'hv-time=on ← added: hv-stimer needs it',
    'hv-vpindex=on ← added: hv-synic needs it',
  ]);
  t.strictSame(build({ tlbflush: true }).props, ['hv-vpindex=on', 'hv-tlbflush=on']);
  t.strictSame(build({ ipi: true }).props, ['hv-vpindex=on', 'hv-ipi=on']);
  t.strictSame(build({ evmcs: true }).props, ['hv-vapic=on', 'hv-evmcs=on']);
  t.strictSame(build({ tlbflushDirect: true }).props, ['hv-vapic=on', 'hv-tlbflush-direct=on']);
  const ext = build({ tlbflushExt: true });
  t.strictSame(ext.props, ['hv-vpindex=on', 'hv-tlbflush=on', 'hv-tlbflush-ext=on'], 'tlbflushExt → tlbflush → vpindex');
  t.strictSame(ext.notes, ['hv-tlbflush=on ← added: cpu.hyperv.tlbflushExt needs it', 'hv-vpindex=on ← added: hv-tlbflush needs it']);
});

t.test('a dependency the profile already turns on is neither added nor noted', async (t) => {
  const result = build({ vpindex: true, synic: true, ipi: true });
  t.strictSame(result.props, ['hv-vpindex=on', 'hv-synic=on', 'hv-ipi=on']);
  t.strictSame(result.from, ['cpu.hyperv.vpindex', 'cpu.hyperv.synic', 'cpu.hyperv.ipi']);
  t.strictSame(result.notes, []);
});

t.test('a dependency set to false is an error on the dependency', async (t) => {
  const result = build({ synic: true, vpindex: false });
  t.strictSame(result.errors, [{ key: 'cpu.hyperv.vpindex', message: 'hv-synic (cpu.hyperv.synic) needs hv-vpindex; remove the false or turn synic off' }]);
  t.strictSame(result.props, ['hv-synic=on'], 'the false dependency is not added');
  t.strictSame(build({ evmcs: true, vapic: false }).errors, [{ key: 'cpu.hyperv.vapic', message: 'hv-evmcs (cpu.hyperv.evmcs) needs hv-vapic; remove the false or turn evmcs off' }]);
});

t.test('a false dependency of an added flag names the profile key that pulled it in', async (t) => {
  t.strictSame(build({ stimerDirect: true, synic: false }).errors, [
    { key: 'cpu.hyperv.synic', message: 'hv-stimer-direct (cpu.hyperv.stimerDirect) needs hv-synic (through hv-stimer); remove the false or turn stimerDirect off' },
  ]);
});

t.test('a flag the QEMU version lacks is an error on the profile key that asked for it', async (t) => {
  t.strictSame(build({ stimerDirect: true }, '4.0').errors, [{ key: 'cpu.hyperv.stimerDirect', message: 'QEMU 4.0 lacks hv-stimer-direct (added in 4.1)' }]);
  t.strictSame(build({ stimerDirect: true }, '4.1').errors, []);
  t.strictSame(build({ avic: true }, '6.1').errors, [{ key: 'cpu.hyperv.avic', message: 'QEMU 6.1 lacks hv-avic (added in 6.2)' }]);
  t.strictSame(build({ avic: true }, '6.2').errors, []);
  t.strictSame(build({ xmmInput: true }, '7.0').errors, [{ key: 'cpu.hyperv.xmmInput', message: 'QEMU 7.0 lacks hv-xmm-input (added in 7.1)' }]);
  t.strictSame(
    build({ tlbflushExt: true }, '2.12').errors,
    [
      { key: 'cpu.hyperv.tlbflushExt', message: 'QEMU 2.12 lacks hv-tlbflush (added in 3.0)' },
      { key: 'cpu.hyperv.tlbflushExt', message: 'QEMU 2.12 lacks hv-tlbflush-ext (added in 7.1)' },
    ],
    'an added dependency the version lacks is reported on the root flag',
  );
  t.strictSame(build({ relaxed: true, vapic: true, time: true, crash: true, spinlocks: 0x1fff }, '2.12').errors, [], 'the original flags are not version-checked');
});

t.test('values: spinlocks in hex, vendorId and noNonarchCoresharing as written', async (t) => {
  t.strictSame(build({ spinlocks: 8191 }).props, ['hv-spinlocks=0x1fff']);
  t.strictSame(build({ vendorId: 'whatever' }).props, ['hv-vendor-id=whatever']);
  t.strictSame(build({ noNonarchCoresharing: 'auto' }).props, ['hv-no-nonarch-coresharing=auto']);
  t.strictSame(build({ noNonarchCoresharing: 'on' }).props, ['hv-no-nonarch-coresharing=on']);
  t.strictSame(build({ noNonarchCoresharing: 'off' }).props, [], "off is QEMU's default and is left out");
  t.strictSame(build({ spinlocks: false, vendorId: false, relaxed: false }), { props: [], from: [], notes: [], errors: [], warnings: [] }, 'false leaves a flag out');
});

t.test('props follow the schema order, not the profile order', async (t) => {
  const result = build({ vendorId: 'KVMKVMKVM', frequencies: true, spinlocks: 0x1fff, relaxed: true, vapic: true, time: true, reset: true, runtime: true, reenlightenment: true, crash: true });
  t.strictSame(result.props, [
    'hv-relaxed=on',
    'hv-vapic=on',
    'hv-spinlocks=0x1fff',
    'hv-time=on',
    'hv-crash=on',
    'hv-reset=on',
    'hv-runtime=on',
    'hv-frequencies=on',
    'hv-reenlightenment=on',
    'hv-vendor-id=KVMKVMKVM',
  ]);
  t.strictSame(result.from, ['cpu.hyperv.relaxed', 'cpu.hyperv.vapic', 'cpu.hyperv.spinlocks', 'cpu.hyperv.time', 'cpu.hyperv.crash', 'cpu.hyperv.reset', 'cpu.hyperv.runtime', 'cpu.hyperv.frequencies', 'cpu.hyperv.reenlightenment', 'cpu.hyperv.vendorId']);
});
