import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { SchemaPipe } from './schema.pipe';

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;

export interface PageQuery {
  limit?: number;
  /** The nextCursor of the previous page (opaque). */
  before?: string;
}

const LIMIT = { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE };
const BEFORE = { type: 'string', minLength: 1, maxLength: 512, description: 'the nextCursor of the previous page (opaque)' };

/** A page's parameters as schema properties, for a route whose query takes more than a page's. */
export const PAGE_QUERY_PROPERTIES = { limit: LIMIT, before: BEFORE };

const PAGE_QUERY_SCHEMA = {
  type: 'object',
  properties: PAGE_QUERY_PROPERTIES,
  additionalProperties: false,
};

/** A page's query string (`limit`, `before`), validated by a compiled schema. */
export const pageQueryPipe = () => new SchemaPipe<PageQuery>(PAGE_QUERY_SCHEMA, 'query');

/** The same parameters in the API document. */
export const ApiPageQuery = () =>
  applyDecorators(ApiQuery({ name: 'limit', required: false, schema: LIMIT }), ApiQuery({ name: 'before', required: false, schema: BEFORE }));
