// @ts-check
/**
 * The admin console in the operator's browser: a plain script the app serves as it is written, with no build
 * step (`GET /admin/console.js`, loaded by the page with `<script defer src>`). It uses only what the browser
 * has; its JSDoc types name the server's view types (console.types.ts), and console.spec.ts type-checks it
 * against them with this folder's tsconfig.json.
 *
 * - The token lives in this tab's sessionStorage only (never in localStorage, a cookie or a URL) and goes
 *   out as `Authorization: Bearer` on each call.
 * - Every value from the server is put on the page as text (textContent, createTextNode, attribute
 *   values), never parsed as HTML; the page's Content-Security-Policy refuses inline scripts besides.
 * - Every action is a call to the admin API, which checks the scope and writes the audit log.
 *
 * @import { Account, Application, Delivery, Key, Payment, Refund, RefundResolution, Resolution, Run, Session } from './console.types'
 */
'use strict';

(() => {
  const TOKEN_KEY = 'payment-center.admin-token';
  const CHANNELS = ['wechat', 'alipay', 'unionpay'];
  const PAYMENT_STATUSES = ['NEEDS_REVIEW', 'PAYING', 'CLOSING', 'PAID', 'FAILED', 'CLOSED', 'CREATED'];
  const REFUND_STATUSES = ['NEEDS_REVIEW', 'REFUNDING', 'REFUND_FAILED', 'REFUNDED'];
  const DELIVERY_STATUSES = ['FAILED', 'PENDING', 'PUBLISHED'];
  /**
   * Why the money goes back. The automatic kinds are money the buyer paid that no order needs: nobody asked
   * for their refund, so the operator should see at once that it is not the merchant's.
   * @type {Record<Refund['kind'], { label: string; automatic: boolean; title: string }>}
   */
  const REFUND_KINDS = {
    REQUESTED: { label: 'merchant refund', automatic: false, title: 'Requested by the merchant through the API' },
    LATE_PAYMENT: {
      label: 'automatic: late payment',
      automatic: true,
      title: 'Made by the payment center: the buyer paid a trade after it was closed here',
    },
    DUPLICATE_PAYMENT: {
      label: 'automatic: duplicate payment',
      automatic: true,
      title: 'Made by the payment center: the buyer paid an order that was already paid',
    },
    REVERSAL: {
      label: 'automatic: reversed at the counter',
      automatic: true,
      title: "The vendor returned a barcode payment's money when the trade was reversed (no refund was sent)",
    },
  };

  class ApiError extends Error {
    /**
     * @param {number} status
     * @param {string} code
     * @param {string} message
     */
    constructor(status, code, message) {
      super(message);
      /** @readonly */
      this.status = status;
      /** @readonly */
      this.code = code;
    }
  }

  /** @type {Session | null} */
  let session = null;
  let reviewStatus = 'NEEDS_REVIEW';
  let refundStatus = 'NEEDS_REVIEW';
  let deliveryStatus = 'FAILED';
  let deliveryPartner = '';
  let accountChannel = '';

  // ── building the page: text only ──────────────────────────────────────────────────────────────────
  /** @typedef {Node | string | number | null | undefined | false} Child */

  /**
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string>} [attributes]
   * @param {...Child} children
   * @returns {HTMLElementTagNameMap[K]}
   */
  function h(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      element.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  /**
   * @template {HTMLElement} [T=HTMLElement]
   * @param {string} id
   * @returns {T}
   */
  function byId(id) {
    const element = document.getElementById(id);
    if (!element) throw new Error(`#${id} is missing from the page`);
    return /** @type {T} */ (element);
  }

  /** @returns {NodeListOf<HTMLButtonElement>} */
  const tabButtons = () => document.querySelectorAll('.tabs button');

  /** @type {(text: string, kind?: string) => HTMLSpanElement} */
  const badge = (text, kind = text) => h('span', { class: `badge ${kind}` }, text);

  /**
   * Integer fen as yuan, without floating point: 2500 → "¥25.00".
   * @param {number | null} fen
   * @returns {string}
   */
  function yuan(fen) {
    if (fen === null) return '—';
    const sign = fen < 0 ? '-' : '';
    const abs = Math.abs(fen);
    return `${sign}¥${Math.floor(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')}`;
  }

  /**
   * @param {string | null} iso
   * @returns {string}
   */
  function when(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString('sv-SE');
  }

  /**
   * @param {string[]} headings
   * @param {Child[][]} rows
   * @returns {HTMLElement}
   */
  function table(headings, rows) {
    if (rows.length === 0) return h('p', { class: 'muted' }, 'None.');
    return h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...headings.map((heading) => h('th', {}, heading)))),
      h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell) => h('td', { class: 'wrap' }, cell))))),
    );
  }

  /**
   * @param {string} message
   * @param {'ok' | 'bad' | 'info'} [kind]
   */
  function flash(message, kind = 'info') {
    const element = byId('flash');
    element.textContent = message;
    element.className = `flash ${kind}`;
    element.hidden = false;
  }

  /** @type {(error: unknown) => string} */
  const errorText = (error) =>
    error instanceof ApiError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? error.message
        : String(error);

  /** @type {(scope: string) => boolean} */
  const can = (scope) => session?.scopes.includes(scope) ?? false;

  // ── the admin API ─────────────────────────────────────────────────────────────────────────────────
  /**
   * @template T
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<T>}
   */
  async function api(method, path, body) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
    const text = await response.text();
    /** @type {unknown} */
    let data;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      const problem = /** @type {{ code?: string; message?: string }} */ (data ?? {});
      if (response.status === 401) showSignIn('The token was not accepted. Sign in again.');
      throw new ApiError(response.status, problem.code ?? `HTTP_${response.status}`, problem.message ?? text);
    }
    return /** @type {T} */ (data);
  }

  // ── signing in and out ────────────────────────────────────────────────────────────────────────────
  function showSignIn(message = '') {
    sessionStorage.removeItem(TOKEN_KEY);
    session = null;
    byId('app').hidden = true;
    byId('who').hidden = true;
    byId('sign-in').hidden = false;
    byId('sign-in-error').textContent = message;
    byId('token').focus();
  }

  /** @param {Session} signedIn */
  function showApp(signedIn) {
    session = signedIn;
    byId('sign-in').hidden = true;
    byId('app').hidden = false;
    byId('who').hidden = false;
    byId('who-name').textContent = signedIn.name;
    byId('who-name').title = signedIn.scopes.join(', ');
    byId('board-link').hidden = !can('queues:read');
    /** @type {Record<string, string>} */
    const tabs = {
      review: 'payments:read',
      refunds: 'payments:read',
      deliveries: 'deliveries:read',
      reconciliation: 'reconciliation:read',
      applications: 'applications:read',
      accounts: 'accounts:read',
    };
    /** @type {string | undefined} */
    let first;
    for (const button of tabButtons()) {
      const tab = button.dataset.tab ?? '';
      button.hidden = !can(tabs[tab]);
      if (!button.hidden) first ??= tab;
    }
    if (first) selectTab(first);
    else
      flash(
        'This token has none of the scopes the console shows (payments:read, deliveries:read, reconciliation:read, ' +
          'applications:read, accounts:read).',
        'bad',
      );
    if (can('payments:read') && first !== 'review') void loadReview().catch(() => undefined);
    if (can('payments:read') && first !== 'refunds') void loadRefunds().catch(() => undefined);
    if (can('deliveries:read') && first !== 'deliveries') void loadDeliveries().catch(() => undefined);
  }

  /** @param {string} token */
  async function signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      // POST: also sets the queue board's short-lived cookie when the token may read the board.
      showApp(await api('POST', '/api/admin/session'));
    } catch (error) {
      showSignIn(error instanceof ApiError && error.status === 401 ? 'Unknown token.' : errorText(error));
    }
  }

  async function signOut() {
    await api('DELETE', '/api/admin/session').catch(() => undefined); // ends the board cookie
    byId('flash').hidden = true;
    showSignIn('Signed out.');
  }

  /** @param {string} tab */
  function selectTab(tab) {
    for (const button of tabButtons()) {
      button.setAttribute('aria-selected', String(button.dataset.tab === tab));
    }
    for (const name of ['review', 'refunds', 'deliveries', 'reconciliation', 'applications', 'accounts']) {
      byId(`panel-${name}`).hidden = name !== tab;
    }
    /** @type {Record<string, (() => Promise<void>) | undefined>} */
    const loaders = {
      review: loadReview,
      refunds: loadRefunds,
      deliveries: loadDeliveries,
      reconciliation: loadReconciliation,
      applications: loadApplications,
      accounts: loadAccounts,
    };
    const load = loaders[tab];
    if (load) void load().catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad'));
  }

  // ── payments in review ────────────────────────────────────────────────────────────────────────────
  async function loadReview() {
    /** @type {Payment[]} */
    const payments = await api('GET', `/api/admin/payments?status=${encodeURIComponent(reviewStatus)}`);
    if (reviewStatus === 'NEEDS_REVIEW')
      byId('review-count').textContent = payments.length ? String(payments.length) : '';
    const status = h('select', { id: 'review-status' }, ...PAYMENT_STATUSES.map((s) => h('option', { value: s }, s)));
    status.value = reviewStatus;
    status.addEventListener('change', () => {
      reviewStatus = status.value;
      void loadReview().catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad'));
    });
    const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
    refresh.addEventListener(
      'click',
      () => void loadReview().catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad')),
    );
    byId('panel-review').replaceChildren(
      h('div', { class: 'toolbar' }, h('div', {}, h('label', { for: 'review-status' }, 'Status'), status), refresh),
      ...(payments.length
        ? payments.map(paymentCard)
        : [h('div', { class: 'card empty' }, `No payment is ${reviewStatus}.`)]),
    );
  }

  /**
   * @param {Payment} payment
   * @returns {HTMLElement}
   */
  function paymentCard(payment) {
    const card = h(
      'article',
      { class: 'card payment', 'data-payment-no': payment.paymentNo },
      h(
        'div',
        { class: 'payment-head' },
        h('h2', { class: 'mono' }, payment.paymentNo),
        badge(payment.channel, 'channel'),
        badge(payment.status),
        h('span', { class: 'amount' }, yuan(payment.amountFen)),
      ),
      h(
        'div',
        { class: 'facts' },
        h('span', {}, 'Order ', h('span', { class: 'mono' }, payment.orderNo)),
        payment.gatewayTradeNo && h('span', {}, 'Vendor trade ', h('span', { class: 'mono' }, payment.gatewayTradeNo)),
        payment.paidAmountFen !== null && h('span', {}, `Paid ${yuan(payment.paidAmountFen)}`),
        h('span', {}, `Created ${when(payment.createdAt)}`),
        h('span', {}, `Changed ${when(payment.updatedAt)}`),
        h('span', {}, `Expires ${when(payment.expiresAt)}`),
        h('span', {}, `Next query ${when(payment.nextQueryAt)}`),
      ),
      payment.statusReason &&
        h(
          'p',
          { class: 'reason' },
          h('strong', {}, payment.status === 'NEEDS_REVIEW' ? 'Why it needs review' : 'Status reason'),
          payment.statusReason,
        ),
      h(
        'details',
        {},
        h(
          'summary',
          {},
          `History (${payment.history.length}), gateway attempts (${payment.attempts.length}), refunds (${payment.refunds.length})`,
        ),
        h('h3', {}, 'History'),
        table(
          ['At', 'Event', 'From → to', 'Detail'],
          payment.history.map((t) => [when(t.at), t.event, `${t.from} → ${t.to}`, t.detail ?? '']),
        ),
        h('h3', {}, 'Gateway attempts'),
        table(
          ['At', 'Action', '#', 'Outcome', 'Detail'],
          payment.attempts.map((a) => [when(a.at), a.action, a.attempt, a.outcome, a.detail ?? '']),
        ),
        h('h3', {}, 'Refunds'),
        table(
          ['Refund', 'Kind', 'Amount', 'Status', 'Reason', 'Created'],
          payment.refunds.map((r) => [
            h('span', { class: 'mono' }, r.refundNo),
            r.kind,
            yuan(r.amountFen),
            badge(r.status),
            r.statusReason ?? '',
            when(r.createdAt),
          ]),
        ),
      ),
    );
    if (payment.status === 'NEEDS_REVIEW' && can('payments:resolve')) card.append(resolveForm(payment));
    return card;
  }

  /**
   * @param {Payment} payment
   * @returns {HTMLElement}
   */
  function resolveForm(payment) {
    const action = h(
      'select',
      { name: 'action', 'aria-label': 'Resolution' },
      h('option', { value: 'requery' }, 'Ask the gateway again'),
      h('option', { value: 'close' }, 'Close the trade at the gateway'),
    );
    const reason = h('textarea', {
      name: 'reason',
      required: '',
      minlength: '3',
      maxlength: '200',
      placeholder: 'Reason (required): the ticket, what the merchant console shows…',
      'aria-label': 'Reason',
    });
    const submit = h('button', { type: 'submit' }, 'Resolve');
    const form = h(
      'form',
      { class: 'resolve' },
      action,
      reason,
      submit,
      h(
        'p',
        { class: 'hint' },
        'Neither action takes your word for money: asking again applies only a definite vendor answer (a paid amount ' +
          'that differs stays in review); closing asks the vendor to close the trade, and a trade the buyer paid ' +
          'becomes PAID. Audited with your token name and the reason.',
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (reason.value.trim().length < 3) {
        flash('Give a reason (at least 3 characters) before resolving.', 'bad');
        reason.focus();
        return;
      }
      submit.disabled = true;
      /** @type {Promise<Resolution>} */
      const resolved = api('POST', `/api/admin/payments/${encodeURIComponent(payment.paymentNo)}/resolve`, {
        action: action.value,
        reason: reason.value.trim(),
      });
      resolved
        .then(async (result) => {
          flash(
            `${payment.paymentNo}: ${result.action} — gateway: ${result.gatewayAnswer} → ${result.status}` +
              (result.changed ? '' : ' (still in review)'),
            result.changed ? 'ok' : 'info',
          );
          await loadReview();
        })
        .catch((/** @type {unknown} */ error) => {
          flash(`${payment.paymentNo}: ${errorText(error)}`, 'bad');
          submit.disabled = false;
        });
    });
    return form;
  }

  // ── refunds in review ─────────────────────────────────────────────────────────────────────────────
  async function loadRefunds() {
    /** @type {Refund[]} */
    const refunds = await api('GET', `/api/admin/refunds?status=${encodeURIComponent(refundStatus)}`);
    if (refundStatus === 'NEEDS_REVIEW')
      byId('refunds-count').textContent = refunds.length ? String(refunds.length) : '';
    const status = h('select', { id: 'refund-status' }, ...REFUND_STATUSES.map((s) => h('option', { value: s }, s)));
    status.value = refundStatus;
    status.addEventListener('change', () => {
      refundStatus = status.value;
      void loadRefunds().catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad'));
    });
    const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
    refresh.addEventListener(
      'click',
      () => void loadRefunds().catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad')),
    );
    byId('panel-refunds').replaceChildren(
      h('div', { class: 'toolbar' }, h('div', {}, h('label', { for: 'refund-status' }, 'Status'), status), refresh),
      ...(refunds.length
        ? refunds.map(refundCard)
        : [h('div', { class: 'card empty' }, `No refund is ${refundStatus}.`)]),
    );
  }

  /** How many of a refund's gateway calls the card shows without opening it: what the vendor said last. */
  const LAST_ANSWERS = 3;

  /**
   * @param {Refund} refund
   * @returns {HTMLElement}
   */
  function refundCard(refund) {
    const kind = REFUND_KINDS[refund.kind];
    /** @type {(attempts: Refund['attempts']) => HTMLElement} */
    const calls = (attempts) =>
      table(
        ['At', 'Call', '#', 'Outcome', 'Answer'],
        attempts.map((a) => [when(a.at), a.action, a.attempt, a.outcome, a.detail ?? '']),
      );
    const card = h(
      'article',
      { class: 'card refund', 'data-refund-no': refund.refundNo },
      h(
        'div',
        { class: 'payment-head' },
        h('h2', { class: 'mono' }, refund.refundNo),
        badge(refund.channel, 'channel'),
        h('span', { class: kind.automatic ? 'badge kind automatic' : 'badge kind', title: kind.title }, kind.label),
        badge(refund.status),
        h('span', { class: 'amount' }, yuan(refund.amountFen)),
      ),
      h(
        'div',
        { class: 'facts' },
        h('span', {}, 'Payment ', h('span', { class: 'mono' }, refund.paymentNo)),
        h('span', {}, 'Order ', h('span', { class: 'mono' }, refund.orderNo)),
        h('span', {}, 'Account ', h('span', { class: 'mono' }, refund.accountId)),
        refund.gatewayRefundNo && h('span', {}, 'Vendor refund ', h('span', { class: 'mono' }, refund.gatewayRefundNo)),
        h('span', {}, `Refund reason: ${refund.reason}`),
        h('span', {}, `Created ${when(refund.createdAt)}`),
        h('span', {}, `Queries ${refund.queryAttempts}`),
        h('span', {}, `Next query ${when(refund.nextQueryAt)}`),
        refund.refundedAt && h('span', {}, `Refunded ${when(refund.refundedAt)}`),
      ),
      kind.automatic &&
        h(
          'p',
          { class: 'muted automatic-note' },
          `${kind.title}. No merchant asked for this refund; until it goes through, the buyer's money stays ` +
            'with the merchant.',
        ),
      refund.statusReason &&
        h(
          'p',
          { class: 'reason' },
          h('strong', {}, refund.status === 'NEEDS_REVIEW' ? 'Why it needs review' : 'Status reason'),
          refund.statusReason,
        ),
      h('h3', {}, "The vendor's last answers"),
      h('div', { class: 'answers' }, calls(refund.attempts.slice(-LAST_ANSWERS).reverse())),
      refund.attempts.length > LAST_ANSWERS &&
        h(
          'details',
          {},
          h('summary', {}, `All gateway calls (${refund.attempts.length}), oldest first`),
          calls(refund.attempts),
        ),
    );
    if (refund.status === 'NEEDS_REVIEW' && can('payments:resolve')) card.append(refundResolveForm(refund));
    return card;
  }

  /**
   * @param {Refund} refund
   * @returns {HTMLElement}
   */
  function refundResolveForm(refund) {
    const action = h(
      'select',
      { name: 'action', 'aria-label': 'Resolution' },
      h('option', { value: 'requery' }, 'Ask the vendor again'),
      h('option', { value: 'succeeded' }, 'Mark as refunded'),
      h('option', { value: 'retry' }, 'Send it again'),
    );
    // The vendor's refund id is the evidence of a refund marked done; only that resolution sends one. Disabled
    // while hidden, so the browser does not require it for the other two.
    const gatewayRefundNo = h('input', {
      name: 'gatewayRefundNo',
      maxlength: '64',
      spellcheck: 'false',
      autocomplete: 'off',
      placeholder: 'Vendor refund id',
      title: 'The refund id the vendor shows: WeChat refund_id, UnionPay queryId…',
      'aria-label': 'Vendor refund id',
    });
    const showRefundNo = () => {
      const needed = action.value === 'succeeded';
      gatewayRefundNo.hidden = !needed;
      gatewayRefundNo.disabled = !needed;
      gatewayRefundNo.required = needed;
    };
    showRefundNo();
    action.addEventListener('change', showRefundNo);
    const reason = h('textarea', {
      name: 'reason',
      required: '',
      minlength: '3',
      maxlength: '200',
      placeholder: 'Reason (required): the ticket, what the merchant console shows…',
      'aria-label': 'Reason',
    });
    const submit = h('button', { type: 'submit' }, 'Resolve');
    const form = h(
      'form',
      { class: 'resolve' },
      h('div', { class: 'stack' }, action, gatewayRefundNo),
      reason,
      submit,
      h(
        'p',
        { class: 'hint' },
        'Asking again applies only a definite vendor answer (a refusal fails a merchant refund; an automatic one ' +
          'stays in review). Mark it refunded only when the vendor shows the refund done (merchant console, bill): ' +
          'its refund id is kept as the evidence. Sending again reuses the refund number, so the vendor refunds ' +
          'once at most; fix the cause first (balance, the buyer’s account). Audited with your token name and ' +
          'the reason.',
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (reason.value.trim().length < 3) {
        flash('Give a reason (at least 3 characters) before resolving.', 'bad');
        reason.focus();
        return;
      }
      const succeeded = action.value === 'succeeded';
      const vendorRefundNo = gatewayRefundNo.value.trim();
      if (succeeded && !/^[A-Za-z0-9_-]{1,64}$/.test(vendorRefundNo)) {
        flash('Give the vendor refund id (1-64 letters, digits, _ -) before marking it refunded.', 'bad');
        gatewayRefundNo.focus();
        return;
      }
      submit.disabled = true;
      /** @type {Promise<RefundResolution>} */
      const resolved = api('POST', `/api/admin/refunds/${encodeURIComponent(refund.refundNo)}/resolve`, {
        action: action.value,
        reason: reason.value.trim(),
        ...(succeeded ? { gatewayRefundNo: vendorRefundNo } : {}),
      });
      resolved
        .then(async (result) => {
          flash(
            `${refund.refundNo}: ${result.action} — ${result.gatewayAnswer} → ${result.status}` +
              (result.changed ? '' : ' (still in review)'),
            result.changed ? 'ok' : 'info',
          );
          await loadRefunds();
        })
        .catch((/** @type {unknown} */ error) => {
          flash(`${refund.refundNo}: ${errorText(error)}`, 'bad');
          submit.disabled = false;
        });
    });
    return form;
  }

  // ── deliveries ────────────────────────────────────────────────────────────────────────────────────
  function deliveryQuery() {
    const query = new URLSearchParams({ status: deliveryStatus, limit: '200' });
    if (deliveryPartner) query.set('partner', deliveryPartner);
    return query.toString();
  }

  async function loadDeliveries() {
    /** @type {Delivery[]} */
    const deliveries = await api('GET', `/api/admin/deliveries?${deliveryQuery()}`);
    if (deliveryStatus === 'FAILED' && !deliveryPartner) {
      byId('deliveries-count').textContent = deliveries.length ? String(deliveries.length) : '';
    }
    const status = h(
      'select',
      { id: 'delivery-status' },
      ...DELIVERY_STATUSES.map((s) => h('option', { value: s }, s)),
    );
    status.value = deliveryStatus;
    const partner = h('input', { id: 'delivery-partner', placeholder: 'any partner', value: deliveryPartner });
    const apply = h('button', { type: 'submit', class: 'secondary' }, 'Show');
    const filter = h(
      'form',
      { class: 'toolbar' },
      h('div', {}, h('label', { for: 'delivery-status' }, 'Status'), status),
      h('div', {}, h('label', { for: 'delivery-partner' }, 'Partner'), partner),
      apply,
    );
    filter.addEventListener('submit', (event) => {
      event.preventDefault();
      deliveryStatus = status.value;
      deliveryPartner = partner.value.trim();
      void loadDeliveries().catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad'));
    });
    if (deliveryStatus === 'FAILED' && can('deliveries:retry')) filter.append(bulkRetry());
    byId('panel-deliveries').replaceChildren(
      filter,
      deliveries.length
        ? h(
            'div',
            { class: 'card' },
            h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ...['Id', 'Event', 'Partner', 'Status', 'Attempts', 'Last error', 'Created', ''].map((t) =>
                    h('th', {}, t),
                  ),
                ),
              ),
              h('tbody', {}, ...deliveries.map(deliveryRow)),
            ),
          )
        : h(
            'div',
            { class: 'card empty' },
            `No ${deliveryStatus} delivery${deliveryPartner ? ` to ${deliveryPartner}` : ''}.`,
          ),
    );
  }

  /**
   * @param {Delivery} delivery
   * @returns {HTMLElement}
   */
  function deliveryRow(delivery) {
    const row = h(
      'tr',
      { 'data-delivery-id': delivery.id },
      h('td', { class: 'mono' }, delivery.id),
      h('td', {}, delivery.eventType, h('div', { class: 'mono muted' }, delivery.eventId)),
      h('td', {}, delivery.partner),
      h('td', {}, badge(delivery.status)),
      h('td', {}, delivery.attempts),
      h('td', { class: 'wrap' }, delivery.lastError ?? ''),
      h('td', {}, when(delivery.createdAt)),
      h('td', {}),
    );
    if (delivery.status === 'FAILED' && can('deliveries:retry')) {
      const retry = h('button', { type: 'button' }, 'Retry');
      retry.addEventListener('click', () => {
        retry.disabled = true;
        /** @type {Promise<Delivery>} */
        const retried = api('POST', `/api/admin/deliveries/${encodeURIComponent(delivery.id)}/retry`);
        retried
          .then((after) => {
            row.replaceWith(deliveryRow(after));
            flash(
              `Delivery ${after.id} (${after.eventType} to ${after.partner}): ${after.status}`,
              after.status === 'PUBLISHED' ? 'ok' : 'bad',
            );
          })
          .catch((/** @type {unknown} */ error) => {
            flash(`Delivery ${delivery.id}: ${errorText(error)}`, 'bad');
            retry.disabled = false;
          });
      });
      row.lastElementChild?.append(retry);
    }
    return row;
  }

  /**
   * Bulk retry in two steps: count first (a dry run, audited too), then retry that many.
   * @returns {HTMLElement}
   */
  function bulkRetry() {
    const box = h('div', { class: 'bulk' });
    const count = h('button', { type: 'button', class: 'secondary' }, 'Retry all failed…');
    box.append(count);
    const filter = () => (deliveryPartner ? { partner: deliveryPartner } : {});
    count.addEventListener('click', () => {
      count.disabled = true;
      /** @type {Promise<{ matched: number }>} */
      const counted = api('POST', '/api/admin/deliveries/retry', { ...filter(), dryRun: true });
      counted
        .then(({ matched }) => {
          const target = deliveryPartner ? ` to ${deliveryPartner}` : '';
          if (matched === 0) {
            box.replaceChildren(h('span', { class: 'muted' }, `No failed delivery${target} to retry.`));
            return;
          }
          const confirm = h('button', { type: 'button', class: 'danger' }, `Retry ${matched}`);
          const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
          box.replaceChildren(
            h(
              'span',
              { class: 'bulk-count' },
              `${matched} failed deliver${matched === 1 ? 'y' : 'ies'}${target} will be sent again. `,
            ),
            confirm,
            ' ',
            cancel,
          );
          cancel.addEventListener('click', () => box.replaceChildren(bulkRetry()));
          confirm.addEventListener('click', () => {
            confirm.disabled = true;
            /** @type {Promise<{ matched: number; retried: number }>} */
            const retried = api('POST', '/api/admin/deliveries/retry', filter());
            retried
              .then(async (result) => {
                flash(
                  `Retried ${result.retried} of ${result.matched} failed deliveries.`,
                  result.retried ? 'ok' : 'bad',
                );
                await loadDeliveries();
              })
              .catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad'));
          });
        })
        .catch((/** @type {unknown} */ error) => {
          flash(errorText(error), 'bad');
          count.disabled = false;
        });
    });
    return box;
  }

  // ── reconciliation ───────────────────────────────────────────────────────────────────────────────
  async function loadReconciliation() {
    const latest = await Promise.all(
      CHANNELS.map(async (channel) => {
        /** @type {Run[]} */
        const runs = await api('GET', `/api/admin/reconciliations?channel=${channel}&limit=1`);
        return { channel, run: runs[0] };
      }),
    );
    const details = h('div', { id: 'reconciliation-details' });
    byId('panel-reconciliation').replaceChildren(
      h('p', { class: 'muted' }, "The last statement reconciliation of each channel (the vendor's bill against ours)."),
      h('div', { class: 'grid3' }, ...latest.map(({ channel, run }) => runCard(channel, run, details))),
      details,
    );
  }

  /**
   * @param {string} channel
   * @param {Run | undefined} run
   * @param {HTMLElement} details
   * @returns {HTMLElement}
   */
  function runCard(channel, run, details) {
    if (!run) return h('div', { class: 'card' }, h('h2', {}, channel), h('p', { class: 'muted' }, 'No run yet.'));
    /** @type {(label: string, value: Child) => HTMLElement} */
    const stat = (label, value) =>
      h('div', { class: 'stat' }, h('span', { class: 'muted' }, label), h('span', {}, value));
    const card = h(
      'div',
      { class: 'card', 'data-channel': channel },
      h('div', { class: 'payment-head' }, h('h2', {}, channel), badge(run.status)),
      stat('Bill date', run.billDate),
      stat('Statement lines', run.statementLines),
      stat('Differences', run.differences),
      stat('Resolved', run.resolved),
      stat('Need review', run.review),
      stat('Run by', run.triggeredBy),
      stat('Finished', when(run.finishedAt)),
      run.error && h('p', { class: 'error' }, run.error),
    );
    if (run.differences > 0) {
      const show = h('button', { type: 'button', class: 'secondary' }, 'Differences');
      show.addEventListener('click', () => {
        /** @type {Promise<Run>} */
        const loaded = api('GET', `/api/admin/reconciliations/${encodeURIComponent(run.id)}`);
        loaded
          .then((full) =>
            details.replaceChildren(
              h(
                'div',
                { class: 'card' },
                h('h2', {}, `${full.channel} ${full.billDate}: differences`),
                table(
                  ['Kind', 'Payment', 'Refund', 'Ours', 'Theirs', 'Resolution', 'Detail'],
                  (full.items ?? []).map((item) => [
                    item.kind,
                    h('span', { class: 'mono' }, item.paymentNo),
                    item.refundNo ?? '',
                    yuan(item.oursFen),
                    yuan(item.theirsFen),
                    badge(item.resolution),
                    item.detail ?? '',
                  ]),
                ),
              ),
            ),
          )
          .catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad'));
      });
      card.append(h('p', {}, show));
    }
    return card;
  }

  // ── applications and their API keys ───────────────────────────────────────────────────────────────
  async function loadApplications() {
    /** @type {Application[]} */
    const applications = await api('GET', '/api/admin/applications');
    const panel = byId('panel-applications');
    /** @type {Child[]} */
    const children = [
      h('p', { class: 'muted' }, 'Business callers of the orders, payments and refunds API, and their keys.'),
    ];
    if (can('applications:write')) {
      const name = h('input', { id: 'new-application-name', required: '', maxlength: '64', placeholder: 'Name' });
      const form = h(
        'form',
        { id: 'new-application', class: 'inline' },
        name,
        h('button', { type: 'submit' }, 'Create'),
      );
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        /** @type {Promise<Application>} */
        const created = api('POST', '/api/admin/applications', { name: name.value.trim() });
        created
          .then((application) => {
            flash(`Application ${application.id} created; add a key to let it call the API.`, 'ok');
            return loadApplications();
          })
          .catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad'));
      });
      children.push(form);
    }
    children.push(...applications.map(applicationCard));
    panel.replaceChildren(
      ...children.filter(/** @returns {c is Node | string} */ (c) => c !== null && c !== undefined && c !== false),
    );
  }

  /**
   * @param {Application} application
   * @returns {HTMLElement}
   */
  function applicationCard(application) {
    const writable = can('applications:write');
    const path = `/api/admin/applications/${encodeURIComponent(application.id)}`;
    /** @type {(button: HTMLButtonElement, run: () => Promise<unknown>, done: string) => void} */
    const act = (button, run, done) =>
      button.addEventListener('click', () => {
        button.disabled = true;
        run()
          .then(() => flash(done, 'ok'))
          .then(() => loadApplications())
          .catch((/** @type {unknown} */ error) => {
            button.disabled = false;
            flash(errorText(error), 'bad');
          });
      });
    /** @type {(key: Key) => Child[]} */
    const keyRow = (key) => {
      const revoke = h('button', { type: 'button', class: 'secondary' }, 'Revoke');
      act(
        revoke,
        () => api('POST', `${path}/keys/${encodeURIComponent(key.keyId)}/revoke`, {}),
        `${key.keyId} revoked.`,
      );
      return [
        h('span', { class: 'mono' }, key.keyId),
        key.name,
        key.scopes.join(' '),
        when(key.expiresAt),
        when(key.lastUsedAt),
        key.revokedAt ? badge(`revoked ${when(key.revokedAt)}`, 'FAILED') : writable && revoke,
      ];
    };
    const card = h(
      'div',
      { class: 'card', 'data-application': application.id },
      h('div', { class: 'payment-head' }, h('h2', {}, application.name), badge(application.status)),
      h('p', { class: 'mono muted' }, application.id),
      table(['Key', 'Name', 'Scopes', 'Expires', 'Last used', ''], application.keys.map(keyRow)),
    );
    if (writable) {
      const newKey = h('button', { type: 'button' }, 'New key');
      newKey.addEventListener('click', () => {
        newKey.disabled = true;
        /** @type {Promise<{ key: Key; secret: string }>} */
        const minted = api('POST', `${path}/keys`, {});
        minted
          .then(async (created) => {
            await loadApplications();
            // The secret is shown this once, as text in a read-only field the operator copies from.
            const secret = h('input', { class: 'mono', readonly: '', value: created.secret, size: '90' });
            byId('panel-applications').prepend(
              h(
                'div',
                { class: 'card', id: 'new-key' },
                h('p', {}, `Secret of ${created.key.keyId}, shown once:`),
                secret,
              ),
            );
            secret.select();
          })
          .catch((/** @type {unknown} */ error) => {
            newKey.disabled = false;
            flash(errorText(error), 'bad');
          });
      });
      const next = application.status === 'ACTIVE' ? 'DISABLED' : 'ACTIVE';
      const toggle = h('button', { type: 'button', class: 'secondary' }, next === 'DISABLED' ? 'Disable' : 'Enable');
      act(toggle, () => api('POST', `${path}/status`, { status: next }), `${application.name}: ${next}.`);
      card.append(h('p', {}, newKey, ' ', toggle));
    }
    return card;
  }

  // ── channel accounts ──────────────────────────────────────────────────────────────────────────────
  // The API never returns a secret, only the names of the secret fields an account holds; a rotation's
  // secrets go out from the form and are never shown back (the card is redrawn from the API's answer).
  async function loadAccounts() {
    const query = accountChannel ? `?channel=${encodeURIComponent(accountChannel)}` : '';
    /** @type {Account[]} */
    const accounts = await api('GET', `/api/admin/accounts${query}`);
    const channel = h(
      'select',
      { id: 'account-channel' },
      h('option', { value: '' }, 'any'),
      ...CHANNELS.map((c) => h('option', { value: c }, c)),
    );
    channel.value = accountChannel;
    channel.addEventListener('change', () => {
      accountChannel = channel.value;
      void loadAccounts().catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad'));
    });
    byId('panel-accounts').replaceChildren(
      h(
        'p',
        { class: 'muted' },
        'Merchant accounts at the vendors besides the environment’s default one. Created and rotated through ' +
          'the admin API; their secrets are sealed and never shown. Every change is audited.',
      ),
      h('div', { class: 'toolbar' }, h('div', {}, h('label', { for: 'account-channel' }, 'Channel'), channel)),
      ...(accounts.length
        ? accounts.map(accountCard)
        : [h('div', { class: 'card empty' }, `No channel account${accountChannel ? ` on ${accountChannel}` : ''}.`)]),
    );
  }

  /**
   * @param {Account} account
   * @returns {HTMLElement}
   */
  function accountCard(account) {
    const card = h(
      'article',
      { class: 'card account', 'data-account-id': account.id },
      h(
        'div',
        { class: 'payment-head' },
        h('h2', {}, account.name),
        badge(account.channel, 'channel'),
        badge(account.status),
        h('span', { class: 'muted' }, account.kind.replaceAll('_', ' ')),
      ),
      h('p', { class: 'mono muted' }, account.id),
      account.statusReason &&
        h(
          'p',
          { class: 'reason' },
          h('strong', {}, account.status === 'DISABLED' ? 'Why it is disabled' : 'Status reason'),
          account.statusReason,
        ),
      h(
        'div',
        { class: 'facts' },
        h('span', {}, 'Notify URL ', h('span', { class: 'mono notify-url' }, account.notifyUrl)),
        h(
          'span',
          {},
          'Secret fields ',
          h('span', { class: 'mono secret-fields' }, account.secretFields.join(', ') || '—'),
        ),
        h('span', {}, 'KEK ', h('span', { class: 'mono' }, account.kekId)),
        h('span', {}, `Version ${account.version}`),
        h('span', {}, `Created ${when(account.createdAt)}`),
        h('span', {}, `Updated ${when(account.updatedAt)}`),
      ),
    );
    if (can('accounts:write')) card.append(statusForm(account, card), rotateForm(account, card));
    return card;
  }

  /**
   * Disable (a reason is required: applications are told it with CHANNEL_UNAVAILABLE) or enable.
   * @param {Account} account
   * @param {HTMLElement} card
   * @returns {HTMLElement}
   */
  function statusForm(account, card) {
    const disabling = account.status === 'ACTIVE';
    const reason = h('input', {
      name: 'reason',
      maxlength: '255',
      placeholder: 'Reason (required): shown to applications',
      'aria-label': 'Reason',
    });
    const submit = h('button', { type: 'submit', class: disabling ? 'danger' : '' }, disabling ? 'Disable' : 'Enable');
    const form = h('form', { class: 'account-actions' }, disabling && reason, submit);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const why = reason.value.trim();
      if (disabling && why.length === 0) {
        flash(`${account.id}: give a reason before disabling.`, 'bad');
        reason.focus();
        return;
      }
      submit.disabled = true;
      /** @type {Promise<Account>} */
      const changed = api('POST', `/api/admin/accounts/${encodeURIComponent(account.id)}/status`, {
        status: disabling ? 'DISABLED' : 'ACTIVE',
        ...(disabling ? { reason: why } : {}),
      });
      changed
        .then((after) => {
          card.replaceWith(accountCard(after));
          flash(`${after.id}: ${after.status}${after.statusReason ? ` (${after.statusReason})` : ''}.`, 'ok');
        })
        .catch((/** @type {unknown} */ error) => {
          flash(`${account.id}: ${errorText(error)}`, 'bad');
          submit.disabled = false;
        });
    });
    return form;
  }

  /**
   * New keys as JSON the operator pastes: `{ "settings": {…}, "secrets": {…} }`. Only the fields given change.
   * @param {Account} account
   * @param {HTMLElement} card
   * @returns {HTMLElement}
   */
  function rotateForm(account, card) {
    const material = h('textarea', {
      name: 'material',
      required: '',
      spellcheck: 'false',
      autocomplete: 'off',
      placeholder: '{ "settings": { … }, "secrets": { … } }',
      'aria-label': 'New settings and secrets (JSON)',
    });
    const submit = h('button', { type: 'submit' }, 'Rotate');
    const form = h(
      'form',
      { class: 'rotate' },
      h(
        'p',
        { class: 'muted' },
        `Fields given replace the stored ones (settings.platformKeys is replaced whole: keep the old key beside ` +
          `the new one for the overlap). Secrets are sealed and never shown again. This account holds: ` +
          `${account.secretFields.join(', ') || 'no secret'}.`,
      ),
      material,
      submit,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      /** @type {unknown} */
      let body;
      try {
        body = JSON.parse(material.value);
      } catch {
        body = undefined;
      }
      const keys = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : [];
      if (keys.length === 0 || keys.some((key) => key !== 'settings' && key !== 'secrets')) {
        // Never echo what was pasted: it may hold a secret.
        flash(`${account.id}: paste a JSON object with "settings" and/or "secrets".`, 'bad');
        return;
      }
      submit.disabled = true;
      /** @type {Promise<Account>} */
      const rotated = api('POST', `/api/admin/accounts/${encodeURIComponent(account.id)}/rotate`, body);
      rotated
        .then((after) => {
          material.value = '';
          card.replaceWith(accountCard(after));
          flash(`${after.id}: keys rotated (version ${after.version}).`, 'ok');
        })
        .catch((/** @type {unknown} */ error) => {
          flash(`${account.id}: ${errorText(error)}`, 'bad');
          submit.disabled = false;
        });
    });
    return h('details', {}, h('summary', {}, 'Rotate keys'), form);
  }

  // ── start ─────────────────────────────────────────────────────────────────────────────────────────
  byId('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    /** @type {HTMLInputElement} */
    const input = byId('token');
    const token = input.value.trim();
    input.value = '';
    if (token) void signIn(token);
  });
  byId('sign-out').addEventListener('click', () => void signOut());
  byId('board-link').addEventListener('click', (event) => {
    event.preventDefault();
    // A fresh board cookie (15 minutes), then the board in this tab; it links back here.
    api('POST', '/api/admin/session')
      .then(() => window.location.assign('/admin/queues/'))
      .catch((/** @type {unknown} */ error) => flash(errorText(error), 'bad'));
  });
  for (const button of tabButtons()) {
    button.addEventListener('click', () => selectTab(button.dataset.tab ?? 'review'));
  }
  if (sessionStorage.getItem(TOKEN_KEY)) {
    /** @type {Promise<Session>} */
    const current = api('GET', '/api/admin/session');
    current.then(showApp, () => showSignIn());
  } else {
    showSignIn();
  }
})();
