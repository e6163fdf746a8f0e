/* IMS Atlas: the years, the area profile and the ranked bars (issue 17, points 1-3). Runs after
   atlas.js and works through window.atlasApp and its events (atlas:draw, atlas:select,
   atlas:hover), so the map script stays as it is.
   - Years (data.years, when the extract covers several financial years): a year control; the
     map, legend, list and bars show the chosen year. Another year's counts arrive packed
     (level.time[cohort][year]: zigzag integers, -1 where suppressed); rates and 95% intervals
     are computed here from them and the areas' populations (level.pop) as the build computes
     them: exact Poisson limits under 10 (years.ci), Byar's method from 10.
   - Area profile: selecting an area (click, or Enter on a list row or a bar) opens a panel with
     each cohort's count, rate and interval against the whole area's (the residents of the
     drop's local authorities): higher or lower where the intervals do not overlap, else
     similar; the years of each cohort; a link to the local authority's report pack. Esc
     closes it.
   - Ranked bars of the areas on show, linked to the map both ways. */
(function () {
  'use strict';
  var app = window.atlasApp;
  if (!app) return;
  var data = app.data, state = app.state, levels = app.levels;
  var years = data.years || null;
  var small = 'fewer than ' + data.threshold;
  var Z = 1.959963984540054;
  var ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  var DIGIT = {};
  for (var a = 0; a < ALPHABET.length; a++) DIGIT[ALPHABET.charAt(a)] = a;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function ints(text) {  // packed integers (render/ring_text.py)
    var out = [], v = 0, mul = 1;
    for (var i = 0; i < text.length; i++) {
      var c = DIGIT[text.charAt(i)];
      v += (c & 31) * mul;
      if (c < 32) { mul *= 32; continue; }
      out.push(v % 2 ? -(v + 1) / 2 : v / 2);
      v = 0; mul = 1;
    }
    return out;
  }
  function fmt(v) { return v === null ? '' : v.toLocaleString('en-GB'); }
  function one(v) { return (Math.floor(v * 10 + 0.5) / 10).toFixed(1); }
  function cohortLabel(c) {
    return data.cohorts.filter(function (x) { return x[0] === c; })[0][1];
  }

  // rates and intervals, as counting/rates.py computes them
  function interval(n) {
    if (n < 10 && years) return years.ci[n];
    var lo = n * Math.pow(1 - 1 / (9 * n) - Z / (3 * Math.sqrt(n)), 3);
    var m = n + 1, hi = m * Math.pow(1 - 1 / (9 * m) + Z / (3 * Math.sqrt(m)), 3);
    return [n > 0 ? lo : 0, hi];
  }
  function rateOf(n, pop) {
    if (n === null) return {n: null};
    if (!(pop > 0)) return {n: n, rate: null};
    var ci = interval(n);
    return {n: n, rate: n / pop * 1000, lo: ci[0] / pop * 1000, hi: ci[1] / pop * 1000};
  }

  // the years: each level's counts per year and cohort, decoded once when first asked
  var own = years ? years.own : -1, shown = own;
  var original = {}, decoded = {}, pops = {};
  Object.keys(levels).forEach(function (id) {
    original[id] = {values: levels[id].values, breaks: levels[id].breaks};
  });
  function popOf(id) {
    if (!pops[id]) pops[id] = levels[id].pop ? ints(levels[id].pop) : [];
    return pops[id];
  }
  function counts(id, y, cohort) {  // published counts (null: suppressed) of a year
    if (y === own || !years) return original[id].values[cohort].n;
    var key = id + ' ' + y + ' ' + cohort;
    if (!decoded[key]) {
      decoded[key] = ints(levels[id].time[cohort][y]).map(function (v) { return v < 0 ? null : v; });
    }
    return decoded[key];
  }
  function figures(id, i, y, cohort) {  // {n, rate, lo, hi} of an area in a year
    if (y === own || !years) {
      var v = original[id].values[cohort];
      if (v.n[i] === null) return {n: null};
      if (v.rate[i] === null) return {n: v.n[i], rate: null};
      return {n: v.n[i], rate: v.rate[i] / 10, lo: v.lo[i] / 10, hi: v.hi[i] / 10};
    }
    return rateOf(counts(id, y, cohort)[i], popOf(id)[i]);
  }
  function areaFigures(y, cohort) {
    var n = years ? years.area[cohort][y] : null;
    return years ? rateOf(n, years.area_pop) : {n: null};
  }
  function yearValues(id, y) {  // a level's layer values for year y, as atlas.js reads them
    var out = {};
    data.cohorts.forEach(function (c) {
      var n = counts(id, y, c[0]), pop = popOf(id), v = {n: n, rate: [], lo: [], hi: []};
      n.forEach(function (x, i) {
        var f = rateOf(x, pop[i]), t = function (r) { return r === null || r === undefined ? null : Math.floor(r * 10 + 0.5); };
        v.rate.push(t(f.rate)); v.lo.push(t(f.lo)); v.hi.push(t(f.hi));
      });
      out[c[0]] = v;
    });
    return out;
  }
  function showYear(y) {
    shown = y;
    Object.keys(levels).forEach(function (id) {
      if (!levels[id].time) return;  // a layer with no years (a context layer)
      if (y === own) {
        levels[id].values = original[id].values; levels[id].breaks = original[id].breaks;
      } else {
        levels[id].values = yearValues(id, y); levels[id].breaks = levels[id].tbreaks[y];
      }
    });
    app.draw();
    if (state.selected >= 0) profile(state.selected);
  }
  function yearLabel(y) {
    return years.labels[y] + (years.partial[y] ? ' (partly covered)' : '');
  }
  if (years && years.labels.length > 1) {
    var form = el('form'), box = el('fieldset'), lg = el('legend', 'Year');
    form.id = 'atlas-years'; form.setAttribute('onsubmit', 'return false');
    box.appendChild(lg);
    years.labels.forEach(function (_, y) {
      var label = el('label'), input = el('input');
      input.type = 'radio'; input.name = 'year'; input.value = String(y); input.checked = y === own;
      label.appendChild(input); label.appendChild(document.createTextNode(' ' + yearLabel(y)));
      if (years.partial[y]) label.title = 'Partly covered: ' + years.partial[y];
      box.appendChild(label);
    });
    form.appendChild(box);
    var controls = document.getElementById('atlas-controls');
    controls.parentNode.insertBefore(form, controls.nextSibling);
    form.addEventListener('change', function (e) { showYear(+e.target.value); });
  }

  // the area profile
  var panel = el('section', null, 'atlas-profile');
  panel.id = 'atlas-profile'; panel.hidden = true;
  panel.setAttribute('role', 'dialog'); panel.setAttribute('aria-labelledby', 'atlas-profile-title');
  panel.tabIndex = -1;
  var mapBox = document.getElementById('atlas-map');
  mapBox.parentNode.insertBefore(panel, mapBox.nextSibling);
  var opener = null;
  function close() {
    if (panel.hidden) return;
    panel.hidden = true;
    if (opener && document.body.contains(opener)) opener.focus();
  }
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !panel.hidden) { e.preventDefault(); close(); }
  });
  function compare(f, area) {
    if (f.n === null || f.rate === null || f.rate === undefined) return 'not compared';
    if (area.n === null || area.rate === null || area.rate === undefined) return 'not compared';
    var lo = +one(f.lo), hi = +one(f.hi), alo = +one(area.lo), ahi = +one(area.hi);
    if (lo > ahi) return 'higher';
    if (hi < alo) return 'lower';
    return 'similar';
  }
  function rateText(f) {
    if (f.n === null) return 'not shown (count suppressed)';
    if (f.rate === null || f.rate === undefined) return 'no population';
    return one(f.rate) + ' (' + one(f.lo) + '–' + one(f.hi) + ')';
  }
  function packOf(id, i) {  // the area's local authority's report pack, if the drop has one
    var k = id === 'la' ? i : (levels[id].la ? levels[id].la[i] : -1);
    if (k === undefined || k < 0) return null;
    var code = levels.la.codes[k];
    var a = document.querySelector('a[href="reports/la/' + code + '/monitoring.html"]');
    return a ? {href: a.getAttribute('href'), name: levels.la.names[k]} : null;
  }
  function chart(id, i, cohort) {  // the rate and its interval per year, an SVG
    var NS = 'http://www.w3.org/2000/svg', n = years.labels.length;
    var pts = years.labels.map(function (_, y) { return figures(id, i, y, cohort); });
    var top = 0;
    pts.forEach(function (f) { if (f.hi) top = Math.max(top, f.hi); });
    var W = 240, H = 90, left = 34, bottom = 18, step = (W - left - 10) / Math.max(n, 1);
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H); svg.setAttribute('class', 'atlas-spark');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', cohortLabel(cohort) + ': rate per 1,000 by year, with 95% ' +
                     'intervals (the table beside it gives the figures)');
    function add(tag, attrs, text) {
      var e = document.createElementNS(NS, tag);
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
      if (text) e.textContent = text;
      svg.appendChild(e); return e;
    }
    var y0 = H - bottom, scale = top > 0 ? (y0 - 6) / top : 0;
    add('line', {x1: left, x2: W - 4, y1: y0, y2: y0, stroke: '#888'});
    add('text', {x: left - 3, y: 10, 'text-anchor': 'end', 'font-size': 9}, top ? one(top) : '');
    add('text', {x: left - 3, y: y0, 'text-anchor': 'end', 'font-size': 9}, '0');
    pts.forEach(function (f, y) {
      var x = left + step * (y + 0.5), partial = !!years.partial[y];
      add('text', {x: x, y: H - 5, 'text-anchor': 'middle', 'font-size': 9},
          years.labels[y] + (partial ? '*' : ''));
      if (f.n === null || f.rate === null || f.rate === undefined) {
        add('text', {x: x, y: y0 - 4, 'text-anchor': 'middle', 'font-size': 8, fill: '#555',
                     'class': 'atlas-spark-suppressed'}, 'supp.');
        return;
      }
      add('line', {x1: x, x2: x, y1: y0 - f.lo * scale, y2: y0 - f.hi * scale, stroke: '#333'});
      add('circle', {cx: x, cy: y0 - f.rate * scale, r: 3.5, stroke: '#005eb8', 'stroke-width': 2,
                     fill: partial ? '#fff' : '#005eb8',
                     'class': partial ? 'atlas-spark-partial' : 'atlas-spark-whole'});
    });
    return svg;
  }
  function profile(i) {
    var id = state.level, l = levels[id], y = years ? shown : -1;
    panel.textContent = '';
    var head = el('div', null, 'atlas-profile-head');
    var h = el('h2', l.names[i]); h.id = 'atlas-profile-title';
    var x = el('button', '×', 'atlas-profile-close');
    x.type = 'button'; x.setAttribute('aria-label', 'Close the area profile');
    x.addEventListener('click', close);
    head.appendChild(h); head.appendChild(x); panel.appendChild(head);
    panel.appendChild(el('p', l.label + ' ' + l.codes[i] + (years ? ' · ' + yearLabel(y) : ''),
                         'atlas-sub'));
    var table = el('table', null, 'atlas-profile-table'), thead = el('thead'), tr = el('tr');
    ['Cohort', 'Individuals', 'Rate per 1,000 (95% CI)', 'Compared with the area'].forEach(
      function (t) { var th = el('th', t); th.scope = 'col'; tr.appendChild(th); });
    thead.appendChild(tr); table.appendChild(thead);
    var body = el('tbody');
    data.cohorts.forEach(function (c) {
      var f = figures(id, i, y, c[0]), area = years ? areaFigures(y, c[0]) : {n: null};
      var row = el('tr'), th = el('th', c[1]);
      th.scope = 'row'; row.appendChild(th);
      row.appendChild(el('td', f.n === null ? small : fmt(f.n), 'n'));
      row.appendChild(el('td', rateText(f)));
      var verdict = compare(f, area), td = el('td', verdict, 'atlas-cmp atlas-cmp-' +
                                                  verdict.replace(' ', '-'));
      td.dataset.cohort = c[0];
      row.appendChild(td);
      row.dataset.cohort = c[0];
      body.appendChild(row);
    });
    table.appendChild(body); panel.appendChild(table);
    if (years) {
      var area = areaFigures(y, state.cohort);
      panel.appendChild(el('p', 'The whole area (residents of its local authorities), ' +
        cohortLabel(state.cohort).toLowerCase() + ': ' + rateText(area) + ' per 1,000. ' +
        'Higher or lower: the 95% intervals do not overlap; similar: they do.', 'atlas-sub'));
    }
    var pack = packOf(id, i);
    if (pack) {
      var p = el('p'), a = el('a', 'Report pack: ' + pack.name);
      a.href = pack.href; p.appendChild(a); panel.appendChild(p);
    }
    if (years && years.labels.length > 1) {
      panel.appendChild(el('h3', 'Over the years'));
      var t2 = el('table', null, 'atlas-profile-years'), h2 = el('tr');
      var th0 = el('th', 'Year'); th0.scope = 'col'; h2.appendChild(th0);
      data.cohorts.forEach(function (c) { var th = el('th', c[1]); th.scope = 'col'; h2.appendChild(th); });
      var hd = el('thead'); hd.appendChild(h2); t2.appendChild(hd);
      var b2 = el('tbody');
      years.labels.forEach(function (_, yy) {
        var r = el('tr'), th = el('th', yearLabel(yy));
        th.scope = 'row'; r.appendChild(th); r.dataset.year = years.labels[yy];
        if (years.partial[yy]) { r.classList.add('atlas-partial'); th.title = years.partial[yy]; }
        data.cohorts.forEach(function (c) {
          var f = figures(id, i, yy, c[0]);
          r.appendChild(el('td', f.n === null ? small : fmt(f.n) +
            (f.rate === null || f.rate === undefined ? '' : ' · ' + rateText(f)), 'n'));
        });
        b2.appendChild(r);
      });
      t2.appendChild(b2);
      var wrap = el('div', null, 'atlas-profile-scroll'); wrap.appendChild(t2);
      panel.appendChild(wrap);
      panel.appendChild(el('p', 'Individuals · rate per 1,000 (95% CI). Years marked * or ' +
                                '"partly covered" are covered only in part by the extract.',
                           'atlas-sub'));
      data.cohorts.forEach(function (c) {
        var fig = el('figure', null, 'atlas-profile-chart');
        fig.appendChild(chart(id, i, c[0]));
        fig.appendChild(el('figcaption', c[1]));
        panel.appendChild(fig);
      });
    }
    panel.hidden = false;
  }
  document.addEventListener('atlas:select', function (e) {
    var i = e.detail;
    if (i === null || i < 0) { close(); return; }
    opener = document.activeElement && document.activeElement !== document.body ?
      document.activeElement : null;
    profile(i);
    markBar(i, 'atlas-bar-selected');
    if (opener && opener.closest && opener.closest('#atlas-list, #atlas-bars, path')) panel.focus();
  });

  // the ranked bars of the areas on show, linked to the map both ways
  var bars = el('section', null, 'atlas-bars');
  bars.id = 'atlas-bars'; bars.setAttribute('aria-labelledby', 'atlas-bars-title');
  var barsTitle = el('h2', 'Areas ranked'); barsTitle.id = 'atlas-bars-title';
  var barsNote = el('p', '', 'atlas-sub'), barsList = el('ol', null, 'atlas-bar-list');
  bars.appendChild(barsTitle); bars.appendChild(barsNote); bars.appendChild(barsList);
  var notes = document.querySelector('.atlas-notes');
  notes.parentNode.insertBefore(bars, notes);
  function value(i) {
    var v = levels[state.level].values[state.cohort][state.measure][i];
    return v === null ? null : (state.measure === 'n' ? v : v / 10);
  }
  function drawBars() {
    var l = levels[state.level], v = l.values[state.cohort];
    var order = l.codes.map(function (_, i) { return i; }).filter(function (i) {
      return !(data.lazy && state.level === 'lsoa') || !!l.shapes[i];
    });
    var withValue = order.filter(function (i) { return v.n[i] !== null && value(i) !== null; });
    var hidden = order.filter(function (i) { return v.n[i] === null; });
    withValue.sort(function (a, b) { return value(b) - value(a) || l.names[a].localeCompare(l.names[b]); });
    hidden.sort(function (a, b) { return l.names[a].localeCompare(l.names[b]); });
    var top = withValue.length ? value(withValue[0]) : 0;
    barsTitle.textContent = l.label + 's ranked: ' + cohortLabel(state.cohort) + ', ' +
      (state.measure === 'n' ? 'individuals' : 'rate per 1,000') +
      (years && years.labels.length > 1 ? ', ' + yearLabel(shown) : '');
    barsNote.textContent = withValue.length + ' with a figure' +
      (hidden.length ? '; ' + hidden.length + ' suppressed (' + small + ', or withheld), listed ' +
       'last and not drawn as zero' : '') + '. Hover or pick a bar to find the area on the map.';
    var frag = document.createDocumentFragment();
    withValue.concat(hidden).forEach(function (i) {
      var li = el('li', null, 'atlas-bar'), b = el('button'), name = el('span', l.names[i], 'atlas-bar-name');
      var track = el('span', null, 'atlas-bar-track'), fill = el('span', null, 'atlas-bar-fill');
      var x = value(i), sup = v.n[i] === null;
      b.type = 'button'; li.dataset.index = i; b.dataset.index = i;
      if (sup) {
        li.classList.add('atlas-bar-suppressed');
        fill.classList.add('atlas-hatched');
        fill.style.width = '100%';
      } else {
        fill.style.width = (top > 0 ? Math.max(0, x / top * 100) : 0).toFixed(1) + '%';
      }
      var text = sup ? small : (state.measure === 'n' ? fmt(x) : x.toFixed(1));
      b.setAttribute('aria-label', l.names[i] + ': ' + text);
      track.appendChild(fill);
      b.appendChild(name); b.appendChild(track); b.appendChild(el('span', text, 'atlas-bar-value'));
      if (i === state.selected) li.classList.add('atlas-bar-selected');
      li.appendChild(b); frag.appendChild(li);
    });
    barsList.textContent = ''; barsList.appendChild(frag);
  }
  function markBar(i, cls) {
    var old = barsList.querySelectorAll('.' + cls);
    for (var k = 0; k < old.length; k++) old[k].classList.remove(cls);
    var li = barsList.querySelector('li[data-index="' + i + '"]');
    if (li) {
      li.classList.add(cls);
      if (cls === 'atlas-bar-selected') li.scrollIntoView({block: 'nearest'});
    }
  }
  barsList.addEventListener('mouseover', function (e) {
    var li = e.target.closest('li'); if (li) app.hover(+li.dataset.index, false);
  });
  barsList.addEventListener('mouseleave', function () { app.hover(-1, false); });
  barsList.addEventListener('focusin', function (e) {
    var li = e.target.closest('li'); if (li) app.hover(+li.dataset.index, false);
  });
  barsList.addEventListener('click', function (e) {
    var b = e.target.closest('button'); if (b) app.select(+b.dataset.index, true);
  });
  document.addEventListener('atlas:hover', function (e) { markBar(e.detail, 'atlas-bar-hover'); });
  // areas on the map reachable by keyboard (Tab, then Enter opens the profile) where a level
  // has few enough areas to tab through; at LSOA level the list and the bars serve instead
  var KEYBOARD_AREAS = 400;
  function focusableAreas() {
    var l = levels[state.level], d = app.drawn[state.level];
    if (!d || l.codes.length > KEYBOARD_AREAS) return;
    d.polys.forEach(function (p, i) {
      var path = p && p.getElement && p.getElement();
      if (!path || path.dataset.keyboard) return;
      path.dataset.keyboard = '1'; path.setAttribute('tabindex', '0');
      path.setAttribute('role', 'button');
      path.setAttribute('aria-label', l.names[i] + ' (' + l.label + ' ' + l.codes[i] + ')');
      path.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); app.select(i, false); }
      });
      path.addEventListener('focus', function () { app.hover(i, true); });
    });
  }
  document.addEventListener('atlas:draw', function () {
    focusableAreas();
    drawBars();
    if (state.selected < 0) close();
    else if (!panel.hidden) profile(state.selected);
  });
  var chunkLoaded = window.atlasLsoas;  // large drops: an LA's LSOAs arrive on demand
  if (chunkLoaded) {
    window.atlasLsoas = function (chunk) {
      chunkLoaded(chunk);
      if (state.level === 'lsoa') drawBars();
    };
  }
  function first() {  // after the page has loaded and its first shapes are drawn
    setTimeout(function () {
      drawBars(); focusableAreas();
      document.body.dataset.timeReady = 'true';
    }, 0);
  }
  if (document.readyState === 'complete') first();
  else window.addEventListener('load', first);
  app.years = {show: showYear, shown: function () { return shown; }, figures: figures,
               area: areaFigures};
})();
