// Progressive enhancement: switches post in the background and show the answer
// as a toast; the switch and the status cell change only when the server says
// the change committed. Without this file every form works as a normal POST.
//
// Live regions: every element with `data-live` and an id is refreshed from the
// same page, fetched again every CONSOLE_REFRESH_SECONDS while the tab is visible
// (and at once when it becomes visible again). A region someone is using (focus
// inside, boxes ticked, a switch waiting for its answer) is left alone until the
// next refresh; a session that ended stops the refreshing.
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

const REFRESH_SECONDS = Number(document.body.dataset.refreshSeconds || 0);
const REFRESH_DEADLINE_MS = 10000;
const REFRESH_HEADER = "X-Console-Refresh";  // the server skips what only a person asks for
let refreshTimer = null;
let refreshing = false;
let sessionEnded = false;

function inUse(region) {
  const focused = document.activeElement;
  return (focused && focused !== document.body && region.contains(focused))
    || region.querySelector("input[type=checkbox]:checked, [aria-busy=true]") !== null;
}

async function refresh() {
  const regions = document.querySelectorAll("[data-live][id]");
  if (refreshing || regions.length === 0 || document.visibilityState !== "visible") return;
  refreshing = true;
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(), REFRESH_DEADLINE_MS);
  try {
    const response = await fetch(location.href, {
      credentials: "same-origin", signal: controller.signal, headers: { "Accept": "text/html", [REFRESH_HEADER]: "1" },
    });
    if (new URL(response.url).pathname === "/ui/signin") {
      sessionEnded = true;
      stopRefreshing();
      return;
    }
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const region of regions) {
      const next = fresh.getElementById(region.id);
      if (next && next.innerHTML !== region.innerHTML && !inUse(region)) {
        region.replaceWith(document.importNode(next, true));
      }
    }
    document.body.dataset.refreshedAt = new Date().toISOString();
  } catch (err) {
    // No answer in time or no network: the page stays as it is; the next tick retries.
  } finally {
    clearTimeout(deadline);
    refreshing = false;
  }
}

function startRefreshing() {
  if (REFRESH_SECONDS > 0 && refreshTimer === null && !sessionEnded) {
    refreshTimer = setInterval(refresh, REFRESH_SECONDS * 1000);
    document.body.dataset.live = "on";
  }
}

function stopRefreshing() {
  clearInterval(refreshTimer);
  refreshTimer = null;
  document.body.dataset.live = "paused";
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") { startRefreshing(); refresh(); }
  else stopRefreshing();
});
if (document.visibilityState === "visible") startRefreshing();
