/* testfleet's HTML report: draws the JSON document embedded in the page (see docs/report.md).
 *
 * Everything is built from that document with DOM calls (textContent, never innerHTML), so a
 * test id cannot inject markup.  The timeline draws every test on one <canvas>: 10 000 tests
 * would be 10 000 DOM nodes otherwise.  The page writes how long it took and the errors it
 * met on the body element (data-render-ms, data-script-ms, data-errors), for tests that read
 * the DOM.
 */
(function () {
  "use strict";
  var scriptStart = performance.now();
  var OUTCOMES = ["passed", "failed", "error", "skipped", "xfailed", "xpassed"];
  var COLOURS = {
    passed: "#3a9d4f", failed: "#d43f3f", error: "#e07b22",
    skipped: "#9aa3ae", xfailed: "#8a78c8", xpassed: "#d0ad22"
  };
  var PALETTE = ["#2f6fb5", "#d43f3f", "#3a9d4f", "#e07b22", "#8a78c8", "#1b9aaa", "#c2549b",
    "#7a8b2c", "#b5732f", "#5a5f9e", "#2c8c6e", "#a33b3b"];
  var SVGNS = "http://www.w3.org/2000/svg";

  // -- small helpers ------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, key) || attrs[key] == null) continue;
        if (key === "text") node.textContent = attrs[key];
        else if (key === "cls") node.className = attrs[key];
        else node.setAttribute(key, attrs[key]);
      }
    }
    (children || []).forEach(function (child) {
      if (child == null) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVGNS, tag);
    for (var key in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, key)) node.setAttribute(key, attrs[key]);
    }
    return node;
  }

  function seconds(s) {
    if (s == null || !isFinite(s)) return "–";
    if (s === 0) return "0 s";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (Math.round(s * 10) / 10 < 60) return s.toFixed(1) + " s";
    var total = Math.round(s), m = Math.floor(total / 60), sec = total % 60;
    if (m < 60) return m + "m " + (sec < 10 ? "0" : "") + sec + "s";
    var h = Math.floor(m / 60);
    m = m % 60;
    return h + "h " + (m < 10 ? "0" : "") + m + "m";
  }

  function bytes(b) {
    if (b == null || !isFinite(b)) return "–";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (Math.abs(b) >= 1024 && i < units.length - 1) { b /= 1024; i += 1; }
    return (i === 0 ? String(Math.round(b)) : b.toFixed(b < 10 ? 1 : 0)) + " " + units[i];
  }

  function percent(p) { return p == null || !isFinite(p) ? "–" : (p * 100).toFixed(0) + " %"; }
  function count(n) { return n == null ? "–" : Number(n).toLocaleString("en"); }
  function plural(n, word) { return count(n) + " " + word + (n === 1 ? "" : "s"); }

  function dateText(iso) {
    if (!iso) return "–";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function section(id, title, note) {
    var node = el("section", { id: id, "data-section": id }, [el("h2", { text: title })]);
    if (note) node.appendChild(el("p", { cls: "note", text: note }));
    return node;
  }

  function empty(text) { return el("p", { cls: "empty", text: text }); }

  /* A table: columns are [heading, value(row), class]; class "n" aligns numbers right. */
  function table(columns, rows, rowAttrs) {
    var head = el("tr", null, columns.map(function (c) { return el("th", { cls: c[2] || null, text: c[0] }); }));
    var body = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr", rowAttrs ? rowAttrs(row) : null);
      columns.forEach(function (c) {
        var value = c[1](row);
        var td = el("td", { cls: c[2] || null });
        if (value instanceof Node) td.appendChild(value);
        else td.textContent = value == null ? "–" : String(value);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    return el("table", null, [el("thead", null, [head]), body]);
  }

  function outcomeCell(outcome) {
    return outcome ? el("span", { cls: "o-" + outcome, text: outcome }) : "did not run";
  }

  function barCell(value, max) {
    var width = max > 0 ? Math.max(0, Math.min(100, (100 * value) / max)) : 0;
    return el("div", { style: "width:" + width.toFixed(1) + "%" });
  }

  function legend(items) {
    return el("div", { cls: "legend" }, items.map(function (item) {
      return el("span", { style: "--c:" + item[1], text: item[0] });
    }));
  }

  // -- charts (inline SVG) ------------------------------------------------------------------

  /* Keep at most `limit` points of a series: the highest of each bucket, so peaks stay. */
  function thin(points, limit) {
    if (points.length <= limit) return points;
    var out = [], size = points.length / limit;
    for (var i = 0; i < limit; i += 1) {
      var from = Math.floor(i * size), to = Math.floor((i + 1) * size), best = points[from];
      for (var j = from + 1; j < to; j += 1) if (points[j][1] > best[1]) best = points[j];
      out.push(best);
    }
    return out;
  }

  /* A line chart of series [{name, colour, points: [[x, y], ...]}]. */
  function lineChart(series, options) {
    var w = options.width || 520, h = options.height || 150, left = 58, right = 8, top = 8, bottom = 20;
    var xs = [], ys = [];
    series.forEach(function (s) { s.points.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); }); });
    var xMin = options.xMin != null ? options.xMin : Math.min.apply(null, xs.length ? xs : [0]);
    var xMax = options.xMax != null ? options.xMax : Math.max.apply(null, xs.length ? xs : [1]);
    var yMax = options.yMax != null ? options.yMax : Math.max.apply(null, ys.length ? ys : [1]);
    if (options.yAtLeast != null) yMax = Math.max(yMax, options.yAtLeast);
    if (!(yMax > 0)) yMax = 1;
    if (!(xMax > xMin)) xMax = xMin + 1;
    var root = svg("svg", { "class": "chart", viewBox: "0 0 " + w + " " + h, role: "img" });
    function X(x) { return left + ((x - xMin) / (xMax - xMin)) * (w - left - right); }
    function Y(y) { return top + (1 - y / yMax) * (h - top - bottom); }
    [0, 0.5, 1].forEach(function (f) {
      root.appendChild(svg("line", { "class": "axis", x1: left, x2: w - right, y1: Y(yMax * f), y2: Y(yMax * f) }));
      var label = svg("text", { x: left - 4, y: Y(yMax * f) + 3, "text-anchor": "end" });
      label.textContent = options.yFormat(yMax * f);
      root.appendChild(label);
    });
    var xl = options.xLabels || [[xMin, options.xFormat(xMin)], [xMax, options.xFormat(xMax)]];
    xl.forEach(function (pair, i) {
      var t = svg("text", { x: X(pair[0]), y: h - 5, "text-anchor": i === 0 ? "start" : (i === xl.length - 1 ? "end" : "middle") });
      t.textContent = pair[1];
      root.appendChild(t);
    });
    series.forEach(function (s) {
      var pts = thin(s.points, options.limit || 700);
      if (!pts.length) return;
      var d = pts.map(function (p) { return X(p[0]).toFixed(1) + "," + Y(p[1]).toFixed(1); }).join(" ");
      root.appendChild(svg("polyline", { "class": "line", points: d, stroke: s.colour }));
      if (!options.dots && pts.length < 3) {  // too few points for a line to show
        pts.forEach(function (p) { root.appendChild(svg("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: s.colour })); });
      }
      if (options.dots) {
        pts.forEach(function (p) {
          var dot = svg("circle", { cx: X(p[0]), cy: Y(p[1]), r: p[3] ? 4 : 2.5, "class": p[3] ? "cur" : "pt" });
          var title = svg("title", {});
          title.textContent = p[2] || "";
          dot.appendChild(title);
          root.appendChild(dot);
        });
      }
    });
    return root;
  }

  // -- the sections ---------------------------------------------------------------------------

  function header(doc) {
    var run = doc.run, good = run.exit_code === 0;
    var status = run.status === "complete" ? (good ? "passed" : "failed") : run.status;
    return el("header", { cls: "top" }, [
      el("h1", { text: "testfleet report" + (run.id != null ? " · run #" + run.id : "") }),
      el("span", { cls: "badge " + (good ? "ok" : run.status === "complete" ? "bad" : "other"), text: status }),
      el("span", { cls: "when", text: dateText(run.date) + " on " + run.host + (run.commit ? " · commit " + run.commit.slice(0, 12) : "") })
    ]);
  }

  function summary(doc) {
    var run = doc.run, node = section("summary", "Summary");
    function card(k, v, title) {
      return el("div", { cls: "card", title: title || null }, [el("div", { cls: "k", text: k }), el("div", { cls: "v", text: v })]);
    }
    var workers = doc.workers.length;
    node.appendChild(el("div", { cls: "cards" }, [
      card("tests", count(run.tests)),
      card("wall", seconds(run.wall)),
      card("test time", seconds(run.test_seconds), "setup + call + teardown of every test"),
      card("workers", String(run.workers) + (workers && workers !== run.workers ? " (" + workers + " lanes)" : "")),
      card("efficiency", percent(run.efficiency), "test time over workers × wall"),
      card("planned", seconds(run.planned), "the run phase's wall the planner predicted"),
      card("peak memory", bytes(run.peak_rss_bytes), "the run's processes together"),
      card("exit code", run.exit_code == null ? "–" : String(run.exit_code))
    ]));
    node.appendChild(el("div", { cls: "outcomes", id: "outcomes" }, OUTCOMES.filter(function (o) {
      return run.outcomes[o];
    }).map(function (o) {
      return el("span", { style: "--c:" + COLOURS[o], "data-outcome": o, text: count(run.outcomes[o]) + " " + o });
    })));
    var extra = [];
    if (run.flaky) extra.push(plural(run.flaky, "flaky test") + " (failed, then passed when run again)");
    if (run.quarantined) extra.push(plural(run.quarantined, "quarantined test"));
    if (extra.length) node.appendChild(el("p", { cls: "note", text: extra.join(" · ") }));
    if (run.arguments && run.arguments.length) node.appendChild(el("div", { cls: "args", text: "pytest " + run.arguments.join(" ") }));
    return node;
  }

  function failures(doc) {
    var bad = doc.tests.filter(function (t) { return t.outcome === "failed" || t.outcome === "error"; });
    if (!bad.length) return null;
    var node = section("failures", "Failed tests (" + count(bad.length) + ")");
    var shown = bad.slice(0, 200);
    node.appendChild(el("div", { cls: "scroll" }, [table([
      ["test", function (t) { return t.nodeid; }, "id"],
      ["outcome", function (t) { return outcomeCell(t.outcome); }],
      ["worker", function (t) { return t.worker || "main"; }],
      ["duration", function (t) { return seconds(t.duration); }, "n"]
    ], shown)]));
    if (bad.length > shown.length) node.appendChild(el("p", { cls: "note", text: "and " + count(bad.length - shown.length) + " more in the JSON document" }));
    return node;
  }

  /* Lanes of the timeline: one per worker, grouped under their node in fleet runs. */
  function buildLanes(doc) {
    var lanes = [], byName = {};
    doc.workers.forEach(function (w) {
      var lane = { name: w.name, node: w.node, info: w, idx: [], start: null, end: null };
      byName[w.name] = lane;
      lanes.push(lane);
    });
    var tests = doc.tests;
    for (var i = 0; i < tests.length; i += 1) {
      var name = tests[i].worker || "main", lane = byName[name];
      if (!lane) { lane = { name: name, node: null, info: null, idx: [] }; byName[name] = lane; lanes.push(lane); }
      lane.idx.push(i);
    }
    var wall = doc.run.wall || 0;
    lanes.forEach(function (lane) {
      // Tests whose start is unknown follow the one before them in their lane.
      var n = lane.idx.length, starts = new Float64Array(n), ends = new Float64Array(n), cursor = 0;
      lane.idx.sort(function (a, b) {
        var sa = tests[a].start, sb = tests[b].start;
        if (sa == null || sb == null) return (sa == null) - (sb == null) || a - b;
        return sa - sb || a - b;
      });
      for (var k = 0; k < n; k += 1) {
        var t = tests[lane.idx[k]], s = t.start == null ? cursor : t.start;
        starts[k] = s;
        ends[k] = s + (t.duration || 0);
        cursor = Math.max(cursor, ends[k]);
        if (ends[k] > wall) wall = ends[k];
      }
      // Running maximum of ends, for the search of the bar under the pointer.
      var reach = new Float64Array(n), best = 0;
      for (var r = 0; r < n; r += 1) { best = Math.max(best, ends[r]); reach[r] = best; }
      lane.start = starts;
      lane.end = ends;
      lane.reach = reach;
    });
    return { lanes: lanes, wall: wall || 1 };
  }

  function timeline(doc) {
    var node = section("timeline-section", "Timeline",
      "One lane per worker; each test is a bar from its start to its end, coloured by outcome. " +
      "Point at a bar for the test; drag across the chart to zoom in, double-click to zoom out.");
    if (!doc.tests.length) { node.appendChild(empty("No tests ran.")); return node; }
    node.appendChild(legend(OUTCOMES.map(function (o) { return [o, COLOURS[o]]; })));
    var built = buildLanes(doc), lanes = built.lanes, tests = doc.tests;
    var canvas = el("canvas", { id: "timeline", "data-lanes": String(lanes.length), "data-tests": String(tests.length) });
    var tip = el("div", { id: "tip" });
    var reset = el("button", { type: "button", text: "zoom out" });
    var range = el("span");
    node.appendChild(el("div", { cls: "controls" }, [reset, range]));
    node.appendChild(el("div", { id: "timeline-wrap" }, [canvas, tip]));

    // Lanes are taller when there are few of them; 64 workers still fit a screen.
    var LABEL = 150, AXIS = 22, LANE = lanes.length <= 8 ? 28 : lanes.length <= 24 ? 20 : 12, GAP = 4, NODE = 20;
    var rows = [], y = AXIS, lastNode;
    lanes.forEach(function (lane) {
      if (lane.node && lane.node !== lastNode) { rows.push({ node: lane.node, y: y }); y += NODE; }
      lastNode = lane.node;
      lane.y = y;
      rows.push({ lane: lane, y: y });
      y += LANE + GAP;
    });
    var height = y + 4, view = { from: 0, to: built.wall }, drag = null;

    function plotWidth() { return Math.max(100, (canvas.clientWidth || 1200) - LABEL - 10); }
    function toX(t) { return LABEL + ((t - view.from) / (view.to - view.from)) * plotWidth(); }
    function toT(x) { return view.from + ((x - LABEL) / plotWidth()) * (view.to - view.from); }

    function draw() {
      var ratio = window.devicePixelRatio || 1, width = canvas.clientWidth || 1200;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.height = height + "px";
      var g = canvas.getContext("2d");
      g.setTransform(ratio, 0, 0, ratio, 0, 0);
      g.clearRect(0, 0, width, height);
      g.font = "11px system-ui, sans-serif";
      g.textBaseline = "middle";
      // Axis: about eight ticks at round seconds.
      var span = view.to - view.from, step = Math.pow(10, Math.floor(Math.log10(span / 8)));
      [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= 8) { step *= m; return true; } return false; });
      g.fillStyle = "#5f6b7a";
      g.strokeStyle = "#dde2e8";
      for (var tick = Math.ceil(view.from / step) * step; tick <= view.to; tick += step) {
        var x = Math.round(toX(tick)) + 0.5;
        g.beginPath(); g.moveTo(x, AXIS - 4); g.lineTo(x, height); g.stroke();
        g.fillText(seconds(tick), x + 3, 9);
      }
      rows.forEach(function (row) {
        if (row.node) {
          g.fillStyle = "#1d232b";
          g.font = "600 11px system-ui, sans-serif";
          g.fillText("node " + row.node, 4, row.y + NODE / 2);
          g.font = "11px system-ui, sans-serif";
          return;
        }
        var lane = row.lane, label = lane.node ? lane.name.slice(lane.node.length + 1) : lane.name;
        g.fillStyle = "#f4f6f9";
        g.fillRect(LABEL, row.y, plotWidth(), LANE);
        g.fillStyle = "#1d232b";
        g.fillText((lane.node ? "  " : "") + label + "  (" + lane.idx.length + ")", 4, row.y + LANE / 2);
      });
      // Bars, one colour at a time; a bar is at least one pixel wide, so none is lost.
      var left = LABEL, right = LABEL + plotWidth();
      OUTCOMES.forEach(function (outcome) {
        g.fillStyle = COLOURS[outcome];
        lanes.forEach(function (lane) {
          var idx = lane.idx, s = lane.start, e = lane.end;
          for (var k = 0; k < idx.length; k += 1) {
            if (tests[idx[k]].outcome !== outcome || e[k] < view.from || s[k] > view.to) continue;
            var x0 = Math.max(left, toX(s[k])), x1 = Math.min(right, toX(e[k]));
            g.fillRect(x0, lane.y + 2, Math.max(1, x1 - x0 - 0.3), LANE - 4);
          }
        });
      });
      if (drag && drag.x1 != null) {
        g.fillStyle = "rgba(47, 111, 181, 0.15)";
        g.fillRect(Math.min(drag.x0, drag.x1), AXIS, Math.abs(drag.x1 - drag.x0), height - AXIS);
      }
      range.textContent = seconds(view.from) + " – " + seconds(view.to) + " of " + seconds(built.wall);
    }

    /* The test under the pointer: the last bar starting before t that reaches t (± 2 px). */
    function hit(x, yPos) {
      var lane = null;
      for (var i = 0; i < lanes.length; i += 1) {
        if (yPos >= lanes[i].y && yPos < lanes[i].y + LANE) { lane = lanes[i]; break; }
      }
      if (!lane || x < LABEL) return null;
      var t = toT(x), slack = (2 * (view.to - view.from)) / plotWidth();
      var lo = 0, hi = lane.start.length - 1, found = -1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (lane.start[mid] <= t + slack) { found = mid; lo = mid + 1; } else hi = mid - 1;
      }
      for (var k = found; k >= 0 && lane.reach[k] >= t - slack; k -= 1) {
        if (lane.end[k] >= t - slack) return tests[lane.idx[k]];
      }
      return null;
    }

    function showTip(test, x, yPos) {
      if (!test) { tip.style.display = "none"; return; }
      tip.textContent = "";
      tip.appendChild(el("b", { text: test.nodeid }));
      var lines = [
        test.outcome + " · " + seconds(test.duration) + " (setup " + seconds(test.setup) + ", call " +
          seconds(test.call) + ", teardown " + seconds(test.teardown) + ")",
        "worker " + (test.worker || "main") + " · started at " + seconds(test.start),
        "CPU " + seconds(test.cpu_seconds) + " · peak memory " + bytes(test.peak_rss_bytes)
      ];
      if (test.attempts) lines.push(test.attempts + " attempts" + (test.flaky ? " (flaky)" : ""));
      if (test.quarantined) lines.push("quarantined");
      if (test.category) lines.push("category " + test.category);
      if (test.resources) lines.push("resources " + test.resources.join(", "));
      lines.forEach(function (line) { tip.appendChild(el("div", { text: line })); });
      tip.style.display = "block";
      var wrapWidth = canvas.clientWidth || 1200;
      tip.style.left = Math.min(x + 14, Math.max(0, wrapWidth - 420)) + "px";
      tip.style.top = yPos + 16 + "px";
    }

    function position(event) {
      var box = canvas.getBoundingClientRect();
      return [event.clientX - box.left, event.clientY - box.top];
    }
    canvas.addEventListener("mousemove", function (event) {
      var p = position(event);
      if (drag) { drag.x1 = Math.max(LABEL, p[0]); draw(); return; }
      showTip(hit(p[0], p[1]), p[0], p[1]);
    });
    canvas.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    canvas.addEventListener("mousedown", function (event) {
      var p = position(event);
      if (p[0] >= LABEL) drag = { x0: p[0], x1: null };
    });
    window.addEventListener("mouseup", function () {
      if (!drag) return;
      var d = drag;
      drag = null;
      if (d.x1 != null && Math.abs(d.x1 - d.x0) > 4) {
        var a = toT(Math.min(d.x0, d.x1)), b = toT(Math.max(d.x0, d.x1));
        view = { from: Math.max(0, a), to: Math.max(a + 1e-3, b) };
      }
      draw();
    });
    function zoomOut() { view = { from: 0, to: built.wall }; draw(); }
    canvas.addEventListener("dblclick", zoomOut);
    reset.addEventListener("click", zoomOut);
    window.addEventListener("resize", draw);
    node.draw = draw;
    return node;
  }

  function workersTable(doc) {
    var node = section("workers", "Workers",
      "Busy: the seconds its tests took; efficiency: busy over the run's wall.");
    if (!doc.workers.length) { node.appendChild(empty("No tests ran.")); return node; }
    node.appendChild(table([
      ["worker", function (w) { return w.name; }],
      ["tests", function (w) { return count(w.tests); }, "n"],
      ["failed", function (w) { return count(w.failed); }, "n"],
      ["busy", function (w) { return seconds(w.busy); }, "n"],
      ["efficiency", function (w) { return percent(w.efficiency); }, "n"],
      ["CPU", function (w) { return seconds(w.cpu_seconds); }, "n"],
      ["peak memory", function (w) { return bytes(w.peak_rss_bytes); }, "n"]
    ], doc.workers, function (w) { return { "data-lane": w.name, cls: "lane" }; }));
    return node;
  }

  function usage(doc) {
    var node = section("usage", "CPU and memory over time");
    var wall = doc.run.wall || null;
    function xFormat(x) { return seconds(x); }
    if (!doc.samples.length && !doc.machine.length) {
      node.appendChild(empty("No samples: the run was not monitored."));
      return node;
    }
    var grid = el("div", { cls: "grid2" });
    if (doc.samples.length) {
      var byProcess = {}, names = [];
      doc.samples.forEach(function (s) {
        if (!byProcess[s.process]) { byProcess[s.process] = { cpu: [], rss: [] }; names.push(s.process); }
        byProcess[s.process].cpu.push([s.at, s.cpu_percent]);
        byProcess[s.process].rss.push([s.at, s.rss_bytes]);
      });
      names.sort(function (a, b) { return (a === "controller") - (b === "controller") || (a < b ? -1 : a > b ? 1 : 0); });
      var colour = {};
      names.forEach(function (n, i) { colour[n] = PALETTE[i % PALETTE.length]; });
      function series(key) { return names.map(function (n) { return { name: n, colour: colour[n], points: byProcess[n][key] }; }); }
      var keys = names.map(function (n) { return [n, colour[n]]; });
      grid.appendChild(el("div", null, [el("h3", { text: "CPU per process (% of one core)" }), legend(keys),
        lineChart(series("cpu"), { xMin: 0, xMax: wall, yAtLeast: 100, yFormat: function (v) { return v.toFixed(0) + " %"; }, xFormat: xFormat })]));
      grid.appendChild(el("div", null, [el("h3", { text: "Memory per process (RSS)" }), legend(keys),
        lineChart(series("rss"), { xMin: 0, xMax: wall, yFormat: bytes, xFormat: xFormat })]));
    }
    if (doc.machine.length) {
      var m = doc.machine, total = Math.max.apply(null, m.map(function (s) { return s.memory_total_bytes; }));
      var last = m[m.length - 1];
      grid.appendChild(el("div", null, [el("h3", { text: "Machine CPU (% of all cores) and load" }),
        legend([["CPU", PALETTE[0]], ["load × 10", PALETTE[3]]]),
        lineChart([
          { name: "CPU", colour: PALETTE[0], points: m.map(function (s) { return [s.at, s.cpu_percent]; }) },
          { name: "load", colour: PALETTE[3], points: m.map(function (s) { return [s.at, s.load * 10]; }) }
        ], { xMin: 0, xMax: wall, yMax: 100, yFormat: function (v) { return v.toFixed(0) + " %"; }, xFormat: xFormat })]));
      grid.appendChild(el("div", null, [el("h3", { text: "Machine memory used (of " + bytes(total) + "); disk " +
          bytes(last.disk_used_bytes) + " of " + bytes(last.disk_total_bytes) + " at the end" }),
        lineChart([{ name: "memory", colour: PALETTE[2], points: m.map(function (s) { return [s.at, s.memory_used_bytes]; }) }],
          { xMin: 0, xMax: wall, yMax: total || null, yFormat: bytes, xFormat: xFormat })]));
    }
    node.appendChild(grid);
    return node;
  }

  function slowest(doc) {
    var node = section("slowest", "Slowest tests and fixtures");
    var grid = el("div", { cls: "grid2" });
    var tests = el("div", null, [el("h3", { text: "Tests (setup + call + teardown)" })]);
    tests.appendChild(doc.slowest.length ? table([
      ["test", function (t) { return t.nodeid; }, "id"],
      ["outcome", function (t) { return outcomeCell(t.outcome); }],
      ["worker", function (t) { return t.worker || "main"; }],
      ["duration", function (t) { return seconds(t.duration); }, "n"]
    ], doc.slowest) : empty("No tests ran."));
    var fixtures = el("div", null, [el("h3", { text: "Fixtures (set-up time, every process together)" })]);
    fixtures.appendChild(doc.fixtures.length ? table([
      ["fixture", function (f) { return f.name; }, "id"],
      ["scope", function (f) { return f.scope; }],
      ["set-ups", function (f) { return count(f.count); }, "n"],
      ["total", function (f) { return seconds(f.seconds); }, "n"],
      ["slowest", function (f) { return seconds(f.slowest); }, "n"]
    ], doc.fixtures.slice(0, 20)) : empty("No fixture timings were recorded."));
    if (doc.fixtures.length > 20) fixtures.appendChild(el("p", { cls: "note", text: "and " + count(doc.fixtures.length - 20) + " more in the JSON document" }));
    grid.appendChild(tests);
    grid.appendChild(fixtures);
    node.appendChild(grid);
    return node;
  }

  function groups(doc) {
    var node = section("groups", "Categories and resources");
    var grid = el("div", { cls: "grid2" });
    function groupTable(rows, heading, none) {
      if (!rows.length) return empty(none);
      var max = Math.max.apply(null, rows.map(function (r) { return r.seconds; }));
      return table([
        [heading, function (r) { return r.name == null ? "(none)" : r.name; }],
        ["tests", function (r) { return count(r.tests); }, "n"],
        ["failed", function (r) { return count(r.failed); }, "n"],
        ["seconds", function (r) { return seconds(r.seconds); }, "n"],
        ["", function (r) { return barCell(r.seconds, max); }, "bar"]
      ], rows);
    }
    grid.appendChild(el("div", null, [el("h3", { text: "Categories" }),
      groupTable(doc.categories, "category", "No tests ran.")]));
    grid.appendChild(el("div", null, [el("h3", { text: "Resources (tests that held each)" }),
      groupTable(doc.resources, "resource", "No test held a resource.")]));
    node.appendChild(grid);
    return node;
  }

  function trends(doc) {
    var node = section("trends", "Trends", "The recorded runs up to this one; the red point is this run.");
    var runs = doc.trends;
    if (!runs.length) { node.appendChild(empty("No recorded runs: the run was made without history.")); return node; }
    var grid = el("div", { cls: "grid3" });
    var labels = [[0, dateText(runs[0].date)], [Math.max(1, runs.length - 1), dateText(runs[runs.length - 1].date)]];
    function chart(title, key, format, yMax) {
      var points = [];
      runs.forEach(function (r, i) {
        if (r[key] == null) return;
        points.push([i, r[key], "run #" + r.id + " · " + dateText(r.date) + " · " + title + " " + format(r[key]), r.current]);
      });
      grid.appendChild(el("div", { "data-trend": key }, [el("h3", { text: title }),
        points.length ? lineChart([{ name: title, colour: PALETTE[0], points: points }],
          { xMin: 0, xMax: Math.max(1, runs.length - 1), yMax: yMax, width: 380, height: 130, dots: true, yFormat: format, xLabels: labels })
          : empty("not recorded")]));
    }
    chart("wall", "wall", seconds);
    chart("tests", "tests", count);
    chart("efficiency", "efficiency", percent, 1);
    node.appendChild(grid);
    return node;
  }

  function flakyAndQuarantined(doc) {
    var node = section("flaky", "Flaky and quarantined tests");
    var grid = el("div", { cls: "grid2" });
    var flaky = el("div", null, [el("h3", { text: "Flaky, from the history (most flaky first)" })]);
    flaky.appendChild(doc.flaky.length ? table([
      ["test", function (f) { return f.nodeid; }, "id"],
      ["score", function (f) { return f.certain ? "certain" : f.score.toFixed(2); }, "n"],
      ["evidence", function (f) { return f.evidence; }]
    ], doc.flaky.slice(0, 200)) : empty(doc.trends.length ? "No test looks flaky." : "No history to score."));
    var quarantined = el("div", null, [el("h3", { text: "Quarantined (their failures do not fail the run)" })]);
    quarantined.appendChild(doc.quarantined.length ? table([
      ["test", function (q) { return q.nodeid; }, "id"],
      ["this run", function (q) { return outcomeCell(q.outcome); }]
    ], doc.quarantined) : empty("No test is quarantined."));
    grid.appendChild(flaky);
    grid.appendChild(quarantined);
    node.appendChild(grid);
    return node;
  }

  function cache(doc) {
    var c = doc.cache;
    if (!c) return null;
    var node = section("cache", "Shared cache (fleet_cache)");
    node.appendChild(table([
      ["hits", function () { return count(c.hits); }, "n"],
      ["misses", function () { return count(c.misses); }, "n"],
      ["sets", function () { return count(c.sets); }, "n"],
      ["evictions", function () { return count(c.evictions); }, "n"],
      ["hit rate", function () { return percent(c.hit_rate); }, "n"],
      ["build time saved", function () { return seconds(c.saved_seconds); }, "n"]
    ], [c]));
    return node;
  }

  function render(doc) {
    if (doc.schema !== 1) throw new Error("this page reads schema 1, the document is schema " + doc.schema);
    var main = document.getElementById("report");
    main.textContent = "";
    var line = timeline(doc);
    [header(doc), summary(doc), line, workersTable(doc), failures(doc), usage(doc), slowest(doc),
      groups(doc), trends(doc), flakyAndQuarantined(doc), cache(doc),
      el("footer", { text: "Made by " + doc.generator + " · report schema " + doc.schema })
    ].forEach(function (part) { if (part) main.appendChild(part); });
    if (line.draw) line.draw();  // after it is in the page, so that it knows its width
    document.body.setAttribute("data-tests", String(doc.tests.length));
    document.body.setAttribute("data-lanes", String(doc.workers.length));
  }

  try {
    render(JSON.parse(document.getElementById("testfleet-data").textContent));
  } catch (error) {
    window.testfleetError(error && error.stack ? error.stack : String(error));
  }
  document.body.setAttribute("data-script-ms", (performance.now() - scriptStart).toFixed(1));
  document.body.setAttribute("data-render-ms", performance.now().toFixed(1));
})();
