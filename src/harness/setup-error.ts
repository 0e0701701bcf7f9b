/**
 * A run that cannot start as asked: a package that is not installed, a
 * server that does not answer, a size this machine cannot open. The
 * command line prints its message on one line and exits with code 2.
 */
export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupError';
  }
}
