/**
 * The Query API's error model (spec 001 query-api §7.6, §10.1): a JSON body `{error_code, message}` whose code
 * fixes the HTTP status, in this one table. These codes belong to the Query API service (`veen query serve`), not
 * to the hub, whose failures stay VeenError codes; a hub failure during execution becomes `execution_failed`.
 */

/** HTTP status of each Query API error code (§7.6; result_not_ready is 409 here, §7.6 leaves 425/404/409 open). */
export const QUERY_ERROR_STATUS = {
  invalid_json: 400,
  invalid_query_descriptor: 400,
  unsupported_version: 400,
  invalid_parameter: 400,
  unauthorized: 401,
  forbidden_scope: 403,
  query_not_found: 404,
  duplicate_query_id: 409,
  result_not_ready: 409,
  execution_failed: 500,
  internal_error: 500,
} as const;

export type QueryErrorCode = keyof typeof QUERY_ERROR_STATUS;

/** A Query API failure: its error_code and human-readable message. */
export class QueryError extends Error {
  constructor(readonly errorCode: QueryErrorCode, message: string) {
    super(message);
    this.name = "QueryError";
  }

  get status(): number {
    return QUERY_ERROR_STATUS[this.errorCode];
  }

  /** The §7.6 error body. */
  body(): { error_code: QueryErrorCode; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}
