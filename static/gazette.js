// Progressive enhancement: every page works without this file.
// Keyboard: j/k move between stories, Enter opens the focused one, m marks
// it read or unread, s saves it, A marks the listing read, / focuses
// search, ? shows the shortcuts, Escape closes them. A signed-in reader's
// read and save buttons work in place: the same form, sent for JSON.
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

  // The story a key acts on: the selected one, else the article page's.
  function selected() {
    return document.querySelector("main .is-current") || document.querySelector("main .story");
  }

  function press(story, selector) {
    var button = story && story.querySelector(selector);
    if (button) button.click();
  }

  // Sends a reading form for JSON and updates its story in place; on any
  // failure the form is submitted the ordinary way.
  function sendInPlace(form, submitter) {
    var data = new URLSearchParams(new FormData(form));
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    });
  }

  // Moves an unread count by one, unless it is absent or says "1000+".
  function nudge(element, by) {
    if (!element || !/^\d+$/.test(element.textContent)) return;
    var value = Math.max(0, Number(element.textContent) + by);
    element.textContent = String(value);
    element.hidden = value === 0;
  }

  function showState(form, state) {
    var story = form.closest(".card, .lead, .story");
    if (story && story.classList.contains("is-read") !== state.read) {
      var by = state.read ? -1 : 1;
      nudge(document.querySelector("[data-unread-total]"), by);
      nudge(document.querySelector('[data-unread-section="' + story.getAttribute("data-section") + '"]'), by);
    }
    if (story) {
      story.classList.toggle("is-read", state.read);
      story.classList.toggle("is-saved", state.saved);
    }
    var read = form.querySelector(".toggle-read");
    if (read) {
      read.value = state.read ? "unread" : "read";
      read.textContent = state.read ? "Mark unread" : "Mark read";
    }
    var save = form.querySelector(".toggle-save");
    if (save) {
      save.value = state.saved ? "unsave" : "save";
      save.textContent = state.saved ? "Saved" : "Save";
      save.setAttribute("aria-pressed", String(state.saved));
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("story-actions")) return;
    event.preventDefault();
    sendInPlace(form, event.submitter).then(function (state) {
      showState(form, state);
    }, function () {
      // The ordinary way: the pressed button's choice goes as a field.
      if (event.submitter && event.submitter.name) {
        var choice = document.createElement("input");
        choice.type = "hidden";
        choice.name = event.submitter.name;
        choice.value = event.submitter.value;
        form.appendChild(choice);
      }
      form.submit();
    });
  });

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
      case "m":
        press(selected(), ".toggle-read");
        break;
      case "s":
        press(selected(), ".toggle-save");
        break;
      case "A":
        var markAll = document.querySelector(".mark-all button");
        if (markAll) markAll.click();
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

  // Admin feeds: an OPML file chosen is read into the form's text box.
  var opmlFile = document.getElementById("opml-file");
  if (opmlFile) {
    opmlFile.parentNode.hidden = false;
    opmlFile.addEventListener("change", function () {
      var file = opmlFile.files && opmlFile.files[0];
      if (!file) return;
      file.text().then(function (text) {
        document.getElementById("opml").value = text;
      });
    });
  }

  var close = document.getElementById("shortcuts-close");
  if (close && help) close.addEventListener("click", function () { help.close(); });
})();
