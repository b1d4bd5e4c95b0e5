// The sandbox chat page: plays one Telegram user talking to the bot through the
// emulator's /sandbox client API. New bot messages arrive by long polling.
"use strict";

const $ = (selector) => document.querySelector(selector);
const view = {
  chat: $("#chat"),
  persona: $("#persona"),
  status: $("#bot-status"),
  text: $("#text"),
  toast: $("#toast"),
  keyboard: $("#keyboard"),
  commands: $("#commands"),
  tools: $("#tools"),
  startBox: $("#start-box"),
  blocked: $("#blocked-banner"),
  newUser: $("#new-user"),
};
const NEW_USER = "__new__";
const state = {
  userId: null,
  user: null,
  version: -1,
  poll: null,
  seenAnswers: new Set(),
  pending: new Set(),
  typingTimer: null,
  toastTimer: null,
};

async function api(method, path, body, signal) {
  const options = { method, signal, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch("/sandbox" + path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function showToast(text, isError = false) {
  view.toast.textContent = text;
  view.toast.className = isError ? "toast error" : "toast";
  view.toast.hidden = false;
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(() => { view.toast.hidden = true; }, isError ? 5000 : 2500);
}

function safeHref(url) {
  return /^(https?:|tg:|mailto:)/i.test(url) ? url : null;
}

// ---------------------------------------------------------------- users

async function loadUsers(selectId) {
  const info = await api("GET", "/info");
  $("#bot-name").textContent = info.bot.first_name;
  document.title = `${info.bot.first_name} · sandbox chat`;
  const personaRoles = new Map(info.personas.map((p) => [p.user_id, p.role]));
  state.startParameters = new Map(info.personas.map((p) => [p.user_id, p.start_parameter]));
  view.persona.replaceChildren();
  for (const user of info.users) {
    const role = user.role || personaRoles.get(user.id) || "Test user";
    const name = [user.first_name, user.last_name].filter(Boolean).join(" ");
    const label = `${name} (${role}${user.language_code ? ", " + user.language_code : ""})`;
    view.persona.append(el("option", { value: user.id }, label));
  }
  view.persona.append(el("option", { value: NEW_USER }, "➕ New test user…"));
  const remembered = Number(selectId || localStorage.getItem("sandbox-user"));
  const known = info.users.some((u) => u.id === remembered);
  const chosen = known ? remembered : info.users.length ? info.users[0].id : null;
  if (chosen === null) {
    view.persona.value = NEW_USER;
    view.newUser.hidden = false;
    return;
  }
  view.persona.value = String(chosen);
  selectUser(chosen);
}

function selectUser(userId) {
  if (state.poll) state.poll.abort();
  state.userId = userId;
  state.version = -1;
  state.seenAnswers = null; // answers already in the chat are not announced again
  localStorage.setItem("sandbox-user", String(userId));
  view.chat.replaceChildren(el("div", { class: "empty" }, "Loading…"));
  view.tools.hidden = true;
  view.commands.hidden = true;
  pollLoop(userId);
}

async function createUser(form) {
  const data = Object.fromEntries(new FormData(form).entries());
  const user = await api("POST", "/users", {
    first_name: data.first_name.trim(),
    last_name: data.last_name.trim() || null,
    language_code: data.language_code,
    role: data.role.trim() || null,
  });
  form.reset();
  view.newUser.hidden = true;
  await loadUsers(user.id);
}

// ---------------------------------------------------------------- polling

async function pollLoop(userId) {
  const controller = new AbortController();
  state.poll = controller;
  while (state.userId === userId && !controller.signal.aborted) {
    try {
      const path = `/chats/${userId}/messages?since_version=${state.version}&wait=25`;
      const data = await api("GET", path, undefined, controller.signal);
      if (state.userId !== userId) return;
      if (data.version !== state.version) {
        state.version = data.version;
        render(data);
      }
      view.status.textContent = data.chat_action ? "typing…" : "sandbox · online";
    } catch (error) {
      if (controller.signal.aborted) return;
      view.status.textContent = "offline, retrying…";
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
}

// ---------------------------------------------------------------- rendering

function render(data) {
  state.user = data.user;
  const atBottom = view.chat.scrollHeight - view.chat.scrollTop - view.chat.clientHeight < 60;
  const firstRender = state.seenAnswers === null;
  if (firstRender) state.seenAnswers = new Set();

  const rows = data.messages.map(renderMessage);
  view.chat.replaceChildren(
    ...(rows.length ? rows : [el("div", { class: "empty" }, "No messages yet. Press START to begin.")]),
  );
  if (atBottom || firstRender) view.chat.scrollTop = view.chat.scrollHeight;

  for (const message of data.messages) {
    for (const query of message.callback_queries) {
      if (!query.answered || state.seenAnswers.has(query.id)) continue;
      state.seenAnswers.add(query.id);
      state.pending.delete(query.id);
      if (firstRender) continue;
      const answer = query.answer;
      if (answer.text && answer.show_alert) window.alert(answer.text);
      else if (answer.text) showToast(answer.text);
      if (answer.url && safeHref(answer.url)) window.open(answer.url, "_blank", "noopener");
    }
  }

  view.blocked.hidden = !data.user.blocked;
  view.startBox.hidden = data.user.blocked || data.messages.length > 0;
  $('[data-tool="block"]').textContent = data.user.blocked ? "✅ Unblock bot" : "⛔ Block bot";
  renderReplyKeyboard(data.reply_keyboard);
  clearTimeout(state.typingTimer);
  if (data.chat_action) {
    state.typingTimer = setTimeout(() => { view.status.textContent = "sandbox · online"; }, 5000);
  }
}

function renderMessage(message) {
  const mine = !message.from_bot;
  const bubble = el("div", { class: "bubble" + (message.deleted ? " deleted" : ""), dir: "auto" });
  if (message.reply_to_message_id) {
    const quoted = message.telegram.reply_to_message || {};
    bubble.append(el("div", { class: "reply-quote", dir: "auto" }, quoted.text || quoted.caption || "…"));
  }
  const media = renderMedia(message);
  if (media) bubble.append(media);
  const body = message.text ?? message.caption;
  if (body) bubble.append(el("div", { class: "body" }, renderText(body, message.entities)));
  if (message.deleted) bubble.append(el("span", { class: "deleted-note" }, "deleted"));
  const time = new Date(message.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  bubble.append(el("span", { class: "meta" }, (message.edited ? "edited · " : "") + time));
  const row = el("div", { class: "row " + (mine ? "me" : "bot"), "data-id": message.message_id }, bubble);
  if (message.buttons.length && !message.deleted) row.append(renderInlineKeyboard(message));
  return row;
}

function renderMedia(message) {
  const media = message.media;
  if (message.location) {
    const { latitude, longitude } = message.location;
    const href = `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=15/${latitude}/${longitude}`;
    return el("a", { class: "file-link", href, target: "_blank", rel: "noopener" },
      el("span", { class: "icon" }, "📍"), `${latitude.toFixed(5)}, ${longitude.toFixed(5)}`);
  }
  if (message.contact) {
    const c = message.contact;
    return el("div", { class: "file-link" }, el("span", { class: "icon" }, "👤"),
      `${[c.first_name, c.last_name].filter(Boolean).join(" ")} · ${c.phone_number}`);
  }
  if (!media) return null;
  if (media.kind === "photo") {
    return el("img", {
      class: "photo", src: media.url, alt: message.caption || "Photo", width: media.width, height: media.height,
    });
  }
  if (media.kind === "sticker") return el("div", { class: "sticker", title: "Sticker" }, media.emoji || "🖼");
  const icon = { voice: "🎤", audio: "🎵", video: "🎬", document: "📄" }[media.kind] || "📎";
  const size = media.file_size ? ` · ${formatSize(media.file_size)}` : "";
  const duration = media.duration ? ` · ${media.duration} s` : "";
  const label = media.file_name || { voice: "Voice message", audio: "Audio", video: "Video" }[media.kind] || "File";
  return el("a", { class: "file-link", href: media.url, download: media.file_name || true, target: "_blank" },
    el("span", { class: "icon" }, icon), label + duration + size);
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// Entities use UTF-16 offsets, which is exactly how JavaScript indexes strings.
function renderText(text, entities) {
  const fragment = document.createDocumentFragment();
  const cuts = new Set([0, text.length]);
  for (const e of entities) {
    cuts.add(e.offset);
    cuts.add(e.offset + e.length);
  }
  const points = [...cuts].filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
  for (let i = 0; i < points.length - 1; i++) {
    const [start, end] = [points[i], points[i + 1]];
    let node = document.createTextNode(text.slice(start, end));
    const active = entities
      .filter((e) => e.offset <= start && e.offset + e.length >= end)
      .sort((a, b) => b.offset - a.offset || a.length - b.length);
    for (const entity of active) node = wrapEntity(node, entity, text);
    fragment.append(node);
  }
  return fragment;
}

function wrapEntity(node, entity, text) {
  const whole = text.slice(entity.offset, entity.offset + entity.length);
  const tags = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre" };
  if (tags[entity.type]) return el(tags[entity.type], {}, node);
  if (entity.type === "spoiler") {
    return el("span", { class: "spoiler", onclick: (event) => event.currentTarget.classList.add("shown") }, node);
  }
  if (entity.type === "blockquote" || entity.type === "expandable_blockquote") {
    return el("span", { class: "quote" }, node);
  }
  if (entity.type === "text_link" || entity.type === "url") {
    const href = safeHref(entity.type === "url" ? (/^https?:/i.test(whole) ? whole : "https://" + whole) : entity.url);
    return href ? el("a", { href, target: "_blank", rel: "noopener" }, node) : node;
  }
  if (entity.type === "bot_command") {
    return el("a", { class: "cmd", href: "#", onclick: (event) => { event.preventDefault(); sendText(whole); } }, node);
  }
  return node;
}

function renderInlineKeyboard(message) {
  const keyboard = el("div", { class: "inline-keyboard" });
  for (const row of message.buttons) {
    const line = el("div", { class: "kb-row" });
    for (const button of row) {
      if (button.url) {
        const href = safeHref(button.url) || "#";
        line.append(el("a", { href, target: "_blank", rel: "noopener", dir: "auto" }, button.text));
      } else if (button.callback_data !== null) {
        line.append(el("button", {
          type: "button",
          dir: "auto",
          title: `callback_data: ${button.callback_data}`,
          onclick: (event) => press(message.message_id, button.callback_data, event.currentTarget),
        }, button.text));
      } else {
        line.append(el("button", { type: "button", disabled: true, dir: "auto" }, button.text));
      }
    }
    keyboard.append(line);
  }
  return keyboard;
}

function renderReplyKeyboard(markup) {
  view.keyboard.replaceChildren();
  view.keyboard.hidden = !markup || !markup.keyboard;
  if (view.keyboard.hidden) return;
  for (const row of markup.keyboard) {
    const line = el("div", { class: "kb-row" });
    for (const button of row) {
      line.append(el("button", {
        type: "button",
        dir: "auto",
        onclick: () => {
          if (button.request_contact) act("contact", { phone_number: "+46701234567" });
          else if (button.request_location) act("location", { latitude: 59.3293, longitude: 18.0686 });
          else sendText(button.text);
        },
      }, button.text));
    }
    view.keyboard.append(line);
  }
}

// ---------------------------------------------------------------- actions

async function act(action, body = {}) {
  if (state.userId === null) return null;
  try {
    return await api("POST", `/users/${state.userId}/${action}`, body);
  } catch (error) {
    showToast(error.message, true);
    return null;
  }
}

async function sendText(text) {
  const trimmed = text.trim();
  if (!trimmed) return;
  const result = await act("text", { text: trimmed });
  if (result) view.text.value = "";
}

async function press(messageId, data, button) {
  button.classList.add("pending");
  const result = await act("press", { message_id: messageId, data });
  button.classList.remove("pending");
  if (result) state.pending.add(result.callback_query_id);
}

async function showCommands() {
  if (!view.commands.hidden) {
    view.commands.hidden = true;
    return;
  }
  const data = await api("GET", `/users/${state.userId}/commands`).catch(() => ({ commands: [] }));
  const commands = data.commands.length ? data.commands : [{ command: "start", description: "" }];
  view.commands.replaceChildren(...commands.map((c) =>
    el("button", { type: "button", dir: "auto", onclick: () => { view.commands.hidden = true; sendText("/" + c.command); } },
      el("b", {}, "/" + c.command), c.description ? " " + c.description : "")));
  view.commands.hidden = false;
}

function samplePhoto() {
  const canvas = document.createElement("canvas");
  canvas.width = 320;
  canvas.height = 200;
  const ctx = canvas.getContext("2d");
  const gradient = ctx.createLinearGradient(0, 0, 320, 200);
  gradient.addColorStop(0, "#6aa9d8");
  gradient.addColorStop(1, "#f3a73b");
  ctx.fillStyle = gradient;
  ctx.fillRect(0, 0, 320, 200);
  ctx.fillStyle = "#fff";
  ctx.font = "bold 28px sans-serif";
  ctx.fillText("Test photo", 24, 110);
  return canvas.toDataURL("image/png").split(",")[1];
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",")[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function useTool(tool) {
  view.tools.hidden = true;
  if (tool === "sticker") await act("sticker", { emoji: "👍" });
  else if (tool === "photo") await act("photo", { data_b64: samplePhoto() });
  else if (tool === "photo-file") $("#photo-input").click();
  else if (tool === "voice") await act("voice", { duration: 3 });
  else if (tool === "document") $("#document-input").click();
  else if (tool === "location") await act("location", { latitude: 59.3293, longitude: 18.0686 });
  else if (tool === "contact") await act("contact", { phone_number: "+46701234567" });
  else if (tool === "block") await act(state.user && state.user.blocked ? "unblock" : "block");
}

// ---------------------------------------------------------------- wiring

$("#composer").addEventListener("submit", (event) => {
  event.preventDefault();
  sendText(view.text.value);
});
$("#start").addEventListener("click", () => {
  // Like opening the invitation link: START sends the persona's code with /start.
  const code = state.startParameters && state.startParameters.get(state.userId);
  act("command", code ? { command: "start", args: code } : { command: "start" });
});
$("#unblock").addEventListener("click", () => act("unblock"));
$("#menu").addEventListener("click", showCommands);
$("#attach").addEventListener("click", () => {
  view.tools.hidden = !view.tools.hidden;
  view.commands.hidden = true;
});
view.tools.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-tool]");
  if (button) useTool(button.dataset.tool);
});
$("#photo-input").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (file) await act("photo", { data_b64: await readFile(file), file_name: file.name });
  event.target.value = "";
});
$("#document-input").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (file) {
    await act("document", { data_b64: await readFile(file), file_name: file.name, mime_type: file.type || null });
  }
  event.target.value = "";
});
view.persona.addEventListener("change", () => {
  if (view.persona.value === NEW_USER) {
    view.newUser.hidden = false;
    $("#new-user-form input[name=first_name]").focus();
    return;
  }
  view.newUser.hidden = true;
  selectUser(Number(view.persona.value));
});
$("#new-user-form").addEventListener("submit", (event) => {
  event.preventDefault();
  createUser(event.target).catch((error) => showToast(error.message, true));
});
$("#new-user-cancel").addEventListener("click", () => {
  view.newUser.hidden = true;
  if (state.userId !== null) view.persona.value = String(state.userId);
});

loadUsers().catch((error) => showToast("Cannot reach the sandbox: " + error.message, true));
