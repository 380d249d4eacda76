import type { RequestHandler } from 'express';
import type { GraphqlDocuments } from './graphql-documents.ts';
import { outcome } from './graphql-metrics.ts';
import { graphqlOperations } from './metrics/api.ts';
import { UNKNOWN_OPERATION } from './metrics/operation-label.ts';

/**
 * Refuses an HTTP GraphQL request over the operator's limits before Apollo parses, validates or
 * runs it (and before its token is looked up), with the same errors the socket gives.
 */
export function refuseOverLimits(documents: GraphqlDocuments): RequestHandler {
  return (req, res, next) => {
    const params = (req.method === 'GET' ? req.query : req.body) as Record<string, unknown> | undefined;
    if (typeof params?.query !== 'string') return next();
    const operationName = typeof params.operationName === 'string' ? params.operationName : undefined;
    const errors = documents.refusal(params.query, operationName, variablesOf(params.variables));
    if (errors.length === 0) return next();
    // Counted here, as Apollo never sees it; unparsed on purpose, so its labels are unknown.
    graphqlOperations.inc({ ...UNKNOWN_OPERATION, transport: 'http', outcome: outcome(errors) });
    res.status(400).json({
      errors: errors.map(({ message, extensions: { http: _http, ...extensions } }) => ({ message, extensions })),
    });
  };
}

/** Variables as sent: an object in a POST body, JSON text in a GET query string. */
function variablesOf(raw: unknown): Record<string, unknown> {
  if (typeof raw === 'string') {
    try {
      return variablesOf(JSON.parse(raw));
    } catch {
      return {};
    }
  }
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}
