import { parse, validate, type DocumentNode, type GraphQLError, type GraphQLSchema, type Source } from 'graphql';

/** Distinct operation texts kept: agents and CLIs send a few dozen; the bound keeps a stranger from growing it. */
const MAX_DOCUMENTS = 1000;

/**
 * Parse and validation, remembered per operation text, for graphql-ws (Apollo keeps its own cache
 * for HTTP). An agent sends the same few operations over its socket every few seconds; parsing and
 * validating each again cost more CPU than running it.
 */
export function cachedParseAndValidate() {
  const parsed = new Map<string, DocumentNode>();
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  return {
    parse(source: string | Source): DocumentNode {
      const text = typeof source === 'string' ? source : source.body;
      let doc = parsed.get(text);
      if (!doc) {
        doc = parse(text); // a syntax error throws and is not kept
        if (parsed.size >= MAX_DOCUMENTS) parsed.delete(parsed.keys().next().value!);
        parsed.set(text, doc);
      }
      return doc;
    },
    validate(schema: GraphQLSchema, doc: DocumentNode): readonly GraphQLError[] {
      let errors = validated.get(doc);
      if (!errors) {
        errors = validate(schema, doc);
        validated.set(doc, errors);
      }
      return errors;
    },
  };
}
