// Single-GPU handoff (lib/plan/steps/handoff.ts, and its place in lib/plan/steps/index.ts): the
// display manager stopped before the consoles are unbound, the GPU's modules unloaded after and
// loaded again in reverse, the vfio-pci step leaving a driver whose module is unloaded alone; what
// the plan says about modules not loaded, built in, or held now (noted or warned, never refused).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { driverModule } from '../../../lib/host/kernel-modules.js';
import { Sysroot } from '../../../lib/host/sysroot.js';
import { renderStep } from '../../../lib/plan/render-steps.js';
import type { Step } from '../../../lib/plan/step.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { planStopServices, planUnloadModules } from '../../../lib/plan/steps/handoff.js';
import { buildSteps } from '../../../lib/plan/steps/index.js';
import { copyHost } from '../../fixtures/launch.js';
import { host } from '../../fixtures/helpers.js';
import { profileOf, recorder } from '../../fixtures/trees.js';

const NVIDIA = ['nvidia_drm', 'nvidia_modeset', 'nvidia_uvm', 'nvidia'];
const SINGLE_GPU = { passthrough: [{ host: '01:00.0', vga: true }, { host: '01:00.1' }], host: { stopServices: ['display-manager'], unloadModules: NVIDIA } };

function contextOf(data: Record<string, unknown>, sysroot: Sysroot) {
  const { report, reports, diagnostics } = recorder();
  const context: StepContext = { name: 'vm', profile: profileOf({ memory: { size: '4G' }, ...data }), sysroot, report, warn: diagnostics.warn };
  return { context, reports, warnings: diagnostics.warnings };
}

/** A copy of a fake host with these modules loaded: name → [refcnt, holders]. */
function withModules(t: Test, name: string, modules: Record<string, [number, string[]]>): string {
  const root = copyHost(t, name);
  for (const [module, [refcnt, holders]] of Object.entries(modules)) {
    mkdirSync(join(root, `sys/module/${module}/holders`), { recursive: true });
    writeFileSync(join(root, `sys/module/${module}/refcnt`), `${refcnt}\n`);
    for (const holder of holders) symlinkSync(`../../${holder}`, join(root, `sys/module/${module}/holders/${holder}`));
  }
  return root;
}

const nvidiaLoaded = (t: Test) => withModules(t, 'i9-9900k', { nvidia_drm: [0, []], nvidia_modeset: [1, ['nvidia_drm']], nvidia: [1, ['nvidia_modeset']] });

const lines = (step: Step | undefined, root: string) => renderStep(step!, new Sysroot(root)).map((line) => line.replaceAll(root, ''));

t.test('the order: stop the display manager, unbind the consoles, unload the modules, bind to vfio-pci', async (t) => {
  const root = nvidiaLoaded(t);
  const { context, reports } = contextOf(SINGLE_GPU, new Sysroot(root));
  const steps = buildSteps(context);
  t.strictSame(reports, []);
  t.strictSame(steps.map((step) => `${step.n} ${step.id}`).slice(0, 6), ['1 load-modules', '2 stop-services', '3 unbind-consoles', '4 unload-modules', '5 bind-vfio 0000:01:00.0', '6 bind-vfio 0000:01:00.1']);
  t.strictSame(lines(steps[1], root), [
    '# 2 prepare: stop display-manager, to free the GPU  ← host.stopServices',
    '#   a unit that is not running is left alone, and not started afterwards',
    'systemctl is-active --quiet display-manager && systemctl stop display-manager  # started again afterwards only if it was running',
    '#   undo: systemctl start display-manager',
  ]);
  t.strictSame(lines(steps[3], root), [
    '# 4 prepare: unload kernel modules nvidia_drm, nvidia_modeset, nvidia  ← host.unloadModules',
    '#   nvidia_uvm is not loaded',
    "#   loaded again afterwards, in reverse order: the GPU's driver takes it back as it loads",
    '# wait up to 10s until no other module, reference or process uses them (refused otherwise, naming who does)\nrmmod nvidia_drm\nrmmod nvidia_modeset\nrmmod nvidia',
    '#   undo: modprobe nvidia',
    '#   undo: modprobe nvidia_modeset',
    '#   undo: modprobe nvidia_drm',
  ], 'unloaded in the given order, loaded again in reverse');
  t.strictSame(lines(steps[4], root), [
    '# 5 prepare: bind 0000:01:00.0 [10de:1b06] to vfio-pci  ← passthrough[0].host, host.bindVfio',
    '#   now on nvidia, whose module is unloaded first; loading it again afterwards gives the device back',
    'echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override',
    'echo 0000:01:00.0 > /sys/bus/pci/drivers_probe',
    '# wait up to 10s until /sys/bus/pci/devices/0000:01:00.0/driver is vfio-pci',
    '#   undo: echo 0000:01:00.0 > /sys/bus/pci/drivers/vfio-pci/unbind',
    '#   undo: echo > /sys/bus/pci/devices/0000:01:00.0/driver_override',
  ], 'no unbind from nvidia (gone by then) and no bind back (it does not exist before modprobe, which probes the device itself)');
  t.match(lines(steps[5], root).join('\n'), /undo: echo 0000:01:00\.1 > \/sys\/bus\/pci\/drivers\/snd_hda_intel\/bind$/, 'the audio function, on a driver that stays, is bound back as before');
});

t.test('the undo of vfio-pci comes before the module is loaded again: the override is cleared when modprobe probes', async (t) => {
  const { context } = contextOf(SINGLE_GPU, new Sysroot(nvidiaLoaded(t)));
  const steps = buildSteps(context);
  // The journal undoes in reverse of the order done: the steps' undo actions, last step first.
  const undo = steps.slice(1, 5).reverse().flatMap((step) => [...step.actions].reverse().flatMap((action) => action.undo));
  const shown = undo.map((action) => (action.kind === 'run' ? action.argv.join(' ') : action.kind === 'trigger' || action.kind === 'restore' ? `${action.kind} ${action.path}` : action.kind));
  t.strictSame(shown, [
    'trigger /sys/bus/pci/drivers/vfio-pci/unbind',
    'restore /sys/bus/pci/devices/0000:01:00.0/driver_override',
    'restore /sys/bus/pci/devices/0000:01:00.0/driver_override',
    'modprobe nvidia',
    'modprobe nvidia_modeset',
    'modprobe nvidia_drm',
    'trigger /sys/bus/platform/drivers/efi-framebuffer/bind',
    'restore /sys/class/vtconsole/vtcon1/bind',
    'systemctl start display-manager',
  ]);
});

t.test('modules not loaded: noted, and the vfio-pci step unbinds the driver as usual', async (t) => {
  const { context, reports } = contextOf(SINGLE_GPU, host('i9-9900k'));
  t.strictSame(planUnloadModules(context), [
    { id: 'unload-modules', phase: 'prepare', title: `unload kernel modules ${NVIDIA.join(', ')}`, from: ['host.unloadModules'], notes: NVIDIA.map((module) => `${module} is not loaded`), skip: 'none of them is loaded' },
  ]);
  t.strictSame(reports, []);
  const vfio = buildSteps(context).find((step) => step.id === 'bind-vfio 0000:01:00.0')!;
  t.ok(vfio.actions.some(({ undo }) => undo.some((action) => action.kind === 'trigger' && action.path === '/sys/bus/pci/drivers/nvidia/bind')), 'nvidia gets the device back');
});

t.test('AMD: amdgpu unloaded, the GPU neither unbound from it nor bound back; a built-in module is reported', async (t) => {
  const root = withModules(t, 'i7-4790k', { amdgpu: [0, []] });
  // Built in: /sys/module has its parameters, no refcnt.
  mkdirSync(join(root, 'sys/module/video/parameters'), { recursive: true });
  const { context, reports } = contextOf({ passthrough: [{ host: '01:00.0', vga: true }, { host: '01:00.1' }], host: { stopServices: ['sddm'], unloadModules: ['amdgpu', 'video'] } }, new Sysroot(root));
  const steps = buildSteps(context);
  t.strictSame(reports, ['host.unloadModules[1]: video is built into this kernel and cannot be unloaded; take it out of host.unloadModules']);
  t.equal(steps.find((step) => step.id === 'unload-modules')!.title, 'unload kernel modules amdgpu');
  const vfio = steps.find((step) => step.id === 'bind-vfio 0000:01:00.0')!;
  t.notOk(vfio.actions.some(({ do: action, undo }) => [action, ...undo].some((one) => one.kind === 'trigger' && one.path.startsWith('/sys/bus/pci/drivers/amdgpu/'))), 'amdgpu is neither unbound nor bound back: its module is');
});

t.test('a module listed before one that uses it is reported: rmmod would refuse it', async (t) => {
  const { context, reports } = contextOf({ ...SINGLE_GPU, host: { unloadModules: ['nvidia', 'nvidia_drm', 'nvidia_modeset'] } }, new Sysroot(nvidiaLoaded(t)));
  planUnloadModules(context);
  t.strictSame(reports, ['host.unloadModules[0]: nvidia is used by nvidia_modeset, listed after it; list it first'], 'nvidia_drm before nvidia_modeset is right');
});

t.test("a driver's module is the one its module link names, else the driver's own name", async (t) => {
  const root = copyHost(t, 'i7-4790k');
  mkdirSync(join(root, 'sys/bus/pci/drivers/xhci_hcd'));
  symlinkSync('../../../../module/xhci_pci', join(root, 'sys/bus/pci/drivers/xhci_hcd/module'));
  t.equal(driverModule(new Sysroot(root), 'xhci_hcd'), 'xhci_pci');
  t.equal(driverModule(new Sysroot(root), 'amdgpu'), 'amdgpu');
});

t.test('a process holding the GPU now: a note when a service is stopped first, a warning when nothing is; never refused at plan time', async (t) => {
  const root = nvidiaLoaded(t);
  mkdirSync(join(root, 'proc/1234/fd'), { recursive: true });
  writeFileSync(join(root, 'proc/1234/comm'), 'Xorg\n');
  symlinkSync('/dev/nvidia0', join(root, 'proc/1234/fd/9'));
  symlinkSync('/dev/nvidiactl', join(root, 'proc/1234/fd/10'));
  const stopped = contextOf(SINGLE_GPU, new Sysroot(root));
  t.match(planUnloadModules(stopped.context)[0]!.notes, ['nvidia_uvm is not loaded', 'now Xorg (pid 1234) has /dev/nvidia0 open; Xorg (pid 1234) has /dev/nvidiactl open: stopping display-manager must end them, or the unload is refused']);
  t.strictSame([...stopped.reports, ...stopped.warnings], []);
  const alone = contextOf({ ...SINGLE_GPU, host: { unloadModules: NVIDIA } }, new Sysroot(root));
  t.ok(planUnloadModules(alone.context)[0]!.actions!.length === 1, 'still planned');
  t.strictSame(alone.warnings, ['host.unloadModules: Xorg (pid 1234) has /dev/nvidia0 open; Xorg (pid 1234) has /dev/nvidiactl open: the unload is refused unless something stops them first (host.stopServices: [display-manager])']);
  t.strictSame(alone.reports, []);
});

t.test('stopServices: one stop each, in order, started again in reverse; none asked, no step', async (t) => {
  const { context } = contextOf({ host: { stopServices: ['display-manager', 'nvidia-persistenced.service'] } }, host('i9-9900k'));
  const [step] = planStopServices(context);
  t.strictSame(step!.actions, ['display-manager', 'nvidia-persistenced.service'].map((unit) => ({ do: { kind: 'stop-service', unit }, undo: [{ kind: 'run', argv: ['systemctl', 'start', unit] }] })));
  t.strictSame(planStopServices(contextOf({}, host('i9-9900k')).context), []);
  t.strictSame(planUnloadModules(contextOf({}, host('i9-9900k')).context), []);
});
