// Suggestions under the chat box: as a citizen types a question, list published answers that look
// alike ("这些问题可能已有答复"), each opening the answer in a new tab so the chat stays open.
// Attaches to every textarea[data-faq-suggest]; the window id comes from data-window. Text from
// the server is put in with textContent only.
import { el } from "./live.js";

const DELAY_MS = 500;
const MIN_LENGTH = 4;

function makeBox(textarea) {
  const box = el(
    "section",
    { class: "faq-suggest", "data-faq-suggest-box": true, "aria-live": "polite", hidden: true },
    el("h2", { class: "faq-suggest-title", text: "这些问题可能已有答复" }),
    el("ul", { class: "faq-suggest-list" }),
  );
  textarea.insertAdjacentElement("afterend", box);
  return box;
}

function findBox(textarea) {
  const scope = textarea.form || textarea.parentElement;
  return scope?.querySelector("[data-faq-suggest-box]") || makeBox(textarea);
}

function render(box, results) {
  box.querySelector(".faq-suggest-list").replaceChildren(
    ...results.map((item) =>
      el(
        "li",
        {},
        el(
          "a",
          { href: item.url, target: "_blank", rel: "noopener" },
          item.question,
          el("span", { class: "faq-suggest-place", text: item.window ? `${item.department} · ${item.window}` : item.department }),
        ),
      ),
    ),
  );
  box.hidden = results.length === 0;
}

function attach(textarea) {
  const box = findBox(textarea);
  const url = box.dataset.url || "/faq/suggest/";
  let timer = null;
  let lastQuery = "";
  let controller = null;

  async function lookup() {
    const query = textarea.value.trim();
    if (query.length < MIN_LENGTH) {
      lastQuery = "";
      render(box, []);
      return;
    }
    if (query === lastQuery) return;
    lastQuery = query;
    controller?.abort();
    controller = new AbortController();
    const params = new URLSearchParams({ q: query });
    const windowId = textarea.dataset.window || textarea.dataset.faqWindow;
    if (windowId) params.set("window", windowId);
    try {
      const response = await fetch(`${url}?${params}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      });
      // Too many lookups (429) or a server error: keep what is shown rather than flicker.
      if (!response.ok) return;
      const data = await response.json();
      if (textarea.value.trim() === query) render(box, data.results || []);
    } catch {
      /* aborted or offline: keep what is shown */
    }
  }

  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(lookup, DELAY_MS);
  });
  textarea.form?.addEventListener("submit", () => {
    clearTimeout(timer);
    lastQuery = "";
    render(box, []);
  });
}

// Modules run after the document is parsed.
document.querySelectorAll("textarea[data-faq-suggest]").forEach(attach);
