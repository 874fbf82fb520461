// Preloaded by bench/run.mjs (node --import) to report the process's peak memory on exit.
process.on('exit', () => process.stderr.write(`\nbench-maxrss-kib ${process.resourceUsage().maxRSS}\n`));
