/**
 * The report's account of the `restart` configuration: what Nooks's recovery keeps and loses in
 * this project, so that its column of the fail-stop table reads against the paper's.
 */
/** What the `restart` configuration keeps and loses: Nooks, whose agent re-applied the system's configuration. */
export function restartOnlySection(): string[] {
  return [
    '## What restart-only keeps and loses',
    '',
    'Restart-only is Nooks as the paper ran it: the failed driver is restarted in a fresh domain, and a',
    'user-mode agent re-applies the system\'s own configuration of the device, as the system\'s scripts had',
    'set it; nothing else is put back (recovery.ts, `#agent`).',
    '',
    '- **Kept** (the agent re-applies it): the class contract\'s `agent` entries — a NIC brought up (or left',
    '  down), its MAC address and MTU — and every setting the system made itself (`Device[kSystemCall]`):',
    '  the kernel switch\'s ports made promiscuous and up, as a bridge\'s ports are when the system\'s',
    '  scripts add them. The device object, its name and the host resources the kernel holds for it (a',
    '  TAP\'s descriptor) survive the restart in either configuration.',
    '- **Lost**: open objects and their positions (a disk opened by the filesystem above it, a sound',
    '  stream, a serial port: later calls fail `SD_ERR_NOT_OPEN`); settings an application made (its own',
    '  promiscuous mode, multicast groups, a stream\'s format and volume, a disk\'s write cache, a port\'s',
    '  line settings); requests in flight when the driver failed (they fail `SD_ERR_DRIVER_FAILED`, with',
    '  an outcome saying whether they may have run) and calls made while it restarts (they fail, not',
    '  executed); frames that arrive while no driver runs. The sound and block classes have no',
    '  system configuration of their own in this project (no device-wide mixer, no system-set disk',
    '  setting): their agent has nothing to re-apply.',
    '- **What it means for the applications**: a network application over TCP rides out a restart (the',
    '  frames lost are retransmitted, the interface is configured as before), as the paper\'s Nooks column',
    '  says for its network rows; an application holding an open object (a disk under a filesystem, a',
    '  stream, a port) or waiting on a request in flight sees an error and stops.',
  ];
}
