import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, Kind, TypeInfo, ValidationContext, visit, visitInParallel, type ArgumentNode, type DocumentNode, type GraphQLSchema } from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import type { QueryLimits } from '../core/config.ts';
import { costEstimator } from './query-cost.ts';

export type LimitName = 'cost' | 'depth' | 'aliases' | 'tokens';

const SETTING: Record<LimitName, string> = {
  cost: 'ORRERY_QUERY_MAX_COST',
  depth: 'ORRERY_QUERY_MAX_DEPTH',
  aliases: 'ORRERY_QUERY_MAX_ALIASES',
  tokens: 'ORRERY_QUERY_MAX_TOKENS',
};

/** Arguments whose value changes an operation's price: page sizes, and the `if` of @include and @skip. */
const PRICED_ARGUMENTS = new Set(['first', 'last', 'if']);

/** Selections walked to price one operation (fragments expanded) before it is refused unpriced. */
const MAX_PRICED_SELECTIONS = 10_000;

/**
 * The refusal of an operation over one of the operator's limits: which limit, its value, and what
 * the operation asked for (null when counting stopped at the limit).
 */
export function queryLimitError(limit: LimitName, max: number, actual: number | null): GraphQLError {
  const over = actual === null ? `more than ${max}` : `${actual}, over the limit of ${max} by ${actual - max}`;
  return new GraphQLError(`query ${limit} is ${over} (${SETTING[limit]})`, {
    extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit, max, actual, http: { status: 400 } },
  });
}

interface Shape {
  depth: number;
  aliases: number;
  /** A page size (`first`, `last`) or an @include/@skip comes from a variable, so the cost is per request. */
  variablePriced: boolean;
}

/**
 * Measures operations against the limits before they run: depth and aliases once per document
 * (graphql-armor's counters), cost per request (graphql-query-complexity's walk with our cost
 * model), since page sizes may come from variables.
 */
export class OperationLimits {
  private readonly shapes = new WeakMap<DocumentNode, Shape>();
  /** Costs of documents whose price no variable changes (the agents' reports), per operation name. */
  private readonly fixedCosts = new WeakMap<DocumentNode, Map<string, number | null | undefined>>();
  private readonly estimator: ComplexityEstimator;

  constructor(
    private readonly schema: GraphQLSchema,
    readonly limits: QueryLimits,
  ) {
    this.estimator = costEstimator(schema);
  }

  /** The limits this operation breaks (none: it may run). Errors of other kinds are left to validation. */
  check(document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>): GraphQLError[] {
    const shape = this.shape(document);
    const errors: GraphQLError[] = [];
    if (shape.aliases > this.limits.maxAliases) errors.push(queryLimitError('aliases', this.limits.maxAliases, shape.aliases));
    if (shape.depth > this.limits.maxDepth) errors.push(queryLimitError('depth', this.limits.maxDepth, shape.depth));
    if (errors.length > 0) return errors;
    const cost = this.cost(document, operationName, variables);
    return cost !== undefined && (cost === null || cost > this.limits.maxCost) ? [queryLimitError('cost', this.limits.maxCost, cost)] : [];
  }

  /** The estimated cost; null past MAX_PRICED_SELECTIONS; undefined when the variables do not fit (execution says why). */
  cost(document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>): number | null | undefined {
    if (this.shape(document).variablePriced) return this.price(document, operationName, variables);
    let byName = this.fixedCosts.get(document);
    if (!byName) this.fixedCosts.set(document, (byName = new Map()));
    const key = operationName ?? '';
    if (!byName.has(key)) {
      const cost = this.price(document, operationName, variables);
      if (cost === undefined) return undefined; // these variables did not fit; others may
      byName.set(key, cost);
    }
    return byName.get(key);
  }

  private price(document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>): number | null | undefined {
    try {
      const cost = getComplexity({
        schema: this.schema,
        query: document,
        operationName,
        variables,
        estimators: [this.estimator],
        maxQueryNodes: MAX_PRICED_SELECTIONS,
      });
      return Math.ceil(cost);
    } catch (e) {
      if (e instanceof GraphQLError && /maximum allowed number of nodes/.test(e.message)) return null;
      return undefined;
    }
  }

  shape(document: DocumentNode): Shape {
    let shape = this.shapes.get(document);
    if (!shape) {
      const measured: Shape = { depth: 0, aliases: 0, variablePriced: false };
      // Both rules only measure here (no limit of their own); the comparison is ours, to name the limit.
      // They read the operations and fragments alone, so they run without GraphQL's full validation.
      const context = new ValidationContext(this.schema, document, new TypeInfo(this.schema), () => {});
      const rules = [
        maxDepthRule({
          n: Infinity, ignoreIntrospection: false, flattenFragments: true,
          onAccept: [(_ctx, { n }: { n: number }) => (measured.depth = Math.max(measured.depth, n))],
        }),
        maxAliasesRule({ n: Infinity, onAccept: [(_ctx, { n }: { n: number }) => (measured.aliases = Math.max(measured.aliases, n))] }),
      ];
      const variablePriced = {
        Argument: (node: ArgumentNode) => {
          if (node.value.kind === Kind.VARIABLE && PRICED_ARGUMENTS.has(node.name.value)) measured.variablePriced = true;
        },
      };
      visit(document, visitInParallel([...rules.map((rule) => rule(context)), variablePriced]));
      shape = measured;
      this.shapes.set(document, shape);
    }
    return shape;
  }
}
