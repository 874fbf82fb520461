// Hooks for profiles/windows11.yaml (`hooks: ./windows11.hooks.mjs`): boot-vm calls each exported
// function in its phase with { vm, plan, $ }. `$` is zx's, with BOOT_VM_NAME and BOOT_VM_QMP (the
// QMP socket) in its commands' environment. Each hook has `hooks.timeout` seconds (default 90);
// then the commands it started through `$` get SIGTERM and it has failed. `--dry-run` lists the
// hooks this file exports; export them by name (as here) so that it can. Everything below is
// skipped on a host without the program it uses.

/** True when `program` is on PATH. */
const has = async ($, program) => (await $`command -v ${program}`.nothrow().quiet()).exitCode === 0;

// Before any host step (consoles unbound, GPU given to vfio-pci). A failure stops the launch with
// nothing changed. Here: nothing is needed; stop what holds the GPU on the host, such as a game
// launcher, here.
export async function beforePrepare({ vm }) {
  console.error(`hooks: preparing the host for ${vm}`);
}

// Once the guest runs. A failure stops QEMU and undoes every step. Here: switch the monitor to the
// guest's input (VCP 0x60: input source; 0x0f is DisplayPort-1 on most monitors, see
// `ddcutil capabilities`), and start a Scream receiver for the guest's sound when one is installed.
export async function afterStart({ $ }) {
  if (await has($, 'ddcutil')) await $`ddcutil setvcp 60 0x0f`;
  // setsid -f and no output pipes: the receiver outlives this hook; afterStop ends it.
  if (await has($, 'scream')) await $`setsid -f scream -i virbr0 >/dev/null 2>&1`;
}

// When boot-vm stops the VM (Ctrl-C, SIGTERM, vm.mjs stop, teardown.mjs --stop), before the guest
// is asked to shut down. A failure is reported and the stop goes on.
export async function beforeStop({ vm }) {
  console.error(`hooks: ${vm} is being stopped`);
}

// After QEMU has exited and the host is put back (GPU on its driver again). A failure is reported.
// Here: the monitor back to the host's input (0x11: HDMI-1), and the Scream receiver stopped.
export async function afterStop({ $ }) {
  if (await has($, 'ddcutil')) await $`ddcutil setvcp 60 0x11`;
  await $`pkill -x scream`.nothrow();
}
