// A real-time vCPU that never idles is throttled: the plan warns unless throttling is off.
import t from 'tap';
import { checkRtThrottling, rtThrottling } from '../../lib/plan/rt-throttling.js';
import { profileOf, sysrootOf } from '../fixtures/trees.js';

const limits = (runtime: string, period = '1000000') => ({ 'proc/sys/kernel/sched_rt_runtime_us': `${runtime}\n`, 'proc/sys/kernel/sched_rt_period_us': `${period}\n` });
const profile = (scheduler: object, host: object = {}) => profileOf({ memory: { size: '1G' }, pinning: { vcpus: [2, 3], scheduler }, host });

const warnings = (p: ReturnType<typeof profile>, files: Record<string, string>) => {
  const found: string[] = [];
  checkRtThrottling(p, sysrootOf(t, files), (key, message) => found.push(`${key}: ${message}`));
  return found;
};

t.test('fifo and rr under the default limits: the stall, its size and the two ways out', async (t) => {
  t.strictSame(warnings(profile({ policy: 'fifo', priority: 1 }), limits('950000')), [
    'pinning.scheduler.policy: a SCHED_FIFO vCPU that never idles stalls 50 ms once a second (kernel.sched_rt_runtime_us 950000 of 1000000 µs): use { policy: other, nice: -20 } (the default), or set host.sysctl kernel.sched_rt_runtime_us: -1 for the run (safe only on CPUs nothing else needs)',
  ]);
  t.match(warnings(profile({ policy: 'rr' }), limits('400000', '500000')), [/stalls 100 ms every 500 ms \(kernel.sched_rt_runtime_us 400000 of 500000 µs\)/]);
});

t.test('an unreadable host: the kernel default, said to be a guess', async (t) => {
  t.match(warnings(profile({ policy: 'fifo' }), {}), [/stalls 50 ms once a second \(the kernel's default kernel.sched_rt_runtime_us 950000 of 1000000 µs; this host's is unreadable\)/]);
});

t.test('no warning: not real-time, or throttling off on the host, by host.sysctl or by a sysctl step', async (t) => {
  t.strictSame(warnings(profile({ policy: 'other', nice: -20 }), limits('950000')), []);
  t.strictSame(warnings(profileOf({ memory: { size: '1G' }, pinning: { vcpus: [2] } }), limits('950000')), [], 'the default scheduler');
  t.strictSame(warnings(profile({ policy: 'fifo' }), limits('-1')), []);
  t.strictSame(warnings(profile({ policy: 'fifo' }, { sysctl: { 'kernel.sched_rt_runtime_us': -1 } }), limits('950000')), []);
  t.strictSame(warnings(profile({ policy: 'fifo' }, { steps: [{ sysctl: { 'kernel.sched_rt_runtime_us': '-1' } }] }), limits('950000')), []);
  t.match(rtThrottling(profile({ policy: 'fifo' }, { sysctl: { 'kernel.sched_rt_runtime_us': -1 } }), sysrootOf(t, limits('950000'))), { realtime: true, off: 'profile' });
  t.match(rtThrottling(profile({ policy: 'fifo' }), sysrootOf(t, limits('-1'))), { realtime: true, off: 'host' });
  t.match(warnings(profile({ policy: 'fifo' }, { sysctl: { 'kernel.sched_rt_runtime_us': 990000 } }), limits('950000')), [/stalls 50 ms/], 'a value other than -1 does not turn it off');
});
