import { arg, type Arg, type BuildInput } from './arg.js';

/** Guest sleep states, switched on the Q35 chipset's LPC bridge (ICH9-LPC). */
export function buildPower({ profile }: BuildInput): Arg[] {
  const args: Arg[] = [];
  for (const state of ['s3', 's4'] as const) {
    const enabled = profile.power[state];
    if (enabled !== undefined) args.push(arg(['-global', `ICH9-LPC.disable_${state}=${enabled ? 0 : 1}`], [`power.${state}`]));
  }
  return args;
}
