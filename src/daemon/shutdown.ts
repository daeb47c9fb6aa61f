// Shutdown always completes. Node cannot exit while a thread of its pool is stuck in a system call (a FIFO
// opened for reading, a hung stick): process.exit() itself waits for that thread. So a daemon that has not
// exited by the deadline ends itself with a signal, whose default action needs no thread to finish.

/** Exit status of a daemon that could not keep its state file or audit trail (sysexits EX_IOERR); not 2,
 *  which the unit's RestartPreventExitStatus keeps for configuration errors. */
export const EXIT_FATAL = 74;

/** From the first signal (or a fatal error) to the process being gone, at most. */
export const SHUTDOWN_DEADLINE_MS = 5000;

export interface SignalProcess {
  readonly pid: number;
  kill(pid: number, signal: NodeJS.Signals): unknown;
  removeAllListeners(event: NodeJS.Signals): unknown;
}

/**
 * End the process now by `signal` with its default action (our handlers removed first): SIGTERM or SIGINT for a
 * requested stop (a clean end to systemd), SIGKILL when the daemon failed (systemd restarts it).
 */
export function raise(proc: SignalProcess, signal: NodeJS.Signals): void {
  proc.removeAllListeners(signal);
  proc.kill(proc.pid, signal);
}

/**
 * Arm the deadline: after `ms`, `raise(signal)` whatever is still running. Call `settled()` once the graceful
 * stop has finished: the timer then no longer keeps the process alive, so a normal exit is not delayed, and
 * fires only if something (a stuck thread) still holds the process.
 */
export function armShutdownDeadline(proc: SignalProcess, signal: NodeJS.Signals, ms = SHUTDOWN_DEADLINE_MS): { settled(): void } {
  const timer = setTimeout(() => raise(proc, signal), ms);
  return { settled: () => void timer.unref() };
}
