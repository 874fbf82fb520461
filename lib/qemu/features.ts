/**
 * What each QEMU version accepts. Builders ask `supports()` and either choose the spelling the
 * version takes or report that the version lacks the feature. Versions come from QEMU's
 * docs/about/deprecated.rst and removed-features.rst, qapi `since` tags and libvirt's
 * formatdomain tables.
 */
import { atLeast, formatQemuVersion, type QemuVersion } from './version.js';

interface Feature {
  what: string;
  since: [number, number];
  /** First version that warns it will go. */
  deprecated?: [number, number];
  /** First version without it. */
  removed?: [number, number];
}

export const FEATURES = {
  overcommitMemLock: { what: '-overcommit mem-lock=on', since: [3, 0] },
  realtimeMlock: { what: '-realtime mlock=on', since: [0, 0], removed: [6, 0] },
  machineHpet: { what: '-machine hpet=off', since: [5, 2] },
  noHpet: { what: '-no-hpet', since: [0, 0], removed: [9, 0] },
  machineMemoryBackend: { what: '-machine memory-backend=', since: [5, 0] },
  aioIoUring: { what: 'aio=io_uring', since: [5, 0] },
  runas: { what: '-runas', since: [0, 10], deprecated: [9, 1], removed: [10, 0] },
  runWithUser: { what: '-run-with user=', since: [9, 1] },
  // Before 4.0 input-linux always toggled with both Ctrl keys; qapi GrabToggleKeys, shift-shift added in 4.2.
  grabToggle: { what: 'input-linux grab-toggle', since: [4, 0] },
  grabToggleShiftShift: { what: 'grab-toggle=shift-shift', since: [4, 2] },
  'hv-vpindex': { what: 'hv-vpindex', since: [2, 5] },
  'hv-runtime': { what: 'hv-runtime', since: [2, 5] },
  'hv-reset': { what: 'hv-reset', since: [2, 5] },
  'hv-vendor-id': { what: 'hv-vendor-id', since: [2, 5] },
  'hv-synic': { what: 'hv-synic', since: [2, 6] },
  'hv-stimer': { what: 'hv-stimer', since: [2, 6] },
  'hv-frequencies': { what: 'hv-frequencies', since: [2, 12] },
  'hv-reenlightenment': { what: 'hv-reenlightenment', since: [3, 0] },
  'hv-tlbflush': { what: 'hv-tlbflush', since: [3, 0] },
  'hv-ipi': { what: 'hv-ipi', since: [3, 1] },
  'hv-evmcs': { what: 'hv-evmcs', since: [3, 1] },
  'hv-stimer-direct': { what: 'hv-stimer-direct', since: [4, 1] },
  'hv-no-nonarch-coresharing': { what: 'hv-no-nonarch-coresharing', since: [4, 2] },
  'hv-avic': { what: 'hv-avic', since: [6, 2] },
  'hv-xmm-input': { what: 'hv-xmm-input', since: [7, 1] },
  'hv-emsr-bitmap': { what: 'hv-emsr-bitmap', since: [7, 1] },
  'hv-tlbflush-ext': { what: 'hv-tlbflush-ext', since: [7, 1] },
  'hv-tlbflush-direct': { what: 'hv-tlbflush-direct', since: [7, 1] },
} satisfies Record<string, Feature>;

export type FeatureName = keyof typeof FEATURES;

export function supports(version: QemuVersion, name: FeatureName): boolean {
  const feature: Feature = FEATURES[name];
  const [major, minor] = feature.since;
  if (!atLeast(version, major, minor)) return false;
  return feature.removed === undefined || !atLeast(version, feature.removed[0], feature.removed[1]);
}

/** `QEMU 4.0 lacks hv-stimer-direct (added in 4.1)` / `QEMU 9.0 no longer has -no-hpet (removed in 9.0)`. */
export function lacksMessage(version: QemuVersion, name: FeatureName): string {
  const feature: Feature = FEATURES[name];
  const shown = formatQemuVersion(version);
  const [major, minor] = feature.since;
  if (!atLeast(version, major, minor)) return `QEMU ${shown} lacks ${feature.what} (added in ${major}.${minor})`;
  const [rmMajor, rmMinor] = feature.removed!;
  return `QEMU ${shown} no longer has ${feature.what} (removed in ${rmMajor}.${rmMinor})`;
}

/** `rule: QEMU ≥ 5.2 takes -machine hpet=off` – the note --explain shows for a version-dependent choice. */
export function ruleNote(version: QemuVersion, chosen: FeatureName, instead?: FeatureName): string {
  const feature: Feature = FEATURES[chosen];
  const shown = formatQemuVersion(version);
  const other: Feature | undefined = instead === undefined ? undefined : FEATURES[instead];
  const [major, minor] = feature.since;
  const why = major === 0 ? `QEMU ${shown} is older than ${other?.since.join('.')}` : `QEMU ${shown} ≥ ${major}.${minor}`;
  const otherText = other ? ` (${other.what}${other.removed ? goneText(version, other.deprecated, other.removed) : ` needs ${other.since.join('.')}`})` : '';
  return `${feature.what} ← rule: ${why}${otherText}`;
}

/** ` was removed in 10.0`, or ` is deprecated since 9.1 and removed in 10.0` for a version that still has it. */
function goneText(version: QemuVersion, deprecated: [number, number] | undefined, removed: [number, number]): string {
  if (deprecated && !atLeast(version, removed[0], removed[1])) return ` is deprecated since ${deprecated.join('.')} and removed in ${removed.join('.')}`;
  return ` was removed in ${removed.join('.')}`;
}
