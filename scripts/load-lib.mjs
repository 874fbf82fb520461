// Imports a compiled lib module, or explains how to build it when dist/ is missing.
export async function loadLib(module) {
  try {
    return await import(new URL(`../dist/${module}`, import.meta.url).href);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    process.stderr.write(`boot-vm: ${error.message.split('\n')[0]}\nRun \`npm ci\` (or \`npm run build\`) in ${new URL('..', import.meta.url).pathname} first.\n`);
    process.exit(1);
  }
}
