/* Điểm danh: the typed code or the camera's QR is checked without leaving the page (the page works without this
   file: the form posts and the page comes back). The camera only runs on https or on localhost (the browser's
   rule); jsQR (jsqr.min.js, Apache-2.0) reads the frames. */
(function () {
  "use strict";
  var form = document.getElementById("checkin-form");
  var scanner = document.getElementById("scanner");
  if (!form || !window.fetch || !window.DOMParser) { return; }
  var busy = false;

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    ["door", "arrivals-box"].forEach(function (id) {
      var old = document.getElementById(id), next = fresh.getElementById(id);
      if (old && next) { old.replaceWith(next); }
    });
  }

  function send(code) {
    if (busy) { return Promise.resolve(); }
    busy = true;
    var data = new FormData(form);
    data.set("code", code);
    return fetch(form.action, {method: "POST", body: data, credentials: "same-origin"})
      .then(function (answer) { return answer.text(); })
      .then(swap)
      .finally(function () {
        busy = false;
        form.reset();
        document.getElementById("code").focus();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(document.getElementById("code").value);
  });

  if (!scanner || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.jsQR) { return; }
  scanner.classList.remove("hidden");
  var button = document.getElementById("scan-button");
  var video = document.getElementById("camera");
  var canvas = document.getElementById("frame");
  var note = document.getElementById("scan-note");
  var stream = null, last = "", lastAt = 0;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    video.classList.add("hidden");
    button.textContent = "📷 " + scanner.dataset.start;
  }

  function look() {
    if (!stream) { return; }
    if (video.readyState >= 2) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      var context = canvas.getContext("2d", {willReadFrequently: true});
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(image.data, image.width, image.height, {inversionAttempts: "dontInvert"});
      var now = Date.now();
      if (found && found.data && (found.data !== last || now - lastAt > 4000)) {
        last = found.data;
        lastAt = now;
        if (navigator.vibrate) { navigator.vibrate(120); }
        send(found.data);
      }
    }
    requestAnimationFrame(look);
  }

  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false})
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.classList.remove("hidden");
        button.textContent = scanner.dataset.stop;
        note.textContent = "";
        return video.play();
      })
      .then(function () { requestAnimationFrame(look); })
      .catch(function () { note.textContent = scanner.dataset.denied; stop(); });
  });
})();
