// The built-in page: upload, a live list, and one sourcefile's results. No framework, no build.

const TOKEN_KEY = "langproc.token";
const LANGUAGE_KEY = "langproc.language";
const ACTIVE = new Set(["queued", "processing"]);
const RETRYABLE = new Set(["failed", "cancelled"]);
// Which step fills which section of the detail view, to say why a section is empty.
const PRODUCER = {
  text: "transcribe", translation: "translate", words: "extract_words",
  phrases: "extract_phrases", lemmas: "describe_lemmas", sentences: "generate_sentences",
  audio: "speak_text",
};

const $ = (selector) => document.querySelector(selector);
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  items: [], nextCursor: null, loaded: 50,
  current: null, rendered: {}, listSeq: 0, detailSeq: 0,
  events: null, lastEventId: null, retryDelay: 1000, dirty: new Set(), flushTimer: null,
};

/** h("a", {href: "#"}, "text", child): an element; attributes starting with "on" are listeners. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "className") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return element;
}

// --- the API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

/** The event stream's URL: EventSource cannot send headers, so streams take ?access_token=. */
function withToken(url) {
  if (!state.token) return url;
  return `${url}${url.includes("?") ? "&" : "?"}access_token=${encodeURIComponent(state.token)}`;
}

/** An <img> or <audio> of an API URL; under auth its bytes are fetched with the header (the
 * server takes ?access_token= only on event streams, so the token never lands in access logs). */
function media(tag, url, attributes) {
  if (!state.token) return h(tag, { ...attributes, src: url });
  const element = h(tag, attributes);
  fetch(url, { headers: { Authorization: `Bearer ${state.token}` } })
    .then((response) => (response.ok ? response.blob() : null))
    .then((blob) => { if (blob) element.src = URL.createObjectURL(blob); })
    .catch(() => {});
  return element;
}

/** The message of an error answer: `detail` as a string, or FastAPI's list of field errors. */
function describe(body, response) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    const field = (error) => (error.loc || []).slice(1).join(".") || "request";
    return detail.map((error) => `${field(error)}: ${error.msg}`).join("; ");
  }
  return `${response.status} ${response.statusText}`.trim();
}

async function api(path, { method = "GET", json, body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (state.token) init.headers.Authorization = `Bearer ${state.token}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) $("#auth").open = true;
    throw new ApiError(describe(data, response), response.status);
  }
  return data;
}

function showError(element, error) {
  element.textContent = error ? error.message || String(error) : "";
  element.hidden = !error;
}

// --- small formatting helpers --------------------------------------------------------------

const languageNames = new Intl.DisplayNames([navigator.language, "en"], { type: "language" });

function languageName(code) {
  try { return languageNames.of(code) || code; } catch { return code; }
}

function when(iso) {
  const options = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  return iso ? new Date(iso).toLocaleString([], options) : "";
}

function badge(status) {
  return h("span", { className: `badge ${status}` }, status);
}

function progress({ completed, total }) {
  return h("span", { className: "progress" },
    h("progress", {
      value: completed, max: total || 1, "aria-label": `${completed} of ${total} steps done`,
    }),
    h("span", { className: "count" }, `${completed}/${total}`));
}

function titleOf(item) {
  return item.title || `Untitled ${item.kind}`;
}

// --- upload --------------------------------------------------------------------------------

function setupUpload() {
  const form = $("#upload");
  for (const select of [$("#language"), $("#native_language")]) {
    for (const option of select.options) {
      if (option.value) option.textContent = `${languageName(option.value)} (${option.value})`;
    }
  }
  $("#native_language").prepend(h("option", { value: "", selected: true }, "Server default"));
  $("#native_language").value = "";
  $("#language").value = localStorage.getItem(LANGUAGE_KEY) || "";
  form.addEventListener("change", (event) => {
    if (event.target.name !== "source") return;
    const text = form.elements.source.value === "text";
    $("#text-field").hidden = !text;
    $("#file-field").hidden = text;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    upload(form);
  });
}

async function upload(form) {
  const error = $("#upload-error");
  const button = form.querySelector("button[type=submit]");
  const fields = form.elements;
  const language = fields.language.value;
  const native = fields.native_language.value;
  const title = fields.title.value.trim();
  showError(error, null);
  if (!language) {
    fields.language.focus();
    return showError(error, new Error("Choose the language the text is written in."));
  }
  let request;
  if (fields.source.value === "text") {
    const text = fields.text.value;
    if (!text.trim()) return showError(error, new Error("Paste a text to study first."));
    const json = { text, language };
    json.title = title || text.trim().split(/\s+/).slice(0, 8).join(" ").slice(0, 80);
    if (native) json.native_language = native;
    request = { json };
  } else {
    const file = fields.file.files[0];
    if (!file) return showError(error, new Error("Choose a photo or a .txt file first."));
    const body = new FormData();
    body.append("file", file);
    body.append("language", language);
    if (native) body.append("native_language", native);
    if (title) body.append("title", title);
    request = { body };
  }
  button.disabled = true;
  try {
    const created = await api("/api/sourcefiles", { method: "POST", ...request });
    localStorage.setItem(LANGUAGE_KEY, language);
    upsert(created);
    fields.file.value = "";
    fields.text.value = "";
    fields.title.value = "";
  } catch (failure) {
    showError(error, failure);
  } finally {
    button.disabled = false;
  }
}

// --- the list ------------------------------------------------------------------------------

async function loadList() {
  const seq = ++state.listSeq;  // a slow answer must not overwrite a newer one
  try {
    const page = await api(`/api/sourcefiles?limit=${Math.min(200, state.loaded)}`);
    if (seq !== state.listSeq) return;
    state.items = page.items;
    state.nextCursor = page.next_cursor;
    // Follow changes from this listing on, rather than replaying the whole history.
    if (!state.lastEventId) state.lastEventId = String(page.last_event_id);
    showError($("#list-error"), null);
  } catch (failure) {
    if (seq !== state.listSeq) return;
    const hint = failure.status === 401 ? " Paste an access token under “Access token”." : "";
    showError($("#list-error"), new Error(failure.message + hint));
  }
  renderList();
}

async function loadMore() {
  const cursor = encodeURIComponent(state.nextCursor);
  const page = await api(`/api/sourcefiles?limit=50&cursor=${cursor}`);
  state.items.push(...page.items);
  state.loaded = state.items.length;
  state.nextCursor = page.next_cursor;
  renderList();
}

function upsert(item) {
  const index = state.items.findIndex((i) => i.id === item.id);
  if (index >= 0) state.items[index] = { ...state.items[index], ...item };
  else state.items.unshift(item);
  renderList();
}

function renderList() {
  const rows = state.items.map((item) => {
    const current = item.id === state.current;
    const meta = `${languageName(item.language)} · ${item.kind} · ${when(item.created_at)}`;
    const link = { href: `#/sourcefiles/${item.id}`, "aria-current": current && "page" };
    return h("tr", { "data-id": item.id, "data-status": item.status, className: current && "current" },
      h("td", {}, h("a", link, titleOf(item)), h("span", { className: "meta" }, meta)),
      h("td", {}, badge(item.status)),
      h("td", {}, progress(item.progress)));
  });
  $("#rows").replaceChildren(...rows);
  $("#list-empty").hidden = state.items.length > 0 || !$("#list-error").hidden;
  $("#more").hidden = !state.nextCursor;
}

// --- live events ---------------------------------------------------------------------------

function connect() {
  if (state.events) state.events.close();
  const after = state.lastEventId ? `?last_event_id=${state.lastEventId}` : "";
  const events = new EventSource(withToken(`/api/events${after}`));
  state.events = events;
  events.onopen = () => {
    state.retryDelay = 1000;
    setLive("Live", "on");
  };
  events.onerror = () => {
    if (events.readyState !== EventSource.CLOSED) return setLive("Reconnecting…", "off");
    // Closed for good (an HTTP error such as 401): try again later, resuming where we were.
    setLive("Offline, retrying…", "off");
    setTimeout(() => { if (state.events === events) connect(); }, state.retryDelay);
    state.retryDelay = Math.min(state.retryDelay * 2, 60000);
  };
  for (const type of ["step", "sourcefile"]) {
    events.addEventListener(type, (event) => {
      state.lastEventId = event.lastEventId;
      state.dirty.add(JSON.parse(event.data).sourcefile_id);
      clearTimeout(state.flushTimer);
      state.flushTimer = setTimeout(flush, 200);
    });
  }
}

function setLive(text, mode) {
  const live = $("#live");
  live.textContent = text;
  live.dataset.mode = mode;
}

/** Events say what changed; one list request (and the open detail) bring the new state. */
function flush() {
  const dirty = state.dirty;
  state.dirty = new Set();
  loadList();
  if (state.current && dirty.has(state.current)) loadDetail(state.current);
}

// --- one sourcefile ------------------------------------------------------------------------

async function openDetail(id) {
  state.current = id;
  state.rendered = {};
  renderList();
  const detail = $("#detail");
  if (!id) {
    detail.replaceChildren(
      h("h2", { id: "detail-title" }, "Results"),
      h("p", { className: "muted" }, "Choose a sourcefile to see its steps, words and audio."));
    return;
  }
  detail.replaceChildren(h("h2", { id: "detail-title" }, "Loading…"));
  await loadDetail(id);
  // Screen readers and keyboards go to the results; the page scrolls only if they are out of view.
  detail.focus({ preventScroll: true });
  const top = detail.getBoundingClientRect().top;
  if (top < 0 || top > innerHeight * 0.8) detail.scrollIntoView();
}

async function loadDetail(id) {
  const seq = ++state.detailSeq;
  try {
    const sourcefile = await api(`/api/sourcefiles/${id}`);
    if (state.current !== id || seq !== state.detailSeq) return;
    upsert(sourcefile);
    renderDetail(sourcefile);
  } catch (failure) {
    if (state.current !== id || seq !== state.detailSeq) return;
    $("#detail").replaceChildren(
      h("h2", { id: "detail-title" }, "Not available"),
      h("p", { className: "error", role: "alert" }, failure.message));
  }
}

/** A button's request; says what went wrong under the title. True when it worked. */
async function act(label, path, options = {}) {
  const error = $("#detail-error");
  showError(error, null);
  try {
    await api(path, { method: "POST", ...options });
  } catch (failure) {
    showError(error, new Error(`${label}: ${failure.message}`));
    return false;
  }
  if (options.method !== "DELETE") await loadDetail(state.current);
  return true;
}

async function remove(sourcefile) {
  if (!confirm(`Delete “${titleOf(sourcefile)}” with all its results?`)) return;
  if (!(await act("Delete", `/api/sourcefiles/${sourcefile.id}`, { method: "DELETE" }))) return;
  state.items = state.items.filter((i) => i.id !== sourcefile.id);
  location.hash = "";
}

const SECTIONS = {
  head: (sf) => {
    const base = `/api/sourcefiles/${sf.id}`;
    const canRetry = sf.steps.some((step) => RETRYABLE.has(step.status));
    const languages = `${languageName(sf.language)} → ${languageName(sf.native_language)}`;
    return [
      h("h2", { id: "detail-title" }, titleOf(sf)),
      h("p", { className: "meta" }, `${languages} · ${sf.kind} · ${when(sf.created_at)}`),
      h("div", { className: "actions" }, badge(sf.status), progress(sf.progress),
        canRetry && button("Retry failed steps", () => act("Retry", `${base}/retry`)),
        ACTIVE.has(sf.status) && button("Cancel", () => act("Cancel", `${base}/cancel`)),
        button("Delete", () => remove(sf), { className: "danger" })),
      h("p", { id: "detail-error", className: "error", role: "alert", hidden: true }),
    ];
  },
  steps: (sf) => [h("h3", {}, "Steps"), stepsTable(sf)],
  audio: (sf) => [h("h3", {}, "Audio of the text"), sf.audio_url
    ? media("audio", sf.audio_url, { controls: true, preload: "metadata" })
    : pending(sf, "audio")],
  image: (sf) => sf.kind === "image" && [h("h3", {}, "Page"), media("img",
    `/api/sourcefiles/${sf.id}/image`,
    { className: "page", alt: `The uploaded page of “${titleOf(sf)}”` })],
  texts: (sf) => h("div", { className: sf.translation ? "texts pair" : "texts" },
    h("div", {}, h("h3", {}, "Text"),
      sf.text ? paragraphs(sf.text, sf.language) : pending(sf, "text")),
    h("div", {}, h("h3", {}, "Translation"),
      sf.translation
        ? paragraphs(sf.translation, sf.native_language) : pending(sf, "translation"))),
  words: (sf) => [h("h3", {}, `Words (${sf.words.length})`), sf.words.length
    ? table("Words", sf.words, sf.language, [
      ["wordform", "Word", true], ["lemma", "Lemma", true], ["part_of_speech", "Part of speech"],
      ["inflection", "Inflection"], ["translations", "Translations"],
      ["centrality", "Centrality", false, (v) => v.toFixed(2)],
      ["frequency", "Zipf frequency", false, (v) => v.toFixed(1)]])
    : pending(sf, "words")],
  phrases: (sf) => [h("h3", {}, `Phrases (${sf.phrases.length})`), sf.phrases.length
    ? h("dl", { className: "phrases" }, sf.phrases.map((p) => [
      h("dt", { lang: sf.language }, p.phrase),
      h("dd", {}, p.translations.join(", "),
        p.literal_translation && ` (literally “${p.literal_translation}”)`,
        p.notes && h("span", { className: "meta" }, p.notes))]))
    : pending(sf, "phrases")],
  lemmas: (sf) => [h("h3", {}, `Lemmas (${sf.lemmas.length})`), sf.lemmas.length
    ? table("Lemmas", sf.lemmas, sf.language, [
      ["lemma", "Lemma", true], ["part_of_speech", "Part of speech"],
      ["translations", "Translations"], ["cefr_level", "CEFR"], ["register", "Register"],
      ["etymology", "Etymology"], ["mnemonic", "Mnemonic"], ["synonyms", "Synonyms", true],
      ["frequency", "Zipf frequency", false, (v) => v.toFixed(1)]])
    : pending(sf, "lemmas")],
  sentences: (sf) => [h("h3", {}, `Example sentences (${sf.sentences.length})`), sf.sentences.length
    ? h("ol", { className: "sentences" }, sf.sentences.map((s) => h("li", {},
      h("p", { lang: sf.language, className: "sentence" }, s.sentence),
      h("p", { className: "meta" }, [s.translation, s.cefr_level, s.lemmas.join(", ")]
        .filter(Boolean).join(" · ")),
      s.audio_url && media("audio", s.audio_url, { controls: true, preload: "none" }))))
    : pending(sf, "sentences")],
  usage: ({ usage }) => h("p", { className: "meta usage" },
    `Usage: ${usage.llm_calls} LLM calls, ${usage.input_tokens} input and ` +
    `${usage.output_tokens} output tokens, ${usage.tts_characters} characters spoken.`),
};

function renderDetail(sf) {
  const detail = $("#detail");
  if (!detail.querySelector("[data-section]")) {
    const containers = Object.keys(SECTIONS).map((name) => h("div", { "data-section": name }));
    detail.replaceChildren(...containers);
  }
  for (const [name, render] of Object.entries(SECTIONS)) {
    const content = [render(sf)].flat().filter(Boolean);
    const html = content.map((node) => node.outerHTML).join("");
    // Replace a section only when it changed, so that a playing <audio> goes on playing.
    if (state.rendered[name] === html) continue;
    state.rendered[name] = html;
    detail.querySelector(`[data-section=${name}]`).replaceChildren(...content);
  }
}

function button(label, onclick, attributes = {}) {
  return h("button", { type: "button", onclick, ...attributes }, label);
}

function stepsTable(sf) {
  const headings = ["Step", "Status", "Attempts", "Note", ""];
  const url = `/api/sourcefiles/${sf.id}/retry`;
  const retry = (name) => act("Retry", url, { json: { steps: [name] } });
  return h("table", { className: "steps" },
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, sf.steps.map((step) => h("tr", { "data-step": step.name },
      h("th", { scope: "row" }, step.name.replaceAll("_", " ")),
      h("td", {}, badge(step.status)),
      h("td", { className: "number" }, String(step.attempts)),
      h("td", { className: step.status === "failed" ? "note error" : "note" }, note(step)),
      h("td", {}, RETRYABLE.has(step.status) && button("Retry", () => retry(step.name),
        { className: "small", "aria-label": `Retry ${step.name}` }))))));
}

function note(step) {
  const message = step.error ? step.error.message : "";
  if (step.status !== "retrying" || !step.next_attempt_at) return message;
  return `${message} Next attempt at ${when(step.next_attempt_at)}.`.trim();
}

/** A section's placeholder: why it is empty, from the step that fills it. */
function pending(sf, name) {
  const step = sf.steps.find((s) => s.name === PRODUCER[name]);
  return h("p", { className: "muted" }, whyEmpty(sf, step));
}

function whyEmpty(sf, step) {
  if (!step || step.status === "succeeded") return "None.";
  const label = step.name.replaceAll("_", " ");
  if (step.status === "skipped" || RETRYABLE.has(step.status)) {
    return `Not available: ${label} ${step.status} (see Steps).`;
  }
  if (!ACTIVE.has(sf.status)) return "Not available: an earlier step did not finish.";
  return `Not yet: ${label} is ${step.status}.`;
}

function paragraphs(text, lang) {
  return h("div", { className: "prose", lang }, text.split(/\n{2,}/).map((p) => h("p", {}, p)));
}

function isEmpty(value) {
  return value == null || value === "" || value === 0 || (Array.isArray(value) && !value.length);
}

/** A scrollable table of the columns that have any value: [key, label, inLanguage?, format?]. */
function table(label, rows, lang, columns) {
  const shown = columns.filter(([key]) => rows.some((row) => !isEmpty(row[key])));
  const numeric = (key) => typeof rows[0][key] === "number";
  const cell = (row, [key, , inLanguage, format]) => {
    const value = row[key];
    const text = Array.isArray(value) ? value.join(", ") : format ? format(value) : value;
    return h("td", { lang: inLanguage && lang, className: numeric(key) && "number" }, text ?? "");
  };
  return h("div", { className: "scroll", tabindex: "0", role: "region", "aria-label": label },
    h("table", {},
      h("thead", {}, h("tr", {}, shown.map(([key, heading]) =>
        h("th", { scope: "col", className: numeric(key) && "number" }, heading)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, shown.map((column) => cell(row, column)))))));
}

// --- start ---------------------------------------------------------------------------------

function setupToken() {
  const input = $("#token");
  input.value = state.token;
  const use = (token) => {
    state.token = token;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    state.lastEventId = null;
    connect();
    loadList();
    if (state.current) openDetail(state.current);
  };
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    use(input.value.trim());
  });
  $("#token-clear").addEventListener("click", () => {
    input.value = "";
    use("");
  });
}

function route() {
  const match = location.hash.match(/^#\/sourcefiles\/([0-9a-f-]{36})$/i);
  openDetail(match ? match[1] : null);
}

setupUpload();
setupToken();
$("#more").addEventListener("click", () => loadMore().catch((e) => showError($("#list-error"), e)));
window.addEventListener("hashchange", route);
loadList().finally(connect);
route();
