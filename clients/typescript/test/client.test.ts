/**
 * Drives the client and the Svelte store example against a running langproc (LANGPROC_URL):
 * upload -> live events -> results. Run by tests/clients/test_typescript.py, which starts it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { EventSource } from "eventsource";
import { get } from "svelte/store";

import { uploadAndFollow } from "../example/sourcefileStore.js";
import { createLangprocClient, follow, type StepEvent } from "../src/index.js";

const baseUrl = process.env.LANGPROC_URL ?? "";
const client = createLangprocClient({ baseUrl });
const story = "Ο βασιλιάς είχε ένα μεγάλο σπίτι. Κάθε πρωί περπατούσε στον κήπο με τα παιδιά του.";

test("upload, follow every step live, read the results", async () => {
  const created = await client.POST("/api/sourcefiles", { body: { text: story, language: "el" } });
  assert.equal(created.response.status, 202);
  assert.ok(created.data);
  const steps: StepEvent[] = [];
  const follower = follow(created.data.id, { baseUrl, EventSource, onStep: (event) => steps.push(event) });
  const last = await follower.done;
  assert.equal(last.status, "succeeded");
  assert.deepEqual(last.progress, { completed: 8, total: 8 });
  assert.ok(steps.some((event) => event.step === "extract_words" && event.status === "succeeded"));
  assert.ok(follower.lastEventId()! > 0);

  const detail = await client.GET("/api/sourcefiles/{sourcefile_id}", {
    params: { path: { sourcefile_id: created.data.id } },
  });
  assert.equal(detail.data?.status, "succeeded");
  assert.equal(detail.data.text, story);
  assert.ok(detail.data.words.some((word) => word.wordform === "σπίτι"));
});

test("resuming after an event id replays only what came after it", async () => {
  const created = await client.POST("/api/sourcefiles", { body: { text: story, language: "el", title: "resume" } });
  assert.ok(created.data);
  const first: StepEvent[] = [];
  const whole = follow(created.data.id, { baseUrl, EventSource, onStep: (event) => first.push(event) });
  await whole.done;
  const cut = first.length >> 1;
  const seen: number[] = [];
  let after: number | undefined;
  const probe = follow(created.data.id, {
    baseUrl,
    EventSource,
    onStep: () => {
      seen.push(probe.lastEventId()!);
      if (seen.length === cut) after = probe.lastEventId();
    },
  });
  await probe.done;
  const resumed: number[] = [];
  const rest = follow(created.data.id, {
    baseUrl,
    EventSource,
    lastEventId: after!,
    onStep: () => resumed.push(rest.lastEventId()!),
  });
  await rest.done;
  assert.deepEqual(resumed, seen.slice(cut));
});

test("the Svelte store example ends with the results", async () => {
  const upload = uploadAndFollow(client, { text: story, language: "el", title: "store" }, { baseUrl, EventSource });
  assert.equal(get(upload).status, "uploading");
  const final = await upload.done;
  assert.equal(final.status, "succeeded");
  assert.equal(get(upload).result?.title, "store");
  assert.equal(final.steps["speak_text"], "succeeded");
});

test("a bad upload is an error with the server's message", async () => {
  const upload = uploadAndFollow(client, { text: story, language: "el", title: "x".repeat(600) }, { baseUrl, EventSource });
  await assert.rejects(upload.done, /title/);
  assert.equal(get(upload).status, "error");
});
