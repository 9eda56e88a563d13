// The desk's bookkeeping without the page: which list a conversation belongs in, how far its history is
// loaded, and the unread counts behind the badges and the tab title. Plain functions, so they can be
// tested outside a browser (tests/chat/test_desk_model.py runs them in node).

export const LISTS = ["queue", "chats", "backlog", "closed"];

// Return the list a conversation payload belongs in for officer `me`, or null when it leaves this desk.
export function listFor(c, me) {
  switch (c.status) {
    case "queued":
      return "queue";
    case "offline":
      return "backlog";
    case "active":
      return c.officer === me ? "chats" : null;
    case "closed":
      return c.officer === me ? "closed" : null;
    default:
      return null;
  }
}

export function emptyState() {
  return { queue: [], chats: [], backlog: [], closed: [], windows: [], canned_replies: [], pending: {}, notes: {} };
}

export function findConversation(state, id) {
  for (const name of LISTS) {
    const c = state[name].find((item) => item.id === id);
    if (c) return c;
  }
  return null;
}

function sortList(name, items) {
  const key = {
    queue: (c) => c.queued_at || "",
    chats: (c) => c.assigned_at || c.queued_at || "",
    backlog: (c) => c.due_at || "",
    closed: (c) => c.closed_at || "",
  }[name];
  items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id - b.id));
  if (name === "closed") items.reverse();
}

// Put a conversation payload where it belongs, keeping what only the desk knows (unread, latest line,
// transfer note). Return the list it is now in (or null) and whether this desk had not seen it.
export function applyConversation(state, payload, me) {
  const before = findConversation(state, payload.id);
  const merged = { ...(before || {}), ...payload };
  if (before && !payload.preview) merged.preview = before.preview;
  if (before && !payload.transfer_note && before.transfer_note) merged.transfer_note = before.transfer_note;
  if (before && before.last_body) {
    merged.last_body = before.last_body;
    merged.last_sender = before.last_sender;
  }
  for (const name of LISTS) state[name] = state[name].filter((item) => item.id !== payload.id);
  const target = listFor(merged, me);
  if (!before && !merged.transfer_note && state.notes[payload.id]) merged.transfer_note = state.notes[payload.id];
  delete state.notes[payload.id];
  if (!before && state.pending[payload.id]) {
    // Lines that came before the conversation did (a first question arrives before its conversation).
    merged.unread = (merged.unread || 0) + state.pending[payload.id];
    delete state.pending[payload.id];
  }
  if (target) {
    if (target === "closed") merged.unread = 0;
    state[target].push(merged);
    sortList(target, state[target]);
  }
  return { list: target, isNew: before === null };
}

// Drop a conversation that another desk took or that left the window (conversation.taken; `left`:
// transferred away, so it leaves this officer's own chats too).
export function removeTaken(state, id, me, { left = false } = {}) {
  const c = findConversation(state, id);
  if (!c || (!left && c.status === "active" && c.officer === me)) return;
  for (const name of ["queue", "backlog", "chats"]) state[name] = state[name].filter((item) => item.id !== id);
  // Taken by this officer, it comes back at once with its new state: keep its unread count and its
  // transfer note (a chat transferred in and assigned at once) for then.
  if (c.unread) state.pending[id] = c.unread;
  if (c.transfer_note) state.notes[id] = c.transfer_note;
}

// Take a fresh snapshot from the server, keeping the unread counts the desk counted itself for the
// items the server does not count (queue and backlog), and the latest lines it has seen.
export function applySnapshot(state, snapshot) {
  const next = { ...emptyState(), ...snapshot, pending: state.pending || {}, notes: state.notes || {} };
  for (const name of LISTS) {
    next[name] = (snapshot[name] || []).map((c) => {
      const before = findConversation(state, c.id);
      const item = { ...c };
      if (item.unread === undefined) item.unread = before ? before.unread || 0 : 0;
      if (before && before.last_body && before.last_seq >= (c.last_seq || 0)) {
        item.last_body = before.last_body;
        item.last_sender = before.last_sender;
      }
      return item;
    });
  }
  return next;
}

// A window's queue list (queue_changed: the first 100 waiting, and how many wait): it replaces what the
// desk listed for that window, so a desk that missed events is right again with the next list and never
// needs to fetch the whole state for it. The desk's own counts (unread, latest line) are kept.
export function applyQueueList(state, frame) {
  const before = new Map(state.queue.filter((c) => c.window === frame.window).map((c) => [c.id, c]));
  const listed = frame.queue.map((c) => {
    const had = before.get(c.id);
    const item = { ...c, unread: had ? had.unread || 0 : 0 };
    if (had && had.last_body) {
      item.last_body = had.last_body;
      item.last_sender = had.last_sender;
    }
    if (had && !item.transfer_note && had.transfer_note) item.transfer_note = had.transfer_note;
    return item;
  });
  const ids = new Set(listed.map((c) => c.id));
  // Listed here, it is in no other list of this desk (a stale "chats" copy included).
  for (const name of LISTS) state[name] = state[name].filter((c) => !ids.has(c.id));
  state.queue = state.queue.filter((c) => c.window !== frame.window).concat(listed);
  sortList("queue", state.queue);
  state.waiting = { ...(state.waiting || {}), [frame.window]: frame.waiting };
  return listed.filter((c) => !before.has(c.id)).length;
}

// How many wait at the desk's windows: those listed, and those past a window's first 100.
export function waitingTotal(state) {
  let total = state.queue.length;
  for (const [window, waiting] of Object.entries(state.waiting || {})) {
    total += Math.max(0, waiting - state.queue.filter((c) => c.window === Number(window)).length);
  }
  return total;
}

// One new citizen line: it counts as unread unless the officer is looking at that chat right now.
export function countIncoming(state, id, { looking }) {
  if (looking) return 0;
  const c = findConversation(state, id);
  if (!c) {
    state.pending[id] = (state.pending[id] || 0) + 1;
    return state.pending[id];
  }
  c.unread = (c.unread || 0) + 1;
  return c.unread;
}

// The citizen arrived on or left the chat page (citizen_presence): return the conversation when this
// changed what the desk shows, else null.
export function setCitizenOnline(state, id, online) {
  const c = findConversation(state, id);
  if (!c || c.citizen_online === online) return null;
  c.citizen_online = online;
  return c;
}

export function markSeen(state, id) {
  const c = findConversation(state, id);
  const had = c ? c.unread || 0 : 0;
  if (c) c.unread = 0;
  return had;
}

// The tab title's count: the sum of the badges shown, nothing else.
export function unreadTotal(state) {
  let total = 0;
  for (const name of ["queue", "chats", "backlog"]) for (const c of state[name]) total += c.unread || 0;
  return total;
}

// The highest seq up to which every message of the transcript is present (1, 2, … n). A desk that
// received live lines before it loaded the history resumes from here, not from its newest line.
export function loadedThrough(messages) {
  let n = 0;
  while (messages && messages.has(n + 1)) n += 1;
  return n;
}

// Return the limit message when the officer cannot take anyone waiting: every queued conversation is
// at a window where the officer's chats already reach the window's limit.
export function limitReached(state) {
  if (!state.queue.length) return "";
  const limits = new Map(state.windows.map((w) => [w.id, w.max_concurrent_chats]));
  const load = new Map();
  for (const c of state.chats) load.set(c.window, (load.get(c.window) || 0) + 1);
  const blocked = state.queue.every((c) => limits.has(c.window) && (load.get(c.window) || 0) >= limits.get(c.window));
  if (!blocked) return "";
  const limit = Math.max(...state.queue.map((c) => limits.get(c.window)));
  return `已达到同时接待上限（${limit}）`;
}

// The next or previous conversation in the order the side panel shows them.
export function neighbour(state, selected, step) {
  const order = [...state.queue, ...state.chats, ...state.backlog, ...state.closed].map((c) => c.id);
  if (!order.length) return null;
  const at = order.indexOf(selected);
  if (at === -1) return order[step > 0 ? 0 : order.length - 1];
  return order[Math.min(order.length - 1, Math.max(0, at + step))];
}
