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

// A deployment's page follows its device: the part marked data-live is fetched again every
// few seconds (304 while unchanged) and replaced when the server has something new.
(() => {
  const live = document.querySelector("[data-live]");
  if (!live) return;
  const every = 2000;
  let etag = live.dataset.etag || null;
  const stop = (text) => {
    const note = document.createElement("p");
    note.className = "flash";
    note.setAttribute("role", "status");
    note.textContent = text;
    live.prepend(note);
  };
  const poll = async () => {
    if (!document.hidden) {
      try {
        const headers = etag ? { "If-None-Match": etag } : {};
        const answer = await fetch(live.dataset.live, {
          headers, cache: "no-store", credentials: "same-origin", redirect: "manual",
        });
        if (answer.type === "opaqueredirect" || answer.status === 401) {
          stop("Signed out: reload the page to sign in again.");
          return;
        }
        if (answer.status === 404) {
          stop("This deployment no longer exists.");
          return;
        }
        if (answer.status === 200) {
          const fresh = document.createElement("template");
          fresh.innerHTML = await answer.text();
          const release = fresh.content.querySelector("[data-live-release]");
          if (release && release.dataset.liveRelease !== live.dataset.release) {
            // Upgraded meanwhile (a replace, another operator): the controls change too.
            window.location.reload();
            return;
          }
          live.replaceChildren(fresh.content);
          etag = answer.headers.get("ETag");
          live.dataset.etag = etag || "";
        }
      } catch (error) {
        // The server is out of reach for now: the next poll tries again.
      }
    }
    setTimeout(poll, every);
  };
  setTimeout(poll, every);
})();
// "Select all shown" ticks (or, when all are ticked, clears) every checkbox of one fieldset.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-check-all]")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      const boxes = document.getElementById(button.dataset.checkAll)
        .querySelectorAll("input[type=checkbox]");
      const all = [...boxes].every((box) => box.checked);
      for (const box of boxes) {
        box.checked = !all;
      }
    });
  }
});
