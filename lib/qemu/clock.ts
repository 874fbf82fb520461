import { arg, type Arg, type BuildInput } from './arg.js';
import { ruleNote, supports } from './features.js';
import { formatProps } from './props.js';

/** `-rtc`, `-no-hpet` on QEMU before 5.2 (newer ones get `hpet=off` on -machine), and the PIT's lost-tick policy. */
export function buildClock({ profile, version }: BuildInput): Arg[] {
  const { clock } = profile;
  const args: Arg[] = [];
  if (clock.base !== undefined || clock.rtcClock !== undefined || clock.driftfix !== undefined) {
    const from = (['base', 'rtcClock', 'driftfix'] as const).filter((key) => clock[key] !== undefined).map((key) => `clock.${key}`);
    args.push(arg(['-rtc', formatProps(undefined, [['base', clock.base], ['clock', clock.rtcClock], ['driftfix', clock.driftfix]])], from));
  }
  // QEMU before 5.2 has no hpet machine property, and all of those still have -no-hpet.
  if (clock.hpet === false && !supports(version, 'machineHpet')) {
    args.push(arg(['-no-hpet'], ['clock.hpet'], [ruleNote(version, 'noHpet', 'machineHpet')]));
  }
  if (clock.pitLostTickPolicy !== undefined) {
    args.push(arg(['-global', `kvm-pit.lost_tick_policy=${clock.pitLostTickPolicy}`], ['clock.pitLostTickPolicy']));
  }
  return args;
}
