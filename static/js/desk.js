// The officer's desk: queue, open chats, offline backlog, today's ended chats and one conversation at a
// time, over one socket. The snapshot ("state") is asked for on connect only; afterwards the desk applies
// the conversations that events carry (see desk-model.js for the bookkeeping).
import { mount as mountCases } from "./desk-cases.js";
import {
  applyConversation,
  applyQueueList,
  applySnapshot,
  countIncoming,
  emptyState,
  findConversation,
  limitReached,
  loadedThrough,
  markSeen,
  neighbour,
  removeTaken,
  setCitizenOnline,
  unreadTotal,
  waitingTotal,
} from "./desk-model.js";
import { renderSimilar } from "./faq-desk.js";
import { LiveSocket, dateTimeOf, el, formatWait, goneNotice, newClientId, timeOf } from "./live.js";

const me = Number(document.getElementById("desk").dataset.officer);
const $ = (id) => document.getElementById(id);
const transcripts = new Map(); // conversation id -> Map(seq -> message)
const outbox = new Map(); // client_id -> {conversation, body}
let state = emptyState();
let selected = null;
let typingTimer = null;
let lastTypingSent = 0;
const baseTitle = document.title;

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

function renderTitle() {
  const total = unreadTotal(state);
  document.title = total ? `(${total}) 新消息 · ${baseTitle}` : baseTitle;
}

function looking(id) {
  return id === selected && !document.hidden;
}

function latestLine(c) {
  if (c.last_body) return `${c.last_sender === "officer" ? "我：" : ""}${c.last_body}`;
  return c.preview || "（尚未提问）";
}

// Whether the citizen still has the chat page open; an ended chat does not say.
function citizenPresence(c) {
  if (c.status === "closed" || c.citizen_online === undefined) return null;
  return el("span", { class: `citizen-presence${c.citizen_online ? " on" : ""}`, text: c.citizen_online ? "在页面上" : "已离开" });
}

function listItem(c, extra) {
  const when = c.last_message_at || c.queued_at;
  const badge = c.unread ? el("span", { class: "badge badge-alert", title: `${c.unread} 条未读`, text: String(c.unread) }) : null;
  return el(
    "li",
    { class: `desk-item${selected === c.id ? " selected" : ""}${c.overdue ? " overdue" : ""}` },
    el(
      "button",
      { type: "button", class: "desk-item-button", onclick: () => select(c.id), "data-conversation": c.id, "aria-current": selected === c.id ? "true" : null },
      el(
        "span",
        { class: "desk-item-title" },
        el("span", { class: "desk-item-citizen", text: c.citizen }),
        el("span", { class: "desk-item-window", text: c.window_name }),
        citizenPresence(c),
      ),
      el("span", { class: "desk-item-side" }, when ? el("time", { class: "desk-item-time", datetime: when, text: timeOf(when) }) : null, badge),
      el("span", { class: "desk-item-preview", text: latestLine(c) }),
      extra,
    ),
  );
}

function classificationLabel(value) {
  const option = [...$("classification").options].find((o) => o.value === value);
  return value && option ? option.textContent : "未分类";
}

function dueLabel(c) {
  const overdue = c.due_at && Date.parse(c.due_at) < Date.now();
  return el("span", { class: overdue ? "due overdue" : "due", text: `${overdue ? "已逾期 · " : ""}期限 ${dateTimeOf(c.due_at)}` });
}

function renderLists() {
  $("queue").replaceChildren(
    ...state.queue.map((c) => listItem(c, el("span", { class: "wait", "data-since": c.queued_at, text: `等待 ${formatWait(Date.parse(c.queued_at))}` }))),
  );
  $("chats").replaceChildren(...state.chats.map((c) => listItem(c, null)));
  $("backlog").replaceChildren(...state.backlog.map((c) => listItem(c, dueLabel(c))));
  $("closed").replaceChildren(
    ...state.closed.map((c) => {
      const li = listItem(c, el("span", { class: "muted small", text: classificationLabel(c.classification) }));
      li.append(el("a", { class: "desk-item-link small", href: `/faq/publish/${c.id}/`, text: "整理为常见问题" }));
      return li;
    }),
  );
  $("queue-count").textContent = waitingTotal(state);
  $("chat-count").textContent = state.chats.length;
  $("backlog-count").textContent = state.backlog.length;
  $("closed-count").textContent = state.closed.length;
  const canned = $("canned");
  if (canned.options.length !== state.canned_replies.length + 1) {
    canned.replaceChildren(el("option", { value: "", text: "选择常用回复…" }), ...state.canned_replies.map((r) => el("option", { value: r.body, text: r.title })));
  }
  const full = limitReached(state);
  if (full) showTakeNote(full);
  else if ($("take-next-note").dataset.kind === "limit") showTakeNote("");
  renderTitle();
}

function showTakeNote(text) {
  $("take-next-note").textContent = text;
  $("take-next-note").dataset.kind = text ? "limit" : "";
}

function renderPresence(status) {
  const labels = { online: "在线", busy: "忙碌", away: "离开", offline: "离线" };
  $("presence").textContent = labels[status] || status;
  $("presence").className = `presence presence-${status}`;
}

function storeMessage(m) {
  if (!transcripts.has(m.conversation)) transcripts.set(m.conversation, new Map());
  const messages = transcripts.get(m.conversation);
  const isNew = !messages.has(m.seq);
  messages.set(m.seq, m);
  if (m.client_id) outbox.delete(m.client_id);
  const c = findConversation(state, m.conversation);
  if (c && m.sender !== "system" && m.seq >= (c.last_seq_seen || 0)) {
    c.last_seq_seen = m.seq;
    c.last_body = m.body;
    c.last_sender = m.sender;
    c.last_message_at = m.created_at;
    if (m.sender === "citizen") c.preview = m.body;
  }
  return isNew;
}

function renderTranscript() {
  if (selected === null) return;
  const c = findConversation(state, selected);
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
  $("transcript").lastElementChild?.scrollIntoView({ block: "nearest" });
  if (c) renderHead(c);
}

function renderHead(c) {
  const closed = c.status === "closed";
  const othersChat = c.status === "active" && c.officer !== me;
  $("conv-title").textContent = `${c.citizen} · ${c.window_name}`;
  $("conv-status").textContent = closed ? "已结束" : c.status_label;
  $("conv-status").className = `status status-${c.status}`;
  const presence = citizenPresence(c);
  $("conv-presence").hidden = !presence;
  $("conv-presence").className = presence ? presence.className : "citizen-presence";
  $("conv-presence").textContent = presence ? presence.textContent : "";
  $("classification").value = c.classification || "";
  $("classification").disabled = closed;
  $("transfer-note").hidden = !c.transfer_note;
  $("transfer-note").textContent = c.transfer_note || "";
  $("transfer-box").hidden = closed;
  $("take").hidden = !(c.status === "queued" || c.status === "offline");
  $("close").hidden = closed;
  $("close-hint").hidden = closed || Boolean(c.classification);
  $("reply-form").hidden = othersChat;
  $("reply").disabled = closed;
  $("reply-send").disabled = closed;
  $("canned").disabled = closed;
  $("reply").placeholder = closed ? "会话已结束，不能再发送消息" : "输入回复，Ctrl+Enter 发送";
  $("reply-note").textContent = closed ? "会话已结束" : "";
}

function select(id) {
  selected = id;
  $("empty-view").hidden = true;
  $("conversation-view").hidden = false;
  showError("");
  // Resume from the first gap, not from the newest line: live lines may have come before the history.
  socket.send({ type: "resume", conversation: id, after: loadedThrough(transcripts.get(id)) });
  markSeen(state, id);
  renderLists();
  renderTranscript();
  showSimilar();
  if (window.matchMedia("(max-width: 719px)").matches) $("conversation-view").scrollIntoView({ block: "start" });
  if (!$("reply").disabled) $("reply").focus({ preventScroll: true });
}

function deselect() {
  selected = null;
  $("conversation-view").hidden = true;
  $("empty-view").hidden = false;
}

function showSimilar() {
  if (selected !== null) renderSimilar($("desk-faq"), selected, insertReply);
}

function insertReply(text) {
  const reply = $("reply");
  reply.value = reply.value ? `${reply.value}\n${text}` : text;
  reply.focus();
}

function markRead(id) {
  const messages = transcripts.get(id);
  if (messages && messages.size) socket.send({ type: "read", conversation: id, seq: Math.max(...messages.keys()) });
}

// Errors show where the officer is looking: in the open conversation, or under "接入下一位".
function showError(text, { near } = {}) {
  const box = near === "queue" || selected === null ? $("take-next-note") : $("conv-error");
  if (box === $("conv-error")) box.hidden = !text;
  box.textContent = text;
  box.dataset.kind = text ? "error" : "";
  if (text) box.scrollIntoView({ block: "nearest" });
}

function onConversation(payload) {
  const { list, isNew } = applyConversation(state, payload, me);
  if (isNew && list === "queue") beep();
  if (payload.id === selected) {
    if (list === null) deselect();
    else {
      if (payload.status === "closed") showError("");
      renderHead(findConversation(state, selected));
    }
  }
  renderLists();
}

function onMessage(frame) {
  const isNew = storeMessage(frame);
  const fromCitizen = isNew && frame.sender === "citizen";
  if (fromCitizen && countIncoming(state, frame.conversation, { looking: looking(frame.conversation) })) beep();
  if (frame.conversation === selected) {
    renderTranscript();
    if (fromCitizen) {
      if (!document.hidden) markRead(selected);
      showSimilar();
    }
    $("desk-typing").hidden = true;
  }
  renderLists();
}

const socket = new LiveSocket("/ws/desk/", {
  onOpen() {
    socket.send({ type: "status", status: $("status-select").value });
    socket.send({ type: "state" });
    for (const [id, messages] of transcripts) socket.send({ type: "resume", conversation: id, after: loadedThrough(messages) });
    for (const [clientId, item] of outbox) socket.send({ type: "message", conversation: item.conversation, client_id: clientId, body: item.body });
  },
  onState(s) {
    const box = $("desk-connection");
    box.hidden = s === "open";
    if (s === "unauthorized" || s === "forbidden") box.replaceChildren(goneNotice(s));
    else box.textContent = { connecting: "正在连接…", closed: "连接已断开，正在重连…" }[s] || "";
    if (s !== "open") renderPresence("offline");
  },
  onFrame(frame) {
    switch (frame.type) {
      case "state": {
        const before = new Set([...state.queue, ...state.backlog].map((c) => c.id));
        const hadState = before.size > 0 || state.chats.length > 0;
        state = applySnapshot(state, frame);
        if (selected !== null) markSeen(state, selected);
        renderPresence(frame.status);
        $("status-select").value = frame.chosen_status === "offline" ? "online" : frame.chosen_status;
        if (hadState && state.queue.some((c) => !before.has(c.id))) beep();
        renderLists();
        if (selected !== null && !findConversation(state, selected)) deselect();
        renderTranscript();
        break;
      }
      case "history":
        frame.messages.forEach(storeMessage);
        if (frame.conversation === selected) {
          renderTranscript();
          if (!document.hidden) markRead(selected);
        }
        renderLists();
        break;
      case "message":
        onMessage(frame);
        break;
      case "ack":
        outbox.delete(frame.client_id);
        break;
      case "transferred":
        $("transfer-box").open = false;
        $("transfer-note-input").value = "";
        if (frame.conversation === selected) deselect();
        break;
      case "conversation":
        onConversation(frame.conversation);
        break;
      case "taken": {
        const id = frame.conversation;
        removeTaken(state, id, me, { left: frame.left });
        renderLists();
        // Taken by this officer, the conversation comes back at once as one of "进行中"; taken by
        // someone else (or transferred away), it does not.
        if (id === selected && !findConversation(state, id)) {
          setTimeout(() => {
            if (selected === id && !findConversation(state, id)) {
              deselect();
              showTakeNote("刚才打开的会话已由其他值班人员接入或已转出。");
            }
          }, 1000);
        }
        break;
      }
      case "queue_changed": {
        // The list itself, not a reason to fetch the state: in a surge every desk would ask twice a second.
        applyQueueList(state, frame);
        renderLists();
        break;
      }
      case "window_presence":
        break;
      case "citizen_presence": {
        const c = setCitizenOnline(state, frame.conversation, frame.online);
        if (c) {
          renderLists();
          if (c.id === selected) renderHead(c);
          if (c.status !== "closed") $("desk-announce").textContent = `${c.citizen}（${c.window_name}）${frame.online ? "回到了咨询页面" : "已离开咨询页面"}`;
        }
        break;
      }
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
        if (frame.code === "empty_queue") showError(limitReached(state) || frame.message, { near: "queue" });
        else if (frame.code === "limit") showError(frame.message, { near: "queue" });
        else showError(frame.message);
        renderTranscript();
        break;
    }
  },
});

function takeNext() {
  const full = limitReached(state);
  if (full) {
    showTakeNote(full);
    return;
  }
  socket.send({ type: "take_next" });
}

$("status-select").addEventListener("change", (e) => socket.send({ type: "status", status: e.target.value }));
$("take-next").addEventListener("click", takeNext);
$("take").addEventListener("click", () => selected && socket.send({ type: "take", conversation: selected }));
$("close").addEventListener("click", () => {
  if (!selected) return;
  if (!$("classification").value) {
    showError("请先为会话选择分类，再结束。");
    $("classification").focus();
    return;
  }
  socket.send({ type: "close", conversation: selected });
});
$("classification").addEventListener("change", (e) => {
  if (selected && e.target.value) {
    showError("");
    socket.send({ type: "classify", conversation: selected, classification: e.target.value });
  }
  $("close-hint").hidden = Boolean(e.target.value);
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
  if (!body || selected === null || $("reply").disabled) return;
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
document.addEventListener("keydown", (e) => {
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    const next = neighbour(state, selected, e.key === "ArrowDown" ? 1 : -1);
    if (next !== null) {
      e.preventDefault();
      select(next);
      document.querySelector(`[data-conversation="${next}"]`)?.scrollIntoView({ block: "nearest" });
    }
  } else if (e.code === "KeyN" || e.key === "n" || e.key === "N") {
    e.preventDefault();
    takeNext();
  }
});
document.addEventListener("visibilitychange", () => {
  if (document.hidden || selected === null) return;
  markSeen(state, selected);
  markRead(selected);
  renderLists();
});
setInterval(() => socket.send({ type: "heartbeat" }), 20000);
setInterval(() => {
  for (const node of document.querySelectorAll(".wait[data-since]")) node.textContent = `等待 ${formatWait(Date.parse(node.dataset.since))}`;
}, 1000);
mountCases($("desk-cases"), () => selected);
window.zwtDesk = { socket, transcripts, select, state: () => state };
