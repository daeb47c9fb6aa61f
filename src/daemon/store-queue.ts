// One writer for the store in the daemon: installs (and the retention they apply), rollbacks from the API and
// the deploy use case's store alignment all wait their turn here, so the daemon never reports STORE_BUSY against
// itself. The store's lock file still guards against other processes (a hand-run `airlock install`), which keep
// getting STORE_BUSY.
import type { SourceRef } from '../bundle/source.js';
import type { DeploymentStore, InstallCallOptions, InstallOutcome, Installer } from '../pipeline/ports.js';
import { Serializer } from '../util/serializer.js';

export class StoreQueue {
  private readonly serializer = new Serializer();

  run<T>(job: () => Promise<T>): Promise<T> {
    return this.serializer.run('store', job);
  }

  /** Whether a store write is running or waiting. */
  get busy(): boolean {
    return this.serializer.busy('store');
  }

  /** The installer with its installs queued (identify only reads, so it is not). */
  installer(inner: Installer): Installer {
    return {
      identify: (location) => inner.identify(location),
      install: (source: SourceRef, opts: InstallCallOptions): Promise<InstallOutcome> => this.run(() => inner.install(source, opts)),
      ...(inner.close ? { close: () => inner.close!() } : {}),
    };
  }

  /** The deployments with their rollbacks queued (listing reads the committed state: no lock, no queue). */
  deployments(inner: DeploymentStore): DeploymentStore {
    return { list: () => inner.list(), rollback: (name, to) => this.run(() => inner.rollback(name, to)) };
  }
}
