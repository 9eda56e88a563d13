// The desk's "similar earlier answers" panel. The desk calls
//   window.FaqDesk.render(container, conversationId, onInsert)
// whenever the selected conversation changes or a new citizen message arrives; it fills container
// with up to five earlier answers for the conversation's latest citizen question, each with an
// "插入回复" button that calls onInsert(answerText) so the desk can put it into the reply box for
// editing. For a closed conversation it also links to the page that turns it into an FAQ entry.
// Text from the server is put in with textContent only.
(function () {
  "use strict";

  var URL = "/faq/similar/";
  var pending = new WeakMap();

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function note(container, text) {
    clear(container);
    var p = document.createElement("p");
    p.className = "muted small";
    p.textContent = text;
    container.appendChild(p);
  }

  function item(result, onInsert) {
    var li = document.createElement("li");
    li.className = "faq-desk-item";
    var question = document.createElement("div");
    question.className = "faq-desk-question";
    question.textContent = result.question;
    var meta = document.createElement("div");
    meta.className = "faq-desk-meta";
    meta.textContent = [result.department, result.window, result.source, result.published ? "已发布" : "未发布"]
      .filter(Boolean)
      .join(" · ");
    var answer = document.createElement("div");
    answer.className = "faq-desk-answer";
    answer.textContent = result.answer;
    var insert = document.createElement("button");
    insert.type = "button";
    insert.className = "button button-small button-secondary";
    insert.textContent = "插入回复";
    insert.setAttribute("aria-label", "把这条答复插入回复框：" + result.question);
    insert.addEventListener("click", function () {
      if (typeof onInsert === "function") onInsert(result.answer);
    });
    li.appendChild(question);
    li.appendChild(meta);
    li.appendChild(answer);
    li.appendChild(insert);
    if (result.url) {
      var link = document.createElement("a");
      link.href = result.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.className = "small";
      link.textContent = " 查看";
      li.appendChild(link);
    }
    return li;
  }

  function publishLink(container, url) {
    if (!url) return;
    var p = document.createElement("p");
    p.className = "small";
    var link = document.createElement("a");
    link.href = url;
    link.textContent = "把本次会话整理为常见问题…";
    p.appendChild(link);
    container.appendChild(p);
  }

  function render(container, conversationId, onInsert) {
    if (!container) return Promise.resolve();
    if (!conversationId) {
      clear(container);
      return Promise.resolve();
    }
    var previous = pending.get(container);
    if (previous) previous.abort();
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    if (controller) pending.set(container, controller);
    note(container, "正在查找相似的答复…");
    return fetch(URL + "?conversation=" + encodeURIComponent(conversationId), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (reply) {
        if (!reply.ok) {
          note(container, reply.data.error || "暂时无法获取相似答复。");
          return;
        }
        var results = reply.data.results || [];
        if (!reply.data.query) {
          note(container, "市民还没有提问。");
        } else if (!results.length) {
          note(container, "没有找到相似的答复。");
        } else {
          clear(container);
          var list = document.createElement("ol");
          list.className = "faq-desk-list";
          results.forEach(function (result) {
            list.appendChild(item(result, onInsert));
          });
          container.appendChild(list);
        }
        publishLink(container, reply.data.publish_url);
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") return;
        note(container, "暂时无法获取相似答复。");
      });
  }

  window.FaqDesk = { render: render };
})();
