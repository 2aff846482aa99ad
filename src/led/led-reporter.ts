// Job events → LED states: working while a job runs, attention while it waits for the lock, green when the
// drive is safe to take away, red when it failed (until that drive's next job, or `plugback led clear`).
import type { JobEvent, JobListener } from '../job/events.js';
import type { LedController } from './led-controller.js';

export function ledReporter(led: LedController): JobListener {
  return (event: JobEvent) => {
    switch (event.type) {
      case 'job-started':
        void led.set('working');
        break;
      case 'waiting-for-lock':
        void led.set('attention');
        break;
      case 'step-finished':
        if (event.step === 'lock') void led.set('working');
        break;
      case 'progress':
        void led.set('working', event.progress.percent);
        break;
      case 'job-finished':
        void led.set(event.result.ending.led);
        break;
      default:
        break;
    }
  };
}
