// An in-memory container engine behind the Runtime seam, for testing the deploy policy (src/ops/deploy.ts) on
// every machine: containers are records, and a real HTTP server on a free port answers /v1/health/ready for
// whichever container "publishes" it: 200 once its bundle is marked good, 503 otherwise.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LABELS } from '../../src/runtime/container-spec.js';
import type { ContainerSpec, ContainerState, EngineFacts, ImageSpec, Runtime } from '../../src/runtime/runtime.js';

interface FakeContainer {
  state: ContainerState;
  spec: ContainerSpec;
}

export class FakeRuntime implements Runtime {
  readonly kind = 'fake';
  readonly containers = new Map<string, FakeContainer>();
  /** every call, in order, e.g. "create airlock-m b2", "remove c3" */
  readonly calls: string[] = [];
  /** bundle ids whose containers become ready; any other answers 503 for ever */
  readonly good = new Set<string>();
  /** bundle ids whose containers exit at once */
  readonly crashing = new Set<string>();
  /** health requests answered so far */
  probes = 0;
  private next = 1;
  private server: http.Server | undefined;
  port = 0;

  async listen(): Promise<number> {
    this.server = http.createServer((req, res) => {
      this.probes++;
      const serving = [...this.containers.values()].find((c) => c.state.running);
      const bundle = serving?.state.labels[LABELS.bundleId];
      const ready = bundle !== undefined && this.good.has(bundle);
      res.writeHead(req.url === '/v1/health/ready' ? (ready ? 200 : 503) : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bundle: bundle ?? null }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The bundle the running container was started for. */
  serving(): string | undefined {
    return [...this.containers.values()].find((c) => c.state.running)?.state.labels[LABELS.bundleId];
  }

  async ping(): Promise<void> {}
  async describe(): Promise<EngineFacts> {
    return { endpoint: 'fake', reachable: true, runtimes: [] };
  }
  async imageId(nameOrId: string): Promise<string | undefined> {
    return nameOrId.startsWith('sha256:') ? nameOrId : undefined;
  }
  async ensureImage(image: ImageSpec): Promise<{ loaded: boolean }> {
    this.calls.push(`ensureImage ${image.id.slice(7, 11)}`);
    return { loaded: false };
  }
  async saveImage(): Promise<string> {
    throw new Error('not in the fake');
  }
  async create(spec: ContainerSpec): Promise<string> {
    const id = `c${this.next++}`;
    this.calls.push(`create ${spec.name} ${spec.labels[LABELS.bundleId]}`);
    this.containers.set(id, {
      spec,
      state: {
        id,
        name: spec.name ?? id,
        labels: spec.labels,
        image: spec.image,
        running: false,
        restarting: false,
        status: 'created',
        oomKilled: false,
        restartCount: 0,
        publishedPorts: spec.ports.map((p) => p.hostPort),
      },
    });
    return id;
  }
  async start(id: string): Promise<void> {
    const c = this.containers.get(id)!;
    this.calls.push(`start ${id}`);
    const crash = this.crashing.has(c.state.labels[LABELS.bundleId] ?? '');
    c.state = { ...c.state, running: !crash, status: crash ? 'exited' : 'running', ...(crash ? { exitCode: 1 } : {}) };
  }
  async inspect(id: string): Promise<ContainerState | undefined> {
    return this.containers.get(id)?.state;
  }
  async logs(id: string): Promise<string | undefined> {
    return this.containers.has(id) ? `log of ${id}` : undefined;
  }
  async remove(id: string): Promise<void> {
    this.calls.push(`remove ${id}`);
    this.containers.delete(id);
  }
  async list(filter: { labels: Record<string, string> } | { name: string }): Promise<ContainerState[]> {
    return [...this.containers.values()]
      .map((c) => c.state)
      .filter((s) => ('labels' in filter ? Object.entries(filter.labels).every(([k, v]) => s.labels[k] === v) : s.name === filter.name));
  }
  async runToCompletion(): Promise<number> {
    return 0;
  }

  /** A container airlock did not make, holding a name. */
  addForeign(name: string): void {
    this.containers.set(`x${this.next++}`, {
      spec: {} as ContainerSpec,
      state: {
        id: 'foreign',
        name,
        labels: {},
        image: 'sha256:x',
        running: true,
        restarting: false,
        status: 'running',
        oomKilled: false,
        restartCount: 0,
        publishedPorts: [],
      },
    });
  }
}
