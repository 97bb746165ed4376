// Progressive enhancement only: every form works without this file.
// Upload forms show a progress bar while the files are sent.
(function () {
  'use strict';
  document.querySelectorAll('form.upload').forEach(function (form) {
    var bar = form.querySelector('progress');
    if (!bar || !window.XMLHttpRequest || !window.FormData) { return; }
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
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
        if (xhr.responseURL && xhr.responseURL !== form.action && xhr.status < 400) {
          window.location.assign(xhr.responseURL);
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener('error', function () { form.submit(); });
      form.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
      xhr.send(new FormData(form));
    });
  });
})();
