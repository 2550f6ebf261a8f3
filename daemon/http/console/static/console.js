// Progressive enhancement: switches post in the background and show the answer
// as a toast; the switch and the status cell change only when the server says
// the change committed. Without this file every form works as a normal POST.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList.contains("switch-form")) return;
  event.preventDefault();
  const button = form.querySelector(".switch");
  if (button.getAttribute("aria-busy") === "true") return;
  button.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" },
    });
    const answer = await response.json();
    if (answer.ok) {
      button.setAttribute("aria-checked", String(answer.status === "active"));
      const row = form.closest("tr, dl");
      const cell = row && row.querySelector(".status");
      if (cell) { cell.textContent = answer.status_words; cell.dataset.status = answer.status; }
      const remote = row && row.querySelector(".remote");
      if (remote && answer.remote_words) remote.textContent = answer.remote_words;
    }
    toast(answer.message, answer.ok ? "ok" : "error");
  } catch (err) {
    form.submit();  // no answer we can read: fall back to the plain form
  } finally {
    button.removeAttribute("aria-busy");
  }
});

function toast(text, kind) {
  const box = document.getElementById("toasts");
  const item = document.createElement("div");
  item.className = "toast toast-" + kind;
  item.textContent = text;
  box.replaceChildren(item);
  setTimeout(() => item.remove(), 5000);
}
