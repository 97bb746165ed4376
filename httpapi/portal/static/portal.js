// Progressive enhancement only: every form works without this file.
// Upload forms show a progress bar while the files are sent.
(function () {
  'use strict';
  document.querySelectorAll('form.upload').forEach(function (form) {
    var bar = form.querySelector('progress');
    if (!bar || !window.XMLHttpRequest || !window.FormData) { return; }
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      // The button pressed may send the form elsewhere (formaction).
      var submitter = ev.submitter || null;
      // (formAction is the page's own URL when the attribute is absent.)
      var action = submitter && submitter.hasAttribute('formaction') ? submitter.formAction : form.action;
      // A fragment (#parties) says where the answer is to be read: the
      // request goes without it, the answer scrolls there.
      var hash = action.indexOf('#') >= 0 ? action.slice(action.indexOf('#') + 1) : '';
      action = action.split('#')[0];
      var xhr = new XMLHttpRequest();
      xhr.open('POST', action);
      bar.hidden = false;
      xhr.upload.addEventListener('progress', function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round(e.loaded * 100 / e.total);
          bar.textContent = bar.value + '%';
        }
      });
      xhr.addEventListener('load', function () {
        // Show the answer as a normal navigation would: the page the
        // server redirected to, or the form again with the error.
        if (xhr.responseURL && xhr.responseURL !== action && xhr.status < 400) {
          window.location.assign(xhr.responseURL);
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
        var at = hash && document.getElementById(hash);
        if (at) { at.scrollIntoView(); }
      });
      xhr.addEventListener('error', function () { form.submit(); });
      var data = new FormData(form, submitter);
      form.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
      xhr.send(data);
    });
  });
})();
