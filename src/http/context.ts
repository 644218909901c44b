import type { RequestDeps } from '../app/deps.js';

/** What every route reads: settings, the queues (through the producer), the version. No other state. */
export interface AppContext extends RequestDeps {
  version: string;
}
