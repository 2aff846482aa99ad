// The daemon's state (starting, idle, working, stopping) and the events it tells the outside: one small
// emitter that the queue, the job runner and the composition share, and the D-Bus API listens to.
import type { DaemonEvent, DaemonState } from '../api/daemon-port.js';

export class DaemonEvents {
  private stateNow: DaemonState = 'starting';
  private readonly listeners = new Set<(event: DaemonEvent) => void>();

  get state(): DaemonState {
    return this.stateNow;
  }

  setState(state: DaemonState): void {
    if (state === this.stateNow) return;
    this.stateNow = state;
    this.emit({ type: 'state', state });
  }

  emit(event: DaemonEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  onEvent(listener: (event: DaemonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
