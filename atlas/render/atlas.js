/* IMS Atlas page script. Reads the page data (JSON in #atlas-data), draws one shared geometry
   per level and restyles it for the chosen cohort and measure. Text from the data only ever
   reaches the page through textContent, never as HTML.
   Large drops (data.lazy) ship the LSOA shapes as one script per local authority beside the
   page (atlas/lsoa-<LA>.js, calling atlasLsoas): loaded when the user zooms in at LSOA level,
   picks a local authority, or finds an LSOA. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('atlas-data').textContent);
  var PALETTE = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];  // ColorBrewer YlOrRd
  var ZERO = '#ffffff', HATCH = 'url(#atlas-hatch)', NODATA = '#f0f0f0';
  var small = 'fewer than ' + data.threshold;
  var state = {cohort: data.cohorts[0][0], measure: 'n',
               level: document.querySelector('input[name=level]:checked').value,
               selected: -1, hover: -1, sort: 'value', desc: true};
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
  map.fitBounds(data.bounds);
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
  function breaks() { return current().breaks[state.cohort][state.measure]; }
  function valueOf(i) {  // rates travel as whole tenths
    var v = vals()[state.measure][i];
    return v === null || state.measure === 'n' ? v : v / 10;
  }
  function tenth(v) { return v === null ? null : v / 10; }
  function suppressed(i) { return vals().n[i] === null; }

  function colour(i) {
    if (suppressed(i)) return HATCH;
    var v = valueOf(i), b = breaks();
    if (v === null) return NODATA;
    if (v === 0) return ZERO;
    var k = 0;
    while (k < b.length - 1 && v > b[k]) k++;
    return PALETTE[k + PALETTE.length - b.length];
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
    d.polys.forEach(function (p, i) {
      var on = i === state.selected || i === state.hover;
      p.setStyle({fillColor: colour(i), weight: on ? 3 : 0.5, color: on ? '#000' : '#666',
                  fillOpacity: covered ? 0 : 0.8});
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

  function legend() {
    var box = document.getElementById('atlas-legend'), b = breaks();
    box.textContent = '';
    box.appendChild(el('h2', cohortLabel()));
    box.appendChild(el('p', measureLabel() + ' by ' + current().label + ' · ' + data.scheme,
                        'atlas-sub'));
    function row(fill, text) {
      var line = el('div', null, 'atlas-key'), sw = el('span', null, 'atlas-swatch');
      if (fill === HATCH) sw.classList.add('atlas-hatched'); else sw.style.background = fill;
      line.appendChild(sw); line.appendChild(document.createTextNode(text)); box.appendChild(line);
    }
    row(ZERO, '0');
    var step = state.measure === 'n' ? 1 : 0.1, f = state.measure === 'n' ? fmt : fmtRate;
    var lower = state.measure === 'n' ? data.threshold : null;
    var allv = current().codes.map(function (_, i) { return valueOf(i); })
      .filter(function (v) { return v !== null && v > 0; });
    if (lower === null && allv.length) lower = Math.min.apply(null, allv);
    b.forEach(function (upper, k) {
      var text = lower === upper ? f(upper) : f(lower) + '–' + f(upper);
      row(PALETTE[k + PALETTE.length - b.length], text);
      lower = Math.round((upper + step) * 10) / 10;
    });
    row(HATCH, 'suppressed (' + small + ', or withheld)');
    if (overlays && overlays['nsp-need'] && map.hasLayer(overlays['nsp-need'])) {
      box.appendChild(el('p', 'Not drawn while the NSP siting need is shown; the list still ' +
                              'holds its values.', 'atlas-sub'));
    }
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
      l.label + 's: ' + cohortLabel() + ', ' + measureLabel() +
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
      frag.appendChild(tr);
    });
    tbody.textContent = ''; tbody.appendChild(frag);
  }
  function rowOf(i) { return tbody.querySelector('tr[data-index="' + i + '"]'); }
  tbody.addEventListener('mouseover', function (e) {
    var tr = e.target.closest('tr'); if (tr) hover(+tr.dataset.index, false);
  });
  tbody.addEventListener('mouseleave', function () { hover(-1, false); });
  tbody.addEventListener('focusin', function (e) {
    var tr = e.target.closest('tr'); if (tr) hover(+tr.dataset.index, false);
  });
  tbody.addEventListener('click', function (e) {
    var b = e.target.closest('button'); if (b) select(+b.dataset.index, true);
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
  }
  function select(i, zoom) {
    if (onDemand && state.level === 'la') loadLa(i);  // ready for a switch to LSOAs
    var old = rowOf(state.selected); if (old) old.classList.remove('atlas-selected');
    state.selected = i; restyle();
    var tr = rowOf(i), p = layerFor(state.level).polys[i];
    if (tr) { tr.classList.add('atlas-selected'); tr.scrollIntoView({block: 'nearest'}); }
    if (!p) return;
    if (zoom) { map.fitBounds(p.getBounds(), {maxZoom: 15}); }
    p.openTooltip(p.getBounds().getCenter());
  }

  // controls: exclusive choices of cohort, measure and level
  document.getElementById('atlas-controls').addEventListener('change', function (e) {
    var t = e.target;
    if (t.name === 'cohort') state.cohort = t.value;
    else if (t.name === 'measure') state.measure = t.value;
    else if (t.name === 'level') { state.level = t.value; state.selected = -1; state.hover = -1; }
    else if (t.name === 'overlay') { toggle(t.value, t.checked); return; }
    draw();
  });

  // sites: agencies and pharmacies, clustered when dense, marked by services
  function siteIcon(p) {
    var nsp = /\bNSP\b/i.test(p.services), bi = /\bBI\b/i.test(p.services);
    var mark = (nsp ? 'N' : '') + (bi ? 'B' : '') || '·';
    return L.divIcon({
      className: 'atlas-site atlas-' + p.type + (nsp ? ' atlas-nsp' : '') + (bi ? ' atlas-bi' : ''),
      html: mark, iconSize: [22, 22], iconAnchor: [11, 11]});
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
        iconSize: [14, 14]}), keyboard: true, title: 'Existing NSP site: ' + p.name});
      m.bindPopup(function () { return box(p.name, ['Existing NSP site', 'Site code ' + p.code]); });
      group.addLayer(m);
    });
    s.recommended.forEach(function (p) {
      group.addLayer(L.circle([p.lat, p.lng], {radius: s.radius, pane: 'siting-rings',
        renderer: ring, color: SITING.recommended, weight: 2, dashArray: '4 4',
        fillOpacity: 0.04, interactive: false}));
      var m = L.marker([p.lat, p.lng], {icon: L.divIcon({className: 'nsp-rank-icon',
        html: el('div', String(p.rank), 'nsp-rank'), iconSize: [22, 22]}), keyboard: true,
        title: 'Recommended NSP site ' + p.rank + ': ' + p.name, zIndexOffset: 1000});
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
    if (siting) sitingLegend();
    if (imd) imdLegend();
  }
  document.querySelectorAll('input[name=overlay]').forEach(function (c) { toggle(c.value, c.checked); });

  // search: areas of every level by name or code, and postcode districts
  var input = document.getElementById('atlas-search'), results = document.getElementById('atlas-results');
  function matches(q) {
    q = q.trim().toUpperCase(); if (q.length < 2) return [];
    var out = [];
    data.levels.forEach(function (l) {
      l.codes.forEach(function (code, i) {
        if (out.length < 12 && (code.toUpperCase().indexOf(q) === 0 ||
            l.names[i].toUpperCase().indexOf(q) >= 0)) {
          out.push({label: l.names[i] + ' (' + l.label + ' ' + code + ')', level: l.id, index: i});
        }
      });
    });
    var compact = q.replace(/\s+/g, '');
    data.districts.forEach(function (d) {
      if (out.length < 12 && (d[0] === compact || (compact.length >= 2 && d[0].indexOf(compact) === 0))) {
        out.unshift({label: 'Postcode district ' + d[0], bounds: [[d[1], d[2]], [d[3], d[4]]]});
      }
    });
    return out.slice(0, 12);
  }
  function go(m) {
    if (m.bounds) { map.fitBounds(m.bounds, {maxZoom: 15}); }
    else {
      if (state.level !== m.level) {
        document.querySelector('input[name=level][value="' + m.level + '"]').checked = true;
        state.level = m.level; state.selected = -1; state.hover = -1; draw();
      }
      if (onDemand && m.level === 'lsoa') loadLa(onDemand.la_of[m.index], function () { select(m.index, true); });
      else select(m.index, true);
    }
    results.textContent = '';
    document.getElementById('atlas-search-status').textContent = 'Showing ' + m.label;
  }
  function showResults() {
    var found = matches(input.value);
    results.textContent = '';
    found.forEach(function (m) {
      var li = el('li'), b = el('button', m.label);
      b.type = 'button'; b.addEventListener('click', function () { go(m); });
      li.appendChild(b); results.appendChild(li);
    });
    document.getElementById('atlas-search-status').textContent =
      input.value.trim().length < 2 ? '' : found.length + ' match' + (found.length === 1 ? '' : 'es');
    return found;
  }
  input.addEventListener('input', showResults);
  document.getElementById('atlas-search-form').addEventListener('submit', function (e) {
    e.preventDefault(); var found = showResults(); if (found.length) go(found[0]);
  });

  draw();
  window.atlasApp = {map: map, state: state, levels: levels, drawn: drawn, overlays: overlays,
                     select: select, search: matches, loaded: loaded};
  document.body.dataset.ready = 'true';
  window.addEventListener('beforeprint', function () { map.invalidateSize(); });
})();
