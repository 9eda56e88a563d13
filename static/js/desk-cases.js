// Cases on the officer's desk: escalate the selected conversation to a case (转为信件办理) and send a
// unit's contact card (推荐联系方式). The server sends the resulting messages into the chat itself,
// so they arrive in the transcript over the desk's socket like any other message.
// Usage: mount(container, () => selectedConversationId); the desk page links cases/cases.css.
import { csrfToken, el } from "./live.js";

const API = "/desk/cases/api/";

async function request(path, body) {
  const options = { credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.headers["X-CSRFToken"] = csrfToken();
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, options);
  } catch {
    throw new Error("网络连接失败，请稍后重试。");
  }
  let data = {};
  try {
    data = await response.json();
  } catch {
    /* a non-JSON answer, e.g. the CSRF failure page */
  }
  if (!response.ok) throw new Error(data.error || (response.status === 403 ? "无权操作，请刷新页面后重试。" : "操作失败，请稍后重试。"));
  return data;
}

function departmentOptions(departments, placeholder) {
  const groups = new Map();
  for (const d of departments) {
    if (!groups.has(d.level)) groups.set(d.level, []);
    groups.get(d.level).push(d);
  }
  const options = [el("option", { value: "", text: placeholder })];
  for (const [level, list] of groups) {
    options.push(el("optgroup", { label: level }, ...list.map((d) => el("option", { value: d.id, text: d.name }))));
  }
  return options;
}

export function mount(container, getSelectedConversationId) {
  if (!container) return;
  let directory = null;
  let open = null;
  const uid = `dc${Math.random().toString(36).slice(2, 8)}`;

  const status = el("p", { class: "desk-cases-status", role: "status", "aria-live": "polite" });
  const escalateButton = el("button", { type: "button", class: "button button-small button-secondary", "aria-expanded": "false", text: "转为信件办理" });
  const referButton = el("button", { type: "button", class: "button button-small button-secondary", "aria-expanded": "false", text: "推荐联系方式" });

  // Escalation form ---------------------------------------------------------------------------
  const targetBox = el("fieldset", { class: "desk-cases-targets" }, el("legend", { text: "转交给" }));
  const department = el("select", { id: `${uid}-department`, name: "department" });
  const departmentField = el("div", { class: "field" }, el("label", { for: `${uid}-department`, text: "收件部门" }), department);
  const question = el("textarea", { id: `${uid}-question`, rows: 3, maxlength: 2000, placeholder: "留空则使用市民在本对话中的提问" });
  const note = el("textarea", { id: `${uid}-note`, rows: 2, maxlength: 1000, placeholder: "仅工作人员可见" });
  const escalateSubmit = el("button", { type: "submit", class: "button button-small", text: "生成受理编号并告知市民" });
  const escalateForm = el(
    "form",
    { class: "desk-cases-form card", hidden: true, "aria-label": "转为信件办理" },
    targetBox,
    departmentField,
    el("div", { class: "field" }, el("label", { for: `${uid}-question`, text: "问题摘要（可选）" }), question),
    el("div", { class: "field" }, el("label", { for: `${uid}-note`, text: "内部备注（可选）" }), note),
    el("p", { class: "help", text: "提交后，系统会以您的名义把受理编号、查询码、办理流程、办理期限和查询方式发给市民。" }),
    el("div", { class: "desk-cases-actions" }, escalateSubmit, el("button", { type: "button", class: "link-button", text: "取消", onclick: () => toggle(null) })),
  );

  // Referral form -----------------------------------------------------------------------------
  const referDepartment = el("select", { id: `${uid}-refer-department`, required: true });
  const referWindow = el("select", { id: `${uid}-refer-window` });
  const referSubmit = el("button", { type: "submit", class: "button button-small", text: "发送联系方式" });
  const referForm = el(
    "form",
    { class: "desk-cases-form card", hidden: true, "aria-label": "推荐联系方式" },
    el("div", { class: "field" }, el("label", { for: `${uid}-refer-department`, text: "单位" }), referDepartment),
    el("div", { class: "field" }, el("label", { for: `${uid}-refer-window`, text: "窗口（可选，用于办公时间）" }), referWindow),
    el("p", { class: "help", text: "把该单位的名称、电话、地址、办公时间和网站作为一条消息发给市民。" }),
    el("div", { class: "desk-cases-actions" }, referSubmit, el("button", { type: "button", class: "link-button", text: "取消", onclick: () => toggle(null) })),
  );

  container.replaceChildren(
    el(
      "div",
      { class: "desk-cases" },
      el("div", { class: "desk-cases-buttons" }, escalateButton, referButton, el("a", { href: "/desk/cases/", class: "small", text: "本部门转办件" })),
      status,
      escalateForm,
      referForm,
    ),
  );

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "desk-cases-status flash-error" : "desk-cases-status";
  }

  function selectedTarget() {
    const checked = targetBox.querySelector("input:checked");
    return checked ? checked.value : "";
  }

  function syncDepartmentField() {
    const target = selectedTarget();
    departmentField.hidden = target === "governor_mailbox" || target === "";
    department.required = !departmentField.hidden;
  }

  function fillWindows() {
    const d = (directory ? directory.departments : []).find((item) => String(item.id) === referDepartment.value);
    referWindow.replaceChildren(
      el("option", { value: "", text: "（不指定窗口）" }),
      ...(d ? d.windows.map((w) => el("option", { value: w.id, text: `${w.name}（${w.duty_hours}）` })) : []),
    );
  }

  async function loadDirectory() {
    if (directory) return directory;
    say("正在加载部门目录…");
    directory = await request("directory/");
    targetBox.replaceChildren(
      el("legend", { text: "转交给" }),
      ...directory.targets.map((t, i) =>
        el(
          "label",
          { class: "desk-cases-target" },
          el("input", { type: "radio", name: `${uid}-target`, value: t.value, checked: i === 0, onchange: syncDepartmentField }),
          ` ${t.label}（${t.due_days} 个工作日）`,
        ),
      ),
    );
    department.replaceChildren(...departmentOptions(directory.departments, "请选择部门…"));
    referDepartment.replaceChildren(...departmentOptions(directory.departments, "请选择单位…"));
    fillWindows();
    syncDepartmentField();
    say("");
    return directory;
  }

  async function toggle(which) {
    open = open === which ? null : which;
    escalateForm.hidden = open !== "escalate";
    referForm.hidden = open !== "refer";
    escalateButton.setAttribute("aria-expanded", String(open === "escalate"));
    referButton.setAttribute("aria-expanded", String(open === "refer"));
    if (!open) return;
    try {
      await loadDirectory();
      (open === "escalate" ? targetBox.querySelector("input") : referDepartment)?.focus();
    } catch (error) {
      directory = null;
      say(error.message, true);
    }
  }

  function conversationId() {
    const id = getSelectedConversationId();
    if (id === null || id === undefined) throw new Error("请先在左侧选择一个会话。");
    return id;
  }

  async function submit(event, button, path, body, done) {
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    try {
      const data = await request(path, { conversation: conversationId(), ...body() });
      done(data);
      toggle(null);
    } catch (error) {
      say(error.message, true);
    } finally {
      button.disabled = false;
    }
  }

  escalateButton.addEventListener("click", () => toggle("escalate"));
  referButton.addEventListener("click", () => toggle("refer"));
  referDepartment.addEventListener("change", fillWindows);
  escalateForm.addEventListener("submit", (event) =>
    submit(
      event,
      escalateSubmit,
      "escalate/",
      () => ({ target_kind: selectedTarget(), department: departmentField.hidden ? null : department.value, question: question.value, note: note.value }),
      (data) => {
        say(`已转${data.case.target}办理：受理编号 ${data.case.tracking_number}，查询码 ${data.case.query_code}，办理期限 ${data.case.due_text}。已告知市民。`, false);
        question.value = "";
        note.value = "";
      },
    ),
  );
  referForm.addEventListener("submit", (event) =>
    submit(
      event,
      referSubmit,
      "referral/",
      () => ({ department: referDepartment.value, window: referWindow.value || null, client_id: `referral-${Date.now()}-${Math.random().toString(36).slice(2, 10)}` }),
      () => say("联系方式已发送给市民。", false),
    ),
  );
}
