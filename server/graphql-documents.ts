import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema, type Source } from 'graphql';
import type { QueryLimits } from '../core/config.ts';
import { OperationLimits, queryLimitError } from './query-limits.ts';

/** Distinct operation texts kept: agents and CLIs send a few dozen; the bound keeps a stranger from growing it. */
const MAX_DOCUMENTS = 1000;

/**
 * Parsed and validated documents, remembered per operation text, and the operator's limits checked
 * before either costs much. graphql-ws parses and validates through this (Apollo keeps its own cache
 * for HTTP): an agent sends the same few operations over its socket every few seconds, and parsing
 * and validating each again cost more CPU than running it.
 */
export class GraphqlDocuments {
  private readonly parsed = new Map<string, DocumentNode>();
  private readonly validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  readonly limits: OperationLimits;

  constructor(limits: QueryLimits, schema: GraphQLSchema) {
    this.limits = new OperationLimits(schema, limits);
  }

  /** A syntax error throws and is not kept; so does a document over the token limit, at that token. */
  parse = (source: string | Source): DocumentNode => {
    const text = typeof source === 'string' ? source : source.body;
    let doc = this.parsed.get(text);
    if (!doc) {
      doc = parse(text, { maxTokens: this.limits.limits.maxTokens });
      if (this.parsed.size >= MAX_DOCUMENTS) this.parsed.delete(this.parsed.keys().next().value!);
      this.parsed.set(text, doc);
    }
    return doc;
  };

  validate = (schema: GraphQLSchema, doc: DocumentNode): readonly GraphQLError[] => {
    let errors = this.validated.get(doc);
    if (!errors) {
      errors = validate(schema, doc);
      this.validated.set(doc, errors);
    }
    return errors;
  };

  /**
   * Why this request must not run, before GraphQL's own validation (which alone takes tens of ms on
   * a hostile document): the limits it breaks. Syntax errors are left to the usual answer.
   */
  refusal(query: string, operationName: string | undefined, variables: Record<string, unknown> | undefined): GraphQLError[] {
    let doc: DocumentNode;
    try {
      doc = this.parse(query);
    } catch (e) {
      const max = this.limits.limits.maxTokens;
      if (e instanceof GraphQLError && / tokens\. Parsing aborted\.$/.test(e.message)) return [queryLimitError('tokens', max, null)];
      return [];
    }
    return this.limits.check(doc, operationName, variables ?? {});
  }
}
