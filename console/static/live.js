// A page's live part (the element naming its events in data-events), replaced by each
// server-sent event the console pushes; the browser reconnects when a stream ends. A
// part that no longer names its events (a finished verification) stops listening; a
// lapsed session sends the page to sign in.
(() => {
  const part = document.querySelector("[data-events]");
  if (!part) return;
  const events = new EventSource(part.dataset.events);
  events.onmessage = (message) => {
    const live = document.getElementById(part.id);
    if (live) live.outerHTML = message.data;
    if (!document.getElementById(part.id)?.dataset.events) events.close();
  };
  events.addEventListener("signin", (message) => {
    events.close();
    window.location.href = message.data;
  });
})();
