/** Network cards: a `-netdev` backend (tap, bridge or user) and a `-device` front end each. */
import { fnv1a32 } from '../hash.js';
import type { Nic } from '../profile/schema.js';
import { arg, type Arg, type BuildInput } from './arg.js';
import { formatProps, onOff } from './props.js';

const MODELS = { virtio: 'virtio-net-pci', e1000: 'e1000', e1000e: 'e1000e', rtl8139: 'rtl8139' } as const;

/**
 * A MAC that stays the same for this VM and card across runs (guests key DHCP leases and
 * Windows network profiles on it), in QEMU's locally administered 52:54:00 range.
 */
export function deriveMac(name: string, index: number): string {
  const hash = fnv1a32(`${name}/${index}`);
  return ['52', '54', '00', ...[16, 8, 0].map((shift) => ((hash >>> shift) & 0xff).toString(16).padStart(2, '0'))].join(':');
}

const scriptProp = (script: string | false | undefined) => (script === false ? 'no' : script);

function netdevProps(nic: Nic, id: string): { props: string; from: string[] } {
  if (nic.tap) {
    const { tap } = nic;
    const from = (['ifname', 'script', 'downscript', 'vhost'] as const).filter((key) => tap[key] !== undefined).map((key) => `tap.${key}`);
    return {
      props: formatProps('tap', [['id', id], ['ifname', tap.ifname], ['script', scriptProp(tap.script)], ['downscript', scriptProp(tap.downscript)], ['vhost', onOff(tap.vhost)]]),
      from: from.length > 0 ? from : ['tap'],
    };
  }
  if (nic.bridge) return { props: formatProps('bridge', [['id', id], ['br', nic.bridge.name]]), from: ['bridge.name'] };
  return { props: formatProps('user', [['id', id]]), from: nic.user ? ['user'] : [] };
}

export function buildNetwork({ name, profile, diagnostics }: BuildInput): Arg[] {
  const args: Arg[] = [];
  const macs = new Map<string, number>();
  profile.network.forEach((nic, i) => {
    const key = `network[${i}]`;
    const backends = (['tap', 'bridge', 'user'] as const).filter((backend) => nic[backend] !== undefined);
    if (backends.length > 1) diagnostics.error(key, `choose one of tap, bridge or user, not ${backends.join(' and ')}`);
    const mac = (nic.mac ?? deriveMac(name, i)).toLowerCase();
    if (parseInt(mac.slice(0, 2), 16) & 1) diagnostics.error(`${key}.mac`, 'a multicast address (odd first byte) cannot be a card\'s address');
    const earlier = macs.get(mac);
    if (earlier !== undefined) diagnostics.error(`${key}.mac`, `duplicate device: network[${earlier}] already uses ${mac}`);
    macs.set(mac, i);
    const id = `net${i}`;
    const netdev = netdevProps(nic, id);
    args.push(arg(['-netdev', netdev.props], netdev.from.map((part) => `${key}.${part}`), backends.length === 0 ? ['user ← no tap or bridge given: user-mode networking'] : []));
    const notes = nic.mac ? [] : [`mac=${mac} ← derived from the VM name, stable across runs`];
    args.push(
      arg(
        ['-device', formatProps(MODELS[nic.model], [['netdev', id], ['id', `nic${i}`], ['mac', mac], ['bootindex', nic.bootIndex]])],
        [`${key}.model`, ...(nic.mac ? [`${key}.mac`] : []), ...(nic.bootIndex !== undefined ? [`${key}.bootIndex`] : [])],
        notes,
      ),
    );
  });
  return args;
}
