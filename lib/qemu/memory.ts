import { formatSize } from '../size.js';
import { arg, type Arg, type BuildInput, type GuestNumaNode } from './arg.js';
import { ruleNote, supports } from './features.js';
import { formatCpuList } from '../cpu-list.js';
import { formatProps, onOff, type PropList, type PropValue } from './props.js';

export const MEMORY_BACKEND_ID = 'mem';

export interface MemoryBackend {
  type: 'memory-backend-file' | 'memory-backend-memfd' | 'memory-backend-ram';
  props: PropList;
  from: string[];
  notes: string[];
  /** `memory.numa: mirror`: one backend per guest NUMA node (ids mem0…, each its share), attached by `-numa node,memdev=`. */
  nodes?: GuestNumaNode[];
}

const bindProps = (hostNode: number): PropList => [
  ['host-nodes', hostNode],
  ['policy', 'bind'],
];

/** The explicit memory backend the profile needs, or undefined when plain `-m` is enough. */
export function chooseMemoryBackend(input: BuildInput): MemoryBackend | undefined {
  const backend = chooseBackend(input);
  const numa = input.numa;
  if (!numa) return backend;
  // Binding needs a backend: plain `-m` has none to set host-nodes on.
  const bound = backend ?? { type: 'memory-backend-ram' as const, props: [['id', MEMORY_BACKEND_ID], ['size', formatSize(input.profile.memory.size)]], from: ['memory.size'], notes: [] };
  if (numa.mirror) return { ...bound, from: [...bound.from, 'memory.numa', 'pinning.vcpus'], notes: [...bound.notes, numa.note], nodes: numa.nodes };
  return { ...bound, props: [...bound.props, ...bindProps(numa.nodes[0]!.hostNode)], from: [...bound.from, 'pinning.vcpus'], notes: [...bound.notes, numa.note] };
}

function chooseBackend({ profile, hugepageDir, diagnostics }: BuildInput): MemoryBackend | undefined {
  const memory = profile.memory;
  const common: PropList = [
    ['id', MEMORY_BACKEND_ID],
    ['size', formatSize(memory.size)],
  ];
  const tail: PropList = [
    ['prealloc', memory.prealloc ? 'on' : undefined],
    ['share', memory.share ? 'on' : undefined],
  ];
  const from = ['memory.size', ...(memory.prealloc ? ['memory.prealloc'] : []), ...(memory.share ? ['memory.share'] : [])];
  const backend = memory.backend ?? (memory.hugepages !== false || memory.path !== undefined ? 'file' : undefined);
  if (backend === 'memfd' && memory.path !== undefined) diagnostics.error('memory.path', 'the memfd backend takes no path; drop memory.path or use backend: file');
  if (memory.hugepages !== false) {
    if (memory.size % (memory.hugepages === '1G' ? 1 << 30 : 2 << 20) !== 0) {
      diagnostics.error('memory.size', `${formatSize(memory.size)} is not a whole number of ${memory.hugepages} huge pages`);
    }
    if (backend === 'memfd') {
      return { type: 'memory-backend-memfd', props: [...common, ['hugetlb', 'on'], ['hugetlbsize', memory.hugepages], ...tail], from: [...from, 'memory.hugepages', 'memory.backend'], notes: [] };
    }
    return {
      type: 'memory-backend-file',
      props: [...common, ['mem-path', hugepageDir?.path], ...tail],
      from: [...from, 'memory.hugepages', ...(memory.path ? ['memory.path'] : [])],
      notes: hugepageDir ? [hugepageDir.note] : [],
    };
  }
  if (backend === 'file') {
    if (memory.path === undefined) diagnostics.error('memory.backend', 'the file backend needs memory.path (a tmpfs or hugetlbfs directory) or memory.hugepages');
    return { type: 'memory-backend-file', props: [...common, ['mem-path', memory.path], ...tail], from: [...from, 'memory.backend', 'memory.path'], notes: [] };
  }
  if (backend === 'memfd') return { type: 'memory-backend-memfd', props: [...common, ...tail], from: [...from, 'memory.backend'], notes: [] };
  if (memory.prealloc || memory.share) return { type: 'memory-backend-ram', props: [...common, ...tail], from, notes: [] };
  return undefined;
}

/** `cpus=0-3,cpus=8-11`: -numa takes one range per `cpus=`. */
const cpuRanges = (vcpus: number[]): PropList => formatCpuList(vcpus).split(',').map((range) => ['cpus', range] as const);

/** `-m`, the backend object, how it is attached (when not by `-machine memory-backend=`), and memory locking. */
export function buildMemory({ profile, version }: BuildInput, backend: MemoryBackend | undefined): Arg[] {
  const args: Arg[] = [arg(['-m', formatSize(profile.memory.size)], ['memory.size'])];
  if (backend?.nodes) {
    // Guest node i (its vCPUs as pinned, in pinning order) on backend mem<i>, bound to its host node.
    backend.nodes.forEach((node, guestNode) => {
      const id = `${MEMORY_BACKEND_ID}${guestNode}`;
      const props: PropList = [...backend.props.map(([key, value]): readonly [string, PropValue] => [key, key === 'id' ? id : key === 'size' ? formatSize(node.size) : value]), ...bindProps(node.hostNode)];
      args.push(arg(['-object', formatProps(backend.type, props)], backend.from, backend.notes));
      args.push(arg(['-numa', formatProps('node', [['nodeid', guestNode], ['memdev', id], ...cpuRanges(node.vcpus)])], ['memory.numa', 'pinning.vcpus']));
    });
  } else if (backend) {
    args.push(arg(['-object', formatProps(backend.type, backend.props)], backend.from, backend.notes));
    if (!supports(version, 'machineMemoryBackend')) {
      args.push(arg(['-numa', formatProps('node', [['nodeid', 0], ['memdev', MEMORY_BACKEND_ID]])], ['memory'], ['-numa node,memdev= ← rule: QEMU before 5.0 has no -machine memory-backend=']));
    }
  }
  if (profile.memory.lock) {
    if (supports(version, 'overcommitMemLock')) {
      args.push(arg(['-overcommit', formatProps(undefined, [['mem-lock', onOff(true)]])], ['memory.lock'], [ruleNote(version, 'overcommitMemLock', 'realtimeMlock')]));
    } else {
      args.push(arg(['-realtime', 'mlock=on'], ['memory.lock'], [ruleNote(version, 'realtimeMlock', 'overcommitMemLock')]));
    }
  }
  return args;
}
