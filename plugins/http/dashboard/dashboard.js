// Tend's dashboard: plain JavaScript, no library, same origin only.
// The token is kept in sessionStorage (this tab, until it closes), sent only in
// the Authorization header, never put in a URL and never written to the console.
'use strict';

(function () {
  const TOKEN_KEY = 'tend.api-token';
  const POLL_MS = 5000;           // the health document: figures, uptime, global status
  const RECONNECT_MS = 2000;      // the event stream after it ended
  const CHART_POINTS = 150;       // samples drawn per sparkline
  const STATES_WITH_PROCESS = new Set(['online', 'launching', 'stopping']);

  let token = null;
  let mode = 'none';              // 'token', 'public' or 'none'
  let pollTimer = null;
  let events = null;              // AbortController of the event stream
  let historyMissing = false;     // the server has no history endpoint
  let refreshTimer = null;
  const rows = new Map();         // name -> {tr, cells..., data, history}

  const $ = (id) => document.getElementById(id);

  // ---- helpers ----

  function known(v) {
    return v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v));
  }

  function formatUptime(seconds) {
    if (!known(seconds) || seconds <= 0) return '-';
    const s = Math.floor(seconds);
    // the terminal table's units; a day is "D" so it cannot be read as minutes
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm';
    if (s < 86400) return Math.floor(s / 3600) + 'h';
    return Math.floor(s / 86400) + 'D';
  }

  function formatMb(mb) {
    if (!known(mb)) return '-';
    return mb >= 1024 ? (mb / 1024).toFixed(1) + 'gb' : mb.toFixed(mb < 10 ? 1 : 0) + 'mb';
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function showMessage(text, kind) {
    const m = $('message');
    m.hidden = !text;
    m.textContent = text || '';
    m.dataset.kind = kind || 'info';
  }

  function headers() {
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  async function api(path, options) {
    const init = Object.assign({ headers: headers(), cache: 'no-store', credentials: 'omit' }, options || {});
    return fetch(path, init);
  }

  // ---- sign in ----

  function showLogin(error) {
    $('login').hidden = false;
    const e = $('login-error');
    e.hidden = !error;
    e.textContent = error || '';
  }

  function setMode(m) {
    // rows are built for a mode: read-only ones have no buttons at all
    if (m !== mode) clearRows();
    mode = m;
    document.body.classList.toggle('read-only', m !== 'token');
    const label = $('mode');
    label.dataset.mode = m === 'token' ? 'control' : m === 'public' ? 'read-only' : 'signed-out';
    label.textContent = m === 'token' ? '' : m === 'public' ? 'read-only (public-read)' : 'signed out';
    if (m === 'none') {
      $('system').hidden = true;
      setText($('summary'), '');
      setText($('updated'), '');
    }
    $('logout').hidden = m !== 'token';
    $('login').hidden = m === 'token';
  }

  async function signIn(candidate) {
    token = candidate;
    let r;
    try {
      r = await api('/api/health/system');
    } catch (e) {
      token = null;
      showLogin('cannot reach tendd');
      return false;
    }
    if (r.status === 401) {
      token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin('wrong token');
      return false;
    }
    sessionStorage.setItem(TOKEN_KEY, candidate);
    $('token').value = '';
    setMode('token');
    showMessage('');
    applyHealth(await r.json());
    startLive();
    return true;
  }

  function signOut() {
    stopLive();
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    clearRows();
    start();
  }

  // ---- the table ----

  function clearRows() {
    rows.clear();
    $('rows').replaceChildren();
  }

  function cell(tr, cls, label) {
    const td = document.createElement('td');
    td.className = cls;
    if (label) td.dataset.label = label;
    tr.appendChild(td);
    return td;
  }

  function spark(cls) {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'spark ' + cls);
    svg.setAttribute('viewBox', '0 0 100 20');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.appendChild(document.createElementNS('http://www.w3.org/2000/svg', 'path'));
    svg.classList.add('empty');
    return svg;
  }

  function makeRow(name) {
    const tr = document.createElement('tr');
    tr.dataset.service = name;
    const row = { tr, name, data: null, history: null, historyTime: 0, fetchedAt: 0 };
    cell(tr, 'name', '').textContent = name;
    row.state = cell(tr, 'state', 'state');
    row.pid = cell(tr, 'pid', 'pid');
    row.uptime = cell(tr, 'uptime', 'uptime');
    row.restarts = cell(tr, 'restarts', 'restarts');
    const cpu = cell(tr, 'cpu', 'cpu');
    row.cpu = document.createElement('span');
    row.cpu.className = 'figure';
    row.cpuChart = spark('cpu');
    cpu.append(row.cpu, row.cpuChart);
    const mem = cell(tr, 'mem', 'memory');
    row.mem = document.createElement('span');
    row.mem.className = 'figure';
    row.memChart = spark('mem');
    mem.append(row.mem, row.memChart);
    row.reason = cell(tr, 'reason', 'last restart');
    if (mode !== 'token') return row;
    const actions = cell(tr, 'actions', '');
    for (const action of ['start', 'stop', 'restart']) {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.action = action;
      b.textContent = action;
      b.addEventListener('click', () => control(action, name, b));
      actions.appendChild(b);
    }
    return row;
  }

  function renderRow(row) {
    const c = row.data;
    const hasProcess = c.pid > 0 && STATES_WITH_PROCESS.has(c.state);
    row.state.dataset.state = c.state;
    setText(row.state, c.state);
    setText(row.pid, c.pid > 0 ? String(c.pid) : '-');
    let uptime = null;
    if (hasProcess && known(c.uptime_seconds))
      uptime = c.uptime_seconds + (Date.now() - row.fetchedAt) / 1000;
    setText(row.uptime, formatUptime(uptime));
    setText(row.restarts, known(c.restart_count) ? String(c.restart_count) : '-');
    setText(row.cpu, hasProcess && known(c.cpu_percent) ? c.cpu_percent.toFixed(1) + '%' : '-');
    setText(row.mem, hasProcess && known(c.memory_rss_mb) ? formatMb(c.memory_rss_mb) : '-');
    setText(row.reason, row.lastReason || '-');
  }

  function applyHealth(doc) {
    const status = $('status');
    status.dataset.status = doc.status || '';
    setText(status, doc.status || '?');
    setText($('summary'), doc.components_live + '/' + doc.components_total + ' live');
    $('system').hidden = false;
    setText($('hostname'), 'host ' + (doc.hostname || '?'));
    if (doc.cpu) setText($('load'), 'load ' + [doc.cpu.loadAvg1min, doc.cpu.loadAvg5min, doc.cpu.loadAvg15min].join(' ') + ' (' + doc.cpu.cores + ' cores)');
    if (doc.memory) setText($('memory'), 'memory ' + doc.memory.used_mb + '/' + doc.memory.total_mb + ' MB');

    const components = doc.components || {};
    const names = Object.keys(components).sort();
    const now = Date.now();
    for (const name of Array.from(rows.keys())) {
      if (!(name in components)) {
        rows.get(name).tr.remove();
        rows.delete(name);
      }
    }
    const body = $('rows');
    names.forEach((name, i) => {
      let row = rows.get(name);
      const fresh = !row;
      if (fresh) {
        row = makeRow(name);
        rows.set(name, row);
      }
      if (body.children[i] !== row.tr) body.insertBefore(row.tr, body.children[i] || null);
      const old = row.data;
      row.data = Object.assign({}, components[name]);
      row.fetchedAt = now;
      renderRow(row);
      if (mode === 'token') {
        if (fresh || !old || old.pid !== row.data.pid || old.restart_count !== row.data.restart_count)
          loadDetails(row);
        if (fresh) loadHistory(row);
        else appendSample(row, row.data);
      }
    });
    $('services').hidden = names.length === 0;
    $('empty').hidden = names.length !== 0;
    setText($('updated'), 'updated ' + new Date().toLocaleTimeString());
  }

  // ---- details: the last restart reason (needs the token) ----

  async function loadDetails(row) {
    try {
      const r = await api('/api/components/' + encodeURIComponent(row.name));
      if (!r.ok) return;
      const d = await r.json();
      row.lastReason = d['last-restart-reason'] || '';
      renderRow(row);
    } catch (e) { /* the next change tries again */ }
  }

  // ---- charts: the history endpoint, then a point per poll ----

  async function loadHistory(row) {
    if (historyMissing) return;
    let r;
    try {
      r = await api('/api/components/' + encodeURIComponent(row.name) + '/history');
    } catch (e) {
      return;
    }
    if (r.status === 404) {
      const body = await r.json().catch(() => ({}));
      // no such route on this tendd (an older one): no charts at all
      if (body.message !== 'Unknown component') historyMissing = true;
      return;
    }
    if (!r.ok) return;
    const doc = await r.json();
    if (!doc || doc.interval_ms === null || !Array.isArray(doc.samples)) return; // health plugin off
    row.history = doc.samples.slice(-CHART_POINTS).map((s) => ({
      cpu: known(s.cpu_percent) ? s.cpu_percent : null,
      mem: known(s.memory_rss) ? s.memory_rss / 1048576 : null,
    }));
    drawCharts(row);
  }

  function appendSample(row, c) {
    if (!row.history) return;
    const hasProcess = c.pid > 0 && STATES_WITH_PROCESS.has(c.state);
    row.history.push({
      cpu: hasProcess && known(c.cpu_percent) ? c.cpu_percent : null,
      mem: hasProcess && known(c.memory_rss_mb) ? c.memory_rss_mb : null,
    });
    if (row.history.length > CHART_POINTS) row.history.splice(0, row.history.length - CHART_POINTS);
    drawCharts(row);
  }

  // CPU is drawn from 0; memory from its own lowest value, so a slow leak shows
  function sparkPath(values, floor, fromMin) {
    const seen = values.filter(known);
    const min = fromMin ? Math.min(...seen) : 0;
    const max = Math.max(min + floor, ...seen);
    const n = values.length;
    let d = '';
    let pen = false;
    values.forEach((v, i) => {
      if (!known(v)) {
        pen = false; // unknown: a gap, never a zero
        return;
      }
      const x = n > 1 ? (i * 100) / (n - 1) : 100;
      const y = 19 - ((v - min) / (max - min)) * 18;
      d += (pen ? 'L' : 'M') + x.toFixed(2) + ' ' + y.toFixed(2);
      pen = true;
    });
    return d;
  }

  function drawCharts(row) {
    const h = row.history || [];
    for (const [svg, key, floor, fromMin] of [[row.cpuChart, 'cpu', 1, false], [row.memChart, 'mem', 1, true]]) {
      const values = h.map((s) => s[key]);
      const d = values.some(known) ? sparkPath(values, floor, fromMin) : '';
      svg.firstChild.setAttribute('d', d);
      svg.classList.toggle('empty', d === '');
    }
  }

  // ---- control ----

  async function control(action, name, button) {
    if (mode !== 'token') return;
    button.disabled = true;
    try {
      const r = await api('/api/control/' + action + '/' + encodeURIComponent(name), { method: 'POST' });
      const body = await r.json().catch(() => ({}));
      if (r.status === 401) {
        signOut();
        showLogin('the token was refused');
        return;
      }
      showMessage(r.ok ? name + ': ' + action + ' requested' : name + ': ' + (body.message || 'HTTP ' + r.status),
                  r.ok ? 'info' : 'error');
      scheduleRefresh();
    } catch (e) {
      showMessage(name + ': cannot reach tendd', 'error');
    } finally {
      button.disabled = false;
    }
  }

  // ---- live: the health document polled, the event stream read ----

  async function refresh() {
    try {
      const r = await api('/api/health/system');
      if (r.status === 401) {
        if (mode === 'token') {
          signOut();
          showLogin('the token was refused');
        } else {
          stopLive();
          clearRows();
          setMode('none');
          showLogin('');
        }
        return;
      }
      if (r.ok) applyHealth(await r.json());
    } catch (e) {
      showMessage('cannot reach tendd', 'error');
    }
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refresh();
    }, 150);
  }

  async function loadTunnel() {
    try {
      const r = await api('/api/tunnel');
      if (r.ok) applyTunnel(await r.json());
    } catch (e) { /* shown as unknown */ }
  }

  function applyTunnel(t) {
    const el = $('tunnel');
    el.replaceChildren();
    if (!t || t.status === 'disabled') {
      el.textContent = 'tunnel off';
      return;
    }
    el.append('tunnel ' + t.status + (known(t.connections) ? ' (' + t.connections + ' connections) ' : ' '));
    // a link only to a web address: never a javascript: or data: one
    if (t.url && /^https?:\/\//.test(t.url)) {
      const a = document.createElement('a');
      a.href = t.url;
      a.rel = 'noopener noreferrer';
      a.target = '_blank';
      a.textContent = t.url;
      el.append(a);
    }
  }

  function onEvent(type, data) {
    let e;
    try {
      e = JSON.parse(data);
    } catch (err) {
      return;
    }
    if (type === 'tunnel') {
      applyTunnel(e);
      return;
    }
    if (type !== 'state') return;
    const row = rows.get(e.name);
    if (row && row.data && (e.index === 0 || e.index === undefined)) {
      // show the change at once; the document that follows fills in the rest
      row.data.state = e.state;
      row.data.pid = e.pid;
      if (e.state === 'online' && e.old_state !== 'online') {
        row.data.uptime_seconds = 0;
        row.fetchedAt = Date.now();
      }
      if (e.reason) row.lastReason = e.reason;
      renderRow(row);
    }
    scheduleRefresh();
  }

  async function readEvents(controller) {
    const r = await api('/api/events', { signal: controller.signal, headers: Object.assign({ Accept: 'text/event-stream' }, headers()) });
    if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
    $('live').dataset.live = 'on';
    setText($('live'), 'live');
    // a reconnect may have missed changes
    scheduleRefresh();
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) type = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length) onEvent(type, data.join('\n'));
      }
    }
  }

  async function eventLoop() {
    const controller = new AbortController();
    events = controller;
    while (events === controller) {
      try {
        await readEvents(controller);
      } catch (e) { /* reconnect below */ }
      if (events !== controller) return;
      $('live').dataset.live = 'off';
      setText($('live'), 'reconnecting');
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  function startLive() {
    stopLive();
    pollTimer = setInterval(refresh, POLL_MS);
    if (mode === 'token') {
      loadTunnel();
      eventLoop();
    } else {
      $('live').dataset.live = 'off';
      setText($('live'), 'polled every ' + POLL_MS / 1000 + ' s');
    }
  }

  function stopLive() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
    if (events) events.abort();
    events = null;
    $('live').dataset.live = 'off';
    setText($('live'), '');
  }

  // uptimes move on between two documents
  setInterval(() => rows.forEach((row) => row.data && renderRow(row)), 1000);

  // ---- start ----

  async function start() {
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved && (await signIn(saved))) return;
    token = null;
    // without a token, what public-read opens: the health document, read-only
    try {
      const r = await api('/api/health/system');
      if (r.ok) {
        setMode('public');
        applyHealth(await r.json());
        startLive();
        return;
      }
    } catch (e) { /* fall through to the form */ }
    setMode('none');
    $('status').dataset.status = '';
    setText($('status'), 'signed out');
    showLogin(saved ? 'the saved token was refused' : '');
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const value = $('token').value.trim();
      if (value) signIn(value);
    });
    $('logout').addEventListener('click', signOut);
    document.addEventListener('visibilitychange', () => {
      // a hidden tab's timers are throttled: catch up when it shows again
      if (!document.hidden && mode !== 'none') {
        refresh();
        if (mode === 'token') rows.forEach((row) => loadHistory(row));
      }
    });
    start();
  });
})();
