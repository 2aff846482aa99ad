// A failure of install or uninstall that the user can act on (the message says how).
export class InstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstallError';
  }
}
