/**
 * `host.runAs`: QEMU opens what it needs as root, then becomes that user. The option depends on
 * the version: `-runas` (deprecated in 9.1, removed in 10.0), `-run-with user=` from 9.1.
 */
import { arg, type Arg, type BuildInput } from './arg.js';
import { FEATURES, ruleNote, supports } from './features.js';
import { formatProps } from './props.js';
import { formatQemuVersion } from './version.js';

export function buildRunAs({ profile, version, diagnostics }: BuildInput): Arg[] {
  const user = profile.host.runAs;
  if (user === undefined) return [];
  if (supports(version, 'runWithUser')) return [arg(['-run-with', formatProps(undefined, [['user', user]])], ['host.runAs'], [ruleNote(version, 'runWithUser', 'runas')])];
  if (supports(version, 'runas')) return [arg(['-runas', user], ['host.runAs'], [ruleNote(version, 'runas', 'runWithUser')])];
  const { runas, runWithUser } = FEATURES;
  diagnostics.error('host.runAs', `QEMU ${formatQemuVersion(version)} has neither ${runas.what} (added in ${runas.since.join('.')}) nor ${runWithUser.what} (added in ${runWithUser.since.join('.')})`);
  return [];
}
