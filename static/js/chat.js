// The citizen's chat window: live messages with sending/delivered states, queue place, typing, rating.
import { LiveSocket, el, formatWait, newClientId, timeOf } from "./live.js";

const root = document.getElementById("chat");
const conversationId = Number(root.dataset.conversation);
const list = document.getElementById("messages");
const composer = document.getElementById("composer");
const input = document.getElementById("body");
const counter = document.getElementById("counter");
const typingLine = document.getElementById("typing");
const statusLabel = document.getElementById("status-label");
const queueInfo = document.getElementById("queue-info");
const connection = document.getElementById("connection");
const dialog = document.getElementById("statement-dialog");
const ratingBox = document.getElementById("rating");
const ratedLine = document.getElementById("rated");
const maxLength = Number(root.dataset.maxLength || 2000);

const seen = new Set(Array.from(list.querySelectorAll("[data-seq]"), (li) => Number(li.dataset.seq)));
const outbox = new Map(); // client_id -> {body, li}
let acknowledged = root.dataset.acknowledged === "1";
let queuedSince = null;
let position = null;
let typingTimer = null;
let lastTypingSent = 0;

function lastSeq() {
  return seen.size ? Math.max(...seen) : 0;
}

function scrollDown() {
  list.lastElementChild?.scrollIntoView({ block: "end" });
}

function renderMessage(m) {
  if (seen.has(m.seq)) return;
  seen.add(m.seq);
  const pending = m.client_id && outbox.get(m.client_id);
  if (pending) {
    outbox.delete(m.client_id);
    pending.li.remove();
  }
  const meta = [m.sender === "officer" && m.sender_name ? `${m.sender_name} · ` : "", timeOf(m.created_at)].join("");
  const li = el(
    "li",
    { class: `message message-${m.sender}`, "data-seq": m.seq },
    el("div", { class: "bubble", text: m.body }),
    el("div", { class: "meta" }, meta, m.sender === "citizen" ? el("span", { class: "state", text: " · 已送达" }) : null),
  );
  const after = Array.from(list.querySelectorAll("[data-seq]")).find((node) => Number(node.dataset.seq) > m.seq);
  list.insertBefore(li, after || list.querySelector(".message-pending"));
  if (m.sender === "officer") {
    typingLine.hidden = true;
    markRead();
  }
  scrollDown();
}

function renderPending(clientId, body) {
  const li = el(
    "li",
    { class: "message message-citizen message-pending", "data-client-id": clientId },
    el("div", { class: "bubble", text: body }),
    el("div", { class: "meta" }, el("span", { class: "state", text: "发送中…" })),
  );
  list.append(li);
  scrollDown();
  return li;
}

function showError(text) {
  const li = el("li", { class: "message message-error", role: "alert", text });
  list.append(li);
  scrollDown();
  setTimeout(() => li.remove(), 8000);
}

function setStatus(conversation) {
  root.dataset.status = conversation.status;
  statusLabel.textContent = conversation.status_label;
  statusLabel.className = `status status-${conversation.status}`;
  if (conversation.status !== "queued") {
    queuedSince = null;
    position = null;
    queueInfo.textContent = "";
  }
  if (conversation.status === "active" || conversation.status === "closed") {
    document.getElementById("offline-notice")?.remove();
  }
  if (conversation.status === "closed") {
    composer?.remove();
    document.getElementById("end-form")?.remove();
    ratingBox.hidden = Boolean(conversation.rating);
    ratedLine.hidden = !conversation.rating;
  }
}

function renderQueue() {
  if (position === null) return;
  const ahead = position - 1;
  const waited = queuedSince ? `，已等待 ${formatWait(queuedSince)}` : "";
  queueInfo.textContent = ahead > 0 ? `排队中：您前面还有 ${ahead} 人${waited}` : `马上为您接入${waited}`;
}

function markRead() {
  if (document.visibilityState === "visible") socket.send({ type: "read", seq: lastSeq() });
}

function flushOutbox() {
  for (const [clientId, item] of outbox) socket.send({ type: "message", client_id: clientId, body: item.body });
}

const socket = new LiveSocket(`/ws/chat/${conversationId}/`, {
  onOpen() {
    socket.send({ type: "resume", after: lastSeq() });
    if (acknowledged) socket.send({ type: "ack_statement" });
    flushOutbox();
  },
  onState(state) {
    connection.hidden = state === "open";
    connection.textContent = { connecting: "正在连接…", closed: "连接已断开，正在重连…", forbidden: "无法连接：请重新登录" }[state] || "";
  },
  onFrame(frame) {
    switch (frame.type) {
      case "history":
        frame.messages.forEach(renderMessage);
        break;
      case "message":
        renderMessage(frame);
        break;
      case "ack": {
        const pending = outbox.get(frame.client_id);
        if (pending) pending.li.querySelector(".state").textContent = "已送达";
        break;
      }
      case "conversation":
        setStatus(frame.conversation);
        if (frame.conversation.status === "queued" && frame.conversation.queued_at) queuedSince = Date.parse(frame.conversation.queued_at);
        break;
      case "queue":
        position = frame.position;
        renderQueue();
        break;
      case "typing":
        if (frame.sender === "officer") {
          typingLine.hidden = false;
          clearTimeout(typingTimer);
          typingTimer = setTimeout(() => (typingLine.hidden = true), 4000);
        }
        break;
      case "rated":
        ratingBox.hidden = true;
        ratedLine.hidden = false;
        break;
      case "error":
        if (frame.ref && outbox.has(frame.ref) && frame.code !== "rate_limited") {
          const item = outbox.get(frame.ref);
          outbox.delete(frame.ref);
          item.li.classList.add("message-failed");
          item.li.querySelector(".state").textContent = "未发送";
        }
        showError(frame.message);
        break;
    }
  },
});

if (dialog && !acknowledged && root.dataset.status !== "closed") {
  dialog.showModal();
  dialog.addEventListener("close", () => {
    acknowledged = true;
    socket.send({ type: "ack_statement" });
    input?.focus();
  });
}

composer?.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = input.value.trim();
  if (!body) {
    showError("消息不能为空。");
    return;
  }
  if (body.length > maxLength) {
    showError(`消息太长了，最多 ${maxLength} 个字。`);
    return;
  }
  if (!acknowledged && dialog) {
    dialog.showModal();
    return;
  }
  const clientId = newClientId();
  outbox.set(clientId, { body, li: renderPending(clientId, body) });
  socket.send({ type: "message", client_id: clientId, body });
  input.value = "";
  counter.textContent = "";
  input.focus();
});

input?.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) composer.requestSubmit();
});

input?.addEventListener("input", () => {
  const length = input.value.length;
  counter.textContent = length > maxLength - 200 ? `${length}/${maxLength}` : "";
  if (Date.now() - lastTypingSent > 3000 && input.value.trim()) {
    lastTypingSent = Date.now();
    socket.send({ type: "typing" });
  }
});

document.getElementById("end-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  if (confirm("确定结束本次咨询吗？")) socket.send({ type: "close" });
});

document.getElementById("rating-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  socket.send({ type: "rate", rating: Number(data.get("rating")), comment: data.get("comment") || "" });
  if (data.get("publication_consent")) {
    const body = new FormData();
    body.append("allowed", "1");
    body.append("csrfmiddlewaretoken", data.get("csrfmiddlewaretoken"));
    fetch(event.target.dataset.consentUrl, { method: "POST", body, headers: { Accept: "application/json" } });
  }
});

document.addEventListener("visibilitychange", markRead);
// Keepalive (the server closes sockets silent for 90 s); background tabs may stretch it to a minute.
setInterval(() => {
  socket.send({ type: "ping" });
}, 30000);
setInterval(renderQueue, 1000);
window.zwtChat = { socket, outbox, seen };
