// startProgram/runProgram: how `plugback run` starts rsync, the feature probes and `sync` without execa. A cancel
// must stop the program (a stuck one too), a missing program must be told apart from a failing one, and a failed
// flush must say what sync said.
import { describe, expect, it } from 'vitest';
import { runProgram, startProgram } from '../../src/system/spawn-program.js';
import { syncFileSystem } from '../../src/system/sync-fs.js';

describe('startProgram', () => {
  it('hands over the environment given and the whole of the output, and reports the exit code', async () => {
    const { child, exit } = startProgram('sh', ['-c', 'printf "%s" "$ONLY_THIS"; seq 1 20000; exit 7'], { env: { ONLY_THIS: 'given:' } });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    expect(await exit).toEqual({ exitCode: 7, signal: undefined });
    expect(out.startsWith('given:1\n')).toBe(true);
    expect(out.endsWith('\n20000\n')).toBe(true);
  });

  it('stops the program with SIGTERM when the job is cancelled', async () => {
    const controller = new AbortController();
    const { exit } = startProgram('sleep', ['30'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    expect(await exit).toEqual({ exitCode: undefined, signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('kills a program that ignores SIGTERM five seconds later, so a cancel cannot hang', async () => {
    const controller = new AbortController();
    const { child, exit } = startProgram('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.1; done'], { signal: controller.signal });
    child.stdout?.once('data', () => controller.abort());
    expect(await exit).toEqual({ exitCode: undefined, signal: 'SIGKILL' });
  }, 15_000);

  it('stops at once a program started after the job was already cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const { exit } = startProgram('sh', ['-c', 'sleep 30'], { signal: controller.signal });
    expect((await exit).signal).toBe('SIGTERM');
  });

  it('tells a program that is not installed (ENOENT) from one that failed', async () => {
    expect(await startProgram('plugback-no-such-program', []).exit).toEqual({ code: 'ENOENT' });
  });
});

describe('runProgram and syncFileSystem', () => {
  it('returns what a tool wrote on stderr with its exit code', async () => {
    expect(await runProgram('sh', ['-c', 'echo out; echo "no such attribute" >&2; exit 1'])).toEqual({ exitCode: 1, signal: undefined, stderr: 'no such attribute\n' });
  });

  it('flushes an existing folder, and says what sync said when it cannot', async () => {
    await expect(syncFileSystem('/tmp')).resolves.toBeUndefined();
    await expect(syncFileSystem('/nonexistent/plugback-test')).rejects.toThrow(/^sync --file-system \/nonexistent\/plugback-test failed: exit code 1: sync: .*No such file or directory/);
  });
});
