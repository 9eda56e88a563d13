// The officer's desk: queue, open chats, offline backlog and one conversation at a time, over one socket.
import { LiveSocket, el, formatWait, newClientId, timeOf } from "./live.js";

const me = Number(document.getElementById("desk").dataset.officer);
const $ = (id) => document.getElementById(id);
const transcripts = new Map(); // conversation id -> Map(seq -> message)
const outbox = new Map(); // client_id -> {conversation, body}
let state = { queue: [], chats: [], backlog: [], canned_replies: [] };
let selected = null;
let unreadTotal = 0;
let stateTimer = null;
let typingTimer = null;
let lastTypingSent = 0;
const baseTitle = document.title;

function allConversations() {
  return [...state.chats, ...state.queue, ...state.backlog];
}

function find(id) {
  return allConversations().find((c) => c.id === id);
}

function beep() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const osc = ctx.createOscillator();
    osc.frequency.value = 880;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
  } catch {
    /* sound is optional */
  }
}

function alertNew() {
  unreadTotal += 1;
  document.title = `(${unreadTotal}) 新消息 · ${baseTitle}`;
  beep();
}

function clearAlert() {
  unreadTotal = 0;
  document.title = baseTitle;
}

function requestState() {
  clearTimeout(stateTimer);
  stateTimer = setTimeout(() => socket.send({ type: "state" }), 150);
}

function listItem(c, extra) {
  const waited = c.queued_at ? formatWait(Date.parse(c.queued_at)) : "";
  return el(
    "li",
    { class: `desk-item${selected === c.id ? " selected" : ""}${c.overdue ? " overdue" : ""}` },
    el(
      "button",
      { type: "button", class: "desk-item-button", onclick: () => select(c.id), "data-conversation": c.id },
      el("span", { class: "desk-item-title", text: `${c.window_name} · ${c.citizen}` }),
      extra,
      el("span", { class: "desk-item-preview", text: c.preview || "（尚未提问）" }),
    ),
  );
}

function renderLists() {
  $("queue").replaceChildren(
    ...state.queue.map((c) => listItem(c, el("span", { class: "wait", "data-since": c.queued_at, text: `等待 ${formatWait(Date.parse(c.queued_at))}` }))),
  );
  $("chats").replaceChildren(
    ...state.chats.map((c) => listItem(c, c.unread ? el("span", { class: "badge badge-alert", text: String(c.unread) }) : null)),
  );
  $("backlog").replaceChildren(
    ...state.backlog.map((c) =>
      listItem(c, el("span", { class: c.overdue ? "due overdue" : "due", text: `${c.overdue ? "已逾期 · " : ""}期限 ${new Date(c.due_at).toLocaleString("zh-CN", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" })}` })),
    ),
  );
  $("queue-count").textContent = state.queue.length;
  $("chat-count").textContent = state.chats.length;
  $("backlog-count").textContent = state.backlog.length;
  const canned = $("canned");
  if (canned.options.length !== state.canned_replies.length + 1) {
    canned.replaceChildren(el("option", { value: "", text: "选择常用回复…" }), ...state.canned_replies.map((r) => el("option", { value: r.body, text: r.title })));
  }
}

function renderPresence(status) {
  const labels = { online: "在线", busy: "忙碌", away: "离开", offline: "离线" };
  $("presence").textContent = labels[status] || status;
  $("presence").className = `presence presence-${status}`;
}

function lastSeq(id) {
  const messages = transcripts.get(id);
  return messages && messages.size ? Math.max(...messages.keys()) : 0;
}

function storeMessage(m) {
  if (!transcripts.has(m.conversation)) transcripts.set(m.conversation, new Map());
  const messages = transcripts.get(m.conversation);
  const isNew = !messages.has(m.seq);
  messages.set(m.seq, m);
  if (m.client_id) outbox.delete(m.client_id);
  return isNew;
}

function renderTranscript() {
  if (selected === null) return;
  const c = find(selected);
  const messages = [...(transcripts.get(selected) || new Map()).values()].sort((a, b) => a.seq - b.seq);
  const pending = [...outbox.entries()].filter(([, item]) => item.conversation === selected);
  $("transcript").replaceChildren(
    ...messages.map((m) =>
      el(
        "li",
        { class: `message message-${m.sender}`, "data-seq": m.seq },
        el("div", { class: "bubble", text: m.body }),
        el("div", { class: "meta", text: `${m.sender === "officer" ? (m.sender_name || "我") + " · " : ""}${timeOf(m.created_at)}` }),
      ),
    ),
    ...pending.map(([, item]) => el("li", { class: "message message-officer message-pending" }, el("div", { class: "bubble", text: item.body }), el("div", { class: "meta", text: "发送中…" }))),
  );
  $("transcript").lastElementChild?.scrollIntoView({ block: "end" });
  if (c) {
    $("conv-title").textContent = `${c.window_name} · ${c.citizen}`;
    $("conv-status").textContent = c.status_label;
    $("conv-status").className = `status status-${c.status}`;
    $("classification").value = c.classification || "";
    $("transfer-note").hidden = !c.transfer_note;
    $("transfer-note").textContent = c.transfer_note || "";
    $("transfer-box").hidden = c.status === "closed";
    $("take").hidden = !(c.status === "queued" || c.status === "offline");
    $("reply-form").hidden = c.status === "closed" || (c.status === "active" && c.officer !== me);
    $("close").hidden = c.status === "closed";
  }
}

function select(id) {
  selected = id;
  $("empty-view").hidden = true;
  $("conversation-view").hidden = false;
  socket.send({ type: "resume", conversation: id, after: lastSeq(id) });
  const c = find(id);
  if (c && c.unread) {
    c.unread = 0;
  }
  clearAlert();
  renderLists();
  renderTranscript();
  showSimilar();
  if (window.matchMedia("(max-width: 719px)").matches) $("conversation-view").scrollIntoView({ block: "start" });
  $("reply").focus({ preventScroll: true });
}

function showSimilar() {
  if (window.FaqDesk && selected !== null) window.FaqDesk.render($("desk-faq"), selected, (text) => insertReply(text));
}

function insertReply(text) {
  const reply = $("reply");
  reply.value = reply.value ? `${reply.value}\n${text}` : text;
  reply.focus();
}

function markRead(id) {
  socket.send({ type: "read", conversation: id, seq: lastSeq(id) });
}

function showError(text) {
  const box = el("p", { class: "flash-error desk-error", role: "alert", text });
  $("desk").prepend(box);
  setTimeout(() => box.remove(), 6000);
}

const socket = new LiveSocket("/ws/desk/", {
  onOpen() {
    socket.send({ type: "status", status: $("status-select").value });
    socket.send({ type: "state" });
    for (const id of transcripts.keys()) socket.send({ type: "resume", conversation: id, after: lastSeq(id) });
    for (const [clientId, item] of outbox) socket.send({ type: "message", conversation: item.conversation, client_id: clientId, body: item.body });
  },
  onState(s) {
    $("desk-connection").hidden = s === "open";
    $("desk-connection").textContent = { connecting: "正在连接…", closed: "连接已断开，正在重连…", forbidden: "无法连接：请重新登录" }[s] || "";
    if (s !== "open") renderPresence("offline");
  },
  onFrame(frame) {
    switch (frame.type) {
      case "state": {
        const before = new Set(allConversations().map((c) => c.id));
        state = frame;
        renderPresence(frame.status);
        $("status-select").value = frame.chosen_status === "offline" ? "online" : frame.chosen_status;
        if (allConversations().some((c) => !before.has(c.id)) && before.size) alertNew();
        renderLists();
        renderTranscript();
        break;
      }
      case "history":
        frame.messages.forEach(storeMessage);
        if (frame.conversation === selected) {
          renderTranscript();
          markRead(selected);
        }
        break;
      case "message": {
        const isNew = storeMessage(frame);
        if (frame.conversation === selected) {
          renderTranscript();
          if (frame.sender === "citizen" && isNew) {
            markRead(selected);
            showSimilar();
          }
          $("desk-typing").hidden = true;
        } else if (isNew && frame.sender === "citizen") {
          const c = find(frame.conversation);
          if (c) c.unread = (c.unread || 0) + 1;
          renderLists();
        }
        if (isNew && frame.sender === "citizen" && (frame.conversation !== selected || document.hidden)) alertNew();
        if (!find(frame.conversation)) requestState();
        break;
      }
      case "ack":
        outbox.delete(frame.client_id);
        break;
      case "transferred":
        $("transfer-box").open = false;
        $("transfer-note-input").value = "";
        if (frame.conversation === selected) {
          selected = null;
          $("conversation-view").hidden = true;
          $("empty-view").hidden = false;
        }
        requestState();
        break;
      case "conversation":
      case "taken":
      case "queue_changed":
      case "window_presence":
        requestState();
        break;
      case "presence":
        renderPresence(frame.status);
        break;
      case "typing":
        if (frame.conversation === selected && frame.sender === "citizen") {
          $("desk-typing").hidden = false;
          clearTimeout(typingTimer);
          typingTimer = setTimeout(() => ($("desk-typing").hidden = true), 4000);
        }
        break;
      case "error":
        if (frame.ref) outbox.delete(frame.ref);
        showError(frame.message);
        renderTranscript();
        break;
    }
  },
});

$("status-select").addEventListener("change", (e) => socket.send({ type: "status", status: e.target.value }));
$("take-next").addEventListener("click", () => socket.send({ type: "take_next" }));
$("take").addEventListener("click", () => selected && socket.send({ type: "take", conversation: selected }));
$("close").addEventListener("click", () => selected && socket.send({ type: "close", conversation: selected }));
$("classification").addEventListener("change", (e) => {
  if (selected && e.target.value) socket.send({ type: "classify", conversation: selected, classification: e.target.value });
});
$("transfer-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const windowId = Number($("transfer-window").value);
  if (!selected || !windowId) return;
  socket.send({ type: "transfer", conversation: selected, window: windowId, note: $("transfer-note-input").value });
});
$("canned").addEventListener("change", (e) => {
  if (e.target.value) insertReply(e.target.value);
  e.target.value = "";
});
$("reply-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const body = $("reply").value.trim();
  if (!body || selected === null) return;
  const clientId = newClientId();
  outbox.set(clientId, { conversation: selected, body });
  socket.send({ type: "message", conversation: selected, client_id: clientId, body });
  $("reply").value = "";
  renderTranscript();
});
$("reply").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("reply-form").requestSubmit();
});
$("reply").addEventListener("input", () => {
  if (selected !== null && Date.now() - lastTypingSent > 3000) {
    lastTypingSent = Date.now();
    socket.send({ type: "typing", conversation: selected });
  }
});
document.addEventListener("visibilitychange", () => !document.hidden && clearAlert());
setInterval(() => socket.send({ type: "heartbeat" }), 20000);
setInterval(() => {
  for (const node of document.querySelectorAll(".wait[data-since]")) node.textContent = `等待 ${formatWait(Date.parse(node.dataset.since))}`;
}, 1000);
if (window.DeskCases) window.DeskCases.mount($("desk-cases"), () => selected);
window.zwtDesk = { socket, transcripts, select };
