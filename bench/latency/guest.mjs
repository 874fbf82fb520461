// The spinning TCG guest seen from outside QEMU: its pid from the pidfile, its vCPU thread by
// name (QEMU runs with debug-threads=on), and the moment that thread has run: the guest runs.
import { readFileSync, readdirSync } from 'node:fs';
import { pollUntil } from '../../dist/apply/poll.js';
import { parseSchedstat } from '../../dist/host/schedstat.js';

const VCPU_THREAD = 'CPU 0/TCG';

const readText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** QEMU's pid once it has written `pidfile` (a stale file naming another process does not count). */
function qemuPid(pidfile) {
  const pid = Number(readText(pidfile)?.trim());
  return pid > 0 && readText(`/proc/${pid}/comm`)?.startsWith('qemu') ? pid : undefined;
}

function vcpuThread(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).find((tid) => readText(`/proc/${pid}/task/${tid}/comm`)?.trim() === VCPU_THREAD);
  } catch {
    return undefined;
  }
}

/**
 * Polls (every `intervalMs`) until QEMU's vCPU 0 thread has spent `onCpuMs` on a CPU: its
 * `{ pid, tid }`. `failure()` returns why waiting is pointless (the launcher exited), or undefined.
 */
export async function waitForGuest({ pidfile, onCpuMs, failure, intervalMs = 1, timeoutMs = 30_000, signal }) {
  let pid;
  let tid;
  const check = () => {
    const why = failure();
    if (why) throw new Error(why);
    pid ??= qemuPid(pidfile);
    tid ??= pid && vcpuThread(pid);
    if (!tid) return undefined;
    const onCpuNs = parseSchedstat(readText(`/proc/${pid}/task/${tid}/schedstat`) ?? '')?.onCpuNs ?? 0;
    return onCpuNs >= onCpuMs * 1e6 ? { pid, tid: Number(tid) } : undefined;
  };
  return pollUntil(check, { what: `QEMU's thread "${VCPU_THREAD}" (${pidfile}) to run ${onCpuMs} ms`, timeoutMs, intervalMs, signal });
}
