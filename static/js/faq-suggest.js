// Suggestions under the chat box: as a citizen types a question, list published answers that look
// alike ("这些问题可能已有答复"), each opening the answer in a new tab so the chat stays open.
// Attaches to every textarea[data-faq-suggest]; the window id comes from data-window. Text from
// the server is put in with textContent only.
(function () {
  "use strict";

  var DELAY_MS = 500;
  var MIN_LENGTH = 4;

  function makeBox(textarea) {
    var box = document.createElement("section");
    box.className = "faq-suggest";
    box.setAttribute("data-faq-suggest-box", "");
    box.setAttribute("aria-live", "polite");
    box.hidden = true;
    var title = document.createElement("h2");
    title.className = "faq-suggest-title";
    title.textContent = "这些问题可能已有答复";
    var list = document.createElement("ul");
    list.className = "faq-suggest-list";
    box.appendChild(title);
    box.appendChild(list);
    textarea.insertAdjacentElement("afterend", box);
    return box;
  }

  function findBox(textarea) {
    var scope = textarea.form || textarea.parentElement;
    return (scope && scope.querySelector("[data-faq-suggest-box]")) || makeBox(textarea);
  }

  function render(box, results) {
    var list = box.querySelector(".faq-suggest-list");
    while (list.firstChild) list.removeChild(list.firstChild);
    results.forEach(function (item) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = item.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = item.question;
      var place = document.createElement("span");
      place.className = "faq-suggest-place";
      place.textContent = item.window ? item.department + " · " + item.window : item.department;
      link.appendChild(place);
      li.appendChild(link);
      list.appendChild(li);
    });
    box.hidden = results.length === 0;
  }

  function attach(textarea) {
    var box = findBox(textarea);
    var url = box.getAttribute("data-url") || "/faq/suggest/";
    var timer = null;
    var lastQuery = "";
    var controller = null;

    function lookup() {
      var query = textarea.value.trim();
      if (query.length < MIN_LENGTH) {
        lastQuery = "";
        render(box, []);
        return;
      }
      if (query === lastQuery) return;
      lastQuery = query;
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var params = new URLSearchParams({ q: query });
      var windowId = textarea.getAttribute("data-window") || textarea.getAttribute("data-faq-window");
      if (windowId) params.set("window", windowId);
      fetch(url + "?" + params.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          // Too many lookups (429) or a server error: keep what is shown rather than flicker.
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (data && textarea.value.trim() === query) render(box, data.results || []);
        })
        .catch(function () {});
    }

    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, DELAY_MS);
    });
    if (textarea.form) {
      textarea.form.addEventListener("submit", function () {
        clearTimeout(timer);
        lastQuery = "";
        render(box, []);
      });
    }
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-faq-suggest]"), attach);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
