// edgedock's few enhancements; every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-toggle-password], [data-copy]")) {
    button.hidden = false;
  }
});

document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-toggle-password]");
  if (toggle) {
    const input = document.getElementById(toggle.dataset.togglePassword);
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    toggle.textContent = show ? "Hide" : "Show";
    toggle.setAttribute("aria-pressed", String(show));
    toggle.setAttribute("aria-label", show ? "Hide password" : "Show password");
    input.focus();
    return;
  }
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const input = document.getElementById(copy.dataset.copy);
    input.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(input.value).then(() => { copy.textContent = "Copied"; });
    }
  }
});

// A password field goes back to hidden before its form is sent.
document.addEventListener("submit", (event) => {
  for (const toggle of event.target.querySelectorAll("[data-toggle-password]")) {
    document.getElementById(toggle.dataset.togglePassword).type = "password";
  }
});
