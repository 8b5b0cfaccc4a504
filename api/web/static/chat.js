// The web chat: every text is put in with textContent (customer and crawled text are untrusted).
"use strict";

(function () {
  var phrases = JSON.parse(document.getElementById("phrases").textContent);
  var list = document.getElementById("messages");
  var state = document.getElementById("state");
  var notice = document.getElementById("notice");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var send = document.getElementById("send");
  var lastSeq = 0;
  var headers = { "x-sportello-chat": "1", "content-type": "application/json" };

  function fragmentKey() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    return params.get("key");
  }

  function say(text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function day(iso) { return iso ? String(iso).slice(0, 10) : phrases.undated; }

  function render(message) {
    var item = el("li", "msg " + message.role);
    item.dataset.seq = message.seq;
    var who = { customer: phrases.you, bot: phrases.bot, operator: phrases.operator }[message.role] || "";
    item.appendChild(el("span", "who", who));
    item.appendChild(el("p", "text", message.text));
    (message.warnings || []).forEach(function (w) {
      item.appendChild(el("p", "warning", phrases.warning + ": " + w.detail));
    });
    if (message.citations && message.citations.length) {
      var cites = el("ul", "cites");
      cites.setAttribute("aria-label", phrases.sources);
      message.citations.forEach(function (c) {
        var li = el("li");
        var label = c.title || c.source_id;
        if (c.url && /^https?:\/\//i.test(c.url)) {
          var a = el("a", null, label);
          a.href = c.url;
          a.target = "_blank";
          a.rel = "noopener noreferrer";
          li.appendChild(a);
        } else {
          li.appendChild(el("span", null, label));
        }
        li.appendChild(el("span", "date", " · " + phrases.updated + " " + day(c.updated_at)));
        cites.appendChild(li);
      });
      item.appendChild(cites);
    }
    list.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function apply(body) {
    body.messages.forEach(function (m) {
      if (m.seq > lastSeq) { render(m); lastSeq = m.seq; }
    });
    state.hidden = !body.note;
    state.textContent = body.note || "";
    state.className = "state " + body.status;
    document.body.dataset.status = body.status;
  }

  function load() {
    return fetch("/chat/api/messages?after=" + lastSeq, { headers: headers, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) throw new Error("no-session");
        if (!r.ok) throw new Error("offline");
        return r.json();
      })
      .then(apply);
  }

  function start() {
    var key = fragmentKey();
    var lang = document.body.dataset.lang;
    var opened = key
      ? fetch("/chat/api/session", {
          method: "POST", credentials: "same-origin",
          headers: Object.assign({ authorization: "Bearer " + key }, headers),
          body: JSON.stringify({ lang: lang })
        }).then(function (r) { if (!r.ok) throw new Error("no-session"); })
      : Promise.resolve();
    // The key has done its job: keep it out of the history and of anything copied from the bar.
    if (key) history.replaceState(null, "", window.location.pathname + window.location.search);
    return opened.then(load).then(function () {
      var events = new EventSource("/chat/api/events");
      events.addEventListener("change", function () { load().catch(function () {}); });
      form.addEventListener("submit", submit);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
      });
      send.disabled = false;
      input.focus();
    }).catch(function (err) {
      say(err.message === "no-session" ? phrases.needs_key : phrases.offline);
    });
  }

  function submit(event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    send.disabled = true;
    fetch("/chat/api/messages?after=" + lastSeq, {
      method: "POST", credentials: "same-origin", headers: headers, body: JSON.stringify({ text: text })
    })
      .then(function (r) { if (!r.ok) throw new Error("offline"); return r.json(); })
      .then(function (body) { input.value = ""; say(""); apply(body); })
      .catch(function () { say(phrases.offline); })
      .then(function () { send.disabled = false; input.focus(); });
  }

  send.disabled = true;
  start();
})();
