// The citizen's chat window: live messages with sending/delivered states, queue place, typing, rating.
import { LiveSocket, el, formatWait, goneNotice, newClientId, textWithLinks, timeOf, TIME_ZONE } from "./live.js";

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
const withdrawnLine = document.getElementById("withdrawn");
const dueInfo = document.getElementById("due-info");
const announcer = document.getElementById("announcer");
const maxLength = Number(root.dataset.maxLength || 2000);
const busyNoticeSeconds = Number(root.dataset.busyNoticeSeconds || 0);

const seen = new Set(Array.from(list.querySelectorAll("[data-seq]"), (li) => Number(li.dataset.seq)));
const outbox = new Map(); // client_id -> {body, li}
let acknowledged = root.dataset.acknowledged === "1";
let queuedSince = null;
let position = null;
let typingTimer = null;
let lastTypingSent = 0;
let current = null; // the latest conversation payload
let lastAnnounced = "";
let noticeTimer = null;

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
    el("div", { class: "bubble" }, ...textWithLinks(m.body)),
    el("div", { class: "meta" }, meta, m.sender === "citizen" ? el("span", { class: "state", text: " · 已送达" }) : null),
  );
  const after = Array.from(list.querySelectorAll("[data-seq]")).find((node) => Number(node.dataset.seq) > m.seq);
  list.insertBefore(li, after || list.querySelector(".message-pending"));
  if (m.sender === "officer") {
    typingLine.textContent = "";
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

function dueLabel(iso) {
  return new Date(iso).toLocaleString("zh-CN", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TIME_ZONE });
}

// The state a citizen reads in the header: what has happened to their question, in words.
function stateLabel(c) {
  if (c.status === "closed") return "已结束";
  if (c.status === "queued" && !c.last_seq) return "尚未提问";
  if (c.status === "queued" && c.is_offline_question) return "已记录为留言";
  if (c.status === "offline" && !c.answered) return "留言待答复";
  return c.status_label;
}

// Screen readers hear changes of state (and of queue place), never the seconds ticking.
function announce(text) {
  if (text && text !== lastAnnounced) {
    lastAnnounced = text;
    announcer.textContent = text;
  }
}

// An offline question nobody has answered yet is withdrawn, not ended and rated.
function isWithdrawal(c) {
  return !c.answered && (c.status === "offline" || (c.status === "queued" && c.is_offline_question));
}

function setStatus(conversation) {
  current = conversation;
  root.dataset.status = conversation.status;
  const label = stateLabel(conversation);
  statusLabel.textContent = label;
  const look = conversation.status === "queued" && !conversation.last_seq ? "new" : conversation.status === "queued" && conversation.is_offline_question ? "offline" : conversation.status;
  statusLabel.className = `status status-${look}`;
  const recorded = conversation.status === "offline" || (conversation.status === "queued" && conversation.is_offline_question);
  dueInfo.textContent = recorded && conversation.due_at ? `答复期限：${dueLabel(conversation.due_at)}前` : "";
  if (conversation.status !== "queued" || conversation.is_offline_question) {
    queuedSince = null;
    position = null;
    queueInfo.textContent = "";
  }
  if (conversation.last_seq || conversation.status !== "queued") document.getElementById("offline-notice")?.remove();
  const endButton = document.getElementById("end-button");
  if (endButton) endButton.textContent = isWithdrawal(conversation) ? "撤回留言" : "结束咨询";
  if (conversation.status === "closed") {
    composer?.remove();
    document.getElementById("end-form")?.remove();
    ratingBox.hidden = Boolean(conversation.rating) || !conversation.answered;
    ratedLine.hidden = !conversation.rating;
    withdrawnLine.hidden = conversation.answered;
  }
  announce(recorded && dueInfo.textContent ? `${label}，${dueInfo.textContent}` : label);
  scheduleBusyNotice(conversation);
}

// The server words the wait notice when a sweep finds the wait over; a ping at that moment asks for
// one, so the notice comes at the configured wait rather than at the next keepalive.
function scheduleBusyNotice(c) {
  clearTimeout(noticeTimer);
  if (!busyNoticeSeconds || c.status !== "queued" || c.is_offline_question || !c.last_seq || !c.queued_at) return;
  const due = Date.parse(c.queued_at) + busyNoticeSeconds * 1000 + 1000 - Date.now();
  // Sweeps run at most every 5 s across the site: ask again a little later if this one was skipped.
  const ask = (tries) => {
    socket.send({ type: "ping" });
    if (tries > 1) noticeTimer = setTimeout(() => ask(tries - 1), 6000);
  };
  noticeTimer = setTimeout(() => ask(3), Math.max(0, due));
}

function renderQueue() {
  if (position === null) return;
  const ahead = position - 1;
  const waited = queuedSince ? `，已等待 ${formatWait(queuedSince)}` : "";
  queueInfo.textContent = ahead > 0 ? `排队中：您前面还有 ${ahead} 人${waited}` : `排队中：下一位就是您${waited}`;
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
    if (state === "unauthorized" || state === "forbidden") {
      connection.replaceChildren(goneNotice(state));
      if (input) input.disabled = true;
      document.getElementById("send")?.setAttribute("disabled", "");
    } else {
      connection.textContent = { connecting: "正在连接…", closed: "连接已断开，正在重连…" }[state] || "";
    }
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
        if (frame.conversation.status === "queued" && frame.conversation.queued_at && !frame.conversation.is_offline_question) queuedSince = Date.parse(frame.conversation.queued_at);
        setStatus(frame.conversation);
        break;
      case "queue":
        if (current && current.is_offline_question) break;
        if (frame.position !== position) announce(frame.position > 1 ? `排队中，您前面还有 ${frame.position - 1} 人` : "排队中，下一位就是您");
        position = frame.position;
        renderQueue();
        break;
      case "typing":
        if (frame.sender === "officer") {
          if (!typingLine.textContent) typingLine.textContent = "值班人员正在输入…";
          clearTimeout(typingTimer);
          typingTimer = setTimeout(() => (typingLine.textContent = ""), 4000);
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
  const withdraw = current ? isWithdrawal(current) : event.target.dataset.withdraw === "1";
  const question = withdraw ? "撤回留言？撤回后值班人员将不再答复这条留言。" : "确定结束本次咨询吗？";
  if (confirm(question)) socket.send({ type: "close" });
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
// Keepalive, as often as the server asks (data-ping-seconds; the server closes a pinging page's socket
// after three silent intervals; background tabs may stretch one to a minute). With 0 the page sends
// none: the browser answers the server's websocket protocol pings by itself, which keeps the socket.
const pingSeconds = Number(root.dataset.pingSeconds || 0);
if (pingSeconds > 0) {
  setInterval(() => {
    socket.send({ type: "ping" });
  }, pingSeconds * 1000);
}
setInterval(renderQueue, 1000);
window.zwtChat = { socket, outbox, seen };
