// kassa debugger: the core (kassa.wasm through @kassa/core) in the page.
// Nothing typed here is sent anywhere: the only requests are for the page's
// own static files (this script, the package, kassa.wasm, samples.json).
import { load } from './js/index.js';

const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();

// The public test vector (core/sign/testdata/vectors.json): a published
// demo key and values, never a real merchant's.
const VECTOR = {
  controlKey: 'B17F59B4-A7DC-41B4-8FF9-37D986B43D20',
  accessToken: '123456789012345678901234567890123456789012345678901234567890abcd',
  serialNumber: 'abcd',
  endpointId: '1111',
  nonce: '5678xyz',
  invoiceId: 'someUuid',
  amountCentis: '1000',
  currency: 'RUB',
  client_orderid: '902B4FF5',
  email: 'john.smith@gmail.com',
  amountMinor: '1042',
};
// Fields no published vector covers: demo values, filled only where required.
const DEMO = {
  serverCardId: 'card-0001',
  destinationServerCardId: 'card-0002',
  status: 'approved',
  orderid: '902B4FF5-ORDER',
};
const NUMERIC = new Set(['amountCentis', 'amountMinor', 'endpointId']);
const FIELD_HELP = {
  accessToken: 'session.accessToken of the initiate request',
  serialNumber: 'consumer.device.serialNumber',
  endpointId: 'the merchant endpoint id',
  nonce: 'session.nonce',
  invoiceId: 'the invoice id kassa or the backend assigned',
  amountCentis: 'integer, minor units',
  currency: 'ISO 4217, e.g. EUR',
  amountMinor: 'integer, minor units',
};

// ---------------------------------------------------------------- loading

const timing = {};
const tStart = performance.now();
const samplesP = fetch(new URL('./samples.json', import.meta.url)).then((r) => (r.ok ? r.json() : {})).catch(() => ({}));

let kassa;
try {
  kassa = await load(new URL('./kassa.wasm', import.meta.url));
  timing.instantiateMs = performance.now() - tStart;
  const first = kassa.endpoints();
  timing.coldLoadMs = performance.now() - tStart; // fetch + compile + instantiate + first call
  timing.sinceNavigationMs = performance.now();
  const res = performance.getEntriesByName(new URL('./kassa.wasm', import.meta.url).href)[0];
  if (res) {
    timing.transferBytes = res.transferSize;
    timing.encodedBytes = res.encodedBodySize;
    timing.decodedBytes = res.decodedBodySize;
    timing.downloadMs = res.responseEnd - res.startTime; // overlaps compilation (streaming)
  }
  start(first, await samplesP);
} catch (e) {
  const s = $('status');
  s.textContent = `Could not load the core: ${e.message}`;
  s.className = 'status failed';
  console.error(e);
}

function start(catalog, samples) {
  const status = $('status');
  status.textContent = `Core ${catalog.version} ready in ${Math.round(timing.coldLoadMs)} ms`;
  status.className = 'status ready';
  $('version').textContent = catalog.version;
  $('timing').textContent =
    `Cold load (fetch + compile + instantiate + first call): ${timing.coldLoadMs.toFixed(0)} ms` +
    (timing.encodedBytes ? ` · kassa.wasm ${(timing.encodedBytes / 1024).toFixed(0)} KiB on the wire` : '');
  setupSign(catalog.operations);
  setupValidate(catalog.endpoints, samples);
  globalThis.kassaDebugger = { kassa, timing, ready: true };
  document.documentElement.dataset.ready = 'true';
}

// ------------------------------------------------------------------- sign

function setupSign(operations) {
  const op = $('op');
  const fieldset = $('fields');
  const key = $('controlKey');
  const values = new Map(); // kept across operation changes
  const byId = new Map(operations.map((o) => [o.id, o]));

  op.replaceChildren(
    ...groupBy(operations, (o) => o.id.split('.')[0]).map(([scheme, ops]) => {
      const g = document.createElement('optgroup');
      g.label = scheme === 'dapi' ? 'DAPI (HMAC-SHA1)' : 'Classic (SHA-1)';
      g.append(...ops.map((o) => new Option(o.id, o.id)));
      return g;
    }),
  );
  op.disabled = false;
  op.value = byId.has('dapi.check-sale') ? 'dapi.check-sale' : operations[0].id;

  function renderFields() {
    const o = byId.get(op.value);
    const classic = o.id.startsWith('classic.');
    $('op-note').textContent = `Produces ${o.produces}. ` + (classic
      ? 'SHA-1 over the fields followed by the control key, lower-case hex.'
      : 'HMAC-SHA1 keyed with the hex-decoded control key, upper-case hex.');
    const grid = document.createElement('div');
    grid.className = 'grid-fields';
    for (const f of o.fields) {
      const row = document.createElement('div');
      row.className = 'row';
      const id = `f-${f.name}`;
      const label = document.createElement('label');
      label.htmlFor = id;
      label.append(f.name);
      if (f.optional) {
        const s = document.createElement('span');
        s.className = 'opt';
        s.textContent = ' (optional)';
        label.append(s);
      }
      const input = document.createElement('input');
      input.type = 'text';
      input.id = id;
      input.name = f.name;
      input.spellcheck = false;
      input.autocapitalize = 'off';
      input.autocomplete = 'off';
      input.className = 'mono';
      if (NUMERIC.has(f.name)) input.inputMode = 'numeric';
      input.value = values.get(f.name) ?? '';
      if (FIELD_HELP[f.name]) {
        const help = document.createElement('p');
        help.className = 'note';
        help.id = `${id}-help`;
        help.textContent = FIELD_HELP[f.name];
        input.setAttribute('aria-describedby', help.id);
        row.append(label, input, help);
      } else {
        row.append(label, input);
      }
      grid.append(row);
    }
    const legend = document.createElement('legend');
    legend.textContent = `Fields of ${o.id}, in signing order`;
    fieldset.replaceChildren(legend, grid);
  }

  function currentFields() {
    const o = byId.get(op.value);
    const fields = {};
    if (key.value !== '') fields.controlKey = key.value;
    for (const f of o.fields) {
      const v = $(`f-${f.name}`)?.value ?? '';
      if (v !== '') fields[f.name] = v;
    }
    return fields;
  }

  function compute() {
    const o = byId.get(op.value);
    const fields = currentFields();
    const sts = $('sts');
    const sig = $('sig');
    const msg = $('sign-message');
    msg.className = 'message';
    let stsText = null;
    let sigText = null;
    let message = '';
    try {
      const r = kassa.explain(o.id, fields);
      stsText = r.stringToSign;
      sigText = r.signature;
    } catch (e) {
      message = e.message;
      try {
        stsText = kassa.stringToSign(o.id, fields);
        if (e.message === 'controlKey is required') message = 'Enter the control key to sign.';
      } catch (e2) {
        // A missing field is the more useful thing to say than a missing key.
        if (e.message === 'controlKey is required' && !o.id.startsWith('classic.')) message = e2.message;
      }
      if (message !== 'Enter the control key to sign.') msg.className = 'message error';
    }
    // A classic string to sign ends with the control key: mask it unless shown.
    const showKey = key.type === 'text';
    if (stsText !== null && o.id.startsWith('classic.') && fields.controlKey && stsText.endsWith(fields.controlKey) && !showKey) {
      const head = stsText.slice(0, stsText.length - fields.controlKey.length);
      const masked = document.createElement('span');
      masked.className = 'masked';
      masked.textContent = '•'.repeat(Math.min(fields.controlKey.length, 36));
      masked.title = 'the control key (Show reveals it)';
      sts.replaceChildren(head, masked);
    } else {
      sts.textContent = stsText ?? '—';
    }
    sts.dataset.value = stsText ?? '';
    sig.textContent = sigText ?? '—';
    sig.dataset.value = sigText ?? '';
    sig.classList.toggle('has', sigText !== null);
    msg.textContent = message;

    const cliFields = { ...fields };
    if (cliFields.controlKey) cliFields.controlKey = showKey ? cliFields.controlKey : '…';
    $('cli').textContent =
      `echo '${JSON.stringify(cliFields).replaceAll("'", "'\\''")}' \\\n  | bin/caddy kassa sign ${o.id} --explain`;
  }

  op.addEventListener('change', () => {
    renderFields();
    compute();
  });
  $('sign-form').addEventListener('input', (e) => {
    if (e.target === op) return; // 'change' re-renders the fields first
    if (e.target.name && e.target !== key) values.set(e.target.name, e.target.value);
    compute();
  });
  $('sign-form').addEventListener('submit', (e) => e.preventDefault());
  $('show-key').addEventListener('click', (e) => {
    const show = key.type === 'password';
    key.type = show ? 'text' : 'password';
    e.currentTarget.textContent = show ? 'Hide' : 'Show';
    e.currentTarget.setAttribute('aria-pressed', String(show));
    compute();
  });
  $('fill-vector').addEventListener('click', () => {
    key.value = VECTOR.controlKey;
    for (const f of byId.get(op.value).fields) {
      if (f.name in VECTOR) values.set(f.name, VECTOR[f.name]);
      else values.set(f.name, f.optional ? '' : DEMO[f.name] ?? '');
    }
    renderFields();
    compute();
  });
  $('clear-sign').addEventListener('click', () => {
    values.clear();
    key.value = '';
    renderFields();
    compute();
  });
  for (const b of document.querySelectorAll('button.copy')) {
    b.addEventListener('click', async () => {
      const v = $(b.dataset.copy).dataset.value;
      if (!v) return;
      try {
        await navigator.clipboard.writeText(v);
        flash(b, 'Copied');
      } catch {
        flash(b, 'Copy failed');
      }
    });
  }

  renderFields();
  compute();
}

function flash(button, text) {
  const old = button.textContent;
  button.textContent = text;
  setTimeout(() => (button.textContent = old), 1200);
}

// --------------------------------------------------------------- validate

function setupValidate(endpoints, samples) {
  const sel = $('endpoint');
  const body = $('body');
  const query = $('query');
  const byId = new Map(endpoints.map((e) => [e.id, e]));

  sel.replaceChildren(
    ...groupBy(endpoints, (e) => e.provider).map(([provider, eps]) => {
      const g = document.createElement('optgroup');
      g.label = provider;
      g.append(...eps.map((e) => new Option(e.id, e.id)));
      return g;
    }),
  );
  sel.disabled = false;
  sel.value = byId.has('payneteasy.initiate-sale') ? 'payneteasy.initiate-sale' : endpoints[0].id;

  function loadSample() {
    const ep = byId.get(sel.value);
    const s = samples[ep.id] ?? {};
    $('endpoint-note').textContent = `${ep.method} ${ep.path}${ep.response ? ' (response)' : ''} — ${ep.summary}`;
    body.value = s.body ? pretty(s.body) : '';
    body.placeholder = s.noBody ? '(no body: leave empty)' : '{ }';
    const hasQuery = Array.isArray(s.queryFields) && s.queryFields.length > 0;
    $('query-row').hidden = !hasQuery;
    query.value = hasQuery ? s.query ?? '' : '';
    $('query-help').textContent = hasQuery ? `Parameters: ${s.queryFields.join(', ')}` : '';
    check();
  }

  let queued = false;
  function schedule() {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      check();
    });
  }

  function check() {
    const ep = byId.get(sel.value);
    const text = body.value;
    const r = kassa.validate(ep.id, text); // the exact text, as UTF-8 bytes
    const violations = r.violations.map((v) => ({ ...v, where: 'body' }));
    let queryBad = false;
    if (!$('query-row').hidden) {
      const q = kassa.validateQuery(ep.id, query.value);
      queryBad = !q.valid;
      violations.push(...q.violations.map((v) => ({ ...v, where: 'query' })));
    }
    query.setAttribute('aria-invalid', String(queryBad));
    body.setAttribute('aria-invalid', String(!r.valid));

    const marks = violations.map((v, i) => (v.where === 'body' ? { ...locateViolation(text, v), i } : null));
    renderBackdrop(text, marks.filter(Boolean));

    const verdict = $('verdict');
    if (violations.length === 0) {
      verdict.textContent = '✓ Valid';
      verdict.className = 'verdict ok';
    } else {
      verdict.textContent = `✗ ${violations.length} violation${violations.length > 1 ? 's' : ''}`;
      verdict.className = 'verdict bad';
    }
    const list = $('violations');
    list.replaceChildren(
      ...violations.map((v, i) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.type = 'button';
        b.dataset.v = String(i);
        b.dataset.path = v.path;
        const m = marks[i];
        if (m?.missing) b.classList.add('missing');
        const rule = document.createElement('span');
        rule.className = 'rule';
        rule.textContent = v.where === 'query' ? `query · ${v.rule}` : v.rule;
        const path = document.createElement('span');
        path.className = 'vpath';
        path.textContent = v.path || '(body)';
        const msg = document.createElement('span');
        msg.className = 'vmsg';
        msg.textContent = v.message + (m?.missing && m.anchor !== undefined ? ` (missing — marked at ${m.anchor || 'the top level'})` : '');
        b.append(rule, path, msg);
        b.addEventListener('click', () => {
          if (v.where === 'query') {
            query.focus();
            return;
          }
          if (m) {
            body.focus();
            body.setSelectionRange(m.start, m.end);
            const el = $('backdrop').querySelector(`mark[data-v~="${i}"]`);
            for (const a of $('backdrop').querySelectorAll('mark.active')) a.classList.remove('active');
            el?.classList.add('active');
            el?.scrollIntoView({ block: 'nearest' });
          }
        });
        li.append(b);
        return li;
      }),
    );
  }

  sel.addEventListener('change', loadSample);
  body.addEventListener('input', schedule);
  query.addEventListener('input', schedule);
  $('sample').addEventListener('click', loadSample);
  $('format').addEventListener('click', () => {
    body.value = pretty(body.value);
    check();
  });
  loadSample();
}

// The marks: [start, end) character ranges in the body text.
function renderBackdrop(text, marks) {
  const sorted = marks.filter((m) => m.start !== undefined).sort((a, b) => a.start - b.start || b.end - a.end);
  const merged = [];
  for (const m of sorted) {
    const last = merged[merged.length - 1];
    if (last && m.start < last.end) {
      last.end = Math.max(last.end, m.end);
      last.ids.push(m.i);
      last.paths.push(m.path);
      last.missing &&= m.missing;
    } else {
      merged.push({ start: m.start, end: m.end, ids: [m.i], paths: [m.path], missing: m.missing });
    }
  }
  const out = [];
  let at = 0;
  for (const m of merged) {
    out.push(escapeHTML(text.slice(at, m.start)));
    const inner = text.slice(m.start, m.end) || ' ';
    out.push(`<mark data-v="${m.ids.join(' ')}" data-path="${escapeHTML(m.paths.join(' '))}"${m.missing ? ' class="missing"' : ''}>${escapeHTML(inner)}</mark>`);
    at = Math.max(at, m.end);
  }
  out.push(escapeHTML(text.slice(at)));
  // A trailing newline in a textarea still takes a line: keep the heights equal.
  $('backdrop').innerHTML = out.join('') + '\n ';
}

function escapeHTML(s) {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

// Where a violation is in the text. JSON syntax violations carry a byte
// offset ("... at offset 14"); the others a gjson path. A missing field is
// marked at its nearest present parent.
function locateViolation(text, v) {
  const spots = locate(text);
  const m = /at offset (\d+)$/.exec(v.message);
  if (v.rule === 'json' && m) {
    const start = charIndex(text, Number(m[1]));
    let end = start;
    while (end < text.length && !/[\s,:\]}]/.test(text[end])) end++;
    if (text[start] === '"') {
      end = start + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      end++;
    }
    return { start, end: Math.max(end, start + 1), path: v.path, missing: false };
  }
  const hit = spots.get(v.path);
  if (hit) return { ...range(hit), path: v.path, missing: false };
  // Not in the body: the nearest present parent.
  const parts = splitPath(v.path);
  for (let n = parts.length - 1; n >= 0; n--) {
    const p = joinPath(parts.slice(0, n));
    const h = spots.get(p);
    if (h) {
      const r = h.key ? { start: h.kStart, end: h.kEnd } : { start: h.vStart, end: Math.min(h.vStart + 1, h.vEnd) };
      return { ...r, path: v.path, missing: true, anchor: p };
    }
  }
  return { path: v.path, missing: true };
}

function range(h) {
  if (h.container) return h.key ? { start: h.kStart, end: h.kEnd } : { start: h.vStart, end: h.vStart + 1 };
  return { start: h.key ? h.kStart : h.vStart, end: Math.max(h.vEnd, h.vStart + 1) };
}

// UTF-8 byte offset -> string index.
function charIndex(text, byteOffset) {
  let bytes = 0;
  let i = 0;
  for (const ch of text) {
    if (bytes >= byteOffset) return i;
    bytes += enc.encode(ch).length;
    i += ch.length;
  }
  return text.length;
}

// gjson paths: keys joined by '.', with '.', '*', '?' and '\' escaped.
const escKey = (k) => k.replace(/[\\.*?]/g, '\\$&');
const joinPath = (parts) => parts.join('.');
function splitPath(p) {
  const parts = [];
  let cur = '';
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\' && i + 1 < p.length) cur += p[i] + p[++i];
    else if (p[i] === '.') {
      parts.push(cur);
      cur = '';
    } else cur += p[i];
  }
  if (p !== '') parts.push(cur);
  return parts;
}

// A tolerant JSON walk recording where each path's key and value are. It
// stops quietly at the first syntax error (the core reports those).
function locate(text) {
  const spots = new Map();
  let i = 0;
  const n = text.length;
  const STOP = {};
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const str = () => {
    const s = i++;
    let v = '';
    while (i < n) {
      const c = text[i];
      if (c === '"') return { s, e: ++i, v };
      if (c === '\\') {
        const d = text[i + 1];
        if (d === 'u') {
          v += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          v += { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' }[d] ?? d;
          i += 2;
        }
      } else {
        v += c;
        i++;
      }
    }
    throw STOP;
  };
  const value = (path, key) => {
    ws();
    if (i >= n) throw STOP;
    const c = text[i];
    const spot = { key: !!key, kStart: key?.s, kEnd: key?.e, vStart: i, vEnd: i + 1, container: c === '{' || c === '[' };
    if (!spots.has(path)) spots.set(path, spot); // gjson reads the first of duplicate keys
    const child = (k) => (path === '' ? k : path + '.' + k);
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') i++;
      else {
        for (;;) {
          ws();
          if (text[i] !== '"') throw STOP;
          const k = str();
          ws();
          if (text[i] !== ':') throw STOP;
          i++;
          value(child(escKey(k.v)), k);
          ws();
          if (text[i] === ',') { i++; continue; }
          if (text[i] === '}') { i++; break; }
          throw STOP;
        }
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') i++;
      else {
        for (let idx = 0; ; idx++) {
          value(child(String(idx)), null);
          ws();
          if (text[i] === ',') { i++; continue; }
          if (text[i] === ']') { i++; break; }
          throw STOP;
        }
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < n && !/[\s,\]}:]/.test(text[i])) i++;
      if (i === spot.vStart) throw STOP;
    }
    spot.vEnd = i;
  };
  try {
    value('', null);
  } catch (e) {
    if (e !== STOP) throw e;
  }
  return spots;
}

// Re-indents JSON text without parsing values: every token is kept as
// written (numbers, escapes, duplicate keys), only whitespace changes.
function pretty(text) {
  let out = '';
  let depth = 0;
  const nl = () => '\n' + '  '.repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '{' || c === '[') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] === (c === '{' ? '}' : ']')) {
        out += c + text[j];
        i = j;
      } else {
        depth++;
        out += c + nl();
      }
    } else if (c === '}' || c === ']') {
      depth = Math.max(0, depth - 1);
      out += nl() + c;
    } else if (c === ',') {
      out += ',' + nl();
    } else if (c === ':') {
      out += ': ';
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

function groupBy(items, key) {
  const m = new Map();
  for (const it of items) {
    const k = key(it);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(it);
  }
  return [...m];
}
