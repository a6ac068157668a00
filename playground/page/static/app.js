// The playground page: follows the server-sent events and turns clicks into API calls.
"use strict";

const MAX_CALL_ROWS = 400;
const NEAR_BOTTOM_PX = 80;
const DEFAULT_LOCATION = "52.52, 13.405";

const page = {
  people: new Map(), // id -> {name, role, root, chat, keyboard, composer}
  bubbles: new Map(), // "chat:id" -> element
  calls: new Map(), // index -> row
  botUsername: "",
  counts: { total: 0, tooMany: 0, failed: 0 },
};
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

// ---- talking to the server ----------------------------------------------------------------

async function post(path, body) {
  const init = { method: "POST" };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function toast(column, text) {
  const note = el("div", { className: "toast", textContent: text });
  (column ? column.root : document.body).append(note);
  setTimeout(() => note.remove(), 4000);
}

async function act(column, path, body) {
  try {
    return await post(path, body);
  } catch (error) {
    toast(column, error.message);
    return null;
  }
}

// ---- people and their chats ---------------------------------------------------------------

function column(person) {
  const existing = page.people.get(person.id);
  if (existing) return existing;
  const base = `/api/people/${person.id}`;
  const chat = el("div", { className: "chat" });
  const keyboard = el("div", { className: "keyboard" });
  const text = el("input", { name: "text", placeholder: "Message", autocomplete: "off" });
  text.setAttribute("aria-label", `Message from ${person.name}`);
  const photo = el("input", { type: "file", accept: "image/*", hidden: true });
  const voice = el("input", { type: "file", accept: "audio/*", hidden: true });
  const composer = el(
    "form",
    { className: "composer" },
    el("label", { className: "attach", title: "Send a photo (the text box is its caption)" }, "📷", photo),
    el("label", { className: "attach", title: "Send a voice note" }, "🎤", voice),
    text,
    el("button", { type: "submit", textContent: "Send" }),
  );
  const header = el(
    "header",
    {},
    el("b", { textContent: person.name }),
    el("small", { textContent: person.role || "" }),
  );
  const root = el("section", { className: "phone" }, header, chat, keyboard, composer);
  root.dataset.person = String(person.id);
  root.dataset.name = person.name;
  const col = { ...person, root, chat, keyboard, composer, base };
  page.people.set(person.id, col);
  $("people").append(root);
  $("empty").hidden = true;

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!text.value.trim()) return;
    if (await act(col, `${base}/send`, { text: text.value })) text.value = "";
  });
  photo.addEventListener("change", async () => {
    const form = new FormData();
    form.append("file", photo.files[0]);
    if (text.value.trim()) form.append("caption", text.value);
    if (await act(col, `${base}/photo`, form)) text.value = "";
    photo.value = "";
  });
  voice.addEventListener("change", async () => {
    const form = new FormData();
    form.append("file", voice.files[0]);
    form.append("duration", String(await durationOf(voice.files[0])));
    await act(col, `${base}/voice`, form);
    voice.value = "";
  });
  return col;
}

function durationOf(file) {
  return new Promise((resolve) => {
    const audio = new Audio();
    const url = URL.createObjectURL(file);
    const done = (seconds) => {
      URL.revokeObjectURL(url);
      resolve(Number.isFinite(seconds) && seconds >= 1 ? Math.min(Math.round(seconds), 3600) : 3);
    };
    audio.addEventListener("loadedmetadata", () => done(audio.duration));
    audio.addEventListener("error", () => done(NaN));
    audio.src = url;
  });
}

// ---- bubbles ----------------------------------------------------------------------------------

function bubble(message) {
  const col = page.people.get(message.chat);
  const ctx = { botUsername: page.botUsername };
  const node = el("div", { className: `bubble ${message.fromBot ? "bot" : "me"}` });
  node.dataset.key = `${message.chat}:${message.id}`;
  if (message.photo) node.append(el("img", { src: `/files/${encodeURIComponent(message.photo)}`, alt: "photo" }));
  for (const kind of ["voice", "audio"]) {
    if (message[kind]) {
      const audio = el("audio", { controls: true, preload: "none", src: `/files/${encodeURIComponent(message[kind].file)}` });
      node.append(audio);
    }
  }
  for (const kind of ["document", "video", "animation"]) {
    if (message[kind]) {
      node.append(el("a", {
        className: "file",
        href: `/files/${encodeURIComponent(message[kind].file)}`,
        textContent: `📎 ${message[kind].name || kind}`,
      }));
    }
  }
  if (message.location) {
    node.append(el("div", { className: "location", textContent: `📍 ${message.location.lat}, ${message.location.lon}` }));
  }
  const body = message.text !== null ? [message.text, message.entities] : [message.caption, message.captionEntities];
  if (body[0]) node.append(el("div", { className: "text" }, renderFormatted(body[0], body[1], ctx)));
  const time = new Date(message.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  node.append(el("div", { className: "meta", textContent: (message.edited ? "edited · " : "") + time }));
  if (message.buttons.length) {
    const rows = el("div", { className: "buttons" });
    for (const row of message.buttons) {
      const line = el("div", { className: "row" });
      for (const button of row) line.append(inlineButton(col, message, button));
      rows.append(line);
    }
    node.append(rows);
  }
  return node;
}

function inlineButton(col, message, button) {
  const node = el("button", { type: "button", textContent: button.text });
  node.addEventListener("click", async () => {
    if (button.data) {
      node.disabled = true;
      const result = await act(col, `${col.base}/press`, { messageId: message.id, data: button.data });
      node.disabled = false;
      if (result && result.answer && result.answer.text) toast(col, result.answer.text);
    } else if (button.url) {
      const link = el("a", { href: button.url });
      openLink(col, link, button.url);
    }
  });
  return node;
}

function showMessage(message) {
  const key = `${message.chat}:${message.id}`;
  const old = page.bubbles.get(key);
  const col = page.people.get(message.chat);
  if (!col) return;
  if (message.deleted) {
    if (old) old.remove();
    page.bubbles.delete(key);
    return;
  }
  const stick = col.chat.scrollHeight - col.chat.scrollTop - col.chat.clientHeight < NEAR_BOTTOM_PX;
  const fresh = bubble(message);
  if (old) old.replaceWith(fresh); // an edit, in place
  else col.chat.append(fresh);
  page.bubbles.set(key, fresh);
  if (stick || !message.fromBot) col.chat.scrollTop = col.chat.scrollHeight;
}

function showKeyboard(col, rows) {
  col.keyboard.replaceChildren();
  for (const row of rows || []) {
    const line = el("div", { className: "row" });
    for (const button of row) {
      const node = el("button", { type: "button", textContent: button.text });
      node.addEventListener("click", () => {
        if (!button.location) return act(col, `${col.base}/send`, { text: button.text });
        const answer = prompt("Share which place? (latitude, longitude)", DEFAULT_LOCATION);
        const [lat, lon] = (answer || "").split(",").map(Number);
        if (answer) act(col, `${col.base}/location`, { lat, lon });
      });
      line.append(node);
    }
    col.keyboard.append(line);
  }
}

// ---- links that open the bot: "open as" a person ----------------------------------------------

function openLink(col, link, url) {
  const payload = link.dataset.payload || (url && /[?&]start=([A-Za-z0-9_-]+)/.exec(url)?.[1]);
  if (!payload) {
    if (url && /^https?:\/\//.test(url)) window.open(url, "_blank", "noopener");
    return;
  }
  const menu = $("open-as");
  const choices = menu.querySelector(".choices");
  choices.replaceChildren();
  for (const other of page.people.values()) {
    if (other.id === col.id) continue;
    const pick = el("button", { type: "button", textContent: other.name });
    pick.addEventListener("click", () => {
      menu.hidden = true;
      act(other, `${other.base}/send`, { text: `/start ${payload}` });
    });
    choices.append(pick);
  }
  const name = el("input", { placeholder: "someone new", maxLength: 32 });
  const add = el("button", { type: "button", textContent: "Add and open" });
  add.addEventListener("click", async () => {
    const person = name.value.trim() && (await act(null, "/api/people", { name: name.value.trim() }));
    menu.hidden = true;
    if (person) act(null, `/api/people/${person.id}/send`, { text: `/start ${payload}` });
  });
  const cancel = el("button", { type: "button", textContent: "Cancel" });
  cancel.addEventListener("click", () => { menu.hidden = true; });
  choices.append(el("span", { className: "new" }, name, add), cancel);
  const box = link.getBoundingClientRect();
  menu.style.left = `${Math.min(box.left, window.innerWidth - 280)}px`;
  menu.style.top = `${box.bottom + window.scrollY + 4}px`;
  menu.hidden = false;
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a.start-link");
  if (!link) return;
  event.preventDefault();
  openLink(page.people.get(Number(link.closest(".phone").dataset.person)), link, null);
});

// ---- the timeline of Bot API calls -------------------------------------------------------------

function statusText(call) {
  if (call.status === null) return "…";
  if (call.status === 0) return "dropped";
  if (call.status === 200) return "ok";
  const retry = /retry after (\d+)/.exec(call.error);
  return retry ? `${call.status} retry ${retry[1]}s` : String(call.status);
}

function showCall(call) {
  const who = page.people.get(call.chat);
  const cells = [
    `${Math.floor(call.t / 60)}:${(call.t % 60).toFixed(1).padStart(4, "0")}`,
    call.method,
    who ? who.name : call.chat ?? "",
    statusText(call),
  ];
  const row = el("tr", { title: call.error || "" }, ...cells.map((c) => el("td", { textContent: String(c) })));
  row.className = [
    call.method === "getUpdates" ? "poll" : "",
    call.status === 429 ? "s429" : call.status === null ? "pending" : call.status === 200 ? "ok" : "failed",
  ].join(" ");
  const old = page.calls.get(call.i);
  if (old) old.replaceWith(row);
  else {
    page.counts.total += 1;
    const tbody = $("calls");
    const scroller = tbody.closest(".calls-scroll");
    const stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
    tbody.append(row);
    while (tbody.rows.length > MAX_CALL_ROWS) {
      page.calls.delete(Number(tbody.rows[0].dataset.index));
      tbody.rows[0].remove();
    }
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  }
  if (call.status === 429) page.counts.tooMany += 1;
  else if (call.status !== null && call.status !== 200) page.counts.failed += 1;
  row.dataset.index = String(call.i);
  page.calls.set(call.i, row);
}

// ---- applying an update from the server ----------------------------------------------------------

function reset(update) {
  for (const col of page.people.values()) col.root.remove();
  page.people.clear();
  page.bubbles.clear();
  page.calls.clear();
  page.counts = { total: 0, tooMany: 0, failed: 0 };
  $("calls").replaceChildren();
  $("empty").hidden = false;
  page.botUsername = update.botUsername || "";
  $("timings").replaceChildren(
    "Demo timings: ",
    ...update.timings.flatMap((t, k) => [
      k ? " · " : "",
      el("span", { title: t.name, textContent: `${t.meaning}: ${t.value} min` }),
    ]),
    ". Change one in .env, e.g. ",
    el("code", { textContent: `PLAYGROUND_${update.timings[0].name}=${update.timings[0].value}` }),
    ".",
  );
}

function showBot(bot) {
  const status = $("bot-status");
  status.dataset.status = bot.status;
  status.textContent = {
    starting: "bot starting…", running: "bot running", stopping: "bot stopping…",
    stopped: "bot stopped", exited: `bot exited (code ${bot.exitCode})`,
  }[bot.status] || bot.status;
  $("bot-log").hidden = !bot.log.length;
  $("bot-log").textContent = bot.log.join("\n");
}

function showDemo(demo) {
  $("demo").disabled = demo.state === "running" || demo.state === "done";
  $("demo-step").textContent = demo.state === "failed" ? `The demo family could not be set up: ${demo.error}` : demo.step;
}

function apply(update) {
  if (update.reset) reset(update);
  for (const person of update.people || []) column(person);
  for (const message of update.messages || []) showMessage(message);
  for (const [id, rows] of Object.entries(update.keyboards || {})) {
    const col = page.people.get(Number(id));
    if (col) showKeyboard(col, rows);
  }
  for (const call of update.calls || []) showCall(call);
  if (update.calls) {
    const c = page.counts;
    $("call-summary").textContent = `${c.total} calls · ${c.tooMany} × 429 · ${c.failed} failed`;
  }
  if (update.switches) {
    for (const box of document.querySelectorAll("[data-switch]")) box.checked = update.switches[box.dataset.switch];
  }
  if (update.bot) showBot(update.bot);
  if (update.demo) showDemo(update.demo);
}

// ---- wiring ------------------------------------------------------------------------------------------

function connect() {
  const source = new EventSource("/events");
  source.onmessage = (event) => apply(JSON.parse(event.data));
  source.onopen = () => { $("connection").hidden = true; };
  source.onerror = () => { $("connection").hidden = false; };
}

$("demo").addEventListener("click", () => act(null, "/api/demo"));
$("add-person").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.name;
  if (await act(null, "/api/people", { name: input.value.trim() })) input.value = "";
});
for (const box of document.querySelectorAll("[data-switch]")) {
  box.addEventListener("change", () => act(null, "/api/switches", { [box.dataset.switch]: box.checked }));
}
$("show-polls").addEventListener("change", (event) => {
  $("calls").classList.toggle("hide-polls", !event.target.checked);
});
connect();
