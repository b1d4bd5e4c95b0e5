// A little plain script; every page also works without it.
"use strict";

document.addEventListener("submit", (event) => {
  // Ask before a step that cannot be undone (revoking an invitation, say).
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm) {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }
});

document.addEventListener("click", (event) => {
  const target = event.target;
  if (target instanceof HTMLElement && target.closest("[data-print]")) {
    window.print();
  }
});
