/**
 * `follow(id)`: a sourcefile's events, live, until it is finished. The browser's `EventSource`
 * reconnects by itself and sends `Last-Event-ID`; when it gives up (an HTTP error such as an
 * expired token or a 503 during a deploy), `follow` opens a new one after a backoff, resuming
 * after the last event it saw, so no event is missed or repeated.
 */
import type { SourcefileEvent, StepEvent } from "./events.js";

export type { SourcefileEvent, StepEvent, StepError } from "./events.js";

const CLOSED = 2;
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** What `follow` needs of an `EventSource` (the browser's, or the `eventsource` package's). */
export interface EventSourceLike {
  readonly readyState: number;
  onerror: ((event: Event) => unknown) | null;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface FollowOptions {
  /** Where the API is; `""` for the same origin. */
  baseUrl: string;
  /** The user's JWT, sent as `?access_token=` (an `EventSource` cannot send headers). */
  token?: () => string | undefined | Promise<string | undefined>;
  /** Resume after this event id (e.g. one stored before a page reload). */
  lastEventId?: number;
  onStep?: (event: StepEvent) => void;
  onSourcefile?: (event: SourcefileEvent) => void;
  /** Default: `globalThis.EventSource`. */
  EventSource?: EventSourceConstructor;
  /** First delay before reopening a stream the browser gave up on; doubles up to 30 s. */
  retryDelayMs?: number;
}

export interface Follower {
  /** Settles with the terminal `sourcefile` event. */
  done: Promise<SourcefileEvent>;
  /** The id of the last event received, to resume later. */
  lastEventId(): number | undefined;
  /** Stop following (`done` then never settles). */
  close(): void;
}

export function follow(sourcefileId: string, options: FollowOptions): Follower {
  const Source = options.EventSource ?? (globalThis.EventSource as EventSourceConstructor);
  if (!Source) throw new Error("no EventSource: pass options.EventSource (e.g. the 'eventsource' package)");
  let lastId = options.lastEventId;
  let source: EventSourceLike | undefined;
  let closed = false;
  let delay = options.retryDelayMs ?? 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finish: (event: SourcefileEvent) => void = () => {};
  const done = new Promise<SourcefileEvent>((resolve) => {
    finish = resolve;
  });

  const stop = () => {
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    source?.close();
  };

  const received = (event: MessageEvent<string>) => {
    if (event.lastEventId) lastId = Number(event.lastEventId);
    delay = options.retryDelayMs ?? 1000;
    return JSON.parse(event.data) as unknown;
  };

  const open = async () => {
    const query = new URLSearchParams();
    if (lastId !== undefined) query.set("last_event_id", String(lastId));
    const token = await options.token?.();
    if (token) query.set("access_token", token);
    if (closed) return;
    const path = `/api/sourcefiles/${encodeURIComponent(sourcefileId)}/events`;
    const url = `${options.baseUrl}${path}${query.size ? `?${query}` : ""}`;
    const current = new Source(url);
    source = current;
    current.addEventListener("step", (event) => options.onStep?.(received(event) as StepEvent));
    current.addEventListener("sourcefile", (event) => {
      const data = received(event) as SourcefileEvent;
      options.onSourcefile?.(data);
      if (TERMINAL.has(data.status)) {
        stop();
        finish(data);
      }
    });
    current.onerror = () => {
      // CONNECTING: the EventSource retries by itself with Last-Event-ID. CLOSED: it gave up.
      if (closed || current.readyState !== CLOSED) return;
      timer = setTimeout(() => void open(), delay);
      delay = Math.min(delay * 2, 30_000);
    };
  };

  void open();
  return { done, lastEventId: () => lastId, close: stop };
}
