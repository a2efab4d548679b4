// shiftdesk customer chat: speaks the customer dialect of PROTOCOL.md (section 6) over
// /ws/customer. No framework, no build step. Every text goes into the page with textContent.
//
// What survives a reload (localStorage, one key): the conversation id, its key, the stream
// and the last seq processed, the transcript shown, and the outbox (lines not yet acked, each
// with the id and the number it was first sent with, so a resend is applied once: PROTOCOL.md
// 3.2, a random `producer` per conversation and a counter for `cseq`).
"use strict";
(function () {
  var STORE = "shiftdesk.chat.v1";
  var MAX_CHARS = 4000;
  var COUNT_FROM = 500; // characters left when the counter appears
  var PING_MS = 15000;
  var CONTEXT_MAX_BYTES = 8192; // `signed_context` in `start` (PROTOCOL.md): longer is `bad_field`

  // The texts of the page in the six built-in languages. `person` is what the "Talk to a
  // person" button sends: a request the hub's triage recognises in that language. A language
  // of the operator's own brings its texts from its file (`[page]`, README "Languages of your
  // own"): the hub puts them in `data-texts`; any it leaves out are shown in English.
  var T = {
    en: { title: "Chat with us", language: "Language", you: "You", assistant: "Assistant", support: "Support",
      placeholder: "Write a message…", message_label: "Your message", send: "Send", talk: "Talk to a person",
      person: "I would like to talk to a person, please.", connecting: "Connecting…", connected: "Connected",
      offline: "Offline: reconnecting… Your messages will be sent when the connection is back.",
      restarting: "The service is restarting: reconnecting…", queued: "A person will be with you shortly. You are number {n} in the queue.",
      with_person: "You are chatting with a person.", ended: "This chat has ended.", new_chat: "Start a new chat",
      sending: "sending…", not_sent: "not sent: {m}", elsewhere: "This chat is open in another tab or window.",
      continue_here: "Continue here", conversation: "Conversation", too_long: "That message is too long ({n} of {max} characters).",
      chars_left: "{n} characters left", chars_over: "{n} characters too many ({count} of {max}): shorten the message or split it into several messages.",
      wait: "Today people are usually answered within {m}.", nobody: "Nobody who speaks your language is on shift right now. Your chat stays in the queue: leave this page open, or come back to it later — it will be here.", typing: "{name} is typing…", too_fast: "You are sending messages too quickly. Your message will be sent in {s} s.", minutes: "{n} min", less_than_a_minute: "a minute" },
    it: { title: "Chatta con noi", language: "Lingua", you: "Tu", assistant: "Assistente", support: "Assistenza",
      placeholder: "Scrivi un messaggio…", message_label: "Il tuo messaggio", send: "Invia", talk: "Parla con una persona",
      person: "Vorrei parlare con una persona, per favore.", connecting: "Connessione…", connected: "Connesso",
      offline: "Offline: riconnessione… I tuoi messaggi partiranno appena possibile.",
      restarting: "Il servizio si sta riavviando: riconnessione…", queued: "Una persona ti risponderà a breve. Sei il numero {n} in coda.",
      with_person: "Stai parlando con una persona.", ended: "Questa chat è terminata.", new_chat: "Inizia una nuova chat",
      sending: "invio…", not_sent: "non inviato: {m}", elsewhere: "Questa chat è aperta in un'altra scheda o finestra.",
      continue_here: "Continua qui", conversation: "Conversazione", too_long: "Il messaggio è troppo lungo ({n} di {max} caratteri).",
      chars_left: "Ancora {n} caratteri", chars_over: "{n} caratteri di troppo ({count} di {max}): accorcia il messaggio o dividilo in più messaggi.",
      wait: "Oggi di solito si risponde entro {m}.", nobody: "In questo momento non c'è nessuno in turno che parli la tua lingua. La chat resta in coda: lascia aperta questa pagina o tornaci più tardi, la ritroverai qui.", typing: "{name} sta scrivendo…", too_fast: "Stai inviando messaggi troppo in fretta. Il messaggio partirà tra {s} s.", minutes: "{n} min", less_than_a_minute: "un minuto" },
    de: { title: "Chatte mit uns", language: "Sprache", you: "Du", assistant: "Assistent", support: "Kundenservice",
      placeholder: "Nachricht schreiben…", message_label: "Deine Nachricht", send: "Senden", talk: "Mit einem Menschen sprechen",
      person: "Ich möchte bitte mit einem Menschen sprechen.", connecting: "Verbinden…", connected: "Verbunden",
      offline: "Offline: Verbindung wird wiederhergestellt… Deine Nachrichten werden danach gesendet.",
      restarting: "Der Dienst startet neu: Verbindung wird wiederhergestellt…", queued: "Gleich ist jemand für dich da. Du bist Nummer {n} in der Warteschlange.",
      with_person: "Du chattest mit einem Menschen.", ended: "Dieser Chat ist beendet.", new_chat: "Neuen Chat beginnen",
      sending: "wird gesendet…", not_sent: "nicht gesendet: {m}", elsewhere: "Dieser Chat ist in einem anderen Tab oder Fenster geöffnet.",
      continue_here: "Hier fortsetzen", conversation: "Unterhaltung", too_long: "Deine Nachricht ist zu lang ({n} von {max} Zeichen).",
      chars_left: "Noch {n} Zeichen", chars_over: "{n} Zeichen zu viel ({count} von {max}): Kürze die Nachricht oder teile sie auf mehrere Nachrichten auf.",
      wait: "Heute antworten wir meist innerhalb von {m}.", nobody: "Gerade ist niemand im Dienst, der deine Sprache spricht. Dein Chat bleibt in der Warteschlange: Lass diese Seite offen oder komm später wieder – er ist dann noch da.", typing: "{name} schreibt…", too_fast: "Du sendest zu schnell. Deine Nachricht wird in {s} s gesendet.", minutes: "{n} Min.", less_than_a_minute: "einer Minute" },
    nl: { title: "Chat met ons", language: "Taal", you: "Jij", assistant: "Assistent", support: "Klantenservice",
      placeholder: "Schrijf een bericht…", message_label: "Je bericht", send: "Versturen", talk: "Praat met een medewerker",
      person: "Ik wil graag met een medewerker spreken.", connecting: "Verbinden…", connected: "Verbonden",
      offline: "Offline: opnieuw verbinden… Je berichten worden daarna verstuurd.",
      restarting: "De dienst start opnieuw: opnieuw verbinden…", queued: "Er komt zo iemand bij je. Je bent nummer {n} in de wachtrij.",
      with_person: "Je chat met een medewerker.", ended: "Deze chat is beëindigd.", new_chat: "Nieuwe chat beginnen",
      sending: "versturen…", not_sent: "niet verstuurd: {m}", elsewhere: "Deze chat is open in een ander tabblad of venster.",
      continue_here: "Hier verdergaan", conversation: "Gesprek", too_long: "Dat bericht is te lang ({n} van {max} tekens).",
      chars_left: "Nog {n} tekens", chars_over: "{n} tekens te veel ({count} van {max}): maak het bericht korter of verdeel het over meerdere berichten.",
      wait: "Vandaag krijg je meestal binnen {m} antwoord.", nobody: "Er is nu niemand aan het werk die jouw taal spreekt. Je chat blijft in de wachtrij: laat deze pagina open of kom later terug, hij staat hier dan nog.", typing: "{name} is aan het typen…", too_fast: "Je verstuurt te snel berichten. Je bericht wordt over {s} s verstuurd.", minutes: "{n} min", less_than_a_minute: "een minuut" },
    sv: { title: "Chatta med oss", language: "Språk", you: "Du", assistant: "Assistent", support: "Kundtjänst",
      placeholder: "Skriv ett meddelande…", message_label: "Ditt meddelande", send: "Skicka", talk: "Prata med en person",
      person: "Jag vill prata med en person, tack.", connecting: "Ansluter…", connected: "Ansluten",
      offline: "Offline: ansluter igen… Dina meddelanden skickas sedan.",
      restarting: "Tjänsten startar om: ansluter igen…", queued: "En person hjälper dig snart. Du är nummer {n} i kön.",
      with_person: "Du chattar med en person.", ended: "Chatten är avslutad.", new_chat: "Starta en ny chatt",
      sending: "skickar…", not_sent: "inte skickat: {m}", elsewhere: "Chatten är öppen i en annan flik eller ett annat fönster.",
      continue_here: "Fortsätt här", conversation: "Konversation", too_long: "Meddelandet är för långt ({n} av {max} tecken).",
      chars_left: "{n} tecken kvar", chars_over: "{n} tecken för många ({count} av {max}): korta meddelandet eller dela upp det i flera meddelanden.",
      wait: "I dag får man oftast svar inom {m}.", nobody: "Just nu arbetar ingen som talar ditt språk. Din chatt står kvar i kön: låt sidan vara öppen eller kom tillbaka senare, den finns kvar här.", typing: "{name} skriver…", too_fast: "Du skickar meddelanden för snabbt. Ditt meddelande skickas om {s} s.", minutes: "{n} min", less_than_a_minute: "en minut" },
    ru: { title: "Напишите нам", language: "Язык", you: "Вы", assistant: "Ассистент", support: "Поддержка",
      placeholder: "Напишите сообщение…", message_label: "Ваше сообщение", send: "Отправить", talk: "Связаться с человеком",
      person: "Я хочу поговорить с человеком, пожалуйста.", connecting: "Подключение…", connected: "Подключено",
      offline: "Нет связи: переподключение… Сообщения отправятся, когда связь вернётся.",
      restarting: "Сервис перезапускается: переподключение…", queued: "Скоро с вами свяжется человек. Вы номер {n} в очереди.",
      with_person: "Вы общаетесь с человеком.", ended: "Чат завершён.", new_chat: "Начать новый чат",
      sending: "отправка…", not_sent: "не отправлено: {m}", elsewhere: "Этот чат открыт в другой вкладке или окне.",
      continue_here: "Продолжить здесь", conversation: "Переписка", too_long: "Сообщение слишком длинное ({n} из {max} символов).",
      chars_left: "Осталось символов: {n}", chars_over: "Лишних символов: {n} ({count} из {max}). Сократите сообщение или разделите его на несколько.",
      wait: "Сегодня обычно отвечают в течение {m}.", nobody: "Сейчас на смене нет никого, кто говорит на вашем языке. Ваш чат остаётся в очереди: оставьте страницу открытой или вернитесь позже — он будет здесь.", typing: "{name} печатает…", too_fast: "Вы отправляете сообщения слишком часто. Сообщение уйдёт через {s} с.", minutes: "{n} мин", less_than_a_minute: "минуты" }
  };

  function $(id) { return document.getElementById(id); }
  function fill(s, vars) {
    return s.replace(/\{(\w+)\}/g, function (_, k) { return String(vars[k]); });
  }

  // The hub's languages, from the page (`data-langs="en:English,it:Italiano"`).
  var langs = [];
  (document.documentElement.getAttribute("data-langs") || "en:English").split(",").forEach(function (pair) {
    var i = pair.indexOf(":");
    if (i > 0) { langs.push({ code: pair.slice(0, i), name: pair.slice(i + 1) }); }
  });
  // The texts of the operator's own languages (`data-texts='{"pl":{"talk":"…"}}'`), each over
  // the English ones.
  var own = null;
  try { own = JSON.parse(document.documentElement.getAttribute("data-texts") || "null"); } catch (e) { own = null; }
  if (own && typeof own === "object") {
    Object.keys(own).forEach(function (code) {
      if (T[code] || !own[code] || typeof own[code] !== "object") { return; }
      var texts = {};
      Object.keys(T.en).forEach(function (k) {
        texts[k] = typeof own[code][k] === "string" && own[code][k] ? own[code][k] : T.en[k];
      });
      T[code] = texts;
    });
  }
  function served(code) {
    return langs.some(function (l) { return l.code === code; });
  }
  function browserLang() {
    var wanted = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || "en"];
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i]).toLowerCase().split("-")[0];
      if (served(code)) { return code; }
    }
    return served("en") ? "en" : (langs[0] ? langs[0].code : "en");
  }

  // ---- state (persisted) ----
  function fresh(lang) {
    return { conversation: null, key: null, stream: null, lastSeq: null, lang: lang, lines: [],
      outbox: [], closed: null, queued: null, wait: null, onShift: null, withPerson: false, wrote: false,
      producer: newId("").slice(1, 17), cseq: 0 };
  }
  var state;
  try { state = JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { state = null; }
  if (!state || typeof state !== "object" || !Array.isArray(state.lines) || !Array.isArray(state.outbox)) {
    state = fresh(browserLang());
  }
  if (!served(state.lang)) { state.lang = browserLang(); }
  if (typeof state.producer !== "string" || typeof state.cseq !== "number") {
    // Saved by an older page: new lines are numbered from here; saved ones keep their ids.
    state.producer = newId("").slice(1, 17);
    state.cseq = 0;
  }
  // A command numbered in this page's sequence (older saved lines have no number: by id).
  function numbered(frame, n) {
    if (n) { frame.producer = state.producer; frame.cseq = n; }
    return frame;
  }
  function lineFrame(m) { return numbered({ id: m.id, type: "message", text: m.text }, m.n); }
  function save() {
    try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode: keep going in memory */ }
  }
  function t() { return T[state.lang] || T.en; }

  // Context signed by the site's backend (README, "Customer chat"): `#context=TOKEN` in the
  // page's address (the widget puts it there). Sent once, when a conversation starts.
  var signedContext = null;
  (location.hash || "").replace(/^#/, "").split("&").forEach(function (kv) {
    var i = kv.indexOf("=");
    if (i > 0 && kv.slice(0, i) === "context") {
      try { signedContext = decodeURIComponent(kv.slice(i + 1)); } catch (e) { signedContext = null; }
    }
  });
  // One the hub would refuse is dropped, as the hub drops a bad one: the chat goes on without it.
  if (signedContext && new TextEncoder().encode(signedContext).length > CONTEXT_MAX_BYTES) { signedContext = null; }

  function minutes(ms) {
    return ms < 60000 ? t().less_than_a_minute : fill(t().minutes, { n: Math.round(ms / 60000) });
  }

  function newId(prefix) {
    var b = new Uint8Array(12);
    crypto.getRandomValues(b);
    var s = prefix + "-";
    for (var i = 0; i < b.length; i++) { s += (b[i] + 256).toString(16).slice(1); }
    return s;
  }

  // ---- rendering: the transcript is append-only, so a screen reader announces new lines only ----
  var log = $("log");
  var rendered = []; // the <li> of each entry of state.lines, in order

  function lineNode(line) {
    var li = document.createElement("li");
    li.className = "line " + line.from + (line.failed ? " failed" : "");
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = line.from === "customer" ? t().you : line.from === "bot" ? t().assistant
      : line.from === "worker" ? (line.name || t().support) : "";
    who.dir = "auto";
    if (who.textContent) { li.appendChild(who); }
    var text = document.createElement("span");
    text.className = "text";
    // Hebrew or Arabic, and digits at its end, read the right way round whatever the page's
    // language.
    text.dir = "auto";
    text.textContent = line.text;
    li.appendChild(text);
    if (line.pending || line.failed) {
      var note = document.createElement("span");
      note.className = "note";
      note.textContent = line.failed ? fill(t().not_sent, { m: line.failed }) : t().sending;
      li.appendChild(note);
    }
    return li;
  }
  function sameLine(a, b) {
    return a && b && a.from === b.from && a.text === b.text && !!a.pending === !!b.pending && a.failed === b.failed;
  }
  var shown = [];
  function render() {
    // Keep the longest common prefix; replace the rest (a settled line, or a snapshot).
    var keep = 0;
    while (keep < shown.length && keep < state.lines.length && sameLine(shown[keep], state.lines[keep])) { keep++; }
    var bulk = state.lines.length - keep > 3;
    if (bulk) { log.setAttribute("aria-busy", "true"); }
    while (rendered.length > keep) { log.removeChild(rendered.pop()); }
    for (var i = keep; i < state.lines.length; i++) {
      var li = lineNode(state.lines[i]);
      log.appendChild(li);
      rendered.push(li);
    }
    shown = state.lines.map(function (l) { return { from: l.from, text: l.text, pending: l.pending, failed: l.failed }; });
    if (bulk) { log.removeAttribute("aria-busy"); }
    renderChrome();
    // After the chrome: the end-of-chat panel or the typing line takes room from the log.
    toBottom();
  }

  // The log stays scrolled to its last line while the customer has not scrolled up to read,
  // also when something below it (the end-of-chat panel, "… is typing", the counter) takes
  // room from it.
  var pinned = true;
  function toBottom() {
    log.scrollTop = log.scrollHeight;
    pinned = true;
  }
  log.addEventListener("scroll", function () {
    pinned = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  });
  if (window.ResizeObserver) {
    new ResizeObserver(function () { if (pinned) { toBottom(); } }).observe(log);
  }

  // Lines turned away with `rate_limited` and those written after them, to send again together at
  // `due` (ms since the epoch).
  var limited = { ids: [], due: 0, timer: null };
  // `offline`: the browser said it has no network (its `offline` event); cleared by `online`.
  var conn = { ws: null, ready: false, attempt: 0, timer: null, retryAt: 0, lastHeard: 0, pinger: null,
    elsewhere: false, restarting: false, offline: false, notice: null, noticeTimer: null };

  // "… is typing": shown for six seconds after each `typing`, or until their line arrives.
  var typing = { timer: null };
  function showTyping(name) {
    var el = $("typing");
    el.textContent = fill(t().typing, { name: name || t().support });
    el.hidden = false;
    clearTimeout(typing.timer);
    typing.timer = setTimeout(hideTyping, 6000);
  }
  function hideTyping() {
    clearTimeout(typing.timer);
    $("typing").hidden = true;
  }

  // A passing line in the status bar (a rate limit), for `ms`.
  function notice(text, ms) {
    conn.notice = text;
    clearTimeout(conn.noticeTimer);
    conn.noticeTimer = setTimeout(function () { conn.notice = null; renderChrome(); }, ms);
    renderChrome();
  }

  function renderChrome() {
    var tx = t();
    document.documentElement.lang = state.lang;
    document.title = tx.title;
    $("title").textContent = tx.title;
    $("lang-label").textContent = tx.language;
    $("text-label").textContent = tx.message_label;
    $("text").placeholder = tx.placeholder;
    $("send").textContent = tx.send;
    $("person").textContent = tx.talk;
    $("ended-text").textContent = tx.ended;
    $("new-chat").textContent = tx.new_chat;
    $("elsewhere-text").textContent = tx.elsewhere;
    $("here").textContent = tx.continue_here;
    log.setAttribute("aria-label", tx.conversation);
    var closed = !!state.closed;
    // Another tab or window took the chat over: nothing is written here until "Continue here"
    // takes it back (what is in the box stays there).
    var away = conn.elsewhere && !closed;
    $("ended").hidden = !closed;
    $("elsewhere").hidden = !away;
    $("text").disabled = closed || away;
    $("send").disabled = closed || away;
    $("person").disabled = closed || away || state.queued !== null || !!state.withPerson;
    renderCount();
    var status = $("status");
    var text;
    var offline = false;
    var waiting = false;
    if (closed) {
      // Whoever was here has gone, whatever the link does now.
      text = tx.ended;
    } else if (away) {
      text = tx.elsewhere;
      waiting = true;
    } else if (conn.notice) {
      text = conn.notice;
      waiting = true;
    } else if (conn.ready) {
      if (state.queued !== null && state.onShift === 0) {
        text = tx.nobody;
        waiting = true;
      } else if (state.queued !== null) {
        text = fill(tx.queued, { n: state.queued }) + (state.wait !== null ? " " + fill(tx.wait, { m: minutes(state.wait) }) : "");
      } else {
        text = state.withPerson ? tx.with_person : tx.connected;
      }
    } else if (conn.offline || !navigator.onLine) {
      offline = true;
      text = tx.offline;
    } else if (conn.restarting) {
      text = tx.restarting;
    } else if (conn.retryAt) {
      offline = true;
      text = tx.offline;
    } else {
      text = tx.connecting;
    }
    status.className = "status" + (offline ? " offline" : waiting ? " wait" : "");
    if (status.textContent !== text) { status.textContent = text; }
  }

  // How much room is left in the message being written: shown near the limit, and over it
  // (nothing is cut: the customer shortens it or sends it in parts). Counted as `say` counts
  // what it sends, trimmed, in characters (code points), so the counter and "too long" agree.
  function trimmed(text) { return text.replace(/^\s+|\s+$/g, ""); }
  function countOf(text) { return Array.from(trimmed(text)).length; }
  function renderCount() {
    var el = $("count");
    var box = $("text");
    var count = countOf(box.value);
    var left = MAX_CHARS - count;
    var over = left < 0;
    el.hidden = left > COUNT_FROM || !!state.closed;
    el.className = "count" + (over ? " over" : "");
    var text = over ? fill(t().chars_over, { n: -left, count: count, max: MAX_CHARS }) : fill(t().chars_left, { n: left });
    if (el.textContent !== text) { el.textContent = text; }
    if (over) { box.setAttribute("aria-invalid", "true"); } else { box.removeAttribute("aria-invalid"); }
  }

  function fillLangs() {
    var select = $("lang");
    while (select.firstChild) { select.removeChild(select.firstChild); }
    langs.forEach(function (l) {
      var o = document.createElement("option");
      o.value = l.code;
      o.textContent = l.name;
      select.appendChild(o);
    });
    select.value = state.lang;
  }

  // ---- the connection ----
  function send(frame) {
    if (conn.ws && conn.ws.readyState === 1) { conn.ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function connect() {
    clearTimeout(conn.timer);
    conn.timer = null;
    conn.retryAt = 0;
    if (conn.ws || conn.elsewhere) { return; }
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/customer";
    var ws;
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    conn.ws = ws;
    conn.ready = false;
    renderChrome();
    ws.onopen = function () {
      conn.lastHeard = Date.now();
      ws.send(JSON.stringify(startFrame()));
    };
    ws.onmessage = function (ev) {
      conn.lastHeard = Date.now();
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (ws === conn.ws) { onFrame(frame); }
    };
    ws.onclose = function (ev) {
      if (ws !== conn.ws) { return; }
      conn.ws = null;
      conn.ready = false;
      clearInterval(conn.pinger);
      if (ev.code === 4000) {
        // Resumed in another tab or window (PROTOCOL.md: do not reconnect by ourselves).
        var had = document.activeElement;
        conn.elsewhere = true;
        renderChrome();
        if (had && had.disabled) { $("here").focus(); }
        return;
      }
      conn.restarting = ev.code === 1011;
      scheduleReconnect();
    };
  }

  function startFrame() {
    var start = { id: newId("s"), type: "start", protocol: 1 };
    if (state.conversation) {
      start.resume = { conversation: state.conversation, key: state.key, last_seq: state.lastSeq || 0 };
      if (state.stream) { start.resume.stream = state.stream; }
    } else {
      start.lang = state.lang;
      if (signedContext) { start.signed_context = signedContext; }
    }
    conn.start = start;
    return start;
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at 30 s, each 50–100 %. While
    // the browser says it has no network, wait for its `online` instead (trying every 30 s in
    // case that never comes).
    var base = Math.min(30000, 500 * Math.pow(2, conn.attempt));
    conn.attempt++;
    var wait = conn.offline ? 30000 : Math.round(base * (0.5 + Math.random() * 0.5));
    conn.retryAt = Date.now() + wait;
    clearTimeout(conn.timer);
    conn.timer = setTimeout(connect, wait);
    renderChrome();
  }

  function reconnectNow() {
    if (!conn.ws && !conn.elsewhere) { conn.attempt = 0; connect(); }
  }

  // Give up on the socket now (without waiting for it to close: a dead link may take minutes)
  // and try again after `scheduleReconnect`'s backoff.
  function drop() {
    var ws = conn.ws;
    conn.ws = null;
    conn.ready = false;
    clearInterval(conn.pinger);
    if (ws) {
      ws.onclose = null;
      try { ws.close(); } catch (e) { /* already closing */ }
    }
    scheduleReconnect();
  }

  // The browser knows before the socket does: say so at once, and keep the lines written
  // meanwhile in the outbox, to be sent (once, by id) after the resume.
  function wentOffline() {
    conn.offline = true;
    conn.restarting = false;
    drop();
  }
  function cameOnline() {
    conn.offline = false;
    if (conn.ws && conn.ready) {
      // The socket lived through it, or says it did: a ping must be answered promptly.
      var ws = conn.ws;
      var asked = Date.now();
      send({ id: newId("p"), type: "ping" });
      setTimeout(function () {
        if (ws === conn.ws && conn.lastHeard < asked) { drop(); reconnectNow(); }
      }, 5000);
      renderChrome();
      return;
    }
    if (conn.ws && !conn.ready) {
      // Opened while offline: it will not get far.
      conn.ws.onclose = null;
      try { conn.ws.close(); } catch (e) { /* already closing */ }
      conn.ws = null;
    }
    reconnectNow();
  }

  function onStarted(f) {
    var resumedOther = state.conversation && state.conversation !== f.conversation;
    state.conversation = f.conversation;
    state.key = f.key;
    if (!f.resumed || resumedOther) { state.lastSeq = null; }
    state.stream = f.stream;
    if (f.transcript) {
      // The hub could not continue our stream (it restarted): its transcript replaces ours.
      var pending = state.lines.filter(function (l) { return l.pending; });
      state.lines = f.transcript.messages.map(function (m) { return { from: m.from, text: m.text, at: m.at, name: m.name }; });
      pending.forEach(function (l) { l.afterSnapshot = true; state.lines.push(l); });
      state.lastSeq = f.transcript.last_seq;
      if (f.transcript.closed) { state.closed = f.transcript.closed; }
      // What the status line says follows the transcript: a person wrote, so one is here.
      if (state.lines.some(function (l) { return l.from === "worker"; })) { state.queued = null; state.withPerson = true; }
    }
    conn.ready = true;
    conn.attempt = 0;
    conn.restarting = false;
    conn.offline = false;
    save();
    render();
    clearTimeout(limited.timer);
    limited.ids = [];
    limited.due = 0;
    state.outbox.forEach(function (m) { send(lineFrame(m)); });
    clearInterval(conn.pinger);
    var ws = conn.ws;
    conn.pinger = setInterval(function () {
      if (ws !== conn.ws) { return; }
      if (Date.now() - conn.lastHeard > 2 * PING_MS) { drop(); return; }
      send({ id: newId("p"), type: "ping" });
    }, PING_MS);
  }

  function onFrame(f) {
    if (f.seq === 0 || f.seq === undefined) {
      if (f.type === "started") { onStarted(f); }
      else if (f.type === "error") { onError(f); }
      else if (f.type === "typing") { showTyping(f.name); }
      return;
    }
    if (state.lastSeq !== null && f.seq <= state.lastSeq) { return; }
    if (state.lastSeq !== null && f.seq > state.lastSeq + 1) {
      // A gap: reconnect, and the resume fills it.
      if (conn.ws) { conn.ws.close(); }
      return;
    }
    apply(f);
    state.lastSeq = f.seq;
    save();
    render();
  }

  function lineOf(id) {
    for (var i = 0; i < state.lines.length; i++) { if (state.lines[i].pending === id) { return i; } }
    return -1;
  }
  function settle(id, failed) {
    state.outbox = state.outbox.filter(function (m) { return m.id !== id; });
    var i = lineOf(id);
    if (i < 0) { return; }
    var line = state.lines[i];
    delete line.pending;
    if (failed) { line.failed = failed; }
    return line;
  }

  function apply(f) {
    switch (f.type) {
      case "message":
        state.lines.push({ from: f.from, text: f.text, at: f.at, name: f.name });
        // A worker's line, or the system line naming who joined: a person is here.
        if (f.from === "worker" || (f.from === "system" && f.name)) { state.queued = null; state.withPerson = true; }
        if (f.from === "worker") { hideTyping(); }
        break;
      case "queued":
        state.queued = f.position;
        state.wait = typeof f.expected_wait_ms === "number" ? f.expected_wait_ms : null;
        state.onShift = typeof f.on_shift === "number" ? f.on_shift : null;
        state.withPerson = false;
        break;
      case "closed":
        state.closed = f.reason || "resolved";
        state.outbox.forEach(function (m) { settle(m.id, t().ended); });
        break;
      case "ack": {
        var i = lineOf(f.id);
        var line = i >= 0 ? state.lines[i] : null;
        if (f.duplicate && line && line.afterSnapshot) {
          // Stored before the restart: the snapshot already shows it.
          state.lines.splice(i, 1);
          state.outbox = state.outbox.filter(function (m) { return m.id !== f.id; });
        } else {
          settle(f.id);
        }
        break;
      }
      case "error":
        onError(f);
        break;
    }
  }

  function onError(f) {
    if (conn.start && f.id === conn.start.id && conn.start.signed_context && /^(bad_field|malformed)$/.test(f.code)) {
      // The hub turned the signed context down: start again without it (the socket stays open).
      signedContext = null;
      send(startFrame());
      return;
    }
    if (f.code === "unauthorized" && /^s-/.test(f.id || "")) {
      // The hub does not know this conversation (or the key): start a new one.
      var outbox = state.outbox;
      state = fresh(state.lang);
      state.outbox = outbox;
      state.lines = outbox.map(function (m) { return { from: "customer", text: m.text, pending: m.id }; });
      save();
      render();
      if (conn.ws) { conn.ws.close(); }
      return;
    }
    if (!f.id) { return; }
    if (f.code === "rate_limited" && lineOf(f.id) >= 0) {
      // Too fast: the line stays pending and goes again, with its id and number, when the hub
      // says (a number turned away is still new, PROTOCOL.md 3.2).
      // Lines written meanwhile wait behind it. All of them go again together, in the order
      // written, at the latest time the hub named (each wait counts from when the hub read that
      // line, so a later line may name an earlier time).
      var wait = Math.max(500, f.retry_after_ms || 1000);
      notice(fill(t().too_fast, { s: Math.ceil(wait / 1000) }), wait);
      if (limited.ids.indexOf(f.id) < 0) { limited.ids.push(f.id); }
      var due = Date.now() + wait;
      if (due > limited.due) {
        limited.due = due;
        clearTimeout(limited.timer);
        limited.timer = setTimeout(function () {
          var ids = limited.ids;
          limited.ids = [];
          limited.due = 0;
          if (!conn.ready) { return; }
          state.outbox.forEach(function (m) { if (ids.indexOf(m.id) >= 0) { send(lineFrame(m)); } });
        }, wait);
      }
      return;
    }
    if (f.code === "unavailable") {
      // Kept in the outbox; resent, with the same id, after the next reconnect.
      if (conn.ws) { conn.ws.close(); }
      return;
    }
    if (lineOf(f.id) >= 0) { settle(f.id, f.message || f.code); save(); render(); }
  }

  // ---- what the customer does ----
  function say(text) {
    text = trimmed(text);
    if (!text || state.closed || conn.elsewhere) { return false; }
    var chars = countOf(text);
    if (chars > MAX_CHARS) {
      // Kept in the box, with the counter saying by how much: nothing is lost.
      notice(fill(t().too_long, { n: chars, max: MAX_CHARS }), 8000);
      return false;
    }
    var id = newId("m");
    state.cseq += 1;
    var line = { id: id, n: state.cseq, text: text };
    state.outbox.push(line);
    state.lines.push({ from: "customer", text: text, at: Date.now(), pending: id });
    state.wrote = true;
    save();
    render();
    if (limited.ids.length > 0) {
      limited.ids.push(line.id);
    } else if (conn.ready) {
      send(lineFrame(line));
    }
    return true;
  }

  $("compose").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var box = $("text");
    if (say(box.value)) { box.value = ""; renderCount(); }
    box.focus();
  });
  $("text").addEventListener("input", function (ev) {
    renderCount();
    var chars = countOf($("text").value);
    if (ev.inputType === "insertFromPaste" && chars > MAX_CHARS) {
      // A paste over the limit is kept whole; the status bar (a live region) says so.
      notice(fill(t().too_long, { n: chars, max: MAX_CHARS }), 8000);
    }
  });
  $("text").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("compose").requestSubmit ? $("compose").requestSubmit() : $("send").click();
    }
  });
  $("person").addEventListener("click", function () {
    say(t().person);
    $("text").focus();
  });
  function restart(lang) {
    if (conn.ws) { var old = conn.ws; conn.ws = null; old.close(); }
    clearInterval(conn.pinger);
    conn.ready = false;
    conn.elsewhere = false;
    state = fresh(lang);
    save();
    render();
    connect();
  }
  $("new-chat").addEventListener("click", function () {
    restart(state.lang);
    $("text").focus();
  });
  function takeBack() {
    if (!conn.elsewhere) { return; }
    conn.elsewhere = false;
    reconnectNow();
  }
  $("here").addEventListener("click", function () {
    takeBack();
    $("text").focus();
  });
  $("lang").addEventListener("change", function () {
    var lang = $("lang").value;
    if (!served(lang)) { return; }
    if (!state.wrote && !state.closed && state.conversation && state.outbox.length === 0) {
      // Nothing said yet: leave this conversation and greet again in the new language.
      state.cseq += 1;
      send(numbered({ id: newId("l"), type: "leave" }, state.cseq));
      restart(lang);
    } else {
      state.lang = lang;
      save();
      render();
    }
  });

  // Reconnect at once when the network or the customer comes back.
  window.addEventListener("offline", wentOffline);
  window.addEventListener("online", cameOnline);
  window.addEventListener("focus", reconnectNow);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { reconnectNow(); }
  });
  // The tab holding the chat says when it goes, so one left over takes it back by itself.
  window.addEventListener("pagehide", function () {
    if (conn.ws && !conn.elsewhere) {
      try { localStorage.setItem(STORE + ".left", newId("g")); } catch (e) { /* private mode */ }
    }
  });
  window.addEventListener("storage", function (ev) {
    if (ev.key === STORE + ".left") { takeBack(); return; }
    if (ev.key !== STORE || !ev.newValue) { return; }
    var next;
    try { next = JSON.parse(ev.newValue); } catch (e) { return; }
    if (!next || !Array.isArray(next.lines) || !Array.isArray(next.outbox)) { return; }
    if (conn.elsewhere || !conn.ws) {
      // Another tab changed the conversation: follow it.
      state = next;
      render();
      return;
    }
    // This tab holds the chat: lines another tab put in the shared outbox (numbered after ours,
    // so not ones we already settled) are sent from here.
    if (next.conversation !== state.conversation || next.producer !== state.producer) { return; }
    var known = state.outbox.map(function (m) { return m.id; });
    var added = next.outbox.filter(function (m) { return m.n > state.cseq && known.indexOf(m.id) < 0; });
    if (!added.length) { return; }
    added.forEach(function (m) {
      state.cseq = Math.max(state.cseq, m.n);
      state.outbox.push(m);
      state.lines.push({ from: "customer", text: m.text, at: Date.now(), pending: m.id });
      if (conn.ready && !limited.ids.length) { send(lineFrame(m)); } else if (limited.ids.length) { limited.ids.push(m.id); }
    });
    save();
    render();
  });

  fillLangs();
  render();
  connect();
  // The customer came here to write: start in the box (its label is read out, and the greeting
  // still comes through the log's live region). Not on touch screens, where it would open the
  // keyboard over the conversation before it is read.
  if (!$("text").disabled && !(window.matchMedia && matchMedia("(pointer: coarse)").matches)) { $("text").focus(); }
})();
