// drives.<name>.archive: an archive of each new snapshot, made by the backup job after prune (docs/archives.md).
// The same choices as `plugback archive`, so what the command line refuses the config refuses too.
import { z } from './zod.js';
import { normalizeFingerprint } from '../archive/encryption.js';
import { absolutePath } from './primitives.js';

/** USER or USER:GROUP, names or numbers; resolved through getent when the archive is made. */
const OWNER_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/;

const fingerprint = z.string().transform((text, ctx) => {
  const fpr = normalizeFingerprint(text);
  if (fpr) return fpr;
  ctx.addIssue({ code: 'custom', message: "expected a key's full fingerprint (40 hex digits, see gpg --fingerprint)" });
  return z.NEVER;
});

export const archiveSchema = z
  .strictObject({
    to: absolutePath('archive.to')
      .meta({ description: 'The folder on this machine the archives go into; created (0700) when missing. It must belong to root and not be writable by group or others (unless sticky). Default: <stateDir>/archives' })
      .optional(),
    naming: z
      .enum(['dated', 'rolling', 'both'])
      .default('dated')
      .meta({ description: 'dated (<host>-<snapshot>), rolling (<host>-<weekday 0-6>, replacing last week\'s) or both (one file, two names).' }),
    compression: z.enum(['zstd', 'gzip']).default('zstd').meta({ description: 'zstd or gzip.' }),
    keep: z
      .int()
      .min(1)
      .meta({ description: "After each archive, keep this host's newest N dated archives in the folder and delete older ones (not with naming rolling). Unset: keep them all." })
      .optional(),
    owner: z
      .string()
      .regex(OWNER_PATTERN, { message: 'expected USER or USER:GROUP (names or numbers), like pi or backup:backup' })
      .meta({ description: 'Give the archive files to this user (and group, else the user\'s own), e.g. the user a backup server fetches them as.' })
      .optional(),
    recipients: z
      .array(fingerprint)
      .min(1, { message: 'give at least one fingerprint, or leave recipients out' })
      .meta({ description: 'Encrypt to these public keys, by full fingerprint, from the keyring gpg uses (GNUPGHOME, else root\'s ~/.gnupg); any one of them opens the archive.' })
      .optional(),
    keyring: absolutePath('archive.keyring')
      .meta({ description: 'Encrypt to every public key in this file (gpg --export output). It must belong to root and be writable by root alone.' })
      .optional(),
    passphraseFile: absolutePath('archive.passphraseFile')
      .meta({ description: 'Encrypt symmetrically (AES-256) with the passphrase on this file\'s first line; owned by root, mode 600. Never put the passphrase itself in the config.' })
      .optional(),
  })
  .superRefine((a, ctx) => {
    const chosen = (['recipients', 'keyring', 'passphraseFile'] as const).filter((k) => a[k] !== undefined);
    for (const key of chosen.slice(1)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `choose one way to encrypt: ${chosen.join(' and ')} are both given; keep one (or none for an unencrypted archive)` });
    }
    if (a.keep !== undefined && a.naming === 'rolling') {
      ctx.addIssue({ code: 'custom', path: ['keep'], message: 'keep counts dated archives, and naming rolling makes none: use naming dated or both, or remove keep' });
    }
  })
  .meta({ description: 'Also write each new snapshot of this drive as one compressed (optionally gpg-encrypted) tar on this machine, after the backup (see docs/archives.md). A failed archive makes the backup end with a warning; the snapshot stays complete.' });

export type ArchiveInput = z.output<typeof archiveSchema>;
