/* Chat widget of the Dresden/Leipzig hub assistant.
 *
 * Embed with one tag:
 *   <script src="https://HOST/widget/hub-widget.js" data-server="https://RASA-HOST"
 *           data-lang="de" data-title="..." data-color="#00589c" defer></script>
 *
 * Talks to Rasa's socket.io channel; keeps the session id the server issued and the
 * history in localStorage so a visitor keeps the conversation across reloads and pages
 * (the server accepts only ids it issued itself, and sends a new one otherwise). Everything the bot or
 * the visitor wrote is inserted as text (textContent), never as HTML; links and
 * phone numbers become <a> elements built by hand. No inline script or style is
 * used, so it works under a strict Content-Security-Policy. It lives in a shadow
 * root, so it cannot break the page's styles nor be broken by them.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__hubWidgetLoaded) { return; }
  window.__hubWidgetLoaded = true;

  var STRINGS = {
    en: {
      open: "Chat with the hub assistant", close: "Close chat", title: "Dresden/Leipzig digital hub",
      placeholder: "Type your question…", send: "Send", inputLabel: "Your message",
      typing: "The assistant is typing…", unreachable: "The assistant is unreachable right now. " +
        "Your messages will be sent when the connection is back.", you: "You", bot: "Assistant",
      welcome: "Ask me about the Dresden and Leipzig hubs, or tell me what you need."
    },
    de: {
      open: "Mit dem Hub-Assistenten chatten", close: "Chat schließen", title: "Digital Hub Dresden/Leipzig",
      placeholder: "Ihre Frage…", send: "Senden", inputLabel: "Ihre Nachricht",
      typing: "Der Assistent schreibt…", unreachable: "Der Assistent ist gerade nicht erreichbar. " +
        "Ihre Nachrichten werden gesendet, sobald die Verbindung wieder steht.", you: "Sie",
      bot: "Assistent", welcome: "Fragen Sie mich zu den Hubs in Dresden und Leipzig oder " +
        "sagen Sie mir, was Sie brauchen."
    }
  };
  var data = script.dataset;
  var server = (data.server || window.location.origin).replace(/\/$/, "");
  var lang = (data.lang || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  var t = STRINGS[lang] || STRINGS.en;
  var storeKey = "hub-widget:" + server;
  var state = load();

  function load() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(storeKey) || "{}");
      return { session: saved.session || null, history: saved.history || [], open: !!saved.open };
    } catch (e) {
      return { session: null, history: [], open: false };
    }
  }
  function save() {
    try {
      state.history = state.history.slice(-100);
      window.localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (e) { /* storage full or disabled: the chat still works */ }
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  // --- layout -----------------------------------------------------------------------
  var host = el("div", { id: "hub-widget" });
  var root = host.attachShadow({ mode: "open" });
  var base = script.src.replace(/[^/]*$/, "");
  var css = el("link", { rel: "stylesheet", href: base + "hub-widget.css" });
  var bubble = el("button", { "class": "bubble", type: "button", "aria-expanded": "false",
    "aria-controls": "hub-chat", "aria-label": t.open });
  bubble.appendChild(chatIcon());
  var panel = el("section", { id: "hub-chat", "class": "panel", role: "dialog",
    "aria-labelledby": "hub-chat-title", hidden: "" });
  var header = el("header");
  var title = el("h2", { id: "hub-chat-title" }, data.title || t.title);
  var close = el("button", { "class": "close", type: "button", "aria-label": t.close }, "×");
  header.appendChild(title);
  header.appendChild(close);
  var notice = el("p", { "class": "notice", role: "status", hidden: "" }, t.unreachable);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", tabindex: "0",
    "aria-label": data.title || t.title });
  var typing = el("p", { "class": "typing", hidden: "" }, t.typing);
  var form = el("form", { "class": "composer" });
  var input = el("input", { type: "text", "aria-label": t.inputLabel, placeholder: t.placeholder,
    autocomplete: "off", maxlength: "5000" });
  var send = el("button", { type: "submit" }, t.send);
  form.appendChild(input);
  form.appendChild(send);
  [header, notice, log, typing, form].forEach(function (n) { panel.appendChild(n); });
  [css, panel, bubble].forEach(function (n) { root.appendChild(n); });
  if (data.color && /^#[0-9a-fA-F]{3,8}$/.test(data.color)) {
    host.style.setProperty("--hub-accent", data.color);
  }
  if (data.position === "left") { host.classList.add("left"); }

  // --- messages ---------------------------------------------------------------------
  var LINKS = /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)])|(\+\d[\d ()/-]{6,}\d)/g;

  function appendText(container, text) {
    var last = 0;
    text.replace(LINKS, function (match, url, phone, offset) {
      container.appendChild(document.createTextNode(text.slice(last, offset)));
      var href = url ? url : "tel:" + phone.replace(/\(0\)/g, "").replace(/[^\d+]/g, "");
      var link = el("a", { href: href }, match);
      if (url) { link.setAttribute("target", "_blank"); link.setAttribute("rel", "noopener noreferrer"); }
      container.appendChild(link);
      last = offset + match.length;
      return match;
    });
    container.appendChild(document.createTextNode(text.slice(last)));
  }

  function render(entry) {
    var item = el("div", { "class": "msg " + entry.who });
    item.appendChild(el("span", { "class": "sr-only" }, (entry.who === "user" ? t.you : t.bot) + ": "));
    var body = el("p");
    appendText(body, entry.text || "");
    item.appendChild(body);
    log.appendChild(item);
    if (entry.buttons && entry.buttons.length) {
      var group = el("div", { "class": "replies", role: "group" });
      entry.buttons.forEach(function (button) {
        var b = el("button", { type: "button", "class": "reply" }, button.title);
        b.addEventListener("click", function () {
          group.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          say(button.payload, button.title);
        });
        group.appendChild(b);
      });
      log.appendChild(group);
    }
    log.scrollTop = log.scrollHeight;
  }

  function remember(entry) {
    state.history.push(entry);
    save();
    render(entry);
  }

  // --- connection -------------------------------------------------------------------
  // the front door sends every request of one page to the same Rasa server by this
  // (deploy/nginx.conf): long-polling needs it; random, so it says nothing of the visitor
  var affinity = Array.prototype.map.call(window.crypto.getRandomValues(new Uint8Array(8)),
    function (b) { return (b + 256).toString(16).slice(1); }).join("");
  var socket = window.io(server, { path: "/socket.io/", transports: ["websocket", "polling"],
    query: { affinity: affinity }, reconnectionDelay: 500, reconnectionDelayMax: 3000 });
  var pending = [];
  var typingTimer = null;

  var confirmed = false;  // the server counts a message only after session_confirm

  socket.on("connect", function () {
    notice.hidden = true;
    confirmed = false;
    socket.emit("session_request", { session_id: state.session });
  });
  socket.on("session_confirm", function (session) {
    if (session !== state.session) { state.session = session; save(); }
    confirmed = true;
    while (pending.length) { socket.emit("user_uttered", pending.shift()); }
  });
  socket.on("connect_error", function () { notice.hidden = false; });
  socket.on("disconnect", function () { notice.hidden = false; confirmed = false; });
  socket.on("bot_uttered", function (message) {
    typing.hidden = true;
    window.clearTimeout(typingTimer);
    var text = message.text || (message.attachment ? String(message.attachment) : "");
    var buttons = message.quick_replies || message.buttons || [];
    remember({ who: "bot", text: text, buttons: buttons });
  });

  function say(payload, shown) {
    remember({ who: "user", text: shown });
    var message = { message: payload, customData: { language: lang }, metadata: { language: lang } };
    if (confirmed) { socket.emit("user_uttered", message); } else { pending.push(message); }
    typing.hidden = false;
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(function () { typing.hidden = true; }, 15000);
  }

  // --- behaviour --------------------------------------------------------------------
  function setOpen(open) {
    state.open = open;
    save();
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
    bubble.setAttribute("aria-label", open ? t.close : t.open);
    if (open) { input.focus(); } else { bubble.focus(); }
  }
  bubble.addEventListener("click", function () { setOpen(panel.hidden); });
  close.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { setOpen(false); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    say(text, text);
  });

  if (!state.history.length) { state.history.push({ who: "bot", text: t.welcome }); }
  state.history.forEach(render);
  document.body.appendChild(host);
  if (state.open) { panel.hidden = false; bubble.setAttribute("aria-expanded", "true"); }
  window.hubWidget = { open: function () { setOpen(true); }, close: function () { setOpen(false); } };
})();
