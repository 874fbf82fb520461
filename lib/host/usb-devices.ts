/** The USB devices plugged into the host, as /sys/bus/usb/devices lists them (root hubs left out). */
import type { Sysroot } from './sysroot.js';

export interface UsbHostDevice {
  /** `1-1.4`: the sysfs name. */
  sysfs: string;
  bus: number;
  /** `1.4`: the port path from the root hub, what QEMU's hostport= takes. */
  port: string;
  /** The device number on its bus: /dev/bus/usb/BBB/DDD. */
  address: number;
  vendor: number;
  product: number;
  /** The strings the device reports, when it does. */
  productName?: string;
  manufacturer?: string;
}

const hexId = (id: number) => id.toString(16).padStart(4, '0');

/** `046d:c52b`, as lsusb writes it. */
export const formatUsbId = (vendor: number, product: number) => `${hexId(vendor)}:${hexId(product)}`;

/** `046d:c52b Logitech USB Receiver (bus 1 port 1.4)`. */
export function describeUsbDevice(device: UsbHostDevice): string {
  const name = [device.manufacturer, device.productName].filter(Boolean).join(' ');
  return `${formatUsbId(device.vendor, device.product)}${name ? ` ${name}` : ''} (bus ${device.bus} port ${device.port})`;
}

/** The device node QEMU opens for it. */
export const usbDeviceNode = (device: UsbHostDevice) => `/dev/bus/usb/${String(device.bus).padStart(3, '0')}/${String(device.address).padStart(3, '0')}`;

export function readUsbDevices(sysroot: Sysroot): UsbHostDevice[] {
  const devices: UsbHostDevice[] = [];
  for (const sysfs of sysroot.list('/sys/bus/usb/devices')) {
    // Interfaces (1-1.4:1.0) have no ids; root hubs (usb1) are the controllers themselves.
    if (sysfs.includes(':') || sysfs.startsWith('usb')) continue;
    const read = (file: string) => sysroot.readText(`/sys/bus/usb/devices/${sysfs}/${file}`)?.trim();
    const [vendor, product, bus, port, address] = [read('idVendor'), read('idProduct'), read('busnum'), read('devpath'), read('devnum')];
    if (!vendor || !product || !bus || !port || !address) continue;
    const productName = read('product');
    const manufacturer = read('manufacturer');
    devices.push({
      sysfs,
      bus: Number(bus),
      port,
      address: Number(address),
      vendor: parseInt(vendor, 16),
      product: parseInt(product, 16),
      ...(productName ? { productName } : {}),
      ...(manufacturer ? { manufacturer } : {}),
    });
  }
  return devices;
}
