// Telegram's message entities → DOM nodes. Text only ever enters the page as text nodes, so
// names and messages (user input) cannot become markup.
"use strict";

const ENTITY_TAGS = {
  bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  spoiler: "span", blockquote: "blockquote", expandable_blockquote: "blockquote",
  text_link: "a", url: "a", custom_emoji: "span",
};
const URL_RE = /https?:\/\/[^\s<>"']+/g;
const SAFE_URL = /^(https?:\/\/|tg:\/\/)/i;

// A link Telegram would open in the bot: https://t.me/<bot>?start=<payload>.
function startPayload(url, botUsername) {
  const m = /^https:\/\/t\.me\/(\w+)\?start=([A-Za-z0-9_-]+)$/.exec(url);
  return m && botUsername && m[1].toLowerCase() === botUsername.toLowerCase() ? m[2] : null;
}

function makeLink(url, text, ctx) {
  const a = document.createElement("a");
  a.textContent = text;
  const payload = startPayload(url, ctx.botUsername);
  if (payload) {
    a.href = "#";
    a.className = "start-link";
    a.dataset.payload = payload;
  } else if (SAFE_URL.test(url)) {
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  }
  return a;
}

// Plain text with bare URLs made into links (Telegram does this on its side).
function linkified(text, ctx) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    if (m.index > last) frag.append(text.slice(last, m.index));
    frag.append(makeLink(m[0], m[0], ctx));
    last = m.index + m[0].length;
  }
  if (last < text.length) frag.append(text.slice(last));
  return frag;
}

function wrap(entity, inner, ctx, segmentText) {
  const tag = ENTITY_TAGS[entity.type];
  if (!tag) return inner;
  if (tag === "a") {
    const url = entity.type === "url" ? segmentText : entity.url || "";
    const a = makeLink(url, "", ctx);
    a.append(inner);
    return a;
  }
  const el = document.createElement(tag);
  if (entity.type === "spoiler") el.className = "spoiler";
  el.append(inner);
  return el;
}

// Offsets and lengths are UTF-16 code units, which is what JavaScript strings index by.
function renderFormatted(text, entities, ctx) {
  const frag = document.createDocumentFragment();
  if (!text) return frag;
  entities = (entities || []).filter((e) => e.length > 0 && ENTITY_TAGS[e.type]);
  const cuts = new Set([0, text.length]);
  for (const e of entities) {
    cuts.add(Math.min(e.offset, text.length));
    cuts.add(Math.min(e.offset + e.length, text.length));
  }
  const points = [...cuts].sort((a, b) => a - b);
  for (let k = 0; k + 1 < points.length; k++) {
    const [start, end] = [points[k], points[k + 1]];
    const piece = text.slice(start, end);
    const covering = entities
      .filter((e) => e.offset <= start && e.offset + e.length >= end)
      .sort((a, b) => a.offset - b.offset || b.length - a.length);
    const plain = !covering.some((e) => ["text_link", "url", "code", "pre"].includes(e.type));
    let node = plain ? linkified(piece, ctx) : document.createTextNode(piece);
    for (const e of covering.reverse()) node = wrap(e, node, ctx, piece);
    frag.append(node);
  }
  return frag;
}

window.renderFormatted = renderFormatted;
