#!/usr/bin/env node
// vfio-rom dump|info|strip: a GPU's option ROM read through sysfs, inspected, cut free of a vendor header; see --help.
import { loadLib } from './load-lib.mjs';

const { runCli, vfioRom } = await loadLib('cli/vfio-rom.bundle.js');

await runCli('vfio-rom', () => {
  const { stdout, exitCode } = vfioRom(process.argv.slice(2));
  process.exitCode = exitCode;
  return stdout;
});
