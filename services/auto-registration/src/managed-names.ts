/**
 * Service names that something of ours may still point to: a Docker secret made for the service or
 * a client this instance added. A name Docker does not know and that is not in here has nothing to
 * clean up, so its pass ends after one inspect, without a call to the admin API. Every full
 * reconcile rebuilds the set from the engine and the admin API (the truth); passes keep it current
 * in between. Its size follows the number of registered services, never the names callers send.
 */
export class ManagedNames {
  private names: Set<string> | undefined;
  /** Names added while a rebuild was reading: they survive the rebuild. */
  private addedDuringRebuild: Set<string> | undefined;

  /**
   * Whether the name may have leftovers of ours; undefined until the first full reconcile has
   * read the truth, when every unknown name has to be checked.
   */
  mayHaveLeftovers(name: string): boolean | undefined {
    return this.names === undefined ? undefined : this.names.has(name);
  }

  add(name: string): void {
    this.names?.add(name);
    this.addedDuringRebuild?.add(name);
  }

  /** Nothing of ours is left for this name. */
  delete(name: string): void {
    this.names?.delete(name);
    this.addedDuringRebuild?.delete(name);
  }

  /** Call before reading the engine and the admin API for a rebuild. */
  beginRebuild(): void {
    this.addedDuringRebuild = new Set();
  }

  /** Everything the rebuild's reads pointed to, plus whatever was registered meanwhile. */
  completeRebuild(found: Iterable<string>): void {
    const names = new Set(found);
    for (const name of this.addedDuringRebuild ?? []) names.add(name);
    this.names = names;
    this.addedDuringRebuild = undefined;
  }

  /** A rebuild that failed: keep what was known. */
  abandonRebuild(): void {
    this.addedDuringRebuild = undefined;
  }
}
