import type { Sysroot } from './sysroot.js';

export interface Vtconsole {
  /** `/sys/class/vtconsole/vtcon1` */
  dir: string;
  name: string;
  bound: boolean;
}

/** The virtual consoles and whether each is bound to its driver. */
export function readVtconsoles(sysroot: Sysroot): Vtconsole[] {
  return sysroot
    .list('/sys/class/vtconsole')
    .filter((entry) => /^vtcon\d+$/.test(entry))
    .map((entry) => {
      const dir = `/sys/class/vtconsole/${entry}`;
      return { dir, name: sysroot.readText(`${dir}/name`)?.trim() ?? entry, bound: sysroot.readText(`${dir}/bind`)?.trim() === '1' };
    });
}

/** The platform framebuffer drivers that hold the boot GPU's memory until unbound. */
export const FRAMEBUFFER_DRIVERS = ['efi-framebuffer', 'simple-framebuffer', 'vesa-framebuffer'] as const;

export interface Framebuffer {
  driver: (typeof FRAMEBUFFER_DRIVERS)[number];
  /** `efi-framebuffer.0` */
  device: string;
}

/** Framebuffer devices bound to their driver now. */
export function readFramebuffers(sysroot: Sysroot): Framebuffer[] {
  return FRAMEBUFFER_DRIVERS.flatMap((driver) =>
    sysroot
      .list(`/sys/bus/platform/drivers/${driver}`)
      .filter((entry) => entry.startsWith(`${driver}.`))
      .map((device) => ({ driver, device })),
  );
}
