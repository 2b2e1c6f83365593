import createClient, { type ClientOptions } from 'openapi-fetch';
import type { paths } from './api';

export type { components, operations, paths } from './api';

/**
 * A typed client of the chat API: every path, parameter, body and response as the service's
 * OpenAPI document (`/docs-json`) describes them, from the generated `api.d.ts`.
 */
export function createChatClient(options: ClientOptions) {
  return createClient<paths>(options);
}
