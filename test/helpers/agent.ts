// A real ssh-agent for tests (`ssh-agent -D -a SOCK`, stopped at teardown) and ssh-add into it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestAgent {
  socket: string;
  /** process.env with SSH_AUTH_SOCK pointing at this agent */
  env: NodeJS.ProcessEnv;
  add(privateKeyFile: string, extra?: string[]): void;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

export async function startAgent(t: Teardown, extraArgs: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<TestAgent> {
  // A short path: unix socket names are limited to about 100 bytes.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-agent-'));
  const socket = path.join(dir, 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', socket, ...extraArgs], { stdio: 'ignore', env });
  t.teardown(() => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(socket)) throw new Error('ssh-agent did not create its socket');
  const agentEnv = { ...env, SSH_AUTH_SOCK: socket };
  return {
    socket,
    env: agentEnv,
    add(file, extra = []) {
      const r = spawnSync('ssh-add', [...extra, file], { env: agentEnv, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ssh-add ${file} failed: ${r.stderr}`);
    },
  };
}
