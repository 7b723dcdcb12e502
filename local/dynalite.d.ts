/** The part of dynalite 4's API the local runtime uses (the package ships no types). */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** Where LevelDB keeps the data; in memory when absent. */
    readonly path?: string;
    /** Milliseconds a table stays CREATING (and the like); 0 = at once. */
    readonly createTableMs?: number;
    readonly deleteTableMs?: number;
    readonly updateTableMs?: number;
  }

  export default function dynalite(options?: DynaliteOptions): Server;
}
