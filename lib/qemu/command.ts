/**
 * The whole command line, in one fixed order (as libvirt's qemuBuildCommandLine): wrappers,
 * binary, identity, machine, CPU, memory, firmware, clock, power, devices (IO threads just before
 * the disks that use them), display, control, the user QEMU runs as, start paused (threads-mode
 * pinning), then the profile's verbatim extra arguments.
 */
import { arg, type Arg, type BuildInput } from './arg.js';
import { checkBootIndexes } from './boot-order.js';
import { buildClock } from './clock.js';
import { buildControl, buildExtraArgs, buildIdentity } from './control.js';
import { buildCpu, buildSmp } from './cpu.js';
import { buildDisks } from './disk.js';
import { buildDisplay } from './display.js';
import { buildFirmware } from './firmware.js';
import { buildInputDevices } from './input.js';
import { buildIothreads } from './iothreads.js';
import { buildMachine } from './machine.js';
import { buildMemory, chooseMemoryBackend } from './memory.js';
import { buildNetwork } from './net.js';
import { buildPassthrough } from './pcie.js';
import { buildStartPaused, buildWrappers } from './pinning.js';
import { buildPower } from './power.js';
import { buildRunAs } from './run-as.js';
import { buildSharedMemory } from './shared-memory.js';
import { buildTpm } from './tpm.js';
import { buildUsb } from './usb.js';

export interface Command {
  /** `chrt`, `taskset`: the programs that exec QEMU. */
  wrappers: Arg[];
  /** The QEMU binary and its options. */
  qemu: Arg[];
}

export function buildCommand(input: BuildInput, binaryNote: string): Command {
  checkBootIndexes(input);
  const memoryBackend = chooseMemoryBackend(input);
  const wrappers = buildWrappers(input);
  const qemu = [
    arg([input.profile.qemu.binary], ['qemu.binary'], [binaryNote]),
    ...buildIdentity(input),
    ...buildMachine(input, memoryBackend),
    ...buildCpu(input),
    ...buildSmp(input),
    ...buildMemory(input, memoryBackend),
    ...buildFirmware(input),
    ...buildClock(input),
    ...buildPower(input),
    ...buildPassthrough(input),
    ...buildIothreads(input),
    ...buildDisks(input),
    ...buildNetwork(input),
    // After the disks and NICs: adding shared memory leaves their guest PCI addresses as they were.
    ...buildSharedMemory(input),
    // Last of the PCI devices, like shared memory: adding USB leaves every other guest address as it was.
    ...buildUsb(input),
    ...buildInputDevices(input),
    ...buildTpm(input),
    ...buildDisplay(input),
    ...buildControl(input),
    ...buildRunAs(input),
    ...buildStartPaused(input),
    ...buildExtraArgs(input),
  ];
  return { wrappers, qemu };
}
