/**
 * The cashier's stylesheet and script, served by the sandbox itself (no CDN, no framework: the page works on a
 * machine with no internet). Kept as strings so `nest build` ships them without an asset step.
 */
export const CASHIER_CSS = `
:root { --brand: #4b5563; --ink: #1f2329; --muted: #6b7280; --line: #e5e7eb; --bg: #eef0f3; }
* { box-sizing: border-box; }
body { margin: 0; padding: 2rem 1rem; background: var(--bg); color: var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.layout { display: flex; flex-wrap: wrap; justify-content: center; align-items: flex-start; gap: 1.5rem; }
.cashier, .panel { background: #fff; border-radius: 14px; box-shadow: 0 10px 30px rgba(15, 23, 42, .10); overflow: hidden; }
.cashier { flex: 0 1 420px; margin: 0 auto; }
.layout .cashier { margin: 0; }
.panel { flex: 0 1 400px; }
.device-phone .cashier { flex: 0 1 375px; border: 12px solid #111827; border-radius: 36px; }
.return { display: none; margin: .5rem 0 .75rem; font-weight: 600; }
[data-state="SUCCESS"] .return, [data-state="CLOSED"] .return { display: block; }
.channel-wechat { --brand: #07c160; }
.channel-alipay { --brand: #1677ff; }
.channel-unionpay { --brand: #d7000f; }
.brand { display: flex; align-items: center; gap: .65rem; padding: .95rem 1.25rem; background: var(--brand); color: #fff; }
.logo { width: 2rem; height: 2rem; border-radius: 50%; background: rgba(255, 255, 255, .22); display: grid;
  place-items: center; font-weight: 700; }
.brand-name { flex: 1; font-size: 1.1rem; font-weight: 600; }
.badge { font-size: .7rem; text-transform: uppercase; letter-spacing: .08em; border: 1px solid rgba(255, 255, 255, .75);
  border-radius: 999px; padding: .1rem .6rem; }
.summary { padding: 1.25rem 1.25rem .75rem; text-align: center; }
.summary h1 { font-size: 1.2rem; }
.amount { margin: .1rem 0 1rem; font-size: 2.5rem; font-weight: 700; letter-spacing: -.01em; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .35rem 1rem; margin: 0; font-size: .9rem; text-align: left; }
dt { color: var(--muted); }
dd { margin: 0; text-align: right; word-break: break-all; }
.buyer { padding: 1.1rem 1.25rem .5rem; text-align: center; border-top: 1px dashed var(--line); }
.qr { position: relative; width: 216px; margin: 0 auto; }
.qr svg { display: block; width: 216px; height: 216px; border: 1px solid var(--line); border-radius: 10px; }
.qr figcaption { margin-top: .5rem; font-size: .85rem; color: var(--muted); }
.qr code { font-size: .7rem; word-break: break-all; }
.qr-paid { display: none; position: absolute; top: 0; left: 0; width: 216px; height: 216px; border-radius: 10px;
  background: rgba(255, 255, 255, .93); color: var(--brand); font-size: 5rem; place-items: center; }
[data-state="SUCCESS"] .qr-paid { display: grid; }
.card { display: grid; gap: .4rem; width: 260px; margin: 0 auto; padding: 1rem 1.1rem; border-radius: 12px;
  color: #fff; text-align: left; background: linear-gradient(135deg, var(--brand), #1e3a8a); }
.card-brand { font-weight: 700; }
.card-no { font: 1.15rem/1.2 ui-monospace, "DejaVu Sans Mono", monospace; letter-spacing: .06em; }
.card-holder { font-size: .72rem; letter-spacing: .12em; opacity: .85; }
.status { display: flex; justify-content: center; align-items: center; gap: .5rem; margin: 1rem 0 .75rem; }
.dot { width: .6rem; height: .6rem; border-radius: 50%; background: #f59e0b; }
[data-state="SUCCESS"] .dot { background: var(--brand); }
[data-state="SUCCESS"] #state { color: var(--brand); }
[data-state="CLOSED"] .dot { background: #9ca3af; }
.countdown { font-size: .85rem; color: var(--muted); }
.pay { width: 100%; padding: .85rem; border: 0; border-radius: 10px; background: var(--brand); color: #fff;
  font-size: 1.05rem; font-weight: 600; cursor: pointer; }
.pay:disabled { opacity: .4; cursor: default; }
.hint { font-size: .78rem; color: var(--muted); }
.message { min-height: 1.2em; margin: .25rem 0; font-size: .85rem; }
.message.error { color: #b91c1c; }
.notifications, .faults { padding: .7rem 1.25rem; font-size: .85rem; }
.faults { border-top: 1px solid var(--line); }
h2, h3, summary { margin: .3rem 0; font-size: .92rem; font-weight: 600; }
h3 { margin-top: .9rem; }
summary { cursor: pointer; }
ol, ul { margin: .3rem 0; padding-left: 1.3rem; }
li.none { margin-left: -1.3rem; list-style: none; color: var(--muted); }
li.global { color: var(--muted); }
.fault { display: grid; grid-template-columns: 1fr 6.5rem; align-items: center; gap: 0 .75rem; padding: .35rem 0;
  border-bottom: 1px solid #f3f4f6; }
.fault small { grid-column: 1 / -1; font-size: .74rem; color: var(--muted); }
.fault input[type="number"] { width: 100%; padding: .2rem .4rem; border: 1px solid #d1d5db; border-radius: 6px; font: inherit; }
.fault input[type="checkbox"] { justify-self: end; width: 1.05rem; height: 1.05rem; accent-color: var(--brand); }
.fault-actions { display: flex; gap: .5rem; margin-top: .8rem; }
.fault-actions button { flex: 1; padding: .5rem; border: 1px solid var(--brand); border-radius: 8px; background: var(--brand);
  color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
.fault-actions .secondary { background: #fff; color: var(--brand); }
.phone { flex: 0 1 360px; border: 10px solid #1f2329; border-radius: 28px; }
.pay-code { padding: 1.1rem 1.25rem 1.25rem; text-align: center; }
.pay-code h1 { margin: 0; font-size: 1.1rem; }
.pay-code h1 span { font-weight: 400; color: var(--muted); }
.pay-code .hint { margin: .2rem 0 .9rem; }
.barcode { margin: 0; }
.barcode svg { display: block; width: 100%; height: 72px; }
.code-digits { margin: .45rem 0 .8rem; font: 1.05rem/1.2 ui-monospace, "DejaVu Sans Mono", monospace; letter-spacing: .08em; }
.code-qr { width: 184px; margin: 0 auto .8rem; }
.code-qr svg { display: block; width: 184px; height: 184px; }
.scenario { margin: 0 0 1rem; padding: .5rem .65rem; border-radius: 8px; background: #f3f4f6; font-size: .82rem; text-align: left; }
a.pay { display: block; text-decoration: none; }
.choices, .counter { padding: .7rem 1.25rem; font-size: .85rem; }
.counter { border-top: 1px solid var(--line); }
.tabs { display: flex; gap: .4rem; margin: .3rem 0 .6rem; }
.tabs a, .seconds a { padding: .25rem .7rem; border: 1px solid var(--line); border-radius: 999px; color: var(--ink);
  text-decoration: none; }
.panel a.current { border-color: var(--brand); background: var(--brand); color: #fff; }
.scenarios { margin: .3rem 0; padding: 0; list-style: none; }
.scenarios li { display: grid; gap: 0 .5rem; padding: .3rem 0; border-bottom: 1px solid #f3f4f6; }
.scenarios a { justify-self: start; padding: .05rem .45rem; border-radius: 6px; color: var(--ink); font-family: ui-monospace, monospace; }
.scenarios small { color: var(--muted); }
.seconds { display: flex; flex-wrap: wrap; align-items: center; gap: .3rem; }
.counter pre { margin: .4rem 0; padding: .6rem .7rem; border-radius: 8px; background: #111827; color: #e5e7eb;
  font-size: .74rem; white-space: pre-wrap; word-break: break-all; }
.copy { padding: .35rem .9rem; border: 1px solid var(--brand); border-radius: 8px; background: #fff; color: var(--brand);
  font: inherit; font-weight: 600; cursor: pointer; }
`;

/**
 * The pages' behaviour. The payment-code page: copy the counter's curl. The cashier: pay through the vendor's
 * buyer endpoint, poll the trade view (state, notifications), count down to the expiry, and set / show / clear
 * this trade's faults. Text only ever goes in by textContent.
 */
export const CASHIER_JS = `'use strict';
// The payment-code page: the only behaviour is the copy button of the counter's curl (hidden without script).
(() => {
  const copy = document.getElementById('copy-curl');
  const curl = document.getElementById('curl');
  if (!copy || !curl) return;
  const message = document.getElementById('copy-message');
  copy.hidden = false;
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(curl.textContent);
      message.textContent = 'Copied.';
    } catch {
      window.getSelection().selectAllChildren(curl);
      message.textContent = 'Selected: copy it with the keyboard.';
    }
  });
})();
// The trade's cashier.
(() => {
  const root = document.getElementById('cashier');
  if (!root || !root.dataset.trade) return;
  const tradeNo = root.dataset.trade;
  const tradeUrl = '/sandbox/trades/' + encodeURIComponent(tradeNo);
  const faultsUrl = '/sandbox/faults?outTradeNo=' + encodeURIComponent(tradeNo);
  const expiresAt = root.dataset.expiresAt ? Date.parse(root.dataset.expiresAt) : NaN;
  const STATES = { NOTPAY: 'Waiting for payment', SUCCESS: 'Paid', CLOSED: 'Closed' };
  const UNITS = { ms: ' ms', fen: ' fen', count: '' };
  const byId = (id) => document.getElementById(id);
  const switches = Array.from(document.querySelectorAll('#fault-form [data-fault]'));
  const switchOf = (key) => switches.find((row) => row.dataset.fault === key);

  async function call(method, url, body) {
    const response = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, json };
  }

  function say(text, isError, where) {
    const message = byId(where || 'message');
    message.textContent = text;
    message.classList.toggle('error', Boolean(isError));
  }

  function item(text, className) {
    const li = document.createElement('li');
    li.textContent = text;
    if (className) li.className = className;
    return li;
  }

  // Alipay signs its return parameters when the trade is paid: a trade paid on this page gets its way back now.
  function showWayBack(href) {
    if (typeof href !== 'string' || !/^https?:[/][/]/i.test(href)) return;
    let link = byId('return-link');
    if (!link) {
      const paragraph = document.createElement('p');
      paragraph.className = 'return';
      link = document.createElement('a');
      link.id = 'return-link';
      link.textContent = 'Back to the merchant';
      paragraph.append(link);
      byId('message').after(paragraph);
    }
    link.href = href;
  }

  function showTrade(trade) {
    root.dataset.state = trade.state;
    showWayBack(trade.returnTo);
    byId('state').textContent = STATES[trade.state] || trade.state;
    byId('pay').disabled = trade.state !== 'NOTPAY';
    const sent = (trade.notifications || []).map((n) => {
      const answer = n.status === 'error' ? 'no answer' : 'HTTP ' + n.status + (n.reply ? ' "' + n.reply.slice(0, 40) + '"' : '');
      return item('#' + n.attempt + ' → ' + answer + ' at ' + new Date(n.at).toLocaleTimeString());
    });
    byId('notifications').replaceChildren(...(sent.length ? sent : [item('none yet', 'none')]));
    tick();
  }

  async function refreshTrade() {
    const { ok, json } = await call('GET', tradeUrl);
    if (ok) showTrade(json);
  }

  function describe(key, value) {
    const row = switchOf(key);
    const label = row ? row.dataset.label : key;
    return value === true ? label : label + ': ' + value + (row ? UNITS[row.dataset.kind] || '' : '');
  }

  async function refreshFaults() {
    const { ok, json } = await call('GET', faultsUrl);
    if (!ok) return;
    const inForce = Object.assign({}, json.global, json.trade);
    const shown = Object.keys(inForce)
      .filter((key) => inForce[key] !== undefined && inForce[key] !== null && inForce[key] !== false)
      .map((key) => {
        const own = Object.prototype.hasOwnProperty.call(json.trade, key);
        return item(describe(key, inForce[key]) + (own ? '' : ' (global)'), own ? 'trade' : 'global');
      });
    byId('faults-in-force').replaceChildren(...(shown.length ? shown : [item('none', 'none')]));
  }

  function collectFaults() {
    const faults = {};
    for (const row of switches) {
      const input = row.querySelector('input');
      if (row.dataset.kind === 'flag') {
        if (input.checked) faults[row.dataset.fault] = true;
      } else if (input.value !== '') {
        faults[row.dataset.fault] = row.dataset.kind === 'code' ? input.value : Number(input.value);
      }
    }
    return faults;
  }

  async function setFaults(faults) {
    try {
      const { ok } = await call('POST', '/sandbox/faults', Object.assign({ outTradeNo: tradeNo }, faults));
      if (!ok) say('The sandbox refused the faults.', true, 'fault-message');
      else say(Object.keys(faults).length ? 'Set for this trade.' : 'Cleared for this trade.', false, 'fault-message');
    } catch {
      say('The sandbox did not answer.', true, 'fault-message');
    }
    await refreshFaults();
  }

  function tick() {
    const countdown = byId('countdown');
    if (!countdown || Number.isNaN(expiresAt)) return;
    if (root.dataset.state !== 'NOTPAY') {
      countdown.textContent = '';
      return;
    }
    const left = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
    const two = (n) => String(n).padStart(2, '0');
    const h = Math.floor(left / 3600);
    const clock = (h ? h + ':' + two(Math.floor(left / 60) % 60) : Math.floor(left / 60)) + ':' + two(left % 60);
    countdown.textContent = left > 0 ? '· expires in ' + clock : '· expired';
  }

  byId('pay-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    byId('pay').disabled = true;
    say('Paying…');
    try {
      const { ok, status, json } = await call('POST', event.currentTarget.getAttribute('action'), {});
      if (ok) say('Paid at the vendor; the merchant is being notified.');
      else say('The vendor refused: ' + (json.error || (json.trade && json.trade.state) || 'HTTP ' + status), true);
    } catch {
      say('The sandbox did not answer.', true);
    }
    await refreshTrade().catch(() => undefined);
  });

  byId('fault-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void setFaults(collectFaults());
  });

  byId('clear-faults').addEventListener('click', () => {
    for (const row of switches) {
      const input = row.querySelector('input');
      if (row.dataset.kind === 'flag') input.checked = false;
      else input.value = '';
    }
    void setFaults({});
  });

  async function poll(refresh, everyMs) {
    await refresh().catch(() => undefined);
    setTimeout(() => void poll(refresh, everyMs), everyMs);
  }
  void poll(refreshTrade, 1000);
  void poll(refreshFaults, 3000);
  setInterval(tick, 1000);
  tick();
})();
`;
