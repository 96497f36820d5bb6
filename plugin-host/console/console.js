// The payseal key console: plain JavaScript over the documented admin API.
// The admin token lives in the `token` variable of this closure only: never
// in web storage, a cookie or the DOM. A key or secret is
// put in the DOM once (the one-time dialog) and removed when it closes.
'use strict';

(() => {
  let token = null;
  let session = null;
  let environment = 'live';
  let view = 'keys';
  let current = null; // the key a dialog acts on

  const $ = (id) => document.getElementById(id);

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const headers = { authorization: `Bearer ${token}` };
    const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!response.ok) {
      const message = json && typeof json.message === 'string' ? json.message : `HTTP ${response.status}`;
      throw new ApiError(response.status, json && json.code, message);
    }
    return json;
  }

  function element(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  }

  function status(text) {
    $('status').textContent = text;
  }

  function canManage() {
    return session && session.role !== 'viewer';
  }

  function canManageTokens() {
    return session && (session.role === 'admin' || session.webcode);
  }

  function canOperate() {
    return session && (session.role === 'admin' || session.role === 'operator');
  }

  function list(text, separator) {
    return text.split(separator).map((s) => s.trim()).filter((s) => s.length > 0);
  }

  function lines(values) {
    return (values || []).join('\n');
  }

  function shortTime(rfc3339) {
    return rfc3339 ? rfc3339.replace('T', ' ').replace('Z', '') : '—';
  }

  // ---------------------------------------------------------------- sign in

  async function signIn(event) {
    event.preventDefault();
    const input = $('token');
    token = input.value.trim();
    input.value = '';
    $('sign-in-error').textContent = '';
    try {
      session = await api('GET', '/session');
    } catch (error) {
      token = null;
      session = null;
      $('sign-in-error').textContent = error.status === 401 ? 'This token is not valid.' : error.message;
      return;
    }
    $('who').textContent = `${session.name} (${session.role})`;
    $('sign-in-view').hidden = true;
    $('app').hidden = false;
    $('sign-out').hidden = false;
    for (const node of document.querySelectorAll('.manage')) node.hidden = !canManage();
    for (const node of document.querySelectorAll('.operate')) node.hidden = !canOperate();
    for (const node of document.querySelectorAll('.tokens')) node.hidden = !canManageTokens();
    show('keys', 'live');
  }

  function signOut() {
    token = null;
    session = null;
    $('keys').tBodies[0].replaceChildren();
    $('audit').tBodies[0].replaceChildren();
    $('tokens').tBodies[0].replaceChildren();
    $('clients').tBodies[0].replaceChildren();
    $('accounts').tBodies[0].replaceChildren();
    $('who').textContent = '';
    $('status').textContent = '';
    $('app').hidden = true;
    $('sign-out').hidden = true;
    $('sign-in-view').hidden = false;
    $('token').focus();
  }

  // ---------------------------------------------------------------- views

  function show(nextView, nextEnvironment) {
    if (nextEnvironment && nextEnvironment !== environment) {
      // Another environment's keys never stand under this one's banner, not
      // even until the new list arrives (a live key taken for a test key
      // could be revoked by mistake).
      $('keys').tBodies[0].replaceChildren();
      $('no-keys').hidden = true;
    }
    view = nextView;
    if (nextEnvironment) environment = nextEnvironment;
    document.body.dataset.env = environment;
    document.body.dataset.view = view;
    $('tab-live').setAttribute('aria-pressed', String(view === 'keys' && environment === 'live'));
    $('tab-test').setAttribute('aria-pressed', String(view === 'keys' && environment === 'test'));
    for (const name of ['clients', 'accounts', 'audit', 'tokens']) $(`tab-${name}`).setAttribute('aria-pressed', String(view === name));
    $('env-banner').textContent = environment === 'live' ? 'LIVE environment: these keys move real money.' : 'TEST environment: sandbox keys.';
    for (const node of document.querySelectorAll('.env-name')) node.textContent = environment;
    for (const name of ['keys', 'clients', 'accounts', 'audit', 'tokens']) $(`${name}-view`).hidden = view !== name;
    status('');
    reload();
  }

  // The current view's list, read again.
  function reload() {
    ({ keys: loadKeys, clients: loadClients, accounts: loadAccounts, audit: loadAudit, tokens: loadTokens })[view]();
  }

  async function loadKeys() {
    const shown = environment;
    let keys;
    try {
      keys = await api('GET', '/lifecycle/keys');
    } catch (error) {
      status(`Cannot list the keys: ${error.message}`);
      return;
    }
    // Switched meanwhile: the load the switch started renders instead.
    if (environment !== shown) return;
    const rows = keys.filter((k) => k.environment === environment).map(keyRow);
    $('keys').tBodies[0].replaceChildren(...rows);
    $('no-keys').hidden = rows.length > 0;
  }

  function keyRow(key) {
    const row = element('tr', null, { 'data-key-id': key.keyId });
    const id = element('td');
    id.append(element('code', key.keyId));
    const state = element('td');
    state.append(element('span', key.status, { class: `status status-${key.status}` }));
    row.append(
      id,
      state,
      element('td', key.webcode || '—'),
      element('td', key.scopes.length ? key.scopes.join(', ') : 'every route'),
      element('td', key.allowedIps.length ? key.allowedIps.join(', ') : 'any address'),
      element('td', shortTime(key.createdAt)),
      element('td', shortTime(key.usableUntil || key.expirationDate)),
      element('td', key.lastUsedAt ? shortTime(key.lastUsedAt) : 'never'),
    );
    const actions = element('td');
    const traffic = element('button', 'Traffic', { type: 'button', 'aria-label': `Traffic of ${key.keyId}` });
    traffic.addEventListener('click', () => openTraffic(key));
    actions.append(traffic);
    if (canManage() && key.status !== 'REVOKED') {
      const edit = element('button', 'Edit', { type: 'button', 'aria-label': `Edit ${key.keyId}` });
      edit.addEventListener('click', () => openEdit(key));
      actions.append(edit);
      if (!key.supersededAt) {
        const regenerate = element('button', 'Regenerate', { type: 'button', 'aria-label': `Regenerate ${key.keyId}` });
        regenerate.addEventListener('click', () => openRegenerate(key));
        actions.append(regenerate);
      }
      const revoke = element('button', 'Revoke', { type: 'button', class: 'danger', 'aria-label': `Revoke ${key.keyId}` });
      revoke.addEventListener('click', () => openRevoke(key));
      actions.append(revoke);
    }
    row.append(actions);
    return row;
  }

  async function loadAudit() {
    let events;
    try {
      events = await api('GET', '/lifecycle/audit?limit=10000');
    } catch (error) {
      status(`Cannot read the audit log: ${error.message}`);
      return;
    }
    const filter = $('audit-filter').value.trim().toLowerCase();
    const rows = events
      .reverse()
      .filter((e) => !filter || [e.actor, e.action, e.subject, e.detail || ''].some((v) => v.toLowerCase().includes(filter)))
      .map((e) => {
        const row = element('tr');
        row.append(
          element('td', e.sequence),
          element('td', new Date(e.at * 1000).toISOString().replace('T', ' ').replace('.000Z', '')),
          element('td', e.actor),
          element('td', e.action),
          element('td', e.subject),
          element('td', e.detail || ''),
        );
        return row;
      });
    $('audit').tBodies[0].replaceChildren(...rows);
  }

  async function loadTokens() {
    let tokens;
    try {
      tokens = await api('GET', '/admin-tokens');
    } catch (error) {
      status(`Cannot list the admin tokens: ${error.message}`);
      return;
    }
    const rows = tokens.map((t) => {
      const row = element('tr', null, { 'data-token': t.name });
      const actions = element('td');
      if (t.source === 'store') {
        const revoke = element('button', 'Revoke', { type: 'button', class: 'danger', 'aria-label': `Revoke token ${t.name}` });
        revoke.addEventListener('click', () =>
          confirmAction('Revoke this admin token?', `Token ${t.name} stops working at once, on every gateway.`, async () => {
            await api('DELETE', `/admin-tokens/${encodeURIComponent(t.name)}`);
            status(`Token ${t.name} revoked.`);
            loadTokens();
          }),
        );
        actions.append(revoke);
      } else {
        actions.textContent = 'in the configuration file';
      }
      row.append(element('td', t.name), element('td', t.role), element('td', t.source), element('td', t.createdBy || '—'), actions);
      return row;
    });
    $('tokens').tBodies[0].replaceChildren(...rows);
  }

  function openCreateToken() {
    $('token-form').reset();
    $('token-error').textContent = '';
    if (session.webcode) $('token-role').value = `merchant:${session.webcode}`;
    $('token-dialog').showModal();
  }

  async function submitCreateToken(event) {
    event.preventDefault();
    await issueShownOnce('token', () => api('POST', '/admin-tokens', { name: $('token-name').value.trim(), role: $('token-role').value.trim() }), (created) => ({
      title: `The admin token ${created.name}`,
      values: [['Admin token', created.token]],
      done: `Token ${created.name} created.`,
    }));
  }

  // ---------------------------------------------------------------- token clients

  // The actions of a listed credential: a stored one can be deleted (`remove`).
  function sourceCell(item, label, remove) {
    const actions = element('td');
    if (item.source !== 'store') {
      actions.textContent = 'in the configuration file';
    } else if (canManage()) {
      const button = element('button', 'Delete', { type: 'button', class: 'danger', 'aria-label': `Delete ${label}` });
      button.addEventListener('click', () =>
        confirmAction(`Delete the ${label}?`, `The ${label} stops working at once. This cannot be undone.`, async () => {
          await remove();
          status(`The ${label} is deleted.`);
          reload();
        }),
      );
      actions.append(button);
    }
    return actions;
  }

  async function loadClients() {
    let clients;
    try {
      clients = await api('GET', '/lifecycle/token-clients');
    } catch (error) {
      status(error.code === 'tokens_not_configured' ? 'Token clients need a [tokens] section in the configuration file.' : `Cannot list the token clients: ${error.message}`);
      return;
    }
    const rows = clients.map((c) => {
      const row = element('tr', null, { 'data-client': c.id });
      const id = element('td');
      id.append(element('code', c.id));
      const label = `token client ${c.id}`;
      row.append(id, element('td', c.webcode || '—'), element('td', c.keyIds.join(', ')), element('td', c.source), element('td', c.createdBy || '—'), sourceCell(c, label, () => api('DELETE', `/lifecycle/token-clients/${encodeURIComponent(c.id)}`)));
      return row;
    });
    $('clients').tBodies[0].replaceChildren(...rows);
    $('no-clients').hidden = rows.length > 0;
  }

  function webcodeField(id) {
    const input = $(id);
    input.value = session.webcode || '';
    input.readOnly = Boolean(session.webcode);
  }

  async function openCreateClient() {
    $('client-form').reset();
    $('client-error').textContent = '';
    webcodeField('client-webcode');
    let keys = [];
    try {
      keys = await api('GET', '/lifecycle/keys');
    } catch (error) {
      $('client-error').textContent = `Cannot list the keys: ${error.message}`;
    }
    // One labelled checkbox per usable key: reachable and toggled with the keyboard.
    const boxes = keys
      .filter((k) => k.status === 'ACTIVE' || k.status === 'SUPERSEDED')
      .map((k) => {
        const label = element('label', null, { class: 'check' });
        const box = element('input', null, { type: 'checkbox', value: k.keyId, name: 'client-key' });
        label.append(box, ` ${k.keyId} (${k.environment}${k.webcode ? `, ${k.webcode}` : ''})`);
        return label;
      });
    $('client-key-list').replaceChildren(...(boxes.length ? boxes : [element('p', 'No usable keys: create one first.')]));
    $('client-dialog').showModal();
  }

  async function submitCreateClient(event) {
    event.preventDefault();
    const keyIds = [...document.querySelectorAll('#client-key-list input:checked')].map((box) => box.value);
    if (keyIds.length === 0) {
      $('client-error').textContent = 'Choose at least one key.';
      return;
    }
    const body = { id: $('client-id').value.trim(), keyIds };
    if ($('client-webcode').value.trim()) body.webcode = $('client-webcode').value.trim();
    await issueShownOnce('client', () => api('POST', '/lifecycle/token-clients', body), (created) => ({
      title: `The token client ${created.id}`,
      values: [['Client secret', created.clientSecret]],
      done: `Token client ${created.id} created.`,
    }));
  }

  // ---------------------------------------------------------------- renewal accounts

  async function loadAccounts() {
    let accounts;
    try {
      accounts = await api('GET', '/lifecycle/renewal-accounts');
    } catch (error) {
      status(`Cannot list the renewal accounts: ${error.message}`);
      return;
    }
    const rows = accounts.map((a) => {
      const row = element('tr', null, { 'data-account': a.codeUrl, 'data-env': a.environment });
      const code = element('td');
      code.append(element('code', a.codeUrl));
      const env = element('td');
      env.append(element('span', a.environment.toUpperCase(), { class: `env-badge env-${a.environment}` }));
      const limits = `${a.active ? '' : 'inactive; '}secret lives ${a.secretLifetimeSeconds} s; ${a.minIntervalSeconds ? `one per ${a.minIntervalSeconds} s` : 'no rate limit'}`;
      const label = `renewal account ${a.codeUrl}`;
      row.append(
        code,
        env,
        element('td', a.operationAccountCode),
        element('td', a.webcode || '—'),
        element('td', a.scopes.length ? a.scopes.join(', ') : 'every route'),
        element('td', a.allowedIps.length ? a.allowedIps.join(', ') : 'any address'),
        element('td', limits),
        element('td', a.source),
        sourceCell(a, label, () => api('DELETE', `/lifecycle/renewal-accounts/${encodeURIComponent(a.codeUrl)}`)),
      );
      return row;
    });
    $('accounts').tBodies[0].replaceChildren(...rows);
    $('no-accounts').hidden = rows.length > 0;
  }

  function openCreateAccount() {
    $('account-form').reset();
    $('account-error').textContent = '';
    $('account-environment').value = environment;
    webcodeField('account-webcode');
    $('account-dialog').showModal();
  }

  async function submitCreateAccount(event) {
    event.preventDefault();
    const body = {
      codeUrl: $('account-code-url').value.trim(),
      operationAccountCode: $('account-code').value.trim(),
      environment: $('account-environment').value,
      scopes: list($('account-scopes').value, ','),
      allowedIps: list($('account-ips').value, /[\s,]+/),
      secretLifetimeSeconds: Number($('account-lifetime').value),
      minIntervalSeconds: Number($('account-interval').value),
    };
    if ($('account-webcode').value.trim()) body.webcode = $('account-webcode').value.trim();
    await issueShownOnce('account', () => api('POST', '/lifecycle/renewal-accounts', body), (created) => ({
      title: `The renewal account ${created.codeUrl}`,
      values: [['Renewal password', created.password]],
      done: `Renewal account ${created.codeUrl} created.`,
    }));
  }

  // ---------------------------------------------------------------- traffic

  // The chart's <svg> is in index.html: its namespace comes from there.
  function svg(tag, attributes, text) {
    const node = document.createElementNS($('traffic-svg').namespaceURI, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function openTraffic(key) {
    current = key;
    $('traffic-id').textContent = key.keyId;
    $('traffic-dialog').showModal();
    loadTraffic();
  }

  async function loadTraffic() {
    let traffic;
    try {
      traffic = await api('GET', `/lifecycle/keys/${encodeURIComponent(current.keyId)}/traffic`);
    } catch (error) {
      $('traffic-summary').textContent = `Cannot read the traffic: ${error.message}`;
      return;
    }
    drawTraffic(traffic);
  }

  // Stacked bars, one per minute (oldest left): admitted below, refused above.
  function drawTraffic(traffic) {
    const [width, height, top, bottom, left] = [720, 180, 12, 22, 36];
    const minutes = traffic.minutes;
    const refusedOf = (m) => Object.values(m.refused).reduce((a, b) => a + b, 0);
    const most = Math.max(1, ...minutes.map((m) => m.admitted + refusedOf(m)));
    const slot = (width - left) / minutes.length;
    const scale = (n) => (n / most) * (height - top - bottom);
    const chart = $('traffic-svg');
    chart.replaceChildren();
    chart.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const admitted = minutes.reduce((a, m) => a + m.admitted, 0);
    const refused = minutes.reduce((a, m) => a + refusedOf(m), 0);
    const summary = `${admitted} requests admitted and ${refused} refused in the last hour (most in one minute: ${most}).`;
    chart.append(svg('title', { id: 'traffic-chart-title' }, summary));
    const base = height - bottom;
    chart.append(svg('line', { x1: left, y1: base, x2: width, y2: base, class: 'axis' }));
    chart.append(svg('text', { x: left - 4, y: top + 4, class: 'tick', 'text-anchor': 'end' }, String(most)));
    chart.append(svg('text', { x: left - 4, y: base, class: 'tick', 'text-anchor': 'end' }, '0'));
    chart.append(svg('text', { x: left, y: height - 6, class: 'tick' }, '60 min ago'));
    chart.append(svg('text', { x: width, y: height - 6, class: 'tick', 'text-anchor': 'end' }, 'now'));
    minutes.forEach((m, i) => {
      const x = left + i * slot + 1;
      const w = Math.max(1, slot - 2);
      const ok = scale(m.admitted);
      const no = scale(refusedOf(m));
      const when = new Date(m.start * 1000).toISOString().slice(11, 16);
      const bar = svg('g', { 'data-start': m.start, 'data-admitted': m.admitted, 'data-refused': refusedOf(m) });
      bar.append(svg('title', {}, `${when} UTC: ${m.admitted} admitted, ${refusedOf(m)} refused`));
      if (m.admitted) bar.append(svg('rect', { x, y: base - ok, width: w, height: ok, class: 'bar-admitted' }));
      if (refusedOf(m)) bar.append(svg('rect', { x, y: base - ok - no, width: w, height: no, class: 'bar-refused' }));
      chart.append(bar);
    });
    $('traffic-summary').textContent = summary;
    const reasons = {};
    for (const m of minutes) for (const [reason, n] of Object.entries(m.refused)) reasons[reason] = (reasons[reason] || 0) + n;
    const rows = Object.entries(reasons)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => {
        const row = element('tr');
        row.append(element('td', reason), element('td', n));
        return row;
      });
    if (rows.length === 0) {
      const none = element('tr');
      none.append(element('td', 'none', { colspan: '2' }));
      rows.push(none);
    }
    $('traffic-reasons').tBodies[0].replaceChildren(...rows);
  }

  // ---------------------------------------------------------------- the one-time display

  // Makes `request` (the `api` call, written at each caller so the route
  // test reads its path) from the dialog `<prefix>-dialog`, whose errors go
  // to `<prefix>-error`, then shows the answer's secrets once: `describe`
  // picks them out, and the answer itself is dropped here, so only the
  // one-time display holds a secret.
  async function issueShownOnce(prefix, request, describe) {
    let answer;
    try {
      answer = await request();
    } catch (error) {
      $(`${prefix}-error`).textContent = error.message;
      return;
    }
    closeWith(`${prefix}-dialog`);
    const { title, values, done } = describe(answer);
    answer = null;
    showSecret(title, values);
    status(done);
  }

  function showSecret(title, values) {
    const holder = $('secret-values');
    holder.replaceChildren();
    $('secret-title').textContent = title;
    $('secret-status').textContent = '';
    for (const [label, value] of values) {
      const line = element('div', null, { class: 'secret' });
      const name = element('span', label);
      const code = element('code', value, { class: 'secret-value' });
      const copy = element('button', 'Copy', { type: 'button', 'aria-label': `Copy ${label}` });
      copy.addEventListener('click', () => copyText(code));
      const download = element('button', 'Download', { type: 'button', 'aria-label': `Download ${label}` });
      download.addEventListener('click', () => downloadText(code, label));
      line.append(name, code, copy, download);
      holder.append(line);
    }
    $('secret-dialog').showModal();
  }

  async function copyText(code) {
    try {
      await navigator.clipboard.writeText(code.textContent);
      $('secret-status').textContent = 'Copied to the clipboard.';
    } catch {
      window.getSelection().selectAllChildren(code);
      $('secret-status').textContent = 'Selected: press Ctrl+C (or ⌘C) to copy.';
    }
  }

  function downloadText(code, label) {
    // A file from memory: the link holds a blob URL, never the value.
    const url = URL.createObjectURL(new Blob([`${code.textContent}\n`], { type: 'text/plain' }));
    const link = element('a', null, { href: url, download: `payseal-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.txt` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    $('secret-status').textContent = 'Downloaded.';
  }

  function closeSecret() {
    // Removes every node that held the value, then the selection on it.
    for (const code of document.querySelectorAll('.secret-value')) code.textContent = '';
    $('secret-values').replaceChildren();
    window.getSelection().removeAllRanges();
    $('secret-dialog').close();
    reload();
  }

  // ---------------------------------------------------------------- dialogs

  function closeWith(dialogId) {
    $(dialogId).close();
  }

  function openCreate() {
    $('create-form').reset();
    $('create-error').textContent = '';
    const webcode = $('create-webcode');
    if (session.webcode) {
      webcode.value = session.webcode;
      webcode.readOnly = true;
    } else {
      webcode.readOnly = false;
    }
    $('create-dialog').showModal();
  }

  async function submitCreate(event) {
    event.preventDefault();
    const body = { environment, scopes: list($('create-scopes').value, ','), allowedIps: list($('create-ips').value, /[\s,]+/) };
    if ($('create-format').value) body.format = $('create-format').value;
    if ($('create-webcode').value.trim()) body.webcode = $('create-webcode').value.trim();
    if ($('create-expires').value) body.expiresInSeconds = Number($('create-expires').value);
    await issueShownOnce('create', () => api('POST', '/lifecycle/keys', body), (issued) => {
      const values = [['API key', issued.key]];
      if (issued.clientSecret) values.push([`${environment} client secret`, issued.clientSecret]);
      return { title: 'Your new key', values, done: 'Key created.' };
    });
  }

  function openEdit(key) {
    current = key;
    $('edit-id').textContent = key.keyId;
    $('edit-ips').value = lines(key.allowedIps);
    $('edit-scopes').value = key.scopes.join(', ');
    $('edit-error').textContent = '';
    $('edit-dialog').showModal();
  }

  async function submitEdit(event) {
    event.preventDefault();
    const body = { allowedIps: list($('edit-ips').value, /[\s,]+/), scopes: list($('edit-scopes').value, ',') };
    try {
      await api('PATCH', `/lifecycle/keys/${encodeURIComponent(current.keyId)}`, body);
    } catch (error) {
      $('edit-error').textContent = error.message;
      return;
    }
    closeWith('edit-dialog');
    status(`Key ${current.keyId} updated.`);
    loadKeys();
  }

  function openRegenerate(key) {
    current = key;
    $('regenerate-id').textContent = key.keyId;
    $('regenerate-form').reset();
    $('regenerate-error').textContent = '';
    $('regenerate-dialog').showModal();
  }

  async function submitRegenerate(event) {
    event.preventDefault();
    const body = {};
    if ($('regenerate-grace').value !== '') body.graceSeconds = Number($('regenerate-grace').value);
    await issueShownOnce('regenerate', () => api('POST', `/lifecycle/keys/${encodeURIComponent(current.keyId)}/regenerate`, body), (issued) => {
      const until = issued.replacedKeyUsableUntil ? ` The old key works until ${shortTime(issued.replacedKeyUsableUntil)} UTC.` : '';
      return { title: 'The regenerated key', values: [['API key', issued.key]], done: `Key ${current.keyId} regenerated.${until}` };
    });
  }

  let confirmed = null;

  function confirmAction(title, text, action) {
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-error').textContent = '';
    confirmed = action;
    $('confirm-dialog').showModal();
  }

  async function submitConfirm(event) {
    event.preventDefault();
    try {
      await confirmed();
    } catch (error) {
      $('confirm-error').textContent = error.message;
      return;
    }
    closeWith('confirm-dialog');
  }

  function openRevoke(key) {
    confirmAction('Revoke this key?', `Key ${key.keyId} will be refused from now on. Revocation is permanent.`, async () => {
      await api('POST', `/lifecycle/keys/${encodeURIComponent(key.keyId)}/revoke`);
      status(`Key ${key.keyId} revoked.`);
      loadKeys();
    });
  }

  function openRotate() {
    confirmAction(`Rotate the ${environment} client secret?`, 'The current client secret stops working at once, without grace.', async () => {
      const rotated = await api('POST', `/lifecycle/client-secrets/${environment}/rotate`);
      closeWith('confirm-dialog');
      showSecret(`The new ${environment} client secret`, [['Client secret', rotated.clientSecret]]);
      status('Client secret rotated.');
    });
  }

  // ---------------------------------------------------------------- wiring

  document.addEventListener('DOMContentLoaded', () => {
    $('sign-in').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);
    $('tab-live').addEventListener('click', () => show('keys', 'live'));
    $('tab-test').addEventListener('click', () => show('keys', 'test'));
    $('tab-audit').addEventListener('click', () => show('audit'));
    $('tab-clients').addEventListener('click', () => show('clients'));
    $('tab-accounts').addEventListener('click', () => show('accounts'));
    $('create-client').addEventListener('click', openCreateClient);
    $('client-form').addEventListener('submit', submitCreateClient);
    $('clients-refresh').addEventListener('click', loadClients);
    $('create-account').addEventListener('click', openCreateAccount);
    $('account-form').addEventListener('submit', submitCreateAccount);
    $('accounts-refresh').addEventListener('click', loadAccounts);
    $('traffic-refresh').addEventListener('click', loadTraffic);
    $('tab-tokens').addEventListener('click', () => show('tokens'));
    $('create-token').addEventListener('click', openCreateToken);
    $('token-form').addEventListener('submit', submitCreateToken);
    $('refresh').addEventListener('click', loadKeys);
    $('audit-refresh').addEventListener('click', loadAudit);
    $('audit-filter').addEventListener('input', loadAudit);
    $('create-key').addEventListener('click', openCreate);
    $('rotate-secret').addEventListener('click', openRotate);
    $('create-form').addEventListener('submit', submitCreate);
    $('edit-form').addEventListener('submit', submitEdit);
    $('regenerate-form').addEventListener('submit', submitRegenerate);
    $('confirm-form').addEventListener('submit', submitConfirm);
    $('secret-close').addEventListener('click', closeSecret);
    // Escape must not leave a secret in the DOM either.
    $('secret-dialog').addEventListener('cancel', (event) => {
      event.preventDefault();
      closeSecret();
    });
    for (const button of document.querySelectorAll('dialog .cancel')) {
      button.addEventListener('click', () => button.closest('dialog').close());
    }
    $('token').focus();
  });
})();
