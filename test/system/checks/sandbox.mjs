// The host's assertions for scenario 12 (guest/sandbox.mjs, issue 18): the hardened units still back up a folder
// under /home, hooks still stop and start a service, and systemd (the drive's .mount unit) does the mounting.
import { expect, it } from 'vitest';

const exposure = (text) => /Overall exposure level for \S+: ([\d.]+)/.exec(text ?? '')?.[1];

export const sandboxChecks = (scenario, log) => ({
  '12': () => it('12: in its sandbox the daemon backs up a folder under /home, its hooks stop and start a service, and systemd mounts the drive', () => {
    const r = scenario('s12-sandbox');
    for (const [unit, out] of Object.entries(r.security)) log(`system test: 12: systemd-analyze security ${unit} (in the guest):\n${out.out}`);
    expect(Number(exposure(r.security['plugback.service'].out))).toBeLessThanOrEqual(3.0);
    expect(Number(exposure(r.security['plugback-drive@.service'].out))).toBeLessThanOrEqual(3.0);
    expect(r.unitSandbox).toContain('ProtectSystem=strict');
    expect(r.unitSandbox).toContain('ProtectHome=read-only');
    expect(r.unitSandbox).not.toMatch(/cap_sys_admin/i);
    expect(r.reload).toMatch(/config reloaded/);

    expect(r.doneMsg, JSON.stringify(r.journal, null, 1)).toBe('drive "offsite-a" is done: safe to remove');
    // systemd mounted it, where the host sees it, with the options of the unit; and took it down after.
    expect(r.during.mountUnit).toBe('active');
    expect(r.during.findmnt).toMatch(/^\/dev\/mapper\/plugback-offsite-a \/run\/plugback\/offsite-a \S*nosuid,nodev,noexec,noatime/);
    expect(r.afterMountUnit).toBe('inactive');
    expect(r.after.mapping).toBe(false);
    expect(r.after.mounted).toBe('');
    // The hooks ran systemctl from inside the sandbox: down during the copy, up again after.
    expect(r.during.target).toBe('inactive');
    expect(r.target).toBe('active');
    expect(r.journal.join('\n')).toMatch(/hook stopped it: inactive/);
    expect(r.journal.join('\n')).toMatch(/hook started it: active/);
    // The user's folder under /home, in the snapshot as it is.
    expect(r.journal.join('\n')).toMatch(new RegExp(`state "home" copied: ${r.homeFiles} files`));
    expect(r.copy.files).toBe(r.homeFiles);
    expect(r.copy.diff).toBe(0);
    expect(r.copy.stat).toBe('1000:1000 700');
  }),
});
