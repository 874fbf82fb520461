/** Every host step of a plan, in the order they are applied (undone in reverse). */
import { numberSteps, type Step } from '../step.js';
import type { StepContext } from './context.js';
import { planConsoles } from './consoles.js';
import { planGovernor, planIrqAffinity, planShield } from './cpus.js';
import { planStopServices, planUnloadModules } from './handoff.js';
import { planHugepages, planHugetlbfsMount } from './hugepages.js';
import { planMemlock } from './memlock.js';
import { planIgnoreMsrs, planModules } from './modules.js';
import { planNvram } from './nvram.js';
import { planRunAs } from './run-as.js';
import { planKvmfrDevices, planSharedMemoryFiles } from './shared-memory.js';
import { planSysctls, planUserSteps, planWritebackCpus } from './tunables.js';
import { planThreadPinning } from './threads.js';
import { planTpm } from './tpm.js';
import { planRescan, planVfioBinding } from './vfio.js';

export type { StepContext } from './context.js';

/** The blog's on-boot.sh order: modules and tunables, consoles off the GPU, devices to vfio-pci; then memory and the UEFI variables. */
const BUILDERS = [
  planModules,
  planIgnoreMsrs,
  planSysctls,
  planWritebackCpus,
  planStopServices, // single-GPU handoff: the display manager lets go of the GPU before its consoles do
  planConsoles,
  planUnloadModules, // and its driver's modules, before vfio-pci binds it
  planVfioBinding,
  planRescan,
  planHugepages,
  planHugetlbfsMount,
  planNvram,
  planSharedMemoryFiles,
  planUserSteps,
  planGovernor,
  planShield,
  planKvmfrDevices,
  planRunAs,
  planMemlock,
  planTpm,
  planThreadPinning,
  planIrqAffinity,
];

export function buildSteps(context: StepContext): Step[] {
  const steps = numberSteps(BUILDERS.flatMap((build) => build(context)));
  // What each value is now, for the dry-run's undo lines; applying reads it again.
  for (const { do: action } of steps.flatMap((step) => step.actions)) {
    if (action.kind === 'set') {
      const was = context.sysroot.readText(action.path)?.trim();
      if (was !== undefined) action.was = was;
    }
  }
  return steps;
}
