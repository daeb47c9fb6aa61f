// Fan-out of live events to SSE clients (and anything else that listens).
export interface HubEvent {
  event: 'bundle' | 'audit' | 'deployment';
  data: unknown;
}

export class EventHub {
  private readonly listeners = new Set<(e: HubEvent) => void>();

  publish(e: HubEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (e: HubEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }
}
