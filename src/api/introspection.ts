// The introspection XML of plugback's object: what `busctl introspect` and D-Bus tools show, and the contract
// documented in docs/dbus-api.md.
import { INTERFACE } from './names.js';

export const INTROSPECTION_XML = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="${INTERFACE}">
    <!-- "starting", "idle", "working" or "stopping". -->
    <property name="State" type="s" access="read"/>
    <!-- The running job: Drive s, Step s, and while copying CopyingState s (the state being copied),
         Percent d, Bytes t, Rate d (bytes/s), EtaSeconds t (when known). Empty when no job runs. -->
    <property name="CurrentJob" type="a{sv}" access="read"/>
    <!-- Every configured drive by name: Kind s, Present b, Queued b, Overdue b, Open s ("read-only" or
         "read-write", only while opened by OpenDrive), and from the ledger
         LastSuccess s, LastFailure s, LastFailureStep s, LastFailureReason s, SnapshotCount u, FreeBytes t. -->
    <property name="Drives" type="a{sa{sv}}" access="read"/>
    <!-- Backs up a drive now (a plugged-in LUKS drive, or a directory target); returns "started" or "queued".
         polkit action io.github.plugback.start. -->
    <method name="Start">
      <arg name="drive" type="s" direction="in"/>
      <arg name="result" type="s" direction="out"/>
    </method>
    <!-- Cancels the running job; its clean-up runs and the partial copy is kept. Returns the drive.
         polkit action io.github.plugback.cancel. -->
    <method name="Cancel">
      <arg name="drive" type="s" direction="out"/>
    </method>
    <!-- Unlocks a LUKS drive and mounts it at its mount point, read-only unless readWrite, for browsing and
         restores; no backup starts on it until CloseDrive. A drive not plugged in is waited for, up to
         waitSeconds (at most 3600; 0: not at all): its plug-in opens it instead of starting a backup. Returns the
         mount point once open. polkit action io.github.plugback.open-drive. -->
    <method name="OpenDrive">
      <arg name="drive" type="s" direction="in"/>
      <arg name="readWrite" type="b" direction="in"/>
      <arg name="waitSeconds" type="u" direction="in"/>
      <arg name="mountPoint" type="s" direction="out"/>
    </method>
    <!-- Unmounts an open drive (refused while in use), locks it and powers it off; returns what to tell the
         user. polkit action io.github.plugback.open-drive. -->
    <method name="CloseDrive">
      <arg name="drive" type="s" direction="in"/>
      <arg name="message" type="s" direction="out"/>
    </method>
    <!-- The drive's snapshots of this host, oldest first: Id s, Time s, and from the record FinishedAt s,
         Bytes t, TransferredBytes t. The drive must be mounted (a directory target, a LUKS drive during a job or opened). -->
    <method name="ListSnapshots">
      <arg name="drive" type="s" direction="in"/>
      <arg name="snapshots" type="aa{sv}" direction="out"/>
    </method>
    <!-- Deletes one snapshot, never the newest. polkit action io.github.plugback.delete-snapshot. -->
    <method name="DeleteSnapshot">
      <arg name="drive" type="s" direction="in"/>
      <arg name="id" type="s" direction="in"/>
    </method>
    <!-- Archives one complete snapshot of a reachable drive ("" or "latest": the newest) into the archive folder
         (<stateDir>/archives); returns its id at once. options: Compression s (zstd|gzip), Naming s
         (dated|rolling|both), Recipients as (full fingerprints) or PassphraseFile s (an absolute path of a
         root-owned 0600 file). One archive at a time. polkit action io.github.plugback.archive. -->
    <method name="CreateArchive">
      <arg name="drive" type="s" direction="in"/>
      <arg name="snapshot" type="s" direction="in"/>
      <arg name="options" type="a{sv}" direction="in"/>
      <arg name="id" type="s" direction="out"/>
    </method>
    <!-- Id s, Drive s, State s ("running", "done", "failed", "cancelled"), Bytes t (written so far), and when
         known Snapshot s, File s and Files as (when done), Error s (when failed). -->
    <method name="ArchiveStatus">
      <arg name="id" type="s" direction="in"/>
      <arg name="status" type="a{sv}" direction="out"/>
    </method>
    <!-- Stops the running archive; its half-written file is removed. polkit action io.github.plugback.archive. -->
    <method name="CancelArchive">
      <arg name="id" type="s" direction="in"/>
    </method>
    <!-- This host's archives in the archive folder: Name s, Size t, Time s (modified), Kind s ("dated",
         "rolling"), Encrypted b, and for dated ones Snapshot s. -->
    <method name="ListArchives">
      <arg name="archives" type="aa{sv}" direction="out"/>
    </method>
    <!-- Deletes one archive by a name from ListArchives (never a path). polkit action io.github.plugback.archive. -->
    <method name="DeleteArchive">
      <arg name="name" type="s" direction="in"/>
    </method>
    <signal name="StateChanged">
      <arg name="state" type="s"/>
    </signal>
    <!-- At most two a second while a job copies; the same keys as CurrentJob. -->
    <signal name="Progress">
      <arg name="job" type="a{sv}"/>
    </signal>
    <!-- Drive s, Outcome s ("success", "warning", "failed", "cancelled"), DurationMs t, TransferredBytes t,
         and when there are: Snapshot s, FailedStep s, Error s. -->
    <signal name="JobFinished">
      <arg name="result" type="a{sv}"/>
    </signal>
    <!-- At most once a second while an archive is written: the bytes written so far. -->
    <signal name="ArchiveProgress">
      <arg name="id" type="s"/>
      <arg name="bytes" type="t"/>
    </signal>
    <!-- The archive ended: the same keys as ArchiveStatus. -->
    <signal name="ArchiveFinished">
      <arg name="id" type="s"/>
      <arg name="status" type="a{sv}"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg name="interface" type="s" direction="in"/>
      <arg name="property" type="s" direction="in"/>
      <arg name="value" type="v" direction="out"/>
    </method>
    <method name="GetAll">
      <arg name="interface" type="s" direction="in"/>
      <arg name="properties" type="a{sv}" direction="out"/>
    </method>
    <method name="Set">
      <arg name="interface" type="s" direction="in"/>
      <arg name="property" type="s" direction="in"/>
      <arg name="value" type="v" direction="in"/>
    </method>
    <signal name="PropertiesChanged">
      <arg name="interface" type="s"/>
      <arg name="changed" type="a{sv}"/>
      <arg name="invalidated" type="as"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg name="xml" type="s" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg name="machine_uuid" type="s" direction="out"/>
    </method>
  </interface>
</node>
`;
