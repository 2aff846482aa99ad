// A throw-away GnuPG home with one new key pair, made by the real gpg, for the archive tests; GNUPGHOME points at
// it for this process and every plugback and gpg it starts.
import { execa } from 'execa';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TestKey {
  home: string;
  fingerprint: string;
  /** Stops the agent of this home (between tests). */
  stopAgent(): Promise<void>;
  /** Stops every gpg daemon of this home and deletes it. */
  remove(): Promise<void>;
}

export async function throwAwayKey(uid = 'plugback test <archive-test@example.invalid>'): Promise<TestKey> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-gpg-test-'));
  process.env.GNUPGHOME = home;
  await execa('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', uid, 'future-default', 'default', 'never']);
  const { stdout } = await execa('gpg', ['--batch', '--with-colons', '--list-keys', uid]);
  const fingerprint = stdout.split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9] ?? '';
  if (!/^[0-9A-F]{40}$/.test(fingerprint)) throw new Error(`gpg made no key with a fingerprint: ${stdout}`);
  return {
    home,
    fingerprint,
    stopAgent: async () => void (await execa('gpgconf', ['--kill', 'gpg-agent'], { env: { GNUPGHOME: home }, reject: false })),
    remove: async () => {
      await execa('gpgconf', ['--kill', 'all'], { env: { GNUPGHOME: home }, reject: false });
      await fs.rm(home, { recursive: true, force: true });
    },
  };
}
