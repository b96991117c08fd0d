/**
 * A typed client for the langproc API: `createLangprocClient` (typed `fetch` calls generated from
 * the server's OpenAPI document) and `follow` (a sourcefile's live events over `EventSource`).
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths } from "./schema.js";
export { follow, type EventSourceLike, type Follower, type FollowOptions } from "./follow.js";
export type { SourcefileEvent, StepError, StepEvent } from "./events.js";

type Schemas = components["schemas"];
export type Sourcefile = Schemas["SourcefileRead"];
export type SourcefileSummary = Schemas["SourcefileSummary"];
export type SourcefileStatus = Schemas["SourcefileStatus"];
export type StepStatus = Schemas["StepStatus"];
export type Progress = Schemas["Progress"];
export type LangprocClient = Client<paths>;

/** The states after which a sourcefile changes no more (until a retry). */
export const TERMINAL: readonly SourcefileStatus[] = ["succeeded", "failed", "cancelled"];

export interface ClientOptions {
  /** Where the API is, e.g. `https://langproc.example` or `""` for the same origin. */
  baseUrl: string;
  /** The user's JWT (e.g. Supabase's `session.access_token`), read before every request. */
  token?: () => string | undefined | Promise<string | undefined>;
  fetch?: typeof globalThis.fetch;
}

/** Typed calls: `client.GET("/api/sourcefiles/{id}", { params: { path: { id } } })`. */
export function createLangprocClient(options: ClientOptions): LangprocClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const token = options.token;
  if (token) {
    client.use({
      async onRequest({ request }) {
        const value = await token();
        if (value) request.headers.set("Authorization", `Bearer ${value}`);
        return request;
      },
    });
  }
  return client;
}
