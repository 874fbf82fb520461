// parseScript on the posts' scripts (the blog's boot-mediapc.sh and on-boot.sh, both forms in the
// server guide, prompt and all) and on real-world forms: the exact QEMU words and their lines, the
// wrappers, the host keys, every warning and note. Then the shell-reading rules one by one, and
// the errors. Pure: no shell is run.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { InputError } from '../../lib/errors.js';
import { parseHostScript, parseScript, type ParsedScript, type Word } from '../../lib/import/script.js';
import { FIXTURES } from '../fixtures/helpers.js';

const SCRIPTS = join(FIXTURES, 'import', 'scripts');

/** Words as rows `line: word word …`, one row per run of words on one line; a word with blanks or quotes in JSON. */
function rows(words: Word[]): string[] {
  const out: string[] = [];
  let last = -1;
  for (const word of words) {
    const text = /^[^\s"'\\]+$/.test(word.text) ? word.text : JSON.stringify(word.text);
    if (word.line === last) out[out.length - 1] += ` ${text}`;
    else out.push(`${word.line}: ${text}`);
    last = word.line;
  }
  return out;
}

/** Everything parseScript says, compactly; empty parts left out. */
function summary(parsed: ParsedScript): Record<string, unknown> {
  const { binary, args, ...wrappers } = parsed.command;
  const out: Record<string, unknown> = { binary: `${binary.line}: ${binary.text}`, args: rows(args) };
  if (Object.keys(wrappers).length > 0) out.wrappers = wrappers;
  if (Object.keys(parsed.host.host).length > 0) out.host = parsed.host.host;
  if (Object.keys(parsed.host.memory).length > 0) out.memory = parsed.host.memory;
  if (Object.keys(parsed.host.comments).length > 0) out.comments = parsed.host.comments;
  if (parsed.warnings.length > 0) out.warnings = parsed.warnings.map((note) => `${note.line}: ${note.message}`);
  if (parsed.notes.length > 0) out.notes = parsed.notes.map((note) => `${note.line}: ${note.message}`);
  return out;
}

const parse = (text: string) => summary(parseScript(text, 'x.sh'));

const FIXTURE_CASES: Record<string, Record<string, unknown>> = {
  'blog-boot-mediapc.sh': {
    "binary": "3: /usr/bin/qemu-system-x86_64",
    "args": [
      "4: -enable-kvm -m 8192",
      "5: -machine q35,accel=kvm,vmport=off,dump-guest-core=off,kernel-irqchip=on",
      "6: -cpu host,kvm=off,hv_synic,hv_stimer,hv_relaxed,hv_spinlocks=0x1fff,hv_vapic,hv_time,hv_vendor_id=whatever",
      "7: -smp 2,sockets=1,cores=2,threads=1",
      "8: -realtime mlock=on",
      "9: -pidfile /var/run/vm.mediapc.pid",
      "10: -drive file=/dev/vmpool/mediapc,format=raw",
      "11: -drive file=/dev/sda,format=raw",
      "12: -rtc base=localtime,driftfix=slew",
      "13: -no-hpet",
      "14: -global kvm-pit.lost_tick_policy=discard",
      "15: -global ICH9-LPC.disable_s3=1",
      "16: -global ICH9-LPC.disable_s4=1",
      "17: -device ioh3420,bus=pcie.0,addr=1c.0,multifunction=on,port=1,chassis=1,id=root.1",
      "18: -device vfio-pci,host=01:00.0,bus=root.1,addr=00.0,x-pci-sub-vendor-id=4318,x-pci-sub-device-id=7041,x-vga=on,multifunction=true,romfile=/root/Asus.GTX1070.8192.161102-patched.rom",
      "19: -device vfio-pci,host=01:00.1,bus=root.1,addr=00.1",
      "20: -device vfio-pci,host=00:1a.0,bus=root.1",
      "21: -device vfio-pci,host=00:1d.0,bus=root.1",
      "22: -device vfio-pci,host=00:14.0,bus=root.1",
      "23: -device e1000,netdev=net0,mac=DE:AD:BE:EF:7A:A0",
      "24: -netdev tap,id=net0,script=/root/qemu-ifup",
      "25: -no-user-config",
      "26: -nodefaults",
      "27: -display none",
      "28: -vga none"
    ],
    "wrappers": {
      "chrt": {
        "policy": "rr",
        "priority": 1,
        "line": 1
      },
      "taskset": {
        "cpus": [
          2,
          3
        ],
        "line": 2
      }
    }
  },
  'form-array-append.sh': {
    "binary": "17: qemu-system-x86_64",
    "args": [
      "5: -enable-kvm",
      "6: -machine q35,accel=kvm,kernel-irqchip=on",
      "9: -cpu host,kvm=off,hv_relaxed,hv_vapic,hv_spinlocks=0x1fff,hv_time,hv_vendor_id=1234567890ab",
      "10: -smp 6,sockets=1,cores=3,threads=2",
      "11: -m 12G",
      "13: -device vfio-pci,host=0a:00.0,multifunction=on,x-vga=on",
      "14: -device vfio-pci,host=0a:00.1",
      "15: -display none -vga none"
    ],
    "notes": [
      "2: set -euo pipefail: changes nothing on the host",
      "17: exec is dropped: boot-vm starts QEMU and waits for it"
    ]
  },
  'form-chrt-fifo.sh': {
    "binary": "2: qemu-system-x86_64",
    "args": [
      "3: -enable-kvm -machine q35,accel=kvm",
      "4: -cpu host,hv_relaxed,hv_time",
      "5: -smp 4,sockets=1,cores=4,threads=1",
      "6: -m 8G -overcommit mem-lock=on",
      "7: -drive file=/vm/win.img,format=raw,if=virtio"
    ],
    "wrappers": {
      "chrt": {
        "policy": "fifo",
        "priority": 50,
        "line": 2
      },
      "taskset": {
        "cpus": [
          2,
          3,
          4,
          5
        ],
        "line": 2
      }
    }
  },
  'form-dollar-prompt.txt': {
    "binary": "1: qemu-system-x86_64",
    "args": [
      "1: -enable-kvm -machine q35,accel=kvm -cpu host -m 8G",
      "2: -device vfio-pci,host=01:00.0,multifunction=on",
      "3: -device vfio-pci,host=01:00.1",
      "4: -vga none -display none"
    ],
    "wrappers": {
      "sudo": {
        "line": 1
      }
    },
    "notes": [
      "1: the prompt \"$\" before the command is dropped",
      "1: sudo is dropped: boot-vm runs as root",
      "2: the continuation prompt \">\" before the command is dropped",
      "3: the continuation prompt \">\" before the command is dropped",
      "4: the continuation prompt \">\" before the command is dropped"
    ]
  },
  'form-end-comments.sh': {
    "binary": "4: qemu-system-x86_64",
    "args": [
      "4: -enable-kvm -m 2G -smp 2 -drive file=/srv/vm/test#2.qcow2,if=virtio -display none"
    ]
  },
  'form-function-local.sh': {
    "binary": "5: qemu-system-x86_64",
    "args": [
      "5: -enable-kvm -name ubuntu -m 4G -smp 2 -drive file=/vm/ubuntu.qcow2,if=virtio"
    ]
  },
  'form-hash-prompt-oneline.txt': {
    "binary": "1: qemu-system-x86_64",
    "args": [
      "1: -enable-kvm -m 2G -cdrom /tmp/debian-12.iso -boot d"
    ],
    "notes": [
      "1: the prompt \"#\" before the command is dropped"
    ]
  },
  'form-nice.sh': {
    "binary": "2: qemu-system-x86_64",
    "args": [
      "2: -enable-kvm -m 2G -smp 2 -drive file=/vm/router.qcow2,if=virtio -netdev tap,id=wan,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=wan -nographic"
    ],
    "wrappers": {
      "nice": {
        "value": -10,
        "line": 2
      }
    }
  },
  'form-numactl.sh': {
    "binary": "3: qemu-system-x86_64",
    "args": [
      "3: -enable-kvm -machine q35,accel=kvm -cpu host -smp 8 -m 16G -device vfio-pci,host=81:00.0"
    ],
    "wrappers": {
      "numactl": {
        "args": [
          "--cpunodebind=1",
          "--membind=1"
        ],
        "line": 3
      }
    },
    "warnings": [
      "3: numactl --cpunodebind=1 --membind=1 is not imported: set pinning and memory's NUMA binding in the profile instead"
    ]
  },
  'form-on-boot-multi.sh': {
    "binary": "26: qemu-system-x86_64",
    "args": [
      "26: -enable-kvm -machine q35,accel=kvm -cpu host -smp 8 -m 8G",
      "27: -mem-path /dev/hugepages1G -mem-prealloc",
      "28: -device vfio-pci,host=01:00.0,multifunction=on -device vfio-pci,host=01:00.1"
    ],
    "host": {
      "unbindConsoles": true,
      "bindMethod": "driver-override",
      "hugepages": true,
      "governor": "performance",
      "ignoreMsrs": true,
      "sysctl": {
        "vm.swappiness": 10,
        "kernel.sched_rt_runtime_us": -1
      },
      "steps": [
        {
          "write": {
            "path": "/sys/kernel/mm/transparent_hugepage/enabled",
            "value": "never"
          }
        }
      ],
      "unloadModules": [
        "nvidia_drm",
        "nvidia_modeset",
        "nvidia"
      ],
      "stopServices": [
        "display-manager"
      ]
    },
    "memory": {
      "hugepages": "1G"
    },
    "comments": {
      "host.stopServices": "line 6: systemctl stop display-manager",
      "host.unloadModules": "line 7: modprobe -r nvidia_drm nvidia_modeset nvidia",
      "host.unbindConsoles": "line 8: echo 0 > /sys/class/vtconsole/vtcon0/bind",
      "host.bindMethod": "line 11: echo vfio-pci > /sys/bus/pci/devices/$dev/driver_override",
      "host.sysctl.vm.swappiness": "line 16: sysctl -w vm.swappiness=10",
      "host.sysctl.kernel.sched_rt_runtime_us": "line 17: sysctl kernel.sched_rt_runtime_us=-1",
      "memory.hugepages": "lines 18, 19: echo 8 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages; mount -t hugetlbfs -o pagesize=1G none /dev/hugepages1G",
      "host.hugepages": "lines 18, 19: echo 8 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages; mount -t hugetlbfs -o pagesize=1G none /dev/hugepages1G",
      "host.governor": "line 21: cpupower frequency-set -g performance",
      "host.steps[0]": "line 22: echo never > /sys/kernel/mm/transparent_hugepage/enabled",
      "host.ignoreMsrs": "line 23: echo 1 > /sys/module/kvm/parameters/ignore_msrs"
    },
    "warnings": [
      "24: xset -dpms: not imported: boot-vm has no host setting for it; add it to host.steps as a run step if it is needed"
    ],
    "notes": [
      "3: set -e: changes nothing on the host",
      "5: modprobe vfio-pci: boot-vm loads the vfio and kvm modules itself (host.modules)",
      "12: echo $dev > /sys/bus/pci/devices/$dev/driver/unbind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards",
      "13: echo $dev > /sys/bus/pci/drivers_probe: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards",
      "18: echo 8 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages: boot-vm reserves the number of huge pages the VM needs itself, on the node its memory is bound to",
      "19: mount -t hugetlbfs -o pagesize=1G none /dev/hugepages1G: boot-vm mounts hugetlbfs for the page size when no mount has it",
      "20: ulimit -l unlimited: boot-vm raises QEMU's locked-memory limit itself (host.memlock)"
    ]
  },
  'form-pipe-background.sh': {
    "binary": "3: qemu-system-x86_64",
    "args": [
      "3: -enable-kvm -m 16G -smp 8 -cpu host -drive file=/vm/gaming.qcow2,if=virtio"
    ],
    "notes": [
      "3: the pipe into tee -a \"$LOG\" is dropped: boot-vm logs QEMU's output itself",
      "3: the redirection 2>&1 is dropped: boot-vm logs QEMU's output itself",
      "3: & is dropped: boot-vm runs QEMU in the foreground, or in the background with daemonize: true",
      "4: wait: changes nothing on the host"
    ]
  },
  'form-qemu-kvm-sudo-env.sh': {
    "binary": "3: /usr/libexec/qemu-kvm",
    "args": [
      "3: -name win7 -machine pc,accel=kvm -m 4096 -smp 2 -drive file=/var/lib/libvirt/images/win7.qcow2,if=virtio,cache=none -vga qxl -usb -device usb-tablet"
    ],
    "wrappers": {
      "sudo": {
        "line": 3
      },
      "env": [
        {
          "name": "QEMU_AUDIO_DRV",
          "value": "pa",
          "line": 3
        }
      ]
    },
    "warnings": [
      "3: QEMU's environment QEMU_AUDIO_DRV=pa is not part of a profile: dropped"
    ],
    "notes": [
      "3: exec is dropped: boot-vm starts QEMU and waits for it",
      "3: sudo -E is dropped: boot-vm runs as root"
    ]
  },
  'form-quoted-paths.sh': {
    "binary": "2: qemu-system-x86_64",
    "args": [
      "2: -enable-kvm -m 4096",
      "3: -name \"Windows 10\"",
      "4: -drive \"file=/home/alice/VirtualBox VMs/win 10/disk.qcow2,if=virtio\"",
      "5: -drive \"file=/mnt/data/ISO images/Win10_22H2.iso,media=cdrom\"",
      "6: -drive \"file=/mnt/my disk/extra.img,format=raw\"",
      "7: -pidfile \"/run/user/1000/win 10.pid\""
    ]
  },
  'form-taskset-mask.sh': {
    "binary": "3: qemu-system-x86_64",
    "args": [
      "3: -enable-kvm -machine q35,accel=kvm -cpu host -smp 4,sockets=1,cores=4,threads=1 -m 8G -drive file=/dev/disk/by-id/ata-Samsung_SSD_850_EVO_250GB,format=raw,cache=none"
    ],
    "wrappers": {
      "taskset": {
        "cpus": [
          4,
          5,
          6,
          7
        ],
        "line": 3
      }
    }
  },
  'form-variables.sh': {
    "binary": "11: /usr/bin/qemu-system-x86_64",
    "args": [
      "12: -name win10,debug-threads=on",
      "13: -machine q35,accel=kvm",
      "14: -cpu host",
      "15: -m 8G",
      "16: -smp 4,sockets=1,cores=4,threads=1",
      "17: -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd",
      "18: -drive if=pflash,format=raw,file=/var/lib/vms/win10_VARS.fd",
      "19: -drive file=/var/lib/vms/win10.qcow2,if=virtio,cache=none",
      "20: -netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
      "21: -pidfile /run/win10.pid"
    ]
  },
  'server-guide-array.sh': {
    "binary": "3: qemu-system-x86_64",
    "args": [
      "4: -enable-kvm",
      "5: -machine type=q35,accel=kvm",
      "6: -nic none",
      "7: -vga none",
      "8: -serial none",
      "9: -parallel none",
      "10: -cpu Cascadelake-Server,kvm=off",
      "11: -rtc base=localtime,clock=host",
      "12: -daemonize",
      "13: -k en-us",
      "14: -smp cpus=16,sockets=1,cores=8,threads=2",
      "15: -m 16G,maxmem=256G,slots=2 -mem-prealloc -overcommit mem-lock=on",
      "17: -object memory-backend-file,id=mem,size=16G,mem-path=/dev/hugepages,prealloc=on,share=on",
      "18: -numa node,nodeid=0,memdev=mem",
      "20: -device pcie-root-port,chassis=0,id=pci.0,multifunction=on",
      "21: -device vfio-pci,host=65:00.0,bus=pci.0",
      "23: -device pcie-root-port,chassis=1,id=pci.1,multifunction=on",
      "24: -device vfio-pci,host=65:00.1,bus=pci.1",
      "26: -device pcie-root-port,chassis=3,id=pci.3,multifunction=on",
      "27: -device vfio-pci,host=b4:00.0,bus=pci.3",
      "29: -drive file=/data/img/win10-disk0.img,if=virtio,format=raw,cache=none,index=3,media=disk",
      "31: -drive file=/data/drv/virtio-win.iso,index=2,media=cdrom",
      "32: -drive file=/data/iso/Windows10-Jun19-2022.iso,index=1,media=cdrom",
      "33: -boot dc",
      "34: -bios /usr/share/ovmf/OVMF.fd"
    ],
    "wrappers": {
      "taskset": {
        "cpus": [
          14,
          15,
          16,
          17,
          32,
          33,
          34,
          35
        ],
        "line": 2
      }
    }
  },
  'server-guide-backslash.txt': {
    "binary": "1: qemu-system-x86_64",
    "args": [
      "2: -enable-kvm",
      "3: -machine type=q35,accel=kvm",
      "4: -nic none",
      "5: -vga none",
      "6: -serial none",
      "7: -parallel none",
      "8: -nographic",
      "9: -cpu host,kvm=off",
      "10: -rtc base=localtime,clock=host",
      "11: -daemonize",
      "12: -m 16G,slots=2 -mem-prealloc",
      "13: -object memory-backend-file,size=16G,share=on,mem-path=/dev/hugepages,share=on,id=node0",
      "14: -numa node,nodeid=0,memdev=node0",
      "15: -smp cpus=8,cores=8,sockets=1",
      "16: -device pcie-root-port,chassis=0,id=pci.0,multifunction=on",
      "17: -device vfio-pci,host=65:00.0,bus=pci.0",
      "18: -device pcie-root-port,chassis=1,id=pci.1,multifunction=on",
      "19: -device vfio-pci,host=65:00.1,bus=pci.1",
      "20: -device pcie-root-port,chassis=2,id=pci.2,multifunction=on",
      "21: -device vfio-pci,host=b3:00.0,bus=pci.2",
      "22: -drive id=disk0,if=virtio,cache=none,format=raw,file=/data/img/win10-disk0.img",
      "23: -drive file=/data/iso/Windows10-Jun19-2022.iso,index=1,media=cdrom",
      "24: -boot dc",
      "25: -bios /usr/share/ovmf/OVMF.fd"
    ],
    "wrappers": {
      "taskset": {
        "cpus": [
          14,
          15,
          16,
          17,
          32,
          33,
          34,
          35
        ],
        "line": 1
      }
    },
    "warnings": [
      "3: \"type=q35,\" and \"accel=kvm\" are read as one list, \"type=q35,accel=kvm\": a space split it"
    ],
    "notes": [
      "1: the prompt \"#\" before the command is dropped",
      "2: a backslash followed by blanks is read as a line continuation"
    ]
  },
};

t.test('each fixture script', async (t) => {
  for (const [name, expected] of Object.entries(FIXTURE_CASES)) {
    t.test(name, async (t) => {
      t.strictSame(summary(parseScript(readFileSync(join(SCRIPTS, name), 'utf8'), name)), expected);
    });
  }
  // Scripts added for the option importer's own tests (test/cli/import-qemu.test.ts checks what they mean).
  for (const name of readdirSync(SCRIPTS).filter((name) => name !== 'blog-on-boot.sh' && !(name in FIXTURE_CASES))) {
    t.ok(parseScript(readFileSync(join(SCRIPTS, name), 'utf8'), name).command.args.length > 0, `${name} has a QEMU command`);
  }
});

t.test("the blog's on-boot.sh: host keys, and what boot-vm does itself as notes", async (t) => {
  const host = parseHostScript(readFileSync(join(SCRIPTS, 'blog-on-boot.sh'), 'utf8'), 'blog-on-boot.sh');
  t.strictSame(
    { host: host.host, memory: host.memory, comments: host.comments, warnings: host.warnings.map((note) => `${note.line}: ${note.message}`), notes: host.notes.map((note) => `${note.line}: ${note.message}`) },
    {
      "host": {
        "writebackCpus": [
          0,
          1
        ],
        "unbindConsoles": true,
        "ignoreMsrs": true,
        "bindMethod": "new-id",
        "rescan": true,
        "sysctl": {
          "vm.stat_interval": 120,
          "kernel.watchdog": 0,
          "kernel.nmi_watchdog": 0
        }
      },
      "memory": {},
      "comments": {
        "host.sysctl.vm.stat_interval": "line 3: echo 120 > /proc/sys/vm/stat_interval",
        "host.sysctl.kernel.watchdog": "line 4: echo 0 > /proc/sys/kernel/watchdog",
        "host.sysctl.kernel.nmi_watchdog": "line 5: echo 0 > /proc/sys/kernel/nmi_watchdog",
        "host.writebackCpus": "line 6: echo 3 > /sys/bus/workqueue/devices/writeback/cpumask",
        "host.unbindConsoles": "lines 8, 9, 10: echo 0 > /sys/class/vtconsole/vtcon0/bind; echo 0 > /sys/class/vtconsole/vtcon1/bind; echo efi-framebuffer.0 > /sys/bus/platform/drivers/efi-framebuffer/unbind",
        "host.ignoreMsrs": "line 11: echo 1 > /sys/module/kvm/parameters/ignore_msrs",
        "host.bindMethod": "lines 15, 16, 23, 27, 31: echo 10de 1b81 > /sys/bus/pci/drivers/vfio-pci/new_id; echo 10de 10f0 > /sys/bus/pci/drivers/vfio-pci/new_id; echo \"8086 1e2d\" > /sys/bus/pci/drivers/vfio-pci/new_id; echo \"8086 1e26\" > /sys/bus/pci/drivers/vfio-pci/new_id; echo \"8086 1e31\" > /sys/bus/pci/drivers/vfio-pci/new_id",
        "host.rescan": "line 19: echo 1 > /sys/bus/pci/rescan"
      },
      "warnings": [],
      "notes": [
        "12: sleep 1: boot-vm waits for each device to reach vfio-pci itself",
        "14: echo '0000:01:00.1' | sudo tee /sys/bus/pci/devices/0000:01:00.1/driver/unbind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards",
        "15: echo 10de 1b81 > /sys/bus/pci/drivers/vfio-pci/new_id: the device ids come from the passthrough devices",
        "16: echo 10de 10f0 > /sys/bus/pci/drivers/vfio-pci/new_id: the device ids come from the passthrough devices",
        "18: sleep 1: boot-vm waits for each device to reach vfio-pci itself",
        "20: sleep 1: boot-vm waits for each device to reach vfio-pci itself",
        "23: echo \"8086 1e2d\" > /sys/bus/pci/drivers/vfio-pci/new_id: the device ids come from the passthrough devices",
        "24: echo \"0000:00:1a.0\" > /sys/bus/pci/devices/0000:00:1a.0/driver/unbind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards",
        "25: echo \"0000:00:1a.0\" > /sys/bus/pci/drivers/vfio-pci/bind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards",
        "27: echo \"8086 1e26\" > /sys/bus/pci/drivers/vfio-pci/new_id: the device ids come from the passthrough devices",
        "28: echo \"0000:00:1d.0\" > /sys/bus/pci/devices/0000:00:1d.0/driver/unbind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards",
        "29: echo \"0000:00:1d.0\" > /sys/bus/pci/drivers/vfio-pci/bind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards",
        "31: echo \"8086 1e31\" > /sys/bus/pci/drivers/vfio-pci/new_id: the device ids come from the passthrough devices",
        "32: echo \"0000:00:14.0\" > /sys/bus/pci/devices/0000:00:14.0/driver/unbind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards",
        "33: echo \"0000:00:14.0\" > /sys/bus/pci/drivers/vfio-pci/bind: boot-vm binds each passthrough device to vfio-pci itself (host.bindVfio) and gives it back afterwards"
      ]
    },
  );
});

t.test("the blog's two scripts as one: host steps before the QEMU command", async (t) => {
  const text = readFileSync(join(SCRIPTS, 'blog-on-boot.sh'), 'utf8') + readFileSync(join(SCRIPTS, 'blog-boot-mediapc.sh'), 'utf8');
  const parsed = parseScript(text, 'both.sh');
  t.equal(parsed.command.binary.text, '/usr/bin/qemu-system-x86_64');
  t.equal(parsed.command.binary.line, 33 + 3);
  t.strictSame(parsed.command.chrt, { policy: 'rr', priority: 1, line: 34 });
  t.strictSame(Object.keys(parsed.host.host), ['writebackCpus', 'unbindConsoles', 'ignoreMsrs', 'bindMethod', 'rescan', 'sysctl']);
  t.strictSame(parsed.warnings, []);
  t.equal(parsed.notes.length, 15, 'the on-boot notes are in the script notes');
});

t.test('comments', async (t) => {
  t.strictSame(parse('#!/bin/bash\n# a comment\nqemu-system-x86_64 -m 2G # trailing comment\n  # indented comment\n'), { binary: '3: qemu-system-x86_64', args: ['3: -m 2G'] });
  t.strictSame(parse('qemu-system-x86_64 -name vm#1 -drive file=a#b.img\n'), { binary: '1: qemu-system-x86_64', args: ['1: -name vm#1 -drive file=a#b.img'] }, '# inside a word is not a comment');
  t.strictSame(parse('qemu-system-x86_64 -name "a # b" \'#c\'\n'), { binary: '1: qemu-system-x86_64', args: ['1: -name "a # b" #c'] }, '# in quotes is not a comment');
});

t.test('continuations', async (t) => {
  t.strictSame(parse('qemu-system-x86_64 \\\n  -m 2G \\\n  -smp 2\n'), { binary: '1: qemu-system-x86_64', args: ['2: -m 2G', '3: -smp 2'] });
  t.strictSame(parse('qemu-system-x86_64 \\  \n  -m 2G \\\t\n  -smp 2\n'), {
    binary: '1: qemu-system-x86_64',
    args: ['2: -m 2G', '3: -smp 2'],
    notes: ['1: a backslash followed by blanks is read as a line continuation', '2: a backslash followed by blanks is read as a line continuation'],
  });
  t.strictSame(parse('qemu-system-x86_64 -drive file=/a\\\nb.img\n'), { binary: '1: qemu-system-x86_64', args: ['1: -drive file=/ab.img'] }, 'a continuation inside a word joins it');
  t.strictSame(parse('qemu-system-x86_64 -m 2G\r\n'), { binary: '1: qemu-system-x86_64', args: ['1: -m 2G'] }, 'CRLF line ends');
});

t.test('quotes', async (t) => {
  t.strictSame(parse(`qemu-system-x86_64 -name 'a b' "c d" e\\ f "x\\"y" 'it''s' $'tab\\there' ""\n`), {
    binary: '1: qemu-system-x86_64',
    args: ['1: -name "a b" "c d" "e f" "x\\"y" its "tab\\there" ""'],
  });
  t.strictSame(parse('V=1\nqemu-system-x86_64 -name "$V" \'$V\' "\\$V"\n'), { binary: '2: qemu-system-x86_64', args: ['2: -name 1 $V $V'] }, 'no expansion in single quotes or after \\$');
  t.strictSame(parse('qemu-system-x86_64 -name "two\nlines"\n'), { binary: '1: qemu-system-x86_64', args: ['1: -name "two\\nlines"'] }, 'a quoted newline stays in the word');
});

t.test('variables', async (t) => {
  t.strictSame(parse('VM=mediapc\nexport MEM=4G\nqemu-system-x86_64 -name $VM -m ${MEM} -pidfile /run/${VM}.pid\n'), { binary: '3: qemu-system-x86_64', args: ['3: -name mediapc -m 4G -pidfile /run/mediapc.pid'] });
  t.strictSame(parse('OPTS="-m 4G  -smp 2"\nqemu-system-x86_64 $OPTS "$OPTS"\n'), { binary: '2: qemu-system-x86_64', args: ['2: -m 4G -smp 2 "-m 4G  -smp 2"'] }, 'unquoted: split on blanks; quoted: one word');
  t.strictSame(parse('GB=16\nCORES=4\nqemu-system-x86_64 -m $((GB * 1024))M -smp $(( ($CORES+${CORES}) / 2 * -1 % 3 )) -name $((GB/0)) $((X+1))\n'), {
    binary: '3: qemu-system-x86_64',
    args: ['3: -m 16384M -smp -1 -name $((GB/0)) $((X+1))'],
    warnings: ['3: $((GB/0)) is not run: kept as written', '3: $((X+1)) is not run: kept as written'],
  }, 'integer arithmetic over the script\'s variables');
  t.strictSame(parse('QEMU=$(which qemu-system-x86_64)\n$QEMU -m 1G\n'), { binary: '2: qemu-system-x86_64', args: ['2: -m 1G'], notes: ['1: $(which qemu-system-x86_64) is read as qemu-system-x86_64'] });
  t.strictSame(parse('Q=/usr/bin/qemu-system-x86_64\n"$Q" -m 1G\n'), { binary: '2: /usr/bin/qemu-system-x86_64', args: ['2: -m 1G'] }, 'the binary from a variable');
  t.strictSame(parse('A=x\nA+=y\nqemu-system-x86_64 -name $A ${UNSET:-dflt} ${A:+set} ${UNSET:+set}"" ${B:=b} $B\n'), {
    binary: '3: qemu-system-x86_64',
    args: ['3: -name xy dflt set "" b b'],
  });
  t.strictSame(parse('EMPTY=\nqemu-system-x86_64 $EMPTY -m 1G "$EMPTY"\n'), { binary: '2: qemu-system-x86_64', args: ['2: -m 1G ""'] }, 'an empty unquoted variable makes no word');
  t.strictSame(parse('qemu-system-x86_64 -drive file=$HOME/vm.img -m $(nproc)G -name `hostname`\n'), {
    binary: '1: qemu-system-x86_64',
    args: ['1: -drive file=$HOME/vm.img -m $(nproc)G -name `hostname`'],
    warnings: ['1: $HOME is not set in the script: $HOME is kept as written', '1: $(nproc) is not run: kept as written', '1: `hostname` is not run: kept as written'],
  });
  t.strictSame(parse('f() {\n  local disk=$1 mem=${2:-1G}\n  qemu-system-x86_64 -m $mem -drive file=$disk "$@" $#\n}\nf /vm/a.img 3G -snapshot\n'), {
    binary: '3: qemu-system-x86_64',
    args: ['3: -m 3G -drive file=/vm/a.img', '5: /vm/a.img 3G -snapshot', '3: 3'],
  }, 'a function reads its arguments where it is called; "$@" keeps their lines');
});

t.test('arrays', async (t) => {
  t.strictSame(parse('cmd=(\n  qemu-system-x86_64   # the emulator\n\n  -m 2G\n  # -cdrom /x.iso\n  "-name" "a b"\n)\ncmd+=( -smp 2 )\n"${cmd[@]}" -snapshot\n'), {
    binary: '2: qemu-system-x86_64',
    args: ['4: -m 2G', '6: -name "a b"', '8: -smp 2', '9: -snapshot'],
  });
  t.strictSame(parse('a=(-name "x y")\nqemu-system-x86_64 ${a[@]} ${a[1]} $a\n'), { binary: '2: qemu-system-x86_64', args: ['1: -name x y x y', '2: -name'] }, 'unquoted ${a[@]} and ${a[1]} split; $a is the first element');
  t.strictSame(parse('declare -a e=()\nqemu-system-x86_64 "${e[@]}" -m 1G\n'), { binary: '2: qemu-system-x86_64', args: ['2: -m 1G'] }, '"${e[@]}" of an empty array makes no word');
  t.strictSame(parse('args=(-m 1G)\nfor d in 01:00.0 01:00.1; do\n  args+=(-device vfio-pci,host=$d)\ndone\nqemu-system-x86_64 "${args[@]}"\n'), {
    binary: '5: qemu-system-x86_64',
    args: ['1: -m 1G', '3: -device vfio-pci,host=01:00.0 -device vfio-pci,host=01:00.1'],
  }, 'a for loop runs its body once per word');
});

t.test('prompts', async (t) => {
  t.strictSame(parse('$ qemu-system-x86_64 -m 1G\n'), { binary: '1: qemu-system-x86_64', args: ['1: -m 1G'], notes: ['1: the prompt "$" before the command is dropped'] });
  t.strictSame(parse('alice@desk:~/vms$ qemu-system-x86_64 -m 1G\n'), { binary: '1: qemu-system-x86_64', args: ['1: -m 1G'], notes: ['1: the prompt "alice@desk:~/vms$" before the command is dropped'] });
  t.strictSame(parse('[root@server ~]# qemu-kvm -m 1G\n'), { binary: '1: qemu-kvm', args: ['1: -m 1G'], notes: ['1: the prompt "[root@server ~]#" before the command is dropped'] });
  t.strictSame(parse('# taskset -c 1 qemu-system-x86_64 \\\n-m 1G\n'), {
    binary: '1: qemu-system-x86_64',
    args: ['2: -m 1G'],
    wrappers: { taskset: { cpus: [1], line: 1 } },
    notes: ['1: the prompt "#" before the command is dropped'],
  }, '# continued onto an uncommented line is a prompt');
  t.strictSame(parse('# old: qemu-system-x86_64 -m 1G\nqemu-system-x86_64 -m 2G\n'), { binary: '2: qemu-system-x86_64', args: ['2: -m 2G'] }, 'a commented-out QEMU line stays a comment when the script has a QEMU command');
  t.strictSame(parse('# qemu-system-x86_64 \\\n#   -m 1G\nqemu-system-x86_64 -m 2G\n'), { binary: '3: qemu-system-x86_64', args: ['3: -m 2G'] }, 'a comment continued onto a comment stays a comment');
  t.strictSame(parse('# Start it with:\n# sudo qemu-system-x86_64 -m 1G\n'), {
    binary: '2: qemu-system-x86_64',
    args: ['2: -m 1G'],
    wrappers: { sudo: { line: 2 } },
    notes: ['2: the prompt "#" before the command is dropped', '2: sudo is dropped: boot-vm runs as root'],
  }, 'with no other QEMU command, a # line whose command is QEMU is a prompt; prose is not');
});

t.test('wrappers before the binary', async (t) => {
  const wrappers = (line: string) => (parse(`${line} qemu-system-x86_64 -m 1G\n`).wrappers ?? {}) as Record<string, unknown>;
  t.strictSame(wrappers('taskset -c 2-3,6'), { taskset: { cpus: [2, 3, 6], line: 1 } });
  t.strictSame(wrappers('taskset --cpu-list 6,2'), { taskset: { cpus: [2, 6], line: 1 } }, 'sorted');
  t.strictSame(wrappers('taskset -a -c 0-1'), { taskset: { cpus: [0, 1], line: 1 } });
  t.strictSame(wrappers('taskset -ac 4'), { taskset: { cpus: [4], line: 1 } });
  t.strictSame(wrappers('taskset -c 0-7:2,9'), { taskset: { cpus: [0, 2, 4, 6, 9], line: 1 } }, "util-linux's strides");
  t.strictSame(wrappers('taskset 0x0000000c'), { taskset: { cpus: [2, 3], line: 1 } }, 'a mask');
  t.strictSame(wrappers('taskset -a 1,00000001'), { taskset: { cpus: [0, 32], line: 1 } }, 'a mask in 32-bit groups');
  t.strictSame(wrappers('chrt -r 1'), { chrt: { policy: 'rr', priority: 1, line: 1 } });
  t.strictSame(wrappers('chrt --rr 10'), { chrt: { policy: 'rr', priority: 10, line: 1 } });
  t.strictSame(wrappers('chrt -a -f 99'), { chrt: { policy: 'fifo', priority: 99, line: 1 } });
  t.strictSame(wrappers('chrt --fifo 50'), { chrt: { policy: 'fifo', priority: 50, line: 1 } });
  t.strictSame(wrappers('chrt -o 0'), { chrt: { policy: 'other', priority: 0, line: 1 } });
  t.strictSame(wrappers('chrt -b 0'), { chrt: { policy: 'batch', priority: 0, line: 1 } });
  t.strictSame(wrappers('chrt --idle 0'), { chrt: { policy: 'idle', priority: 0, line: 1 } });
  t.strictSame(wrappers('chrt 5'), { chrt: { policy: 'rr', priority: 5, line: 1 } }, "chrt's default policy is rr");
  t.strictSame(wrappers('nice -n -10'), { nice: { value: -10, line: 1 } });
  t.strictSame(wrappers('nice -n5'), { nice: { value: 5, line: 1 } });
  t.strictSame(wrappers('nice -5'), { nice: { value: 5, line: 1 } });
  t.strictSame(wrappers('nice --5'), { nice: { value: -5, line: 1 } });
  t.strictSame(wrappers('nice --adjustment=-3'), { nice: { value: -3, line: 1 } });
  t.strictSame(wrappers('nice'), { nice: { value: 10, line: 1 } }, "nice's default is 10");
  t.strictSame(wrappers('sudo -u qemu -E'), { sudo: { user: 'qemu', line: 1 } });
  t.strictSame(wrappers('sudo --user=qemu --'), { sudo: { user: 'qemu', line: 1 } });
  t.strictSame(wrappers('QEMU_AUDIO_DRV=none'), { env: [{ name: 'QEMU_AUDIO_DRV', value: 'none', line: 1 }] });
  t.strictSame(wrappers('numactl -N 1 -m 1'), { numactl: { args: ['-N', '1', '-m', '1'], line: 1 } });
  t.strictSame(wrappers('sudo nice -n -5 chrt -f 10 taskset -c 3'), { sudo: { line: 1 }, nice: { value: -5, line: 1 }, chrt: { policy: 'fifo', priority: 10, line: 1 }, taskset: { cpus: [3], line: 1 } }, 'in any order');
  t.strictSame(parse('systemd-run --scope -p AllowedCPUs=2-3 qemu-system-x86_64 -m 1G\n'), {
    binary: '1: qemu-system-x86_64',
    args: ['1: -m 1G'],
    warnings: ['1: systemd-run --scope -p AllowedCPUs=2-3 in front of QEMU is not understood: dropped'],
  });
  t.strictSame(parse('nohup prlimit --memlock=unlimited time qemu-system-x86_64 -m 1G\n'), {
    binary: '1: qemu-system-x86_64',
    args: ['1: -m 1G'],
    notes: ['1: nohup is dropped: boot-vm runs QEMU itself', "1: prlimit --memlock=unlimited is dropped: boot-vm raises the locked-memory limit itself (host.memlock)", '1: time is dropped: boot-vm runs QEMU itself'],
  });
  t.strictSame(parse('chrt --deadline --sched-runtime 5000 0 qemu-system-x86_64\n'), { binary: '1: qemu-system-x86_64', args: [], warnings: ['1: chrt --deadline is not imported: a profile has rr, fifo, other, batch or idle'] });
});

t.test('a key=value list split by a stray space is joined, with a warning', async (t) => {
  t.strictSame(parse('qemu-system-x86_64 -machine type=q35, accel=kvm -cpu host, -m 1G -device a=1, -x\n'), {
    binary: '1: qemu-system-x86_64',
    args: ['1: -machine type=q35,accel=kvm -cpu host, -m 1G -device a=1, -x'],
    warnings: ['1: "type=q35," and "accel=kvm" are read as one list, "type=q35,accel=kvm": a space split it'],
  }, 'not when the next word has no = or is an option');
});

t.test('which command is QEMU', async (t) => {
  t.strictSame(parse('qemu-system-x86_64 --version\nqemu-img create -f qcow2 /vm/a.qcow2 20G\nls -l /usr/bin/qemu-system-x86_64\nqemu-system-aarch64 -M virt -m 1G\n'), {
    binary: '4: qemu-system-aarch64',
    args: ['4: -M virt -m 1G'],
    warnings: [
      '2: qemu-img create -f qcow2 /vm/a.qcow2 20G: not imported: boot-vm has no host setting for it; add it to host.steps as a run step if it is needed',
    ],
    notes: ['1: qemu-system-x86_64 --version only asks QEMU about itself: not the VM\'s command', '3: ls -l /usr/bin/qemu-system-x86_64: changes nothing on the host'],
  });
  t.strictSame(parse('qemu-system-x86_64 -m 1G -cdrom /x.iso\nqemu-system-x86_64 -m 2G\n'), {
    binary: '2: qemu-system-x86_64',
    args: ['2: -m 2G'],
    warnings: ['1: this QEMU command is not imported: a later one (line 2) is, the last one the script starts'],
  });
  t.strictSame(parse('bash -c "qemu-system-x86_64 -m 1G"\n'), { binary: '1: qemu-system-x86_64', args: ['1: -m 1G'] }, 'inside sh -c');
  t.strictSame(parse('qemu-system-x86_64 -m 1G\n# -cdrom /x.iso\n  -smp 2\n'), {
    binary: '1: qemu-system-x86_64',
    args: ['1: -m 1G'],
    warnings: ['3: -smp 2: not imported: it starts with an option, so the line before it probably ended the QEMU command early (a comment line or a missing backslash)'],
  });
});

t.test('shell forms around the commands', async (t) => {
  t.strictSame(parse('if [ -e /dev/vfio/1 ]; then\n  echo 1 > /sys/module/kvm/parameters/ignore_msrs\nfi\nqemu-system-x86_64 -m 1G\n'), {
    binary: '4: qemu-system-x86_64',
    args: ['4: -m 1G'],
    host: { ignoreMsrs: true },
    comments: { 'host.ignoreMsrs': 'line 2: echo 1 > /sys/module/kvm/parameters/ignore_msrs' },
    warnings: ['1: if: conditions are not evaluated; every branch is read as if it ran'],
    notes: ['1: if [ -e /dev/vfio/1 ]: changes nothing on the host'],
  });
  t.strictSame(parse('cat > /tmp/x.conf <<EOF\nqemu-system-x86_64 -m 9G\nEOF\nqemu-system-x86_64 -m 1G\n'), {
    binary: '4: qemu-system-x86_64',
    args: ['4: -m 1G'],
    warnings: ['1: a heredoc is not read: its text is skipped', "1: cat > /tmp/x.conf <<EOF: not imported: cat's output into /tmp/x.conf is not a host setting boot-vm has"],
  });
  t.strictSame(parse('echo 1 | sudo tee -a /sys/module/kvm/parameters/ignore_msrs > /dev/null && sudo sh -c "echo 0 > /proc/sys/kernel/watchdog"\nqemu-system-x86_64\n'), {
    binary: '2: qemu-system-x86_64',
    args: [],
    host: { ignoreMsrs: true, sysctl: { 'kernel.watchdog': 0 } },
    comments: {
      'host.ignoreMsrs': 'line 1: echo 1 | sudo tee -a /sys/module/kvm/parameters/ignore_msrs > /dev/null',
      'host.sysctl.kernel.watchdog': 'line 1: sudo sh -c "echo 0 > /proc/sys/kernel/watchdog"',
    },
  });
  t.strictSame(parse('(cd /vm && qemu-system-x86_64 -m 1G)\n'), { binary: '1: qemu-system-x86_64', args: ['1: -m 1G'], notes: ['1: cd /vm: changes nothing on the host'] }, 'a subshell is read in place');
});

t.test('errors name the file and line', async (t) => {
  const error = (text: string, file = 'x.sh') => {
    try {
      parseScript(text, file);
    } catch (caught) {
      t.ok(caught instanceof InputError, 'an InputError');
      return (caught as InputError).lines();
    }
    return t.fail('no error');
  };
  t.strictSame(error('echo hello\n', 'scripts/start.sh'), ['scripts/start.sh: no QEMU command (qemu-system-… or qemu-kvm) found in it']);
  t.strictSame(error(''), ['x.sh: no QEMU command (qemu-system-… or qemu-kvm) found in it']);
  t.strictSame(error('#!/bin/sh\n$QEMU -m 1G\n'), ['x.sh: no QEMU command (qemu-system-… or qemu-kvm) found in it; $QEMU is not set in the script (line 2)']);
  t.strictSame(error('qemu-system-x86_64 --help\n'), ['x.sh: no QEMU command (qemu-system-… or qemu-kvm) found in it'], 'asking QEMU about itself is not a VM');
  t.strictSame(error("A=1\nqemu-system-x86_64 -name 'vm\n-m 1G\n"), ["x.sh:2: unterminated ' quote"]);
  t.strictSame(error('qemu-system-x86_64 \\\n  -name "vm\n'), ['x.sh:2: unterminated " quote']);
  t.strictSame(error('cmd=(\n  qemu-system-x86_64\n  -m 1G\n'), ['x.sh:1: the array opened here is not closed with )']);
  t.strictSame(error('qemu-system-x86_64 -m $(nproc\n'), ['x.sh:1: unterminated $( substitution']);
  t.strictSame(error('qemu-system-x86_64 -m ${MEM\n'), ['x.sh:1: unterminated ${ variable reference']);
  t.strictSame(error('\n\ntaskset -c 2-x qemu-system-x86_64\n'), ['x.sh:3: taskset: cannot read the CPU list 2-x, expected one like 2-5,8']);
  t.strictSame(error('chrt -f qemu-system-x86_64\n'), ['x.sh:1: chrt needs a priority, then the command; got qemu-system-x86_64']);
  t.strictSame(error('qemu-system-x86_64 -m 1G >\n'), ['x.sh:1: > needs a file name after it']);
});

t.test("the roobre post's IRQ snippet, verbatim: host.irqAffinity, the masks warned about", async (t) => {
  const snippet = [
    '# Map VFIO interrupts to pinned cores',
    "grep -e vfio /proc/interrupts | cut -d: -f1 | tr -d ' ' | while read int; do",
    '\techo 2-7,10-15 > /proc/irq/$int/smp_affinity_list',
    'done',
    '',
    '# Map other interrupts to host cores',
    "grep -e edge /proc/interrupts | cut -d: -f1 | tr -d ' ' | while read int; do",
    '\techo 0-1,8-9 > /proc/irq/$int/smp_affinity_list',
    'done',
    '',
  ].join('\n');
  const host = parseHostScript(snippet, 'roobre.sh');
  t.strictSame(host.host, { irqAffinity: true });
  t.strictSame(host.comments, { 'host.irqAffinity': 'lines 3, 8: echo 2-7,10-15 > /proc/irq/$int/smp_affinity_list; echo 0-1,8-9 > /proc/irq/$int/smp_affinity_list' });
  const masks = "the IRQ masks themselves are not imported: with host.irqAffinity boot-vm sends the passed devices' IRQs to the guest's CPUs and the others off them";
  t.strictSame(host.warnings.map((note) => `${note.line}: ${note.message}`), [
    "2: while: the loop's condition is not evaluated; its body is read once",
    '3: $int is not set in the script: $int is kept as written',
    `3: echo 2-7,10-15 > /proc/irq/$int/smp_affinity_list: ${masks}`,
    "7: while: the loop's condition is not evaluated; its body is read once",
    `8: echo 0-1,8-9 > /proc/irq/$int/smp_affinity_list: ${masks}`,
  ]);
  t.strictSame(host.notes.map((note) => `${note.line}: ${note.message}`), [
    "2: grep -e vfio /proc/interrupts | cut -d: -f1 | tr -d ' ' | while read int: changes nothing on the host",
    "7: grep -e edge /proc/interrupts | cut -d: -f1 | tr -d ' ' | while read int: changes nothing on the host",
  ]);
});

t.test('script idioms around the command: a root check, logging, a trap', async (t) => {
  t.strictSame(parse('#!/bin/bash\n[[ $EUID -ne 0 ]] && { echo "run me as root"; exit 1; }\nexec > >(tee -a /var/log/vm.log) 2>&1\ntrap \'echo stopped\' EXIT\nqemu-system-x86_64 -m 1G\n'), {
    binary: '5: qemu-system-x86_64',
    args: ['5: -m 1G'],
    warnings: ['2: $EUID is not set in the script: $EUID is kept as written', '3: >(tee -a /var/log/vm.log) is not run: kept as written'],
    notes: [
      '2: [[ $EUID -ne 0 ]]: changes nothing on the host',
      '2: { echo "run me as root": changes nothing on the host',
      '2: exit 1: changes nothing on the host',
      "3: exec > >(tee -a /var/log/vm.log) 2>&1: it redirects the script's own output",
      "4: trap 'echo stopped' EXIT: changes nothing on the host",
    ],
  });
});

t.test('a case over the script argument: patterns skipped, every branch read', async (t) => {
  t.strictSame(parse('case "$1" in\n  start)\n    qemu-system-x86_64 -m 1G -qmp unix:/run/vm.qmp,server,nowait\n    ;;\n  stop) echo system_powerdown | socat - UNIX-CONNECT:/run/vm.qmp ;;\nesac\n'), {
    binary: '3: qemu-system-x86_64',
    args: ['3: -m 1G -qmp unix:/run/vm.qmp,server,nowait'],
    warnings: [
      '1: case "$1" in: the case is not evaluated; every branch is read as if it ran',
      '5: echo system_powerdown | socat - UNIX-CONNECT:/run/vm.qmp: not imported: boot-vm has no host setting for it; add it to host.steps as a run step if it is needed',
    ],
  });
});
