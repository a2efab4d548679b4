// shiftdesk chat widget. Embed with one tag:
//   <script src="https://HUB/widget.js" async></script>
// It adds a launcher button at the bottom right; the chat itself (HUB/chat) opens in an
// iframe, loaded on the first click, so a visitor who never opens it costs the hub nothing.
// The hub lets only the origins given with `shiftdesk hub --chat-origins` frame the chat.
// data-context="TOKEN": the customer's context signed by your backend (README, "Customer
// chat"); it travels in the frame's URL fragment, which is never sent to a server.
"use strict";
(function () {
  var me = document.currentScript;
  if (!me || !me.src || window.__shiftdeskWidget) { return; }
  window.__shiftdeskWidget = true;
  var hub = new URL(me.src).origin;
  var label = me.getAttribute("data-label") || "Chat with us";
  var close = me.getAttribute("data-close-label") || "Close chat";
  var context = me.getAttribute("data-context") || "";

  function css(el, props) {
    for (var k in props) { if (Object.prototype.hasOwnProperty.call(props, k)) { el.style[k] = props[k]; } }
  }

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "shiftdesk-chat");
  css(button, { position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
    font: "600 16px/1.2 system-ui, sans-serif", padding: "12px 18px", borderRadius: "24px",
    border: "2px solid #ffffff", background: "#0b4f8a", color: "#ffffff", cursor: "pointer",
    boxShadow: "0 2px 8px rgba(0,0,0,.3)" });

  var panel = document.createElement("div");
  panel.id = "shiftdesk-chat";
  panel.hidden = true;
  css(panel, { position: "fixed", right: "16px", bottom: "72px", zIndex: "2147483000",
    width: "min(380px, calc(100vw - 32px))", height: "min(600px, calc(100vh - 96px))",
    background: "#ffffff", borderRadius: "12px", overflow: "hidden",
    boxShadow: "0 4px 24px rgba(0,0,0,.35)" });

  var frame = null;
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = hub + "/chat?embed=1" + (context ? "#context=" + encodeURIComponent(context) : "");
      frame.title = label;
      css(frame, { width: "100%", height: "100%", border: "0" });
      panel.appendChild(frame);
    }
    panel.hidden = false;
    panel.style.display = "block";
    button.setAttribute("aria-expanded", "true");
    button.textContent = close;
    frame.focus();
  }
  function hide() {
    panel.hidden = true;
    panel.style.display = "none";
    button.setAttribute("aria-expanded", "false");
    button.textContent = label;
  }
  button.addEventListener("click", function () { if (panel.hidden) { open(); } else { hide(); } });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && !panel.hidden) { hide(); button.focus(); }
  });

  function mount() {
    panel.style.display = "none";
    document.body.appendChild(panel);
    document.body.appendChild(button);
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
