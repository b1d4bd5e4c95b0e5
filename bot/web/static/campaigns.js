// The campaign page's delivery counts, refreshed while a send can change them.
// The page works without this script: the counts are then as of the last reload.
"use strict";

(() => {
  const box = document.querySelector("[data-live-counts]");
  if (!(box instanceof HTMLElement)) {
    return;
  }
  const url = box.dataset.liveCounts;
  const every = Number(box.dataset.pollMs || "3000");
  let timer = 0;

  const show = (data) => {
    for (const [key, value] of Object.entries(data.counts || {})) {
      const cell = box.querySelector(`[data-count="${key}"]`);
      if (cell && cell.textContent !== value) {
        cell.textContent = value;
      }
    }
    const state = box.querySelector("[data-state]");
    if (state && data.state_label) {
      state.textContent = data.state_label;
      state.className = `badge ${data.state}`;
    }
  };

  const poll = async () => {
    if (document.hidden) {
      timer = window.setTimeout(poll, every);
      return;
    }
    try {
      const response = await fetch(url, {
        headers: { accept: "application/json" },
        credentials: "same-origin",
        redirect: "manual",
      });
      const type = response.headers.get("content-type") || "";
      if (!response.ok || !type.startsWith("application/json")) {
        return; // signed out or gone: stop, the next reload says why
      }
      const data = await response.json();
      show(data);
      if (!data.live) {
        return;
      }
    } catch (error) {
      // A network hiccup: try again at the next tick.
    }
    timer = window.setTimeout(poll, every);
  };

  timer = window.setTimeout(poll, every);
  window.addEventListener("pagehide", () => window.clearTimeout(timer));
})();
