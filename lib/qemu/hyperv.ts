/**
 * Hyper-V enlightenments for `-cpu`. Dependencies between them follow QEMU's own checks
 * (target/i386/kvm/kvm.c): a flag a chosen flag needs is added when the profile leaves it
 * unset, and is an error when the profile sets it to false.
 */
import type { HypervFlag, Hyperv } from '../profile/schema.js';
import { hypervFlags } from '../profile/schema.js';
import type { Diagnostics } from './arg.js';
import { FEATURES, lacksMessage, supports, type FeatureName } from './features.js';
import { hex } from './props.js';
import type { QemuVersion } from './version.js';

const FLAG_ORDER = Object.keys(hypervFlags) as HypervFlag[];

const DEPENDS_ON: Partial<Record<HypervFlag, HypervFlag[]>> = {
  synic: ['vpindex'],
  stimer: ['synic', 'time'],
  stimerDirect: ['stimer'],
  tlbflush: ['vpindex'],
  tlbflushExt: ['tlbflush'],
  tlbflushDirect: ['vapic'],
  ipi: ['vpindex'],
  evmcs: ['vapic'],
};

/** `stimerDirect` → `hv-stimer-direct`. */
export const qemuHypervName = (flag: HypervFlag) => `hv-${flag.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

const keyOf = (flag: HypervFlag) => `cpu.hyperv.${flag}`;

export interface HypervProps {
  /** `-cpu` properties, e.g. `hv-relaxed=on`, `hv-spinlocks=0x1fff`. */
  props: string[];
  /** Profile keys that contributed. */
  from: string[];
  notes: string[];
}

const isOn = (value: Hyperv[HypervFlag]) => value !== undefined && value !== false && value !== 'off';

export function buildHypervProps(hyperv: Hyperv, version: QemuVersion, diagnostics: Diagnostics): HypervProps {
  // flag → the flag whose dependency added it (undefined: the profile set it)
  const enabled = new Map<HypervFlag, HypervFlag | undefined>();
  for (const flag of FLAG_ORDER) if (isOn(hyperv[flag])) enabled.set(flag, undefined);
  const notes: string[] = [];
  // The flag the profile set that (maybe through added ones) pulled `flag` in.
  const rootOf = (flag: HypervFlag): HypervFlag => (enabled.get(flag) === undefined ? flag : rootOf(enabled.get(flag)!));
  for (const [flag] of enabled) {
    for (const dependency of DEPENDS_ON[flag] ?? []) {
      if (hyperv[dependency] === false) {
        const root = rootOf(flag);
        const through = root === flag ? '' : ` (through ${qemuHypervName(flag)})`;
        diagnostics.error(keyOf(dependency), `${qemuHypervName(root)} (${keyOf(root)}) needs ${qemuHypervName(dependency)}${through}; remove the false or turn ${root} off`);
      } else if (!enabled.has(dependency)) {
        enabled.set(dependency, flag);
        const by = enabled.get(flag) === undefined ? keyOf(flag) : qemuHypervName(flag);
        notes.push(`${qemuHypervName(dependency)}=on ← added: ${by} needs it`);
      }
    }
  }
  const props: string[] = [];
  const from: string[] = [];
  for (const flag of FLAG_ORDER) {
    if (!enabled.has(flag)) continue;
    const name = qemuHypervName(flag);
    const root = rootOf(flag);
    // Flags every supported QEMU has (relaxed, vapic, spinlocks, time, crash) are not in the table.
    if (Object.hasOwn(FEATURES, name) && !supports(version, name as FeatureName)) diagnostics.error(keyOf(root), lacksMessage(version, name as FeatureName));
    const value = hyperv[flag];
    if (enabled.get(flag) === undefined) from.push(keyOf(flag));
    if (flag === 'spinlocks') props.push(`${name}=${hex(value as number)}`);
    else if (flag === 'vendorId' || flag === 'noNonarchCoresharing') props.push(`${name}=${value}`);
    else props.push(`${name}=on`);
  }
  return { props, from, notes };
}
