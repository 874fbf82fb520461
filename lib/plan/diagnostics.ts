import type { Problem } from '../errors.js';
import type { LoadedProfile } from '../profile/load.js';
import type { Diagnostics } from '../qemu/arg.js';

/** Collects errors and warnings, each located at the profile key it is about. */
export class Collector implements Diagnostics {
  readonly errors: Problem[] = [];
  readonly warnings: Problem[] = [];
  readonly #locate: LoadedProfile['locate'];

  constructor(locate: LoadedProfile['locate']) {
    this.#locate = locate;
  }

  error(key: string, message: string): void {
    this.errors.push({ ...this.#locate(key), message });
  }

  warn(key: string, message: string): void {
    this.warnings.push({ ...this.#locate(key), message });
  }

  /** What the host lacks: an error when planning for a given sysroot or a launch, a warning in a plain dry-run. */
  hostReporter(strict: boolean): (key: string, message: string) => void {
    return strict ? (key, message) => this.error(key, message) : (key, message) => this.warn(key, message);
  }
}
