// 获取验证码 on the account pages: ask for the code without reloading (typed fields stay), announce the
// answer in #code-status and count down until another code may be asked. Without JavaScript the
// button submits the form with action=send_code and the page comes back with the same answer.

const form = document.querySelector("[data-code-form]");
const button = form && form.querySelector("[data-code-button]");
const status = document.getElementById("code-status");
let timer = null;

function countDown(seconds) {
  clearInterval(timer);
  let left = seconds;
  const tick = () => {
    if (left <= 0) {
      clearInterval(timer);
      button.disabled = false;
      button.textContent = "重新获取验证码";
      return;
    }
    button.disabled = true;
    button.textContent = `${left} 秒后可重新获取`;
    left -= 1;
  };
  tick();
  timer = setInterval(tick, 1000);
}

function show(message, ok) {
  status.textContent = message;
  status.classList.toggle("error", !ok);
}

async function requestCode(event) {
  event.preventDefault();
  const data = new FormData(form);
  data.set("action", "send_code");
  button.disabled = true;
  try {
    const response = await fetch(window.location.href, {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const answer = await response.json();
    show(answer.message, answer.ok);
    if (answer.wait > 0) {
      countDown(answer.wait);
    } else {
      button.disabled = false;
    }
    if (answer.ok) {
      const code = form.querySelector("input[name=code]");
      if (code) code.focus();
    }
  } catch (error) {
    show("网络连接失败，验证码没有发出，请检查网络后再试。", false);
    button.disabled = false;
  }
}

if (button && status) {
  button.addEventListener("click", requestCode);
  const wait = Number(button.dataset.wait || 0);
  if (wait > 0) countDown(wait);
}
