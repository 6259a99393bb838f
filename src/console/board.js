// The live board: refreshes the queues table in place every 15 seconds while the page is
// visible, without a page reload. The board works without this script (reload to refresh).
// Its requests say they are refreshes, so an unattended board does not keep the session alive.
(function () {
  'use strict';
  var region = document.getElementById('board-queues');
  if (!region || !window.fetch) { return; }
  function refresh() {
    if (document.hidden) { return; }
    fetch('/console/board/queues', { credentials: 'same-origin', headers: { 'X-Console-Refresh': '1' }, redirect: 'manual' })
      .then(function (r) {
        if (r.type === 'opaqueredirect' || r.status === 303) { window.location.assign('/console/sign-in'); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) { if (html) { region.innerHTML = html; } })
      .catch(function () { /* keep the last table; the next refresh tries again */ });
  }
  setInterval(refresh, 15000);
  document.addEventListener('visibilitychange', refresh);
})();
