// Keyboard navigation, as progressive enhancement: every page works
// without this file. j/k move between stories, Enter opens the focused
// one, / focuses search, ? shows the shortcuts, Escape closes them.
(function () {
  "use strict";

  function stories() {
    return Array.prototype.slice.call(document.querySelectorAll("main .card, main .lead"));
  }

  function current(list) {
    return list.indexOf(document.querySelector("main .is-current"));
  }

  function move(step) {
    var list = stories();
    if (list.length === 0) return;
    var index = current(list);
    var next = index === -1 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
    if (index !== -1) list[index].classList.remove("is-current");
    var story = list[next];
    story.classList.add("is-current");
    var link = story.querySelector(".card-title a, .lead-title a");
    if (link) link.focus({ preventScroll: true });
    story.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  var help = document.getElementById("shortcuts");

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && help && help.open) {
      help.close();
      return;
    }
    if (typing(event.target)) return;
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "/":
        var search = document.getElementById("site-search");
        if (search) {
          event.preventDefault();
          search.focus();
          search.select();
        }
        break;
      case "?":
        if (help && !help.open) help.showModal();
        break;
      default:
        return;
    }
  });

  var close = document.getElementById("shortcuts-close");
  if (close && help) close.addEventListener("click", function () { help.close(); });
})();
