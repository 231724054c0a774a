// Errors the user can act on: what was wrong, with which input, what to do.
// Anything else is a bug and is reported with its stack.

export class UserError extends Error {
  constructor(
    /** the file or option at fault, or null when there is none */
    readonly subject: string | null,
    /** what is wrong, one line */
    message: string,
    /** what to do about it */
    readonly hint?: string,
    /** exit status: 1 bad input, 2 usage, 130 interrupted */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }

  /** The single line (plus optional hint line) shown to the user. */
  format(): string {
    const head = this.subject ? `${this.subject}: ${this.message}` : this.message;
    return this.hint ? `${head}\n  hint: ${this.hint}` : head;
  }
}

export function usageError(message: string, hint?: string): UserError {
  return new UserError(null, message, hint ?? "see --help", 2);
}
