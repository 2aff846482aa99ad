// The thin clock around checkOverdue: node-cron runs the reminder check on the configured schedule.
import { createTask, type ScheduledTask } from 'node-cron';

export class ReminderSchedule {
  private task: ScheduledTask | undefined;

  constructor(
    private readonly expression: string,
    private readonly check: () => Promise<void>,
  ) {}

  /** Starts firing `check` on the schedule (in local time). A check still running is not started twice. */
  start(): void {
    if (this.task) return;
    this.task = createTask(this.expression, () => this.check(), { name: 'plugback-reminders', noOverlap: true });
    void this.task.start();
  }

  /** Stops and forgets the task, so its timer no longer keeps the process alive. */
  async stop(): Promise<void> {
    const task = this.task;
    this.task = undefined;
    await task?.destroy();
  }
}
