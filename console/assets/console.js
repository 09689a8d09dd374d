// drillctl console: a little progressive enhancement over pages that work
// without it (forms post, pages reload). It shows instants in the viewer's
// time zone (Intl), ticks the RTO clock, submits the language menu on
// change, and polls a running drill's live fragment every second.
(function () {
  'use strict';

  // The page's language, in the browser's own region when they agree
  // (en-GB dates for an English page read in London).
  var lang = document.documentElement.lang || undefined;
  var nav = navigator.language || '';
  if (lang && nav.toLowerCase().split('-')[0] === lang.toLowerCase().split('-')[0] && lang.indexOf('-') < 0) { lang = nav; }
  var dateFormat;
  try {
    // dateStyle cannot be combined with timeZoneName: spell the parts out.
    dateFormat = new Intl.DateTimeFormat(lang, {
      year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
      timeZoneName: 'short', numberingSystem: 'latn'
    });
  } catch (e) {
    dateFormat = new Intl.DateTimeFormat();
  }

  // localTimes rewrites every <time datetime> under root in the viewer's
  // zone, keeping the server's UTC text as its tooltip.
  function localTimes(root) {
    root.querySelectorAll('time[datetime]').forEach(function (el) {
      if (el.dataset.local) { return; }
      var d = new Date(el.getAttribute('datetime'));
      if (isNaN(d)) { return; }
      el.title = el.textContent;
      el.textContent = dateFormat.format(d);
      el.dataset.local = '1';
    });
    root.querySelectorAll('[data-viewer-zone]').forEach(function (el) {
      el.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;
    });
  }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  // tick shows how long the outage has lasted on every running RTO clock.
  function tick() {
    document.querySelectorAll('.clock-value[data-since]').forEach(function (el) {
      var s = Math.max(0, Math.floor((Date.now() - new Date(el.dataset.since).getTime()) / 1000));
      el.textContent = Math.floor(s / 3600) + ':' + pad(Math.floor(s / 60) % 60) + ':' + pad(s % 60);
    });
  }

  function live(drill) {
    var url = drill.dataset.live;
    var key = drill.dataset.key;
    var liveEl = document.getElementById('live');
    var actionsEl = document.getElementById('actions');
    var summaryEl = document.getElementById('live-summary');
    var busy = false;
    var timer = setInterval(function () {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (j) {
          liveEl.innerHTML = j.live;
          localTimes(liveEl);
          if (j.key !== key) {
            // The actions change only when what may be done changes, so a
            // comment being typed is not wiped every second.
            key = j.key;
            actionsEl.innerHTML = j.actions;
            localTimes(actionsEl);
          }
          if (summaryEl.textContent !== j.summary) { summaryEl.textContent = j.summary; }
          drill.dataset.running = String(j.running);
          tick();
          if (!j.running) { clearInterval(timer); }
        })
        .catch(function () { /* the next poll tries again */ })
        .finally(function () { busy = false; });
    }, 1000);
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.documentElement.classList.add('js');
    localTimes(document);
    document.querySelectorAll('select[data-autosubmit]').forEach(function (el) {
      el.addEventListener('change', function () { el.form.submit(); });
    });
    tick();
    setInterval(tick, 1000);
    var drill = document.getElementById('drill');
    if (drill && drill.dataset.running === 'true') { live(drill); }
  });
})();
