import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The admin console's page, style sheet and script. Everything is served by the app itself (no CDN, no web
 * font): the console works on a machine without internet access.
 */

/**
 * The script is console.js in this folder, served as it is written; nest-cli.json copies it into dist/ next to
 * this module. Read once at start, so a build without it fails at boot rather than serving a blank console.
 * The TypeScript sources run as ES modules under jest, without __dirname, from the project root.
 */
const HERE = typeof __dirname === 'string' ? __dirname : join(process.cwd(), 'src', 'admin', 'console');
export const CONSOLE_JS = readFileSync(join(HERE, 'console.js'), 'utf8');

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Payment Center · Admin console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/admin/console.css">
<script defer src="/admin/console.js"></script>
</head>
<body>
<header class="bar">
  <div class="brand"><span class="logo">¥</span> Payment Center <span class="muted">admin console</span></div>
  <div id="who" class="who" hidden>
    <span>Signed in as <strong id="who-name"></strong></span>
    <a id="board-link" class="button ghost" href="/admin/queues/" hidden>Queue board</a>
    <button id="sign-out" class="ghost" type="button">Sign out</button>
  </div>
</header>
<main>
  <section id="sign-in" class="card narrow" hidden>
    <h1>Sign in</h1>
    <p class="muted">Use an admin token from <code>ADMIN_TOKENS</code>. It stays in this browser tab only.</p>
    <form id="sign-in-form" autocomplete="off">
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" required minlength="1" spellcheck="false">
      <button type="submit">Sign in</button>
      <p id="sign-in-error" class="error" role="alert"></p>
    </form>
  </section>
  <section id="app" hidden>
    <nav class="tabs" role="tablist">
      <button type="button" role="tab" data-tab="review">Payments in review <span id="review-count" class="count"></span></button>
      <button type="button" role="tab" data-tab="refunds">Refunds in review <span id="refunds-count" class="count"></span></button>
      <button type="button" role="tab" data-tab="deliveries">Failed deliveries <span id="deliveries-count" class="count"></span></button>
      <button type="button" role="tab" data-tab="reconciliation">Reconciliation</button>
      <button type="button" role="tab" data-tab="applications">Applications</button>
      <button type="button" role="tab" data-tab="accounts">Channel accounts</button>
    </nav>
    <p id="flash" class="flash" role="status" hidden></p>
    <div id="panel-review" class="panel" role="tabpanel"></div>
    <div id="panel-refunds" class="panel" role="tabpanel"></div>
    <div id="panel-deliveries" class="panel" role="tabpanel"></div>
    <div id="panel-reconciliation" class="panel" role="tabpanel"></div>
    <div id="panel-applications" class="panel" role="tabpanel"></div>
    <div id="panel-accounts" class="panel" role="tabpanel"></div>
  </section>
</main>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root {
  --bg: #f4f6f9; --card: #fff; --ink: #1c2430; --muted: #667085; --line: #e3e8ef; --accent: #1f6feb;
  --ok: #137333; --ok-bg: #e6f4ea; --warn: #8a5a00; --warn-bg: #fff4d6; --bad: #b42318; --bad-bg: #fdecea;
  --info: #175cd3; --info-bg: #e8f0fe; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "PingFang SC", sans-serif; }
[hidden] { display: none !important; }
code, .mono { font-family: var(--mono); font-size: 12.5px; }
.muted { color: var(--muted); font-weight: 400; }
.bar { display: flex; justify-content: space-between; align-items: center; padding: 10px 24px; background: #101828; color: #fff; }
.brand { font-weight: 600; font-size: 15px; display: flex; gap: 8px; align-items: center; }
.brand .muted { color: #98a2b3; }
.logo { display: inline-grid; place-items: center; width: 26px; height: 26px; border-radius: 6px; background: var(--accent); }
.who { display: flex; gap: 12px; align-items: center; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 20px; margin: 0 0 6px; }
h2 { font-size: 15px; margin: 0; }
h3 { font-size: 13px; margin: 14px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; margin-bottom: 14px; box-shadow: 0 1px 2px rgba(16,24,40,.04); }
.narrow { max-width: 420px; margin: 60px auto; }
label { display: block; font-weight: 600; margin: 10px 0 4px; }
input, select, textarea { font: inherit; border: 1px solid #cfd6e0; border-radius: 6px; padding: 7px 9px; background: #fff; color: var(--ink); }
input[type=password], textarea { width: 100%; }
textarea { min-height: 54px; resize: vertical; }
button, .button { font: inherit; font-weight: 600; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; padding: 6px 12px; cursor: pointer; text-decoration: none; display: inline-block; }
button:disabled { opacity: .5; cursor: default; }
button.ghost, .button.ghost { background: transparent; border-color: #475467; color: #fff; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
form button[type=submit] { margin-top: 12px; }
.error { color: var(--bad); min-height: 1em; margin: 8px 0 0; }
.tabs { display: flex; gap: 4px; border-bottom: 1px solid var(--line); margin-bottom: 16px; }
.tabs button { background: transparent; color: var(--muted); border: 0; border-bottom: 2px solid transparent; border-radius: 0; padding: 10px 14px; }
.tabs button[aria-selected=true] { color: var(--ink); border-bottom-color: var(--accent); }
.inline { display: flex; gap: 8px; margin-bottom: 14px; }
.count { display: inline-block; min-width: 20px; padding: 0 6px; border-radius: 10px; background: var(--line); color: var(--ink); font-size: 12px; }
.count:empty { display: none; }
.toolbar { display: flex; gap: 10px; align-items: end; flex-wrap: wrap; margin-bottom: 14px; }
.toolbar label { margin: 0 0 4px; font-size: 12px; color: var(--muted); }
.flash { padding: 10px 14px; border-radius: 8px; background: var(--info-bg); color: var(--info); margin: 0 0 14px; }
.flash.bad { background: var(--bad-bg); color: var(--bad); }
.flash.ok { background: var(--ok-bg); color: var(--ok); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: var(--line); color: var(--ink); white-space: nowrap; }
.badge.NEEDS_REVIEW, .badge.REVIEW, .badge.PENDING, .badge.REFUNDING, .badge.CLOSING, .badge.PAYING, .badge.NOT_READY { background: var(--warn-bg); color: var(--warn); }
.badge.PAID, .badge.PUBLISHED, .badge.MATCHED, .badge.RESOLVED, .badge.REFUNDED, .badge.CLOSED { background: var(--ok-bg); color: var(--ok); }
.badge.ACTIVE { background: var(--ok-bg); color: var(--ok); }
.badge.DISABLED { background: var(--bad-bg); color: var(--bad); }
.badge.FAILED, .badge.REFUND_FAILED { background: var(--bad-bg); color: var(--bad); }
.badge.channel { background: var(--info-bg); color: var(--info); }
.badge.automatic { background: var(--bad-bg); color: var(--bad); }
.payment-head { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.payment-head .amount { font-size: 16px; font-weight: 700; margin-left: auto; }
.facts { display: flex; gap: 18px; flex-wrap: wrap; color: var(--muted); font-size: 12.5px; margin: 6px 0 0; }
.reason { margin: 12px 0 0; padding: 10px 12px; border-left: 3px solid var(--warn); background: var(--warn-bg); border-radius: 4px; }
.reason strong { display: block; font-size: 12px; color: var(--warn); text-transform: uppercase; letter-spacing: .04em; }
details { margin-top: 10px; }
summary { cursor: pointer; color: var(--accent); font-weight: 600; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.wrap { max-width: 420px; overflow-wrap: anywhere; }
.resolve { display: grid; grid-template-columns: 240px 1fr auto; gap: 10px; align-items: start; margin-top: 14px; padding-top: 14px; border-top: 1px dashed var(--line); }
.resolve .hint { grid-column: 1 / -1; margin: 0; color: var(--muted); font-size: 12.5px; }
.resolve .stack { display: flex; flex-direction: column; gap: 8px; }
.account-actions { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 12px; max-width: 560px; }
.account-actions input { flex: 1; min-width: 140px; }
.rotate textarea { font-family: var(--mono); font-size: 12.5px; min-height: 90px; }
.empty { text-align: center; color: var(--muted); padding: 28px; }
.grid3 { display: grid; grid-template-columns: repeat(3, 1fr); gap: 14px; }
.stat { display: flex; justify-content: space-between; padding: 4px 0; border-bottom: 1px solid var(--line); }
.stat:last-child { border-bottom: 0; }
@media (max-width: 820px) { .grid3 { grid-template-columns: 1fr; } .resolve { grid-template-columns: 1fr; } }
`;
