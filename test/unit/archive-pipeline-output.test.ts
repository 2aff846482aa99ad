// A failing stage's stderr is quoted in the pipeline's error, so publicReason() (what the D-Bus API shows
// everyone) leaves it out while the daemon's root-only log keeps it.
import { describe, expect, it } from 'vitest';
import { PipelineError, runPipeline } from '../../src/archive/pipeline.js';
import { OUTPUT_LEFT_OUT, publicReason } from '../../src/system/program-output.js';

describe('a failing archive pipeline', () => {
  it('names the stage and its exit code, with its output quoted so publicReason drops it', async () => {
    const stages = [{ name: 'tar', command: 'sh', args: ['-c', 'echo "cannot read /srv/secret-name" >&2; exit 2'] }];
    const error = await runPipeline(stages).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PipelineError);
    const message = (error as PipelineError).message;
    expect(message).toContain('tar exited with code 2');
    expect(message).toContain('cannot read /srv/secret-name');
    expect(publicReason(message)).toBe(`tar exited with code 2; ${OUTPUT_LEFT_OUT}`);
  });
});
