// callscope console: local times, live durations, one list player at a
// time, and the transcript that follows the call's recording. Every page
// works without it.
(function () {
  "use strict";

  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) {
        el.title = el.textContent;
        el.textContent = d.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
      }
    });
  }

  function clock(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }

  function liveDurations() {
    if (!document.querySelector(".elapsed[data-since], [data-refresh]")) return;
    setInterval(function () {
      document.querySelectorAll(".elapsed[data-since]").forEach(function (el) {
        el.textContent = clock((Date.now() - Date.parse(el.dataset.since)) / 1000);
      });
    }, 1000);
  }

  // The live page's list is read again every few seconds while the page is
  // in view, so calls that start or end show without a reload.
  function liveRefresh() {
    var el = document.querySelector("[data-refresh]");
    if (!el || !window.fetch || !window.DOMParser) return;
    var every = (parseFloat(el.dataset.refresh) || 5) * 1000, busy = false;
    var timer = setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      fetch(location.pathname + location.search, { credentials: "same-origin" }).then(function (r) {
        if (r.redirected || !r.ok) { if (r.redirected || r.status === 401 || r.status === 403) clearInterval(timer); return null; }
        return r.text();
      }).then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").getElementById(el.id);
        if (!next) return;
        localTimes(next);
        el.replaceWith(next);
        el = next;
      }).catch(function () { /* offline for a moment: the next round tries again */ }).then(function () { busy = false; });
    }, every);
  }

  // The list's player: one recording plays at a time; the button of the
  // one playing is marked.
  function listPlayer() {
    var audio = document.getElementById("list-player");
    if (!audio) return;
    var playing = null; // the call whose recording plays
    function mark() {
      document.querySelectorAll("a.play").forEach(function (b) {
        var on = b.dataset.call === playing && !audio.paused;
        b.classList.toggle("playing", on);
        b.setAttribute("aria-pressed", on ? "true" : "false");
        b.textContent = on ? "❚❚ Pause" : "▶ Play";
      });
    }
    document.querySelectorAll("a.play").forEach(function (b) {
      b.setAttribute("role", "button");
      b.addEventListener("click", function (e) {
        e.preventDefault();
        if (playing === b.dataset.call) {
          if (audio.paused) audio.play(); else audio.pause();
          return;
        }
        playing = b.dataset.call;
        audio.src = b.dataset.src;
        audio.play();
      });
    });
    ["play", "pause", "ended"].forEach(function (ev) { audio.addEventListener(ev, mark); });
  }

  // The call page: the segment being heard is highlighted and kept in
  // view; clicking a segment plays from its start.
  function transcriptSync() {
    var audio = document.getElementById("player");
    var list = document.getElementById("transcript");
    if (!list) return;
    var segs = [];
    function index() {
      segs = Array.prototype.map.call(list.querySelectorAll("li[data-start]"), function (li) {
        return { el: li, start: parseFloat(li.dataset.start), end: parseFloat(li.dataset.end) };
      });
    }
    index();
    if (audio) {
      var current = null;
      var update = function () {
        var t = audio.currentTime, found = null;
        for (var i = segs.length - 1; i >= 0; i--) {
          if (segs[i].start <= t) { if (t < segs[i].end || i === segs.length - 1 || t < segs[i + 1].start) found = segs[i]; break; }
        }
        if (found && t >= found.end && i === segs.length - 1) found = null;
        if (found === current) return;
        if (current) { current.el.classList.remove("current"); current.el.removeAttribute("aria-current"); }
        current = found;
        if (current) {
          current.el.classList.add("current");
          current.el.setAttribute("aria-current", "true");
          var top = current.el.offsetTop - list.offsetTop;
          if (top < list.scrollTop || top > list.scrollTop + list.clientHeight - current.el.offsetHeight) list.scrollTop = top - 40;
        }
      };
      audio.addEventListener("timeupdate", update);
      audio.addEventListener("seeked", update);
      list.addEventListener("click", function (e) {
        var li = e.target.closest("li[data-start]");
        if (!li || e.target.closest("mark a")) return;
        e.preventDefault();
        audio.currentTime = parseFloat(li.dataset.start) + 0.01;
        audio.play();
      });
    }
    // A live call's transcript grows from its event stream.
    if (list.dataset.events && document.getElementById("call-meta").dataset.live === "true" && window.EventSource) {
      var es = new EventSource(list.dataset.events);
      es.addEventListener("transcript.segment", function (e) {
        try {
          var d = JSON.parse(e.data);
          var list2 = (d.data && d.data.segments) || d.segments || [];
          list2.forEach(function (s) {
            if (s.text === undefined || document.getElementById("seg-" + s.segment_id)) return;
            var empty = list.querySelector(".empty-line");
            if (empty) empty.remove();
            var li = document.createElement("li");
            li.id = "seg-" + s.segment_id;
            li.dataset.start = s.start_time || 0;
            li.dataset.end = s.end_time || 0;
            var t = document.createElement("a"); t.href = "#seg-" + s.segment_id; t.textContent = clock(s.start_time || 0);
            var sp = document.createElement("b"); sp.textContent = s.speaker || "";
            var tx = document.createElement("span"); tx.textContent = s.text;
            li.append(t, sp, tx);
            list.append(li);
          });
          list.scrollTop = list.scrollHeight;
          index();
        } catch (err) { /* a malformed event is skipped */ }
      });
      progressive(es);
    }
  }

  // A live call's progressive analysis: each window's classification and
  // entities as they conclude, and a banner when the risk is raised.
  function progressive(es) {
    var panel = document.getElementById("progressive");
    if (!panel) return;
    function set(id, text) { document.getElementById(id).textContent = text; }
    function riskBadge(el, risk) {
      el.textContent = "";
      var b = document.createElement("span");
      b.className = "risk risk-" + risk;
      b.textContent = risk;
      el.append(b);
    }
    es.addEventListener("analysis.snapshot", function (e) {
      try {
        var d = JSON.parse(e.data).data || {};
        var v = d.data || {};
        set("live-window", String((d.window_index || 0) + 1) + " (" + clock(d.window_start || 0) + "–" + clock(d.window_end || 0) + ")");
        if (d.kind === "classification") {
          set("live-category", v.label ? v.label + " (" + v.category + ")" : (v.category || "—"));
          if (v.risk) riskBadge(document.getElementById("live-risk"), v.risk); else set("live-risk", "—");
        } else if (d.kind === "entity") {
          var ul = document.getElementById("live-entities");
          ul.textContent = "";
          Object.keys(v).sort().forEach(function (typ) {
            (v[typ] || []).forEach(function (val) {
              var li = document.createElement("li");
              var m = document.createElement("mark"); m.className = "entity"; m.dataset.type = typ; m.textContent = val;
              var t = document.createElement("span"); t.className = "muted"; t.textContent = " " + typ;
              li.append(m, t);
              ul.append(li);
            });
          });
          if (!ul.children.length) { var none = document.createElement("li"); none.className = "muted"; none.textContent = "None yet."; ul.append(none); }
        }
        panel.dataset.windows = String((d.window_index || 0) + 1);
      } catch (err) { /* a malformed event is skipped */ }
    });
    es.addEventListener("call.risk_raised", function (e) {
      try {
        var d = JSON.parse(e.data).data || {};
        var a = document.getElementById("risk-alert");
        var text = "Risk raised to " + d.risk + (d.from ? " (was " + d.from + ")" : "") + (d.category ? " · " + d.category : "");
        if (d.evidence && d.evidence.length) text += " — “" + d.evidence.join("”, “") + "”";
        a.textContent = text;
        a.hidden = false;
        riskBadge(document.getElementById("live-risk"), d.risk);
      } catch (err) { /* a malformed event is skipped */ }
    });
  }

  // After a re-run, the analysis section is refreshed until the new runs
  // arrive (at most a minute).
  function pendingRuns() {
    var sec = document.getElementById("analysis");
    if (!sec || !sec.dataset.pending) return;
    var before = parseInt(sec.dataset.runs, 10), tries = 0;
    var timer = setInterval(function () {
      if (++tries > 30) { clearInterval(timer); return; }
      fetch(location.pathname, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("analysis");
        if (next && parseInt(next.dataset.runs, 10) > before) {
          clearInterval(timer);
          next.removeAttribute("data-pending");
          sec.replaceWith(next);
          localTimes(next);
          history.replaceState(null, "", location.pathname + "#analysis");
        }
      });
    }, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    liveDurations();
    liveRefresh();
    listPlayer();
    transcriptSync();
    pendingRuns();
  });
})();
