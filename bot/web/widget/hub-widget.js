/* Chat widget of the Dresden/Leipzig hub assistant.
 *
 * Embed with one tag:
 *   <script src="https://HOST/widget/hub-widget.js" data-server="https://RASA-HOST"
 *           data-lang="de" data-title="..." data-color="#00589c"
 *           data-privacy-url="https://HOST/privacy" nonce="..." defer></script>
 *
 * Talks to Rasa's socket.io channel. Nothing is stored or sent before the visitor's
 * first message: only then does it connect, and only then does it keep the session id
 * the server issued and the history in localStorage, so a visitor keeps the
 * conversation across reloads and pages (the server accepts only ids it issued itself,
 * and sends a new one otherwise). "Start over" and an erasure ("delete my data") remove
 * both from the browser. Everything the bot or the visitor wrote is inserted as text
 * (textContent), never as HTML; links and phone numbers become <a> elements built by
 * hand. No inline script or style is used, and the stylesheet it adds carries the
 * page's nonce, so it works under a strict Content-Security-Policy. It lives in a
 * shadow root, so it cannot break the page's styles nor be broken by them.
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
      welcome: "Ask me about the Dresden and Leipzig hubs, or tell me what you need.",
      privacy: "What you write here is processed by the hub's enquiry assistant, which passes " +
        "nothing on without your consent. This browser keeps the conversation until you " +
        "start over.", privacyLink: "Privacy notice", startOver: "Start over",
      attachment: "Attachment", image: "Image"
    },
    de: {
      open: "Mit dem Hub-Assistenten chatten", close: "Chat schließen", title: "Digital Hub Dresden/Leipzig",
      placeholder: "Ihre Frage…", send: "Senden", inputLabel: "Ihre Nachricht",
      typing: "Der Assistent schreibt…", unreachable: "Der Assistent ist gerade nicht erreichbar. " +
        "Ihre Nachrichten werden gesendet, sobald die Verbindung wieder steht.", you: "Sie",
      bot: "Assistent", welcome: "Fragen Sie mich zu den Hubs in Dresden und Leipzig oder " +
        "sagen Sie mir, was Sie brauchen.",
      privacy: "Was Sie hier schreiben, verarbeitet der Anfrage-Assistent des Hubs; ohne Ihre " +
        "Einwilligung gibt er nichts weiter. Dieser Browser behält das Gespräch, bis Sie neu " +
        "beginnen.", privacyLink: "Datenschutzhinweise", startOver: "Neu beginnen",
      attachment: "Anhang", image: "Bild"
    }
  };
  var data = script.dataset;
  var server = (data.server || window.location.origin).replace(/\/$/, "");
  var lang = (data.lang || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  var t = STRINGS[lang] || STRINGS.en;
  var nonce = script.nonce || script.getAttribute("nonce") || "";
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
  function started() {
    return state.history.some(function (entry) { return entry.who === "user"; });
  }
  function save() {
    if (!started()) { return; }  // nothing is kept before the visitor's first message
    try {
      state.history = state.history.slice(-100);
      window.localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (e) { /* storage full or disabled: the chat still works */ }
  }
  function forget() {
    try { window.localStorage.removeItem(storeKey); } catch (e) { /* nothing was kept */ }
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function webAddress(value) {
    return typeof value === "string" && /^https?:\/\//i.test(value) ? value : null;
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
  if (nonce) { css.nonce = nonce; }
  var bubble = el("button", { "class": "bubble", type: "button", "aria-expanded": "false",
    "aria-controls": "hub-chat", "aria-label": t.open });
  bubble.appendChild(chatIcon());
  var panel = el("section", { id: "hub-chat", "class": "panel", role: "dialog",
    "aria-labelledby": "hub-chat-title", lang: lang, hidden: "" });
  var header = el("header");
  var title = el("h2", { id: "hub-chat-title" }, data.title || t.title);
  var restart = el("button", { "class": "restart", type: "button" }, t.startOver);
  var close = el("button", { "class": "close", type: "button", "aria-label": t.close }, "×");
  [title, restart, close].forEach(function (n) { header.appendChild(n); });
  var notice = el("p", { "class": "notice", role: "status", hidden: "" }, t.unreachable);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", tabindex: "0",
    "aria-label": data.title || t.title });
  var typing = el("p", { "class": "typing", hidden: "" }, t.typing);
  var form = el("form", { "class": "composer" });
  var input = el("input", { type: "text", "aria-label": t.inputLabel, placeholder: t.placeholder,
    autocomplete: "off", enterkeyhint: "send", maxlength: "5000" });
  var send = el("button", { type: "submit" }, t.send);
  form.appendChild(input);
  form.appendChild(send);
  [header, notice, log, typing, form].forEach(function (n) { panel.appendChild(n); });
  [css, panel, bubble].forEach(function (n) { root.appendChild(n); });
  if (data.color && /^#[0-9a-fA-F]{3,8}$/.test(data.color)) {
    host.style.setProperty("--hub-accent", data.color);
  }
  if (data.position === "left") { host.classList.add("left"); }

  function privacyNotice() {
    var note = el("p", { "class": "privacy" }, t.privacy + " ");
    var url = webAddress(data.privacyUrl);
    if (url) {
      note.appendChild(el("a", { href: url, target: "_blank", rel: "noopener noreferrer" },
        t.privacyLink));
    }
    return note;
  }

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

  /* Rasa sends an image as {type: "image", payload: {src}}, other attachments as the
   * response gave them: shown as a link to their web address, never embedded. */
  function attachmentOf(message) {
    var attachment = message.attachment;
    if (!attachment) { return null; }
    if (typeof attachment === "string") { return { label: t.attachment, url: webAddress(attachment) }; }
    var payload = attachment.payload || {};
    var url = webAddress(payload.src) || webAddress(payload.url) || webAddress(attachment.url);
    var label = attachment.type === "image" ? t.image : t.attachment;
    return { label: payload.title || attachment.title || label, url: url };
  }

  function disableReplies() {
    log.querySelectorAll(".replies button").forEach(function (b) { b.disabled = true; });
  }

  function render(entry, live) {
    var item = el("div", { "class": "msg " + entry.who });
    item.appendChild(el("span", { "class": "sr-only" }, (entry.who === "user" ? t.you : t.bot) + ": "));
    var body = el("p");
    appendText(body, entry.text || "");
    if (entry.attachment) {
      if (entry.text) { body.appendChild(document.createTextNode(" ")); }
      var a = entry.attachment;
      body.appendChild(a.url ? el("a", { href: a.url, target: "_blank", rel: "noopener noreferrer",
        "class": "attachment" }, a.label) : document.createTextNode(a.label));
    }
    item.appendChild(body);
    log.appendChild(item);
    if (entry.buttons && entry.buttons.length) {
      var group = el("div", { "class": "replies", role: "group" });
      entry.buttons.forEach(function (button) {
        var b = el("button", { type: "button", "class": "reply" }, button.title);
        b.disabled = !live;  // an old question's buttons would answer out of turn
        b.addEventListener("click", function () { say(button.payload, button.title); });
        group.appendChild(b);
      });
      log.appendChild(group);
    }
    scrollToLatest();
  }

  function renderAll() {
    log.textContent = "";
    render({ who: "bot", text: t.welcome }, false);
    log.appendChild(privacyNotice());
    state.history.forEach(function (entry, index) {
      render(entry, index === state.history.length - 1);
    });
  }

  function scrollToLatest() { log.scrollTop = log.scrollHeight; }

  function remember(entry) {
    disableReplies();
    state.history.push(entry);
    save();
    render(entry, true);
  }

  // --- connection -------------------------------------------------------------------
  // the front door sends every request of one page to the same Rasa server by this
  // (deploy/nginx.conf): long-polling needs it; random, so it says nothing of the visitor
  var affinity = Array.prototype.map.call(window.crypto.getRandomValues(new Uint8Array(8)),
    function (b) { return (b + 256).toString(16).slice(1); }).join("");
  var socket = null;
  var pending = [];
  var confirmed = false;  // the server counts a message only after session_confirm
  var typingTimer = null;

  function showTyping(shown) {
    typing.hidden = !shown;
    window.clearTimeout(typingTimer);
    if (shown) { typingTimer = window.setTimeout(function () { typing.hidden = true; }, 15000); }
  }

  function unreachable() {
    confirmed = false;
    notice.hidden = false;
    showTyping(false);
  }

  function connect() {
    if (socket) { return; }
    socket = window.io(server, { path: "/socket.io/", transports: ["websocket", "polling"],
      query: { affinity: affinity }, reconnectionDelay: 500, reconnectionDelayMax: 3000 });
    socket.on("connect", function () {
      notice.hidden = true;
      confirmed = false;
      socket.emit("session_request", { session_id: state.session });
    });
    socket.on("session_confirm", function (session) {
      if (session !== state.session) { state.session = session; save(); }
      confirmed = true;
      if (pending.length) { showTyping(true); }
      while (pending.length) { socket.emit("user_uttered", pending.shift()); }
    });
    socket.on("connect_error", unreachable);
    socket.on("disconnect", unreachable);
    socket.on("bot_uttered", function (message) {
      showTyping(false);
      if (message.custom && message.custom.hub_widget === "forget") { return erased(); }
      var buttons = message.quick_replies || message.buttons || [];
      var attachment = attachmentOf(message);
      if (!message.text && !attachment) { return; }
      remember({ who: "bot", text: message.text || "", buttons: buttons, attachment: attachment });
    });
  }

  function disconnect() {
    if (socket) { socket.disconnect(); socket = null; }
    pending = [];
    confirmed = false;
    notice.hidden = true;
    showTyping(false);
  }

  function say(payload, shown) {
    remember({ who: "user", text: shown });
    connect();
    var message = { message: payload, metadata: { language: lang } };
    if (confirmed) {
      socket.emit("user_uttered", message);
      showTyping(true);
    } else {
      pending.push(message);
    }
  }

  /* Begins a new conversation: the browser keeps nothing of the old one, and the next
   * message asks the server for a new session. */
  function startOver(keep) {
    disconnect();
    forget();
    state = { session: null, history: keep ? [keep] : [], open: state.open };
    renderAll();
  }

  /* The server erased this conversation: so does the browser, showing only its answer. */
  function erased() {
    var last = state.history[state.history.length - 1];
    startOver(last && last.who === "bot" ? last : null);
  }

  // --- behaviour --------------------------------------------------------------------
  function setOpen(open) {
    state.open = open;
    save();
    panel.hidden = !open;
    host.classList.toggle("open", open);
    bubble.setAttribute("aria-expanded", String(open));
    bubble.setAttribute("aria-label", open ? t.close : t.open);
    if (open) { scrollToLatest(); input.focus(); } else { bubble.focus(); }
  }
  bubble.addEventListener("click", function () { setOpen(panel.hidden); });
  close.addEventListener("click", function () { setOpen(false); });
  restart.addEventListener("click", function () { startOver(null); input.focus(); });
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
  // on a phone the panel takes the screen; the keyboard shrinks the visual viewport,
  // and the panel with it, so the input stays in sight
  if (window.visualViewport) {
    window.visualViewport.addEventListener("resize", function () {
      host.style.setProperty("--hub-viewport-height", window.visualViewport.height + "px");
      scrollToLatest();
    });
  }

  renderAll();
  document.body.appendChild(host);
  if (state.open) {
    panel.hidden = false;
    host.classList.add("open");
    bubble.setAttribute("aria-expanded", "true");
    bubble.setAttribute("aria-label", t.close);
    scrollToLatest();
  }
  if (state.session) { connect(); }  // a returning visitor's conversation goes on
  window.hubWidget = { open: function () { setOpen(true); }, close: function () { setOpen(false); } };
})();
