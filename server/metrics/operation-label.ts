import { getOperationAST, Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';

export interface OperationLabel {
  type: string;
  field: string;
}

/** When the document did not parse or names no operation it has. */
export const UNKNOWN_OPERATION: OperationLabel = { type: 'unknown', field: 'unknown' };

/**
 * An operation's metric labels: its type and its first root field. Operation names are the
 * client's to choose (and our agents send none); root fields come from the schema, so a client
 * cannot grow the number of series.
 */
export function operationLabel(operation: OperationDefinitionNode | null | undefined): OperationLabel {
  if (!operation) return UNKNOWN_OPERATION;
  const first = operation.selectionSet.selections[0];
  return { type: operation.operation, field: first?.kind === Kind.FIELD ? first.name.value : 'fragment' };
}

export function documentLabel(document: DocumentNode, operationName?: string | null): OperationLabel {
  return operationLabel(getOperationAST(document, operationName ?? undefined));
}
