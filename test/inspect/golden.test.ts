// Golden outputs of check-iommu, cpu-topology and doctor on the fake hosts:
// test/fixtures/inspect/<script>-<host>[-<variant>].txt/.json. BOOT_VM_REGENERATE=1 rewrites
// them; review their diff like code.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { readCpuTopology } from '../../lib/host/topology.js';
import { passthroughNumaNode } from '../../lib/plan/auto-pinning.js';
import { renderSuggestionJson, renderSuggestionText, renderTopologyJson, renderTopologyText } from '../../lib/inspect/render-topology.js';
import { suggestPinning } from '../../lib/inspect/suggest-pinning.js';
import { FIXTURES, host, load } from '../fixtures/helpers.js';
import { GOLDEN_HOSTS, checkIommuOutputs, doctorText } from '../fixtures/inspect-run.js';

const regenerate = process.env.BOOT_VM_REGENERATE === '1';

function golden(t: Test, name: string, actual: string): void {
  const file = join(FIXTURES, 'inspect', name);
  if (regenerate || !existsSync(file)) {
    t.ok(regenerate, `${file} is missing; run with BOOT_VM_REGENERATE=1 to create it`);
    if (regenerate) writeFileSync(file, actual);
    return;
  }
  t.equal(actual, readFileSync(file, 'utf8'), name);
}

for (const [hostName, profile] of Object.entries(GOLDEN_HOSTS)) {
  t.test(hostName, async (t) => {
    const plain = checkIommuOutputs(hostName);
    golden(t, `check-iommu-${hostName}.txt`, plain.text);
    golden(t, `check-iommu-${hostName}.json`, plain.json);
    golden(t, `check-iommu-${hostName}-profile.txt`, checkIommuOutputs(hostName, profile).text);

    const topology = readCpuTopology(host(hostName));
    golden(t, `cpu-topology-${hostName}.txt`, renderTopologyText(topology));
    golden(t, `cpu-topology-${hostName}.json`, renderTopologyJson(topology));
    const loaded = load(profile);
    const { sockets, cores, threads } = loaded.profile.cpu;
    const node = passthroughNumaNode(loaded.profile, host(hostName));
    const suggestion = suggestPinning(topology, { vcpus: sockets * (cores ?? 1) * threads, threads, ...(node === undefined ? {} : { node }) });
    golden(t, `cpu-topology-${hostName}-suggest.txt`, renderSuggestionText(suggestion));
    golden(t, `cpu-topology-${hostName}-suggest.json`, renderSuggestionJson(suggestion));

    golden(t, `doctor-${hostName}.txt`, doctorText(hostName, profile));
  });
}
