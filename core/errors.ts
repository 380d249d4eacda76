/** Errors a client can act on. The GraphQL layer returns them as typed results, not opaque strings. */

export class OrreryError extends Error {}

export interface FieldIssue {
  /** Path of the offending field, dotted from the input root (for example `input.ramMb`). */
  field: string;
  message: string;
}

export class ValidationError extends OrreryError {
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join('; '));
  }
  get field(): string {
    return this.issues[0]?.field ?? '';
  }
  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
}

export class NotFoundError extends OrreryError {
  constructor(
    readonly resource: string,
    readonly ref: string,
    /** The input field that named it, e.g. `input.flavor`. */
    readonly field: string,
  ) {
    super(`${resource} ${JSON.stringify(ref)} not found`);
  }
}

export class ConflictError extends OrreryError {
  constructor(
    message: string,
    readonly currentState?: string,
  ) {
    super(message);
  }
}

export class ForbiddenError extends OrreryError {}

/** A write would take a project past one of its quotas; nothing was written. */
export class QuotaExceededError extends OrreryError {
  constructor(
    readonly resource: string,
    readonly requested: number,
    readonly inUse: number,
    readonly limit: number,
  ) {
    super(`quota exceeded for ${resource}: requested ${requested}, in use ${inUse} of ${limit}`);
  }
}

/** No free address left in a subnet's allocation pools; nothing was written. */
export class AddressExhaustedError extends OrreryError {
  constructor(
    readonly subnetId: string,
    readonly cidr: string,
    /** The input field that asked for the address, e.g. `input.networks.0`. */
    readonly field: string,
  ) {
    super(`no free address left in subnet ${subnetId} (${cidr})`);
  }
}
