import { HeaderMap } from '@apollo/server';
import { GraphQLError, getOperationAST, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { shareKey, type Principal } from '../core/principal.ts';

/** Buckets kept before full (idle) ones are forgotten: a full bucket is the same as a new one. */
const MAX_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Mutations per principal, as token buckets (this API replica's count): `burst` at once, then
 * `perSecond`, each root field of a mutation (or write to the OpenStack facade) taking one token.
 * Users share a bucket across their tokens. Host agents are not counted: their reports are few and
 * fixed, and one user's flood must not crowd out the heartbeats that keep hosts up.
 */
export class MutationBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the operation's tokens, or refuses it with the seconds until they are there. */
  admit(principal: Principal, document: DocumentNode, operationName: string | undefined): GraphQLError | null {
    const operation = getOperationAST(document, operationName);
    if (operation?.operation !== 'mutation') return null;
    const wait = this.takeWrites(principal, rootFields(operation));
    return wait === null ? null : this.refusal(wait);
  }

  /**
   * Takes `n` tokens for a principal's writes, by whatever API they come (GraphQL, the OpenStack
   * facade), or answers the seconds until they are there.
   */
  takeWrites(principal: Principal, n: number): number | null {
    if (principal.kind === 'host' || this.perSecond <= 0) return null;
    return this.take(shareKey(principal), n);
  }

  /** Why a write was refused, in the same words whichever API refused it. */
  message(retryAfterSeconds: number): string {
    return `too many mutations: at most ${this.perSecond} per second after a burst of ${this.burst} (ORRERY_MUTATIONS_PER_SECOND, ORRERY_MUTATION_BURST); retry in ${retryAfterSeconds} s`;
  }

  private take(key: string, n: number): number | null {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (this.buckets.size >= MAX_BUCKETS) this.forgetFull();
    this.buckets.set(key, b);
    if (b.tokens >= n) {
      b.tokens -= n;
      return null;
    }
    return Math.max(1, Math.ceil((n - b.tokens) / this.perSecond));
  }

  private forgetFull(): void {
    const now = this.now();
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(k);
  }

  private refusal(retryAfterSeconds: number): GraphQLError {
    return new GraphQLError(
      this.message(retryAfterSeconds),
      {
        extensions: {
          code: 'RATE_LIMITED', retryAfterSeconds,
          http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) },
        },
      },
    );
  }
}

function rootFields(operation: OperationDefinitionNode): number {
  return Math.max(1, operation.selectionSet.selections.length);
}
