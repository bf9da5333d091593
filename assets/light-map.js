// Ocean Explorer light embed: the map as <img> tiles of /tiles, a time slider that swaps the
// tiles' time, no server session and no websocket. Reads its settings from #light-config.
(function () {
  "use strict";
  var HALF = 20037508.342789244, TILE = 256, MAX_LAT = 85.051129;
  var cfg = JSON.parse(document.getElementById("light-config").textContent);
  var map = document.getElementById("light-map");
  var slider = document.getElementById("light-time");
  var when = document.getElementById("light-when");
  var play = document.getElementById("light-play");
  var imgs = [];

  function mx(lon) { return lon * HALF / 180; }
  function my(lat) {
    lat = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
    return Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)) * HALF / Math.PI;
  }
  function url(z, x, y, step) {
    var time = step === null ? "" : encodeURIComponent(cfg.times[step]);
    return cfg.template.replace("{time}", time).replace("{z}", z).replace("{x}", x)
      .replace("{y}", y);
  }

  function layout() {
    var b = cfg.bbox, w = map.clientWidth, h = map.clientHeight;
    var east = b[2] <= b[0] ? b[2] + 360 : b[2];
    var x0 = mx(b[0]), x1 = mx(east), y0 = my(b[1]), y1 = my(b[3]);
    // the finest zoom at which the whole box fits the map
    var zx = Math.log2(w * 2 * HALF / (TILE * (x1 - x0)));
    var zy = Math.log2(h * 2 * HALF / (TILE * (y1 - y0)));
    var z = Math.max(0, Math.min(cfg.maxzoom, Math.floor(Math.min(zx, zy))));
    var n = Math.pow(2, z), scale = TILE * n / (2 * HALF);
    var cx = ((x0 + x1) / 2 + HALF) * scale, cy = (HALF - (y0 + y1) / 2) * scale;
    var left = cx - w / 2, top = cy - h / 2;
    map.textContent = "";
    imgs = [];
    for (var ty = Math.floor(top / TILE); ty * TILE < top + h; ty++) {
      if (ty < 0 || ty >= n) continue;
      for (var tx = Math.floor(left / TILE); tx * TILE < left + w; tx++) {
        var img = document.createElement("img");
        img.alt = "";
        img.width = img.height = TILE;
        img.style.cssText = "position:absolute;left:" + (tx * TILE - left) + "px;top:" +
          (ty * TILE - top) + "px";
        img.dataset.tile = [z, ((tx % n) + n) % n, ty].join("/");
        img.onerror = function () { this.style.visibility = "hidden"; };
        img.onload = function () { this.style.visibility = "visible"; };
        map.appendChild(img);
        imgs.push(img);
      }
    }
    show(cfg.times.length ? Number(slider.value) : null);
  }

  function show(step) {
    imgs.forEach(function (img) {
      var t = img.dataset.tile.split("/");
      img.src = url(t[0], t[1], t[2], step);
    });
    if (step !== null) when.textContent = cfg.times[step];
  }

  if (cfg.times.length > 1) {
    slider.max = cfg.times.length - 1;
    slider.value = cfg.step;
    slider.addEventListener("input", function () { show(Number(slider.value)); });
    var timer = null;
    play.addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; play.textContent = "\u25B6"; return; }
      play.textContent = "\u275A\u275A";
      timer = setInterval(function () {
        slider.value = (Number(slider.value) + 1) % cfg.times.length;
        show(Number(slider.value));
      }, 1000);
    });
  } else {
    document.getElementById("light-controls").style.display = "none";
  }
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(layout, 150);
  });
  layout();
})();
