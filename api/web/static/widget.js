// Sportello web chat: <script src="https://chat.example/widget.js" data-key="sk_..." data-lang="it" async></script>
// Adds a button that opens the chat in an iframe served by Sportello (its own origin and CSP).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var lang = script.dataset.lang || document.documentElement.lang || "";
  var label = script.dataset.label || "Chat";

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  button.id = "sportello-chat-button";
  var b = button.style;
  b.position = "fixed"; b.right = "16px"; b.bottom = "16px"; b.zIndex = "2147483000";
  b.padding = "12px 18px"; b.borderRadius = "24px"; b.border = "0"; b.font = "600 15px system-ui, sans-serif";
  b.background = script.dataset.color || "#1f4fbf"; b.color = "#fff"; b.cursor = "pointer";

  var frame = document.createElement("iframe");
  frame.id = "sportello-chat-frame";
  frame.title = label;
  frame.hidden = true;
  // The key travels in the fragment: browsers never send it to a server.
  frame.src = origin + "/chat?lang=" + encodeURIComponent(lang) + "#key=" + encodeURIComponent(script.dataset.key || "");
  var f = frame.style;
  f.position = "fixed"; f.right = "8px"; f.bottom = "72px"; f.zIndex = "2147483000";
  f.width = "min(380px, calc(100vw - 16px))"; f.height = "min(600px, calc(100vh - 88px))";
  f.border = "1px solid #ccd"; f.borderRadius = "12px"; f.background = "#fff";
  f.boxShadow = "0 8px 30px rgba(0,0,0,.2)";

  button.addEventListener("click", function () {
    frame.hidden = !frame.hidden;
    button.setAttribute("aria-expanded", String(!frame.hidden));
    if (!frame.hidden) frame.focus();
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !frame.hidden) { frame.hidden = true; button.setAttribute("aria-expanded", "false"); button.focus(); }
  });

  function mount() { document.body.appendChild(frame); document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
