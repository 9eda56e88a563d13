// The live wallboard (实时监控): render every window's state from the websocket, worst first.
const board = document.getElementById("wallboard");
const body = board.querySelector("tbody");
const status = document.getElementById("wb-connection");
const updated = document.getElementById("wb-updated");
const transcriptUrl = board.dataset.transcriptUrl;
let skew = 0;
let latest = null;
let retry = 1000;

function text(tag, value, className) {
  const node = document.createElement(tag);
  node.textContent = value;
  if (className) node.className = className;
  return node;
}

function duration(seconds) {
  if (!seconds) return "—";
  const minutes = Math.floor(seconds / 60);
  return minutes ? `${minutes} 分 ${seconds % 60} 秒` : `${seconds} 秒`;
}

function waitOf(row) {
  if (!row.oldest_queued_at) return 0;
  return Math.max(0, Math.floor((Date.now() - skew - Date.parse(row.oldest_queued_at)) / 1000));
}

function render(state) {
  latest = state;
  skew = Date.now() - Date.parse(state.at);
  const rows = state.windows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.window = row.window;
    const wait = waitOf(row);
    if (wait >= state.threshold || row.alert) tr.className = "wb-alert";
    const name = document.createElement("td");
    name.className = "name";
    name.append(text("div", row.name, "wb-window"), text("div", row.department, "wb-department"));
    row.alerts.forEach((alert) => name.append(text("span", alert, "wb-flag")));
    const officers = document.createElement("td");
    officers.className = "text";
    if (!row.officers.length) officers.append(text("span", "无人在线", "wb-none"));
    row.officers.forEach((officer) => officers.append(text("span", `${officer.name} ${officer.label}`, `wb-officer wb-${officer.status}`)));
    const chats = document.createElement("td");
    chats.className = "text";
    chats.append(text("span", String(row.active), "wb-number"));
    row.chats.forEach((chat) => {
      const link = text("a", `#${chat.id} ${chat.officer}`, "wb-chat");
      link.href = transcriptUrl.replace("/0/", `/${chat.id}/`);
      link.target = "_blank";
      link.title = "只读查看（记入审计日志）";
      chats.append(link);
    });
    const waitCell = text("td", duration(wait), "wb-wait");
    waitCell.dataset.oldest = row.oldest_queued_at || "";
    const cells = [name, officers, text("td", String(row.queued), "wb-queued"), waitCell, chats,
                   text("td", String(row.backlog)), text("td", String(row.overdue), row.overdue ? "wb-overdue" : "")];
    const labels = [null, "在线值班人员", "排队", "最长等待", "进行中", "留言待答复", "超期留言"];
    cells.forEach((cell, index) => { if (labels[index]) cell.dataset.label = labels[index]; });
    tr.append(...cells);
    return tr;
  });
  body.replaceChildren(...rows);
  for (const [key, value] of Object.entries(state.totals)) {
    const cell = document.getElementById(`wb-total-${key}`);
    if (cell) cell.textContent = value;
  }
  updated.textContent = new Date(Date.now()).toLocaleTimeString("zh-CN", { hour12: false });
}

function tick() {
  if (!latest) return;
  for (const cell of body.querySelectorAll("td.wb-wait")) {
    if (!cell.dataset.oldest) continue;
    const wait = waitOf({ oldest_queued_at: cell.dataset.oldest });
    cell.textContent = duration(wait);
    if (wait >= latest.threshold) cell.parentElement.classList.add("wb-alert");
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${board.dataset.socket}`);
  socket.addEventListener("open", () => {
    retry = 1000;
    status.textContent = "实时更新中";
    status.className = "wb-live";
  });
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "wallboard") render(frame);
  });
  socket.addEventListener("close", () => {
    status.textContent = "连接已断开，正在重连…";
    status.className = "wb-lost";
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30000);
  });
}

setInterval(tick, 1000);
connect();
