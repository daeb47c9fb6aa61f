// The daemon's Deployer: the one deploy use case (src/ops/deploy.ts), one container replacement per model at a time.
import { deployCurrent, type DeployContext, type DeployOutcome, type DeployPhase, type StateDetail } from '../ops/deploy.js';
import type { HealthAnswer } from '../runtime/runtime.js';
import type { Deployer } from '../pipeline/ports.js';
import type { DeployState } from '../pipeline/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { Serializer } from '../util/serializer.js';

function healthLine(h: HealthAnswer | undefined): string | undefined {
  if (!h) return undefined;
  return `${h.status ?? h.error ?? 'no answer'} ${h.endpoint}`;
}

/** A record's deploy state from what the use case reported (an outcome or a live state change). */
export function deployStateOf(
  state: DeployPhase,
  d: Pick<DeployOutcome, 'containerId' | 'health' | 'code' | 'message'> | StateDetail,
  now: Date,
): DeployState {
  const health = healthLine(d.health);
  return {
    state,
    updatedAt: now.toISOString(),
    ...(d.containerId ? { containerId: d.containerId } : {}),
    ...(health ? { health } : {}),
    ...(d.code ? { code: d.code } : {}),
    ...(d.message ? { message: d.message } : {}),
  };
}

export function opsDeployer(ctx: DeployContext, clock: Clock = systemClock): Deployer {
  const perModel = new Serializer();
  return {
    deploy: (name, opts = {}) =>
      perModel.run(name, async () => {
        const hooks = {
          onState: (state: DeployPhase, detail: StateDetail) => opts.onState?.(deployStateOf(state, detail, clock())),
          ...(opts.signal ? { signal: opts.signal } : {}),
        };
        const r = await deployCurrent(ctx, name, hooks, opts.expectDigest);
        return { state: deployStateOf(r.outcome.status, r.outcome, clock()), current: r.current, fellBack: r.current.bundleId !== r.target.bundleId };
      }),
  };
}
