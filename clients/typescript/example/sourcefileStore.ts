/**
 * A Svelte store that uploads a text or a photo, follows its events and ends with the results.
 *
 *   const upload = uploadAndFollow(client, { text, language: "el" }, { baseUrl: "" });
 *   $upload.progress  // {completed, total}, updated live
 *   $upload.steps     // step name -> status
 *   $upload.result    // the whole sourcefile once it is finished
 */
import { writable, type Readable } from "svelte/store";

import {
  follow,
  type FollowOptions,
  type LangprocClient,
  type paths,
  type Progress,
  type Sourcefile,
  type StepStatus,
} from "../src/index.js";

export interface UploadState {
  id?: string;
  status: Sourcefile["status"] | "uploading" | "error";
  progress: Progress;
  steps: Record<string, StepStatus>;
  result?: Sourcefile;
  error?: string;
}

type Create = paths["/api/sourcefiles"]["post"]["requestBody"]["content"];
type TextUpload = Create["application/json"];
type FileUpload = Omit<TextUpload, "text"> & { file: Blob; filename: string };
export type Upload = TextUpload | FileUpload;

export function uploadAndFollow(
  client: LangprocClient,
  upload: Upload,
  options: Omit<FollowOptions, "onStep" | "onSourcefile">,
): Readable<UploadState> & { done: Promise<UploadState> } {
  const store = writable<UploadState>({ status: "uploading", progress: { completed: 0, total: 8 }, steps: {} });
  const run = async (): Promise<UploadState> => {
    const created = await create(client, upload);
    if (!created.data) {
      store.set({ status: "error", progress: { completed: 0, total: 8 }, steps: {}, error: detail(created.error) });
      throw new Error(detail(created.error));
    }
    const id = created.data.id;
    store.set({
      id,
      status: created.data.status,
      progress: created.data.progress,
      steps: Object.fromEntries(created.data.steps.map((step) => [step.name, step.status])),
    });
    const follower = follow(id, {
      ...options,
      onStep: (event) =>
        store.update((state) => ({ ...state, progress: event.progress, steps: { ...state.steps, [event.step]: event.status } })),
      onSourcefile: (event) => store.update((state) => ({ ...state, status: event.status, progress: event.progress })),
    });
    await follower.done;
    const final = await client.GET("/api/sourcefiles/{sourcefile_id}", { params: { path: { sourcefile_id: id } } });
    if (!final.data) throw new Error(detail(final.error));
    let last!: UploadState;
    store.update((state) => (last = { ...state, status: final.data.status, progress: final.data.progress, result: final.data }));
    return last;
  };
  return { subscribe: store.subscribe, done: run() };
}

async function create(client: LangprocClient, upload: Upload) {
  if ("text" in upload) return client.POST("/api/sourcefiles", { body: upload });
  const { file, filename, ...fields } = upload;
  const form = new FormData();
  form.set("file", file, filename);
  for (const [key, value] of Object.entries(fields)) if (value) form.set(key, String(value));
  // The generated type describes the multipart fields; what is sent is the FormData itself.
  const body = { ...fields, file: filename } as Create["multipart/form-data"];
  return client.POST("/api/sourcefiles", { body, bodySerializer: () => form });
}

function detail(error: unknown): string {
  const value = (error as { detail?: unknown } | undefined)?.detail;
  return typeof value === "string" ? value : JSON.stringify(value ?? error);
}
