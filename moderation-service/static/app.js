// Keyboard shortcuts of the moderator pages. Loaded from /ui/static (the
// CSP allows no inline script). j/k move through the queue (or to the
// next/previous item), Enter opens the selected row, a/r/e decide the open
// item, ? shows the shortcuts.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-href]"));
  var selected = -1;
  function select(i) {
    if (rows.length === 0) return;
    selected = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, k) { r.classList.toggle("selected", k === selected); });
    rows[selected].scrollIntoView({ block: "nearest" });
  }
  function follow(id) {
    var link = document.getElementById(id);
    if (link && link.href) window.location.assign(link.href);
  }
  function decide(action) {
    var form = document.getElementById("decide");
    if (!form) return;
    // Submitting with the action's own button sends action=<it>.
    var button = form.querySelector('button[name="action"][value="' + action + '"]');
    if (button) form.requestSubmit(button);
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    // Typing, or a focused control (Enter on a button or link is theirs).
    if (t && /^(INPUT|TEXTAREA|SELECT|BUTTON|A)$/.test(t.tagName)) return;
    if (t && t.isContentEditable) return;
    switch (e.key) {
      case "j": rows.length ? select(selected + 1) : follow("next"); break;
      case "k": rows.length ? select(selected - 1) : follow("prev"); break;
      case "Enter": if (selected >= 0) window.location.assign(rows[selected].dataset.href); else return; break;
      case "a": decide("approve"); break;
      case "r": decide("remove"); break;
      case "e": decide("escalate"); break;
      case "?": var h = document.getElementById("help"); if (h) h.hidden = !h.hidden; break;
      default: return;
    }
    e.preventDefault();
  });
})();
