// A websocket that reconnects by itself, and small helpers shared by the chat window and the desk.

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

export function timeOf(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false });
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

// The server refused or ended the session (4401 log in again, 4403 not this account): stop retrying,
// say so, and offer the login page, coming back here afterwards.
export function offerLogin(code) {
  if (document.getElementById("live-login")) return;
  const next = encodeURIComponent(location.pathname + location.search);
  const text = code === 4401 ? "登录已失效或已在别处退出，请重新登录后继续。" : "当前账号无权使用这个页面，请换一个账号登录。";
  const link = el("a", { href: `/accounts/login/?next=${next}`, class: "button button-small" }, "重新登录");
  const notice = el("ul", { id: "live-login", class: "flash", role: "alert" }, el("li", { class: "flash-error" }, text, " ", link));
  (document.getElementById("main") || document.body).prepend(notice);
}

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
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (event.code === 4401 || event.code === 4403) {
        this.onState("forbidden");
        offerLogin(event.code);
        return;
      }
      this.onState("closed");
      if (!this.stopped) {
        this.timer = setTimeout(() => this.connect(), this.delay);
        this.delay = Math.min(this.delay * 2, 15000);
      }
    });
  }

  reconnectNow() {
    if (this.ws) return;
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
