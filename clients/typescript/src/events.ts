/** The JSON `data` of the server-sent events (see docs/api.md, "Events"). */
import type { components } from "./schema.js";

type Schemas = components["schemas"];

export interface StepError {
  type: string;
  message: string;
  retryable: boolean;
}

/** `event: step` — one step changed state. */
export interface StepEvent {
  sourcefile_id: string;
  step: string;
  status: Schemas["StepStatus"];
  attempt: number;
  at: string;
  error: StepError | null;
  progress: Schemas["Progress"];
}

/** `event: sourcefile` — the sourcefile changed state. */
export interface SourcefileEvent {
  sourcefile_id: string;
  status: Schemas["SourcefileStatus"];
  at: string;
  progress: Schemas["Progress"];
}
