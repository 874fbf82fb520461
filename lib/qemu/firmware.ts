import { arg, type Arg, type BuildInput } from './arg.js';
import { formatProps } from './props.js';

/**
 * UEFI (OVMF) as two pflash drives: the shared read-only code and this VM's own copy of the
 * variable store. SeaBIOS is QEMU's default and needs no option.
 */
export function buildFirmware({ firmware }: BuildInput): Arg[] {
  if (!firmware) return [];
  const codeFrom = ['firmware.type', 'firmware.code'];
  const args = [
    arg(['-drive', formatProps(undefined, [['if', 'pflash'], ['format', 'raw'], ['unit', 0], ['readonly', 'on'], ['file', firmware.code]])], codeFrom, [`code ← ${firmware.source}`]),
    arg(['-drive', formatProps(undefined, [['if', 'pflash'], ['format', 'raw'], ['unit', 1], ['file', firmware.vars]])], ['firmware.vars', 'firmware.varsTemplate']),
  ];
  if (firmware.secureBoot && firmware.smm) {
    // Secure Boot is only secure when the variable store can be written from SMM alone.
    args.push(arg(['-global', 'driver=cfi.pflash01,property=secure,value=on'], ['firmware.secureBoot']));
  }
  return args;
}
