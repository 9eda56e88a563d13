// Helpers shared by the live pages (chat window, desk and their panels), and a websocket that reconnects.

export function newClientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function formatWait(since, now = Date.now()) {
  const seconds = Math.max(0, Math.floor((now - since) / 1000));
  const minutes = Math.floor(seconds / 60);
  if (minutes >= 60) return `${Math.floor(minutes / 60)} 小时 ${minutes % 60} 分`;
  if (minutes > 0) return `${minutes} 分 ${seconds % 60} 秒`;
  return `${seconds} 秒`;
}

// Times are the duty room's, Beijing time, whatever time zone the browser is set to.
export const TIME_ZONE = "Asia/Shanghai";

export function timeOf(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TIME_ZONE });
}

export function dateTimeOf(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString("zh-CN", {
    month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TIME_ZONE,
  });
}

// "下班前" wording of a due moment: the full date and time in Beijing time.
export function dueText(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString("zh-CN", {
    year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TIME_ZONE,
  });
}

// The site's own paths in a message (the case lookup page in an escalation message …) as links;
// the rest stays text. Mirrors the urlize_paths template filter.
const SITE_PATH = /(^|[^\w/.])(\/(?:cases|faq|my|windows)\/[\w\-/]*(?:\?[\w\-=&%]*)?)/g;

export function textWithLinks(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(SITE_PATH)) {
    const start = match.index + match[1].length;
    if (start > last) nodes.push(text.slice(last, start));
    nodes.push(el("a", { href: match[2], text: match[2] }));
    last = start + match[2].length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// Build an element; text is always set as text, never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// What a page says when its socket is gone for good, with a way back in.
export function goneNotice(state) {
  const next = encodeURIComponent(location.pathname + location.search);
  const text = state === "unauthorized" ? "登录已失效，实时连接已停止。" : "无法连接：您无权访问这个页面，或登录已失效。";
  return el("span", { class: "connection-gone", role: "alert" }, text, " ", el("a", { href: `/accounts/login/?next=${next}`, text: "重新登录" }));
}

// A socket that reconnects by itself, until the server refuses it for good: closed with 4401 (not
// logged in) or 4403 (not allowed), or a handshake refused while the page itself no longer loads.
// onState gets "connecting", "open", "closed" (retrying), "unauthorized" or "forbidden" (stopped).
export class LiveSocket {
  constructor(path, { onOpen, onFrame, onState }) {
    this.path = path;
    this.onOpen = onOpen;
    this.onFrame = onFrame;
    this.onState = onState || (() => {});
    this.delay = 1000;
    this.ws = null;
    this.stopped = false;
    this.connect();
    window.addEventListener("online", () => this.reconnectNow());
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${this.path}`;
  }

  connect() {
    this.onState("connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.delay = 1000;
      this.onState("open");
      this.onOpen();
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onFrame(frame);
    });
    let opened = false;
    ws.addEventListener("open", () => (opened = true));
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (event.code === 4401 || event.code === 4403) {
        this.stop(event.code === 4401 ? "unauthorized" : "forbidden");
        return;
      }
      this.onState("closed");
      if (this.stopped) return;
      if (!opened && navigator.onLine !== false) {
        this.checkPage().then((gone) => (gone ? this.stop(gone) : this.retry()));
      } else {
        this.retry();
      }
    });
  }

  retry() {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 15000);
  }

  stop(state) {
    this.stopped = true;
    clearTimeout(this.timer);
    this.onState(state);
  }

  // A refused handshake looks like a lost network; ask for the page itself: a redirect to the login
  // page or a 403/404 means the socket will never be let in again.
  async checkPage() {
    try {
      const response = await fetch(location.href, { method: "GET", redirect: "manual", credentials: "same-origin", cache: "no-store" });
      if (response.type === "opaqueredirect" || response.status === 401) return "unauthorized";
      if (response.status === 403 || response.status === 404) return "forbidden";
    } catch {
      /* the network really is gone: keep retrying */
    }
    return null;
  }

  reconnectNow() {
    if (this.ws || this.stopped) return;
    clearTimeout(this.timer);
    this.delay = 1000;
    this.connect();
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // For tests and the desk's "断开重连": drop the socket as a lost network would.
  drop() {
    if (this.ws) this.ws.close();
  }
}
