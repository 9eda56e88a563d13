// The desk's "similar earlier answers" panel. The desk calls renderSimilar(container, conversationId,
// onInsert) whenever the selected conversation changes or a new citizen message arrives; it fills
// container with the earlier answers for the conversation's latest citizen question that pass the
// search's relevance cut-off, each with an "插入回复" button that calls onInsert(answerText) so the
// desk can put it into the reply box for editing. For a closed conversation it also links to the page
// that turns it into an FAQ entry. Text from the server is put in with textContent only.
import { el } from "./live.js";

const URL = "/faq/similar/";
const pending = new WeakMap();

function note(container, text) {
  container.replaceChildren(el("p", { class: "muted small", text }));
}

function item(result, onInsert) {
  const meta = [result.department, result.window, result.source, result.published ? "已发布" : "未发布"].filter(Boolean).join(" · ");
  return el(
    "li",
    { class: "faq-desk-item" },
    el("div", { class: "faq-desk-question", text: result.question }),
    el("div", { class: "faq-desk-meta", text: meta }),
    el("div", { class: "faq-desk-answer", text: result.answer }),
    el("button", {
      type: "button",
      class: "button button-small button-secondary",
      text: "插入回复",
      "aria-label": `把这条答复插入回复框：${result.question}`,
      onclick: () => onInsert(result.answer),
    }),
    result.url ? el("a", { href: result.url, target: "_blank", rel: "noopener", class: "small", text: " 查看" }) : null,
  );
}

export async function renderSimilar(container, conversationId, onInsert) {
  if (!container) return;
  if (!conversationId) {
    container.replaceChildren();
    return;
  }
  pending.get(container)?.abort();
  const controller = new AbortController();
  pending.set(container, controller);
  note(container, "正在查找相似的答复…");
  let response;
  let data;
  try {
    response = await fetch(`${URL}?conversation=${encodeURIComponent(conversationId)}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: controller.signal,
    });
    data = await response.json();
  } catch (error) {
    if (error && error.name !== "AbortError") note(container, "暂时无法获取相似答复。");
    return;
  }
  if (!response.ok) {
    note(container, data.error || "暂时无法获取相似答复。");
    return;
  }
  const results = data.results || [];
  if (!data.query) note(container, "市民还没有提问。");
  else if (!results.length) note(container, "没有找到足够相似的既往答复。");
  else container.replaceChildren(el("ol", { class: "faq-desk-list" }, ...results.map((r) => item(r, onInsert))));
  if (data.publish_url) {
    container.append(el("p", { class: "small" }, el("a", { href: data.publish_url, text: "把本次会话整理为常见问题…" })));
  }
}
