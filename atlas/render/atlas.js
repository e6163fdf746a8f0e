/* IMS Atlas page script. Reads the page data (JSON in #atlas-data), draws one shared geometry
   per level and restyles it for the chosen cohort and measure. Text from the data only ever
   reaches the page through textContent, never as HTML.
   Large drops (data.lazy) ship the LSOA shapes as one script per local authority beside the
   page (atlas/lsoa-<LA>.js, calling atlasLsoas): loaded when the user zooms in at LSOA level,
   picks a local authority, or finds an LSOA. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('atlas-data').textContent);
  // ColorBrewer YlOrRd (classes 3, 5, 7, 8 and 9 of its 9): adjacent classes, and 0 (white) beside
  // the first, stay apart for every kind of colour-blindness (tests/render/test_accessibility.py)
  var PALETTE = ['#fed976', '#fd8d3c', '#e31a1c', '#bd0026', '#800026'];
  var ZERO = '#ffffff', HATCH = 'url(#atlas-hatch)', NODATA = '#f0f0f0';
  var small = 'fewer than ' + data.threshold;
  var state = {cohort: data.cohorts[0][0], measure: 'n',
               level: document.querySelector('input[name=level]:checked').value,
               selected: -1, hover: -1, sort: 'value', desc: true,
               scheme: data.schemes[0][0], klass: null};
  var levels = {};
  data.levels.forEach(function (l) { levels[l.id] = l; });
  var onDemand = data.lazy || null, loaded = {}, waiting = {};
  if (onDemand) levels.lsoa.shapes = new Array(levels.lsoa.codes.length);  // filled per LA

  var map = L.map('atlas-map', {preferCanvas: false, zoomSnap: 0.25, keyboard: true,
                              maxZoom: 18});
  if (document.body.dataset.basemap === 'osm') {
    L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png', {maxZoom: 19,
      attribution: '&copy; OpenStreetMap contributors'}).addTo(map);
  }
  map.attributionControl.addAttribution(el('span', document.getElementById('atlas-map')
    .dataset.credit).innerHTML);  // the ONS / OS credit, as text
  // the areas start clear of the legends that float on the map's right (not on a phone,
  // where the legends sit under the map)
  var floating = document.getElementById('atlas-legends');
  var clear = floating && getComputedStyle(floating).position === 'absolute' ?
    floating.offsetWidth + 20 : 0;
  map.fitBounds(data.bounds, {paddingBottomRight: [clear, 0]});
  map.createPane('outlines').style.zIndex = 450;
  map.getPane('outlines').style.pointerEvents = 'none';
  var renderer = L.svg({padding: 0.5});

  // a ring is text: zigzag-coded integer deltas (dx, dy, dx, dy ...), 5 bits per character,
  // low bits first; the first 32 characters of the alphabet continue a number, the last 32 end it
  var ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  var DIGIT = new Int8Array(128);
  for (var a = 0; a < ALPHABET.length; a++) DIGIT[ALPHABET.charCodeAt(a)] = a;
  function decode(shape) {
    var s = data.scale, ox = data.origin[0], oy = data.origin[1];
    return shape.map(function (rings) {
      return rings.map(function (text) {
        var x = ox, y = oy, pts = [], v = 0, mul = 1, dx = null;
        for (var i = 0; i < text.length; i++) {
          var c = DIGIT[text.charCodeAt(i)];
          v += (c & 31) * mul;
          if (c < 32) { mul *= 32; continue; }
          var n = v % 2 ? -(v + 1) / 2 : v / 2;
          v = 0; mul = 1;
          if (dx === null) { dx = n; continue; }
          x += dx; y += n; dx = null; pts.push([y / s, x / s]);
        }
        return pts;
      });
    });
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function fmt(v) { return v === null ? '' : v.toLocaleString('en-GB'); }
  function fmtRate(v) { return v === null ? '' : v.toFixed(1); }
  function current() { return levels[state.level]; }
  function vals() { return current().values[state.cohort]; }
  // --- classes: the reader picks the scheme; the recipe's travels as breaks, the others as
  // classes[scheme] (each computed in Python from the published values)
  function breaks() {
    var l = current();
    return (state.scheme === data.schemes[0][0] ? l.breaks : l.classes[state.scheme])
      [state.cohort][state.measure];
  }
  function schemeLabel() {
    return data.schemes.filter(function (s) { return s[0] === state.scheme; })[0][1];
  }
  // an area's legend row: 'hatch' (suppressed), 'none' (no rate), 'zero', or a class 0..k-1
  function classKey(i) {
    if (suppressed(i)) return 'hatch';
    var v = valueOf(i), b = breaks();
    if (v === null) return 'none';
    if (v === 0) return 'zero';
    var k = 0;
    while (k < b.length - 1 && v > b[k]) k++;
    return k;
  }
  function valueOf(i) {  // rates travel as whole tenths
    var v = vals()[state.measure][i];
    return v === null || state.measure === 'n' ? v : v / 10;
  }
  function tenth(v) { return v === null ? null : v / 10; }
  function suppressed(i) { return vals().n[i] === null; }

  function colour(i) {
    var k = classKey(i);
    if (k === 'hatch') return HATCH;
    if (k === 'none') return NODATA;
    if (k === 'zero') return ZERO;
    return PALETTE[k + PALETTE.length - breaks().length];
  }

  function tooltip(i) {
    var l = current(), v = vals(), box = el('div', null, 'atlas-tip');
    box.appendChild(el('strong', l.names[i]));
    box.appendChild(el('div', l.label + ' ' + l.codes[i]));
    if (suppressed(i)) {
      box.appendChild(el('div', 'Individuals: ' + small + ' (suppressed, or withheld so that a ' +
                         'small count cannot be worked out)'));
    } else {
      box.appendChild(el('div', 'Individuals: ' + fmt(v.n[i])));
      box.appendChild(el('div', v.rate[i] === null ? 'Rate per 1,000: no population' :
        'Rate per 1,000: ' + fmtRate(tenth(v.rate[i])) + ' (95% CI ' + fmtRate(tenth(v.lo[i])) +
        '–' + fmtRate(tenth(v.hi[i])) + ')'));
    }
    return box;
  }

  // one shared geometry per level, drawn once, restyled for every cohort and measure
  var drawn = {};
  function addPoly(d, shape, i) {
    var p = L.polygon(decode(shape), {renderer: renderer, weight: 0.5, color: '#666',
                                      fillOpacity: 0.8});
    p.bindTooltip(function () { return tooltip(i); }, {sticky: true});
    p.on('mouseover', function () { hover(i, true); });
    p.on('mouseout', function () { hover(-1, true); });
    p.on('click', function () { select(i, false); });
    d.polys[i] = p; d.group.addLayer(p);
  }
  function layerFor(id) {
    if (drawn[id]) return drawn[id];
    var d = drawn[id] = {group: L.featureGroup(), polys: new Array(levels[id].codes.length)};
    levels[id].shapes.forEach(function (shape, i) { addPoly(d, shape, i); });  // skips holes
    return d;
  }
  var outlines = L.featureGroup(levels.la.shapes.map(function (shape) {
    return L.polygon(decode(shape), {pane: 'outlines', renderer: L.svg({pane: 'outlines'}),
      fill: false, color: '#252525', weight: 2, interactive: false});
  }));

  function restyle() {
    var d = layerFor(state.level);
    var covered = !!(overlays && overlays['nsp-need'] && map.hasLayer(overlays['nsp-need']));
    var marking = state.klass !== null;
    d.polys.forEach(function (p, i) {
      var on = i === state.selected || i === state.hover;
      var picked = marking && classKey(i) === state.klass;
      p.setStyle({fillColor: colour(i), weight: on ? 3 : picked ? 2.5 : 0.5,
                  color: on || picked ? '#000' : '#666',
                  fillOpacity: covered ? 0 : marking && !picked ? 0.15 : 0.8});
      if (picked) p.bringToFront();
    });
    if (d.polys[state.selected]) d.polys[state.selected].bringToFront();
  }

  var active = null;
  function draw() {
    var d = layerFor(state.level);
    if (active !== d.group) {
      if (active) map.removeLayer(active);
      d.group.addTo(map); active = d.group;
    }
    if (onDemand) {
      if (state.level === 'lsoa') { pending.addTo(map); loadVisible(); }
      else map.removeLayer(pending);
    }
    restyle(); legend(); list();
    announce('atlas:draw', null);
  }
  // what other parts of the page follow (atlas_time.js: the profile, the ranked bars)
  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent(name, {detail: detail}));
  }

  // on demand (large drops): a local authority's LSOAs arrive as a script added to the page
  function loadLa(k, then) {
    if (!onDemand || loaded[k] === true) { if (then) then(); return; }
    if (then) (waiting[k] = waiting[k] || []).push(then);
    if (loaded[k] === 'loading') return;
    loaded[k] = 'loading';
    var s = document.createElement('script');
    s.src = onDemand.files[k];
    s.onerror = function () {
      loaded[k] = undefined; waiting[k] = [];
      document.getElementById('atlas-search-status').textContent =
        'Could not load the LSOAs of ' + levels.la.names[k] + ' (' + onDemand.files[k] + ')';
    };
    document.head.appendChild(s);
  }
  window.atlasLsoas = function (chunk) {
    var k = levels.la.codes.indexOf(chunk.la), l = levels.lsoa, d = drawn.lsoa;
    chunk.index.forEach(function (i, j) {
      l.shapes[i] = chunk.shapes[j];
      if (d) addPoly(d, l.shapes[i], i);
    });
    loaded[k] = true;
    if (placeholders[k]) { pending.removeLayer(placeholders[k]); delete placeholders[k]; }
    if (state.level === 'lsoa') { restyle(); list(); }
    (waiting[k] || []).splice(0).forEach(function (f) { f(); });
  };
  function loadVisible() {  // the local authorities in view, once zoomed in far enough
    if (!onDemand || state.level !== 'lsoa' || map.getZoom() < onDemand.zoom) return;
    var view = map.getBounds();
    outlines.getLayers().forEach(function (o, k) {
      if (loaded[k] !== true && view.intersects(o.getBounds())) loadLa(k);
    });
  }
  // at LSOA level, local authorities not loaded yet: grey, a click loads and zooms to them
  var pending = L.featureGroup(), placeholders = {};
  if (onDemand) {
    map.on('moveend', loadVisible);
    levels.la.shapes.forEach(function (shape, k) {
      var p = L.polygon(decode(shape), {renderer: renderer, weight: 0.5, color: '#999',
                                        fillColor: NODATA, fillOpacity: 0.6});
      p.bindTooltip(function () {
        return el('span', levels.la.names[k] + ': click or zoom in to show its LSOAs');
      }, {sticky: true});
      p.on('click', function () { loadLa(k); map.fitBounds(p.getBounds()); });
      placeholders[k] = p; pending.addLayer(p);
    });
  }
  function shown(i) { return !(onDemand && state.level === 'lsoa') || !!levels.lsoa.shapes[i]; }

  function measureLabel() {
    return state.measure === 'n' ? 'individuals' : 'rate per 1,000 residents';
  }
  function cohortLabel() {
    return data.cohorts.filter(function (c) { return c[0] === state.cohort; })[0][1];
  }

  // --- legend: one row per class, each a button that marks its areas on the map and list
  function legend() {
    var box = document.getElementById('atlas-legend'), b = breaks();
    box.textContent = '';
    box.appendChild(el('h2', cohortLabel()));
    box.appendChild(el('p', measureLabel() + ' by ' + current().label + ' · ' + schemeLabel(),
                        'atlas-sub'));
    if (overlays && overlays['nsp-need'] && map.hasLayer(overlays['nsp-need'])) {
      box.appendChild(el('p', 'Not drawn while the NSP siting need is shown; the list still ' +
                              'holds its values.', 'atlas-sub'));
      return;
    }
    var keys = current().codes.map(function (_, i) { return shown(i) ? classKey(i) : null; });
    function row(fill, text, key) {
      var line = el('button', null, 'atlas-key'), sw = el('span', null, 'atlas-swatch');
      var n = keys.filter(function (k) { return k === key; }).length;
      line.type = 'button'; line.dataset.klass = String(key);
      line.setAttribute('aria-pressed', String(state.klass === key));
      line.title = 'Mark the ' + n + ' area' + (n === 1 ? '' : 's') + ' of this class';
      sw.setAttribute('aria-hidden', 'true');
      if (fill === HATCH) sw.classList.add('atlas-hatched'); else sw.style.background = fill;
      line.appendChild(sw); line.appendChild(document.createTextNode(text));
      line.appendChild(el('span', ' (' + n + ')', 'atlas-count'));
      line.addEventListener('click', function () {
        state.klass = state.klass === key ? null : key;
        restyle(); legend(); list();
        box.querySelector('button[data-klass="' + key + '"]').focus();  // redrawn: keep focus
      });
      box.appendChild(line);
    }
    row(ZERO, '0', 'zero');
    var step = state.measure === 'n' ? 1 : 0.1, f = state.measure === 'n' ? fmt : fmtRate;
    var lower = state.measure === 'n' ? data.threshold : null;
    var allv = current().codes.map(function (_, i) { return valueOf(i); })
      .filter(function (v) { return v !== null && v > 0; });
    if (lower === null && allv.length) lower = Math.min.apply(null, allv);
    b.forEach(function (upper, k) {
      var text = lower >= upper ? f(upper) : f(lower) + '–' + f(upper);
      row(PALETTE[k + PALETTE.length - b.length], text, k);
      lower = Math.round((upper + step) * 10) / 10;
    });
    row(HATCH, 'suppressed (' + small + ', or withheld)', 'hatch');
    var marked = keys.filter(function (k) { return state.klass !== null && k === state.klass; });
    box.appendChild(el('p', state.klass === null ? 'Pick a class to mark its areas.' :
      marked.length + ' area' + (marked.length === 1 ? '' : 's') + ' marked; pick the class ' +
      'again to clear.', 'atlas-sub atlas-marked'));
  }

  // --- the legend of the site markers, shown while either kind of site is
  function siteLegend() {
    var box = document.getElementById('site-legend');
    var kinds = ['agency', 'pharmacy'].filter(function (t) { return map.hasLayer(overlays[t]); });
    box.hidden = !kinds.length;
    box.textContent = '';
    if (box.hidden) return;
    box.appendChild(el('h2', 'Sites'));
    function row(mark, cls, text) {
      var line = el('div', null, 'atlas-key');
      var sw = el('span', mark, 'atlas-site atlas-key-site ' + cls);
      sw.setAttribute('aria-hidden', 'true');
      line.appendChild(sw); line.appendChild(document.createTextNode(text));
      box.appendChild(line);
    }
    if (kinds.indexOf('agency') >= 0) row('N', 'atlas-agency', 'agency (square)');
    if (kinds.indexOf('pharmacy') >= 0) row('N', 'atlas-pharmacy', 'pharmacy (circle)');
    row('3', 'atlas-key-cluster', 'sites grouped where dense: pick to zoom in');
    box.appendChild(el('p', 'Letters: N needle & syringe programme (NSP), B brief ' +
                            'interventions (BI).', 'atlas-sub'));
  }

  // the list of areas of the active layer, linked to the map both ways
  var tbody = document.querySelector('#atlas-list tbody');
  function list() {
    var l = current(), order = l.codes.map(function (_, i) { return i; }).filter(shown);
    var key = state.sort, sign = state.desc ? -1 : 1;
    order.sort(function (a, b) {
      if (key === 'name') return sign * l.names[a].localeCompare(l.names[b]);
      var va = valueOf(a), vb = valueOf(b);
      va = va === null ? -1 : va; vb = vb === null ? -1 : vb;
      return sign * (va - vb) || l.names[a].localeCompare(l.names[b]);
    });
    document.getElementById('atlas-list-title').textContent =
      plural(l.label) + ': ' + cohortLabel() + ', ' + measureLabel() +
      (onDemand && state.level === 'lsoa' ? ' (local authorities loaded so far: pick one or zoom in to ' +
      'add its LSOAs)' : '');
    document.querySelectorAll('#atlas-list th button').forEach(function (btn) {
      var th = btn.parentNode;
      th.setAttribute('aria-sort', btn.dataset.sort === key ?
        (state.desc ? 'descending' : 'ascending') : 'none');
    });
    var frag = document.createDocumentFragment();
    order.forEach(function (i) {
      var tr = el('tr'), name = el('th'), btn = el('button', l.names[i]);
      btn.type = 'button'; btn.dataset.index = i;
      btn.setAttribute('aria-label', l.names[i] + ' (' + l.codes[i] + ')');
      name.scope = 'row'; name.appendChild(btn); tr.appendChild(name);
      var v = valueOf(i);
      tr.appendChild(el('td', suppressed(i) ? small : (state.measure === 'n' ? fmt(v) : fmtRate(v)),
                        'n'));
      tr.dataset.index = i;
      if (i === state.selected) tr.classList.add('atlas-selected');
      if (state.klass !== null && classKey(i) === state.klass) tr.classList.add('atlas-marked');
      frag.appendChild(tr);
    });
    tbody.textContent = ''; tbody.appendChild(frag);
  }
  function plural(label) {  // 'Local authority' -> 'Local authorities', 'LSOA' -> 'LSOAs'
    return /[^aeiou]y$/.test(label) ? label.slice(0, -1) + 'ies' : label + 's';
  }
  function rowOf(i) { return tbody.querySelector('tr[data-index="' + i + '"]'); }
  tbody.addEventListener('mouseover', function (e) {
    var tr = e.target.closest('tr'); if (tr) hover(+tr.dataset.index, false);
  });
  tbody.addEventListener('mouseleave', function () { hover(-1, false); });
  tbody.addEventListener('focusin', function (e) {
    var tr = e.target.closest('tr'); if (tr) hover(+tr.dataset.index, false);
  });
  tbody.addEventListener('click', function (e) {  // anywhere on a row (Enter on its button)
    var tr = e.target.closest('tr'); if (tr) select(+tr.dataset.index, true);
  });
  document.querySelectorAll('#atlas-list th button').forEach(function (btn) {
    btn.addEventListener('click', function () {
      if (state.sort === btn.dataset.sort) state.desc = !state.desc;
      else { state.sort = btn.dataset.sort; state.desc = btn.dataset.sort === 'value'; }
      list();
    });
  });

  function hover(i, fromMap) {
    var old = rowOf(state.hover); if (old) old.classList.remove('atlas-hover');
    state.hover = i; restyle();
    var tr = rowOf(i);
    if (tr) { tr.classList.add('atlas-hover'); if (fromMap) tr.scrollIntoView({block: 'nearest'}); }
    announce('atlas:hover', i);
  }
  function select(i, zoom) {
    if (onDemand && state.level === 'la') loadLa(i);  // ready for a switch to LSOAs
    var old = rowOf(state.selected); if (old) old.classList.remove('atlas-selected');
    state.selected = i; restyle();
    var tr = rowOf(i), p = layerFor(state.level).polys[i];
    if (tr) { tr.classList.add('atlas-selected'); tr.scrollIntoView({block: 'nearest'}); }
    announce('atlas:select', i);
    if (!p) return;
    if (zoom) { map.fitBounds(p.getBounds(), {maxZoom: 15}); }
    p.openTooltip(p.getBounds().getCenter());
  }

  // a layer counted at some levels only (the deaths: local authorities) is shown at the
  // first level that has it; a level without the chosen layer shows the first cohort
  function onlySomeLevels(changed) {
    if (changed === 'level') state.cohort = data.cohorts[0][0];
    else state.level = data.levels.filter(function (l) { return l.values[state.cohort]; })[0].id;
    state.selected = -1; state.hover = -1;
    document.querySelector('input[name=cohort][value="' + state.cohort + '"]').checked = true;
    document.querySelector('input[name=level][value="' + state.level + '"]').checked = true;
  }

  // controls: exclusive choices of cohort, measure and level
  document.getElementById('atlas-controls').addEventListener('change', function (e) {
    var t = e.target;
    if (t.name === 'overlay') { toggle(t.value, t.checked); return; }
    if (t.name === 'cohort') state.cohort = t.value;
    else if (t.name === 'measure') state.measure = t.value;
    else if (t.name === 'scheme') state.scheme = t.value;
    else if (t.name === 'level') { state.level = t.value; state.selected = -1; state.hover = -1; }
    state.klass = null;  // the classes change with any of these
    if (!current().values[state.cohort]) onlySomeLevels(t.name);
    draw();
  });

  // sites: agencies and pharmacies, clustered when dense, marked by services
  function siteIcon(p) {
    var nsp = /\bNSP\b/i.test(p.services), bi = /\bBI\b/i.test(p.services);
    var mark = (nsp ? 'N' : '') + (bi ? 'B' : '') || '·';
    return L.divIcon({
      className: 'atlas-site atlas-' + p.type + (nsp ? ' atlas-nsp' : '') + (bi ? ' atlas-bi' : ''),
      html: mark, iconSize: [24, 24], iconAnchor: [12, 12]});  // 24 px: WCAG 2.5.8
  }
  function popup(p) {
    var box = el('div', null, 'atlas-popup');
    box.appendChild(el('strong', p.name));
    [['Type', p.type === 'agency' ? 'Agency' : 'Pharmacy'],
     ['Services', p.services ? p.services.split(/[;,]\s*/).join(', ') : 'not recorded'],
     ['NSP visits', fmt(p.visits)], ['Individuals', p.people]].forEach(function (r) {
      var d = el('div'); d.appendChild(el('b', r[0] + ': ')); d.appendChild(document.createTextNode(r[1]));
      box.appendChild(d);
    });
    return box;
  }
  // NSP siting (only with a plan): the need not covered today on the shared LSOA geometry, and
  // the existing and recommended sites with their radius; hidden until ticked, one legend.
  var siting = data.siting, SITING = {covered: '#c6dbef', existing: '#08519c',
                                      recommended: '#238b45', rank: '#006d2c'};
  function sitingNeed() {
    var s = siting, lsoa = levels.lsoa, b = s.breaks, rankOf = {};
    var radius = fmt(s.radius) + ' m', group = L.featureGroup();
    s.added.forEach(function (a) { rankOf[a[0]] = a[1]; });
    var render = L.svg({pane: 'siting-need', padding: 0.5});
    function fill(i) {
      var st = s.status[i], v = s.need[i];
      if (st === 'c') return SITING.covered;
      if (st === '-') return NODATA;
      if (v === null) return HATCH;
      if (v === 0) return ZERO;
      var k = 0;
      while (k < b.length - 1 && v > b[k]) k++;
      return PALETTE[k + PALETTE.length - b.length];
    }
    function tip(i) {
      var st = s.status[i], v = s.need[i], box = el('div', null, 'atlas-tip');
      box.appendChild(el('strong', lsoa.names[i]));
      box.appendChild(el('div', 'LSOA ' + lsoa.codes[i]));
      if (st === 'c') box.appendChild(el('div', 'Within ' + radius + ' of an NSP site today'));
      else if (st === '-') box.appendChild(el('div', 'Not in the siting plan'));
      else {
        box.appendChild(el('div', 'PWID individuals not within ' + radius + ' of an NSP site: ' +
          (v === null ? small + ' (suppressed, or withheld)' : fmt(v))));
        if (st === 'a') box.appendChild(el('div', 'Recommended site ' + rankOf[i] +
                                              ' would cover it'));
      }
      return box;
    }
    lsoa.shapes.forEach(function (shape, i) {
      var added = s.status[i] === 'a';
      var p = L.polygon(decode(shape), {pane: 'siting-need', renderer: render, fillOpacity: 0.8,
        fillColor: fill(i), color: added ? SITING.recommended : '#636363',
        weight: added ? 2.5 : 0.4});
      p.bindTooltip(function () { return tip(i); }, {sticky: true});
      group.addLayer(p);
    });
    return group;
  }
  function sitingSites() {
    var s = siting, group = L.featureGroup();
    var ring = L.svg({pane: 'siting-rings'});
    function box(title, lines) {
      var b = el('div', null, 'atlas-popup');
      b.appendChild(el('strong', title));
      lines.forEach(function (t) { b.appendChild(el('div', t)); });
      return b;
    }
    s.existing.forEach(function (p) {
      group.addLayer(L.circle([p.lat, p.lng], {radius: s.radius, pane: 'siting-rings',
        renderer: ring, color: SITING.existing, weight: 1, fillOpacity: 0.04,
        interactive: false}));
      var m = L.marker([p.lat, p.lng], {icon: L.divIcon({className: 'nsp-existing',
        html: el('div', null, 'nsp-existing-dot'), iconSize: [24, 24]}), keyboard: true, title: 'Existing NSP site: ' + p.name,
        pane: 'siting-marks'});
      m.bindPopup(function () { return box(p.name, ['Existing NSP site', 'Site code ' + p.code]); });
      group.addLayer(m);
    });
    s.recommended.forEach(function (p) {
      group.addLayer(L.circle([p.lat, p.lng], {radius: s.radius, pane: 'siting-rings',
        renderer: ring, color: SITING.recommended, weight: 2, dashArray: '4 4',
        fillOpacity: 0.04, interactive: false}));
      var m = L.marker([p.lat, p.lng], {icon: L.divIcon({className: 'nsp-rank-icon',
        html: el('div', String(p.rank), 'nsp-rank'), iconSize: [24, 24]}), keyboard: true,
        title: 'Recommended NSP site ' + p.rank + ': ' + p.name, zIndexOffset: 1000,
        pane: 'siting-marks'});
      m.bindPopup(function () {
        return box(p.name, ['Recommended new NSP site, rank ' + p.rank, 'Site code ' + p.code,
          'Adds ' + (p.added ? p.added + '%' : 'a share withheld (disclosure control)') +
          ' of the need' + (p.cumulative ? '; ' + p.cumulative + '% covered with the sites ' +
          'before it' : '')]);
      });
      group.addLayer(m);
    });
    return group;
  }
  function sitingLegend() {
    var box = document.getElementById('siting-legend');
    var need = map.hasLayer(overlays['nsp-need']), sites = map.hasLayer(overlays['nsp-sites']);
    box.hidden = !(need || sites);
    if (box.hidden) return;
    var radius = fmt(siting.radius) + ' m', b = siting.breaks;
    box.textContent = '';
    box.appendChild(el('h2', 'NSP siting'));
    function row(fill, text, cls) {
      var line = el('div', null, 'atlas-key'), sw = el('span', null, 'atlas-swatch ' + (cls || ''));
      if (fill === HATCH) sw.classList.add('atlas-hatched'); else if (fill) sw.style.background = fill;
      line.appendChild(sw); line.appendChild(document.createTextNode(text)); box.appendChild(line);
    }
    if (need) {
      box.appendChild(el('p', 'PWID individuals by LSOA not within ' + radius + ' of an NSP ' +
                              'site · ' + siting.scheme, 'atlas-sub'));
      row(SITING.covered, 'covered today (within ' + radius + ')');
      row(ZERO, '0 not covered');
      var shown = siting.need.filter(function (v) { return v !== null && v > 0; });
      var lower = shown.length ? Math.min.apply(null, shown) : 1;
      b.forEach(function (upper, k) {
        row(PALETTE[k + PALETTE.length - b.length],
            (lower === upper ? fmt(upper) : fmt(lower) + '–' + fmt(upper)) + ' not covered');
        lower = upper + 1;
      });
      row(HATCH, 'suppressed (' + small + ', or withheld)');
      row(null, 'a recommended site would cover it', 'nsp-key-added');
    }
    if (sites) {
      row(SITING.existing, 'existing NSP site, ring ' + radius, 'nsp-key-existing');
      row(SITING.rank, 'recommended site (rank), dashed ring ' + radius, 'nsp-key-rank');
    }
  }
  var overlays = {la: outlines};
  if (siting) {
    map.createPane('siting-need').style.zIndex = 420;
    map.createPane('siting-rings').style.zIndex = 440;
    map.getPane('siting-rings').style.pointerEvents = 'none';
    map.createPane('siting-marks').style.zIndex = 640;  // above the clustered sites (600)
    var lazy = {'nsp-need': sitingNeed, 'nsp-sites': sitingSites};
    Object.keys(lazy).forEach(function (name) {  // drawn the first time they are ticked
      var group = L.layerGroup();
      group.once('add', function () { group.addLayer(lazy[name]()); });
      overlays[name] = group;
    });
  }
  ['agency', 'pharmacy'].forEach(function (type) {
    var group = L.markerClusterGroup ? L.markerClusterGroup({maxClusterRadius: 40,
      showCoverageOnHover: false}) : L.featureGroup();
    data.sites.filter(function (p) { return p.type === type; }).forEach(function (p) {
      var m = L.marker([p.lat, p.lng], {icon: siteIcon(p), keyboard: true, title: p.name,
                                        alt: p.name});
      m.bindPopup(function () { return popup(p); });
      m.bindTooltip(function () { return el('span', p.name); });
      group.addLayer(m);
    });
    overlays[type] = group;
  });
  // Deprivation context layer (only with [geography] imd): each LSOA's IMD decile, public
  // data shown on its own (never beside a count); its own legend and credit.
  var imd = data.imd;
  var IMD = ['#543005', '#8c510a', '#bf812d', '#dfc27d', '#f6e8c3',
             '#c7eae5', '#80cdc1', '#35978f', '#01665e', '#003c30'];  // ColorBrewer BrBG
  function imdColour(d) { return d === null ? NODATA : IMD[d - 1]; }
  function imdLayer(group) {  // the LSOAs whose shapes are loaded (all, but on demand)
    var lsoa = levels.lsoa, render = L.svg({pane: 'imd-context', padding: 0.5});
    group.clearLayers();
    lsoa.shapes.forEach(function (shape, i) {
      if (!shape) return;
      var d = imd.deciles[i];
      // opaque: a decile's colour blended with the choropleth below would read as another
      var p = L.polygon(decode(shape), {pane: 'imd-context', renderer: render, fillOpacity: 1,
        fillColor: imdColour(d), color: '#636363', weight: 0.4});
      p.bindTooltip(function () {
        var box = el('div', null, 'atlas-tip');
        box.appendChild(el('strong', lsoa.names[i]));
        box.appendChild(el('div', 'LSOA ' + lsoa.codes[i]));
        box.appendChild(el('div', d === null ? imd.label + ': no decile' :
          imd.label + ' decile ' + d + (d === 1 ? ' (most deprived)' : d === 10 ? ' (least deprived)' : '')));
        return box;
      }, {sticky: true});
      group.addLayer(p);
    });
  }
  function imdLegend() {
    var box = document.getElementById('imd-legend');
    box.hidden = !map.hasLayer(overlays.imd);
    if (box.hidden) return;
    box.textContent = '';
    box.appendChild(el('h2', 'Deprivation (' + imd.label + ')'));
    box.appendChild(el('p', 'Decile of each LSOA, national: 1 is the most deprived 10% in England',
                        'atlas-sub'));
    IMD.forEach(function (fill, k) {
      var line = el('div', null, 'atlas-key'), sw = el('span', null, 'atlas-swatch');
      sw.style.background = fill; line.appendChild(sw);
      line.appendChild(document.createTextNode((k + 1) + (k === 0 ? ' most deprived' : k === 9 ? ' least deprived' : '')));
      box.appendChild(line);
    });
    box.appendChild(el('p', 'Drawn over the map of counts: untick it to see them again.',
                        'atlas-sub'));
    box.appendChild(el('p', imd.credit, 'atlas-sub'));
  }
  if (imd) {
    map.createPane('imd-context').style.zIndex = 410;
    overlays.imd = L.layerGroup();
    overlays.imd.on('add', function () { imdLayer(overlays.imd); });
  }
  function toggle(name, on) {
    if (on) overlays[name].addTo(map); else map.removeLayer(overlays[name]);
    if (name === 'nsp-need') { restyle(); legend(); }
    if (name === 'agency' || name === 'pharmacy') siteLegend();
    if (siting) sitingLegend();
    if (imd) imdLegend();
  }
  document.querySelectorAll('input[name=overlay]').forEach(function (c) { toggle(c.value, c.checked); });

  // --- search: areas of every level by name or code, postcode districts and full postcodes;
  // exact matches first, then names or codes starting with the text, then the rest
  var input = document.getElementById('atlas-search'), results = document.getElementById('atlas-results');
  var status = document.getElementById('atlas-search-status');
  var POSTCODE = /^([A-Z]{1,2})([0-9][0-9A-Z]?)([0-9][A-Z]{2})$/;
  var LEVEL_ORDER = {la: 0, msoa: 1, lsoa: 2};
  function matches(q) {
    q = q.trim().toUpperCase().replace(/\s+/g, ' '); if (q.length < 2) return [];
    var out = [], compact = q.replace(/ /g, '');
    function add(rank, tie, m) { m.rank = rank; m.tie = tie; out.push(m); }
    data.levels.forEach(function (l) {
      l.codes.forEach(function (code, i) {
        var c = code.toUpperCase(), n = l.names[i].toUpperCase(), rank;
        if (c === q || n === q) rank = 0;
        else if (c.indexOf(q) === 0 || n.indexOf(q) === 0) rank = 1;
        else if (n.indexOf(' ' + q) >= 0) rank = 2;
        else if (n.indexOf(q) >= 0) rank = 3;
        else return;
        add(rank, LEVEL_ORDER[l.id], {label: l.names[i] + ' (' + l.label + ' ' + code + ')',
                                      level: l.id, index: i, name: n});
      });
    });
    data.districts.forEach(function (d) {
      if (d[0] === compact || d[0].indexOf(compact) === 0) {
        add(d[0] === compact ? 0 : 1, -1, {label: 'Postcode district ' + d[0], name: d[0],
                                          bounds: [[d[1], d[2]], [d[3], d[4]]]});
      }
    });
    var unit = postcodeResult(compact);
    if (unit) add(-1, 0, unit);
    out.sort(function (a, b) {
      return a.rank - b.rank || a.tie - b.tie || a.name.length - b.name.length ||
             (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    });
    return out.slice(0, 12);
  }
  // a full postcode: its LSOA from the postcode index of its area (atlas/postcodes-<area>.js,
  // the directory's postcodes, loaded the first time a postcode of that area is asked for)
  var postcodes = {}, postcodesWaiting = {};
  window.atlasPostcodes = function (chunk) {
    postcodes[chunk.area] = chunk.districts;
    (postcodesWaiting[chunk.area] || []).splice(0).forEach(function (f) { f(); });
  };
  function postcodeResult(compact) {
    var m = POSTCODE.exec(compact);
    if (!m) return null;
    var area = m[1], district = m[1] + m[2], inward = m[3], pretty = district + ' ' + inward;
    if (data.postcodes.indexOf(area) < 0) return {label: 'Postcode ' + pretty + ': not in ' +
      'this atlas\'s areas', name: pretty, none: true};
    if (!postcodes[area]) {
      loadPostcodes(area);
      return {label: 'Postcode ' + pretty + ': looking it up…', name: pretty, none: true};
    }
    var entry = postcodes[area][district], at = -1;
    if (entry) {
      for (var k = 0; k < entry[0].length; k += 3) {
        if (entry[0].substr(k, 3) === inward) { at = entry[1][k / 3]; break; }
      }
    }
    if (at < 0) return {label: 'Postcode ' + pretty + ': not a current postcode of this ' +
      'atlas\'s areas', name: pretty, none: true};
    var lsoa = levels.lsoa;
    return {label: 'Postcode ' + pretty + ' is in ' + lsoa.names[at] + ' (LSOA ' +
            lsoa.codes[at] + ')', level: 'lsoa', index: at, name: pretty};
  }
  function loadPostcodes(area) {
    if (postcodesWaiting[area]) return;
    postcodesWaiting[area] = [function () { showResults(); if (enterPending) submit(); }];
    var s = document.createElement('script');
    s.src = 'atlas/postcodes-' + area + '.js';
    s.onerror = function () {
      delete postcodesWaiting[area];
      status.textContent = 'Could not load the postcodes of area ' + area + ' (atlas/postcodes-' +
        area + '.js)';
    };
    document.head.appendChild(s);
  }
  function go(m) {
    if (m.none) return;
    if (m.bounds) { map.fitBounds(m.bounds, {maxZoom: 15}); }
    else {
      if (state.level !== m.level) {
        document.querySelector('input[name=level][value="' + m.level + '"]').checked = true;
        state.level = m.level; state.selected = -1; state.hover = -1; state.klass = null; draw();
      }
      if (onDemand && m.level === 'lsoa') loadLa(onDemand.la_of[m.index], function () { select(m.index, true); });
      else select(m.index, true);
    }
    results.textContent = '';
    status.textContent = 'Showing ' + m.label;
  }
  function showResults() {
    var found = matches(input.value);
    results.textContent = '';
    found.forEach(function (m) {
      var li = el('li'), b = el('button', m.label);
      b.type = 'button'; b.disabled = !!m.none;
      b.addEventListener('click', function () { go(m); });
      li.appendChild(b); results.appendChild(li);
    });
    var usable = found.filter(function (m) { return !m.none; }).length;
    status.textContent = input.value.trim().length < 2 ? '' :
      usable + ' match' + (usable === 1 ? '' : 'es');
    return found;
  }
  var enterPending = false;
  function submit() {
    var found = showResults(), first = found[0];
    enterPending = !!(first && first.none && /looking it up/.test(first.label));
    if (first && !first.none) go(first);
  }
  input.addEventListener('input', function () { enterPending = false; showResults(); });
  document.getElementById('atlas-search-form').addEventListener('submit', function (e) {
    e.preventDefault(); submit();
  });

  draw();
  siteLegend();
  window.atlasApp = {map: map, state: state, levels: levels, drawn: drawn, overlays: overlays,
                     select: select, search: matches, loaded: loaded, postcodes: postcodes,
                     draw: draw, hover: hover, data: data};
  document.body.dataset.ready = 'true';
  // --- print: the map redrawn at its printed size (one A4 landscape page, atlas.css)
  function fitPrint() { map.invalidateSize(); }
  window.addEventListener('beforeprint', fitPrint);
  window.addEventListener('afterprint', fitPrint);
  if (window.matchMedia) {
    var printing = window.matchMedia('print');
    if (printing.addEventListener) printing.addEventListener('change', fitPrint);
  }
  window.addEventListener('resize', fitPrint);
})();
