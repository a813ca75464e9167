// dub-mock's dashboard: plain JavaScript, no framework, no build step, no request but to this mock.
//
// Data comes from the admin API (/__mock/requests, /__mock/state, /__mock/webhooks...) and stays
// fresh through /__mock/events, a Server-Sent Events stream: `request` events add to the list,
// `state` and `delivery` events make the page re-read what changed. Polling is only the fallback
// for when the stream is refused. Every text is set with textContent, never parsed as HTML.

const ADMIN_TOKEN_REQUIRED =
  document.querySelector('meta[name="dub-mock-admin-token"]')?.content === "required";
const TOKEN_KEY = "dub-mock-admin-token";
const MAX_REQUESTS = 1000; // the journal's own size
const MAX_ROWS = 200; // per state table: the newest
const POLL_MS = 2000;
const STREAM_RETRY_MS = 15000;
// mockserver/fx.py ZERO_DECIMAL_CURRENCIES (tests/dashboard keeps the two lists equal)
const ZERO_DECIMAL = new Set([
  "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
  "XAF", "XOF", "XPF",
]);

const page = {
  token: ADMIN_TOKEN_REQUIRED ? sessionStorage.getItem(TOKEN_KEY) || "" : "",
  requests: [], // journal entries, oldest first
  seen: new Set(), // their keys, so a re-read and the stream never show one twice
  expanded: new Set(),
  snapshot: null,
  fxRates: {},
  webhooks: { endpoints: [], events: [], deliveries: [] },
  source: null,
  view: "requests",
  pollTimer: 0,
  retryTimer: 0,
};

// ---------------------------------------------------------------------------- small helpers

const $ = (selector) => document.querySelector(selector);

/** An element: h("td", {class: "num", testid: "x"}, "text", child, ...). */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "testid") node.dataset.testid = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function clock(value) {
  if (value === null || value === undefined) return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleTimeString([], { hour12: false }) + "." + String(date.getMilliseconds()).padStart(3, "0");
}

/** An amount in a currency's smallest unit (cents; yen for zero-decimal ones), formatted. */
function money(amount, currency) {
  const code = String(currency || "usd").toUpperCase();
  const digits = ZERO_DECIMAL.has(code) ? 0 : 2;
  const value = Number(amount) / 10 ** digits;
  try {
    return new Intl.NumberFormat("en-US", {
      style: "currency", currency: code, minimumFractionDigits: digits, maximumFractionDigits: digits,
    }).format(value);
  } catch {
    return `${value.toFixed(digits)} ${code}`;
  }
}

/** A sale's amount as it was sent and, when that was not US dollars, as recorded in USD. */
function saleAmount(sale) {
  const original = String(sale.originalCurrency || sale.currency || "usd").toLowerCase();
  const usd = money(sale.amount, "usd");
  if (original === "usd") return usd;
  return `${money(sale.originalAmount, original)} ${original.toUpperCase()} → ${usd}`;
}

/** As the admin API redacts tokens: enough to recognise, never enough to use. */
function redact(secret) {
  const text = String(secret ?? "");
  return text.length > 8 ? `${text.slice(0, 4)}…${text.slice(-2)}` : "…";
}

function pretty(value) {
  if (value === null || value === undefined || value === "") return "(empty)";
  if (typeof value === "string") {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch { return value; }
  }
  return JSON.stringify(value, null, 2);
}

function shellQuote(text) {
  return "'" + String(text).replaceAll("'", "'\\''") + "'";
}

/** Runs `task` after `trigger()`s, never two at once, spaced by at least `gap` ms (or `slack`
 *  times its own last duration, so that re-reading a big state cannot take over the mock). */
function coalesced(task, gap, slack = 4) {
  let running = false, again = false, last = 0, timer = 0, cost = 0;
  const run = async () => {
    timer = 0;
    running = true; again = false;
    const started = performance.now();
    try { await task(); } catch (error) { report(error); }
    cost = performance.now() - started;
    last = performance.now(); running = false;
    if (again) trigger();
  };
  const trigger = () => {
    if (running) { again = true; return; }
    if (timer) return;
    const wait = Math.max(0, Math.max(gap, slack * cost) - (performance.now() - last));
    timer = setTimeout(run, wait);
  };
  return trigger;
}

// ---------------------------------------------------------------------------- the admin API

class AdminError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** One call to this mock's admin API, with the admin token when there is one. */
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (page.token) headers.Authorization = `Bearer ${page.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) {
    const message = data?.error?.message || `${response.status} ${response.statusText}`;
    if (response.status === 401 && ADMIN_TOKEN_REQUIRED) showGate("The admin token was refused.");
    throw new AdminError(response.status, message);
  }
  return data;
}

function report(error) {
  if (error instanceof AdminError && error.status === 401) return; // the gate shows it
  const status = $('[data-testid="live-status"]');
  status.title = String(error?.message || error);
}

// ---------------------------------------------------------------------------- live stream

function setLive(state, text = state) {
  const status = $('[data-testid="live-status"]');
  status.dataset.state = state;
  status.textContent = text;
}

function connect() {
  clearTimeout(page.retryTimer);
  page.source?.close();
  const query = page.token ? `?token=${encodeURIComponent(page.token)}` : "";
  const source = new EventSource(`/__mock/events${query}`);
  page.source = source;
  setLive("connecting");
  source.addEventListener("open", () => {
    setLive("live");
    stopPolling();
    resync();
  });
  source.addEventListener("error", () => {
    if (page.source !== source) return;
    if (source.readyState === EventSource.CONNECTING) {
      setLive("reconnecting"); // the browser retries by itself
      return;
    }
    source.close(); // refused (too many streams, a wrong token...): poll, try again later
    setLive("offline", "offline · polling");
    startPolling();
    page.retryTimer = setTimeout(connect, STREAM_RETRY_MS);
  });
  source.addEventListener("request", (event) => {
    const entry = JSON.parse(event.data);
    arriving?.push(entry);
    addRequests([entry]);
  });
  source.addEventListener("state", (event) => {
    const change = JSON.parse(event.data).change || "";
    if (change.endsWith("/__mock/reset")) {
      clearRequests();
      renderRequests();
      resync();
    }
    else refreshState();
  });
  source.addEventListener("delivery", () => refreshWebhooks());
  source.addEventListener("dropped", () => refreshRequests()); // too fast to follow: re-read
}

function startPolling() {
  if (page.pollTimer) return;
  page.pollTimer = setInterval(() => {
    refreshRequests(); // what is on screen only, as the stream's events would
    refreshState();
    refreshWebhooks();
  }, POLL_MS);
  resync();
}

function stopPolling() {
  clearInterval(page.pollTimer);
  page.pollTimer = 0;
}

/** Everything again, shown or not (on connecting, and when polling starts). */
function resync() {
  refreshRequests.now();
  refreshState.now();
  refreshWebhooks.now();
}

const whenShownHooks = [];

/** A refresh that runs only while one of `views` is on screen; otherwise it waits, marked as
 *  due, until that view is shown (a hidden table under load costs the mock nothing). */
function whenShown(views, refresh) {
  let due = false;
  const trigger = () => {
    if (document.hidden || !views.includes(page.view)) {
      due = true;
      return;
    }
    due = false;
    refresh();
  };
  trigger.now = () => {
    due = false;
    refresh();
  };
  whenShownHooks.push(() => { if (due) trigger(); });
  return trigger;
}

document.addEventListener("visibilitychange", () => whenShownHooks.forEach((hook) => hook()));

// ---------------------------------------------------------------------------- requests

const requestKey = (entry) =>
  `${entry.time}|${entry.method}|${entry.path}|${entry.status}|${entry.durationMs}`;

let arriving = null; // what the stream brings while the journal is being read

const refreshRequests = whenShown(["requests"], coalesced(async () => {
  arriving = [];
  try {
    const entries = await api("GET", "/__mock/requests");
    const known = new Set(entries.map(requestKey));
    const later = arriving.filter((entry) => !known.has(requestKey(entry)));
    clearRequests();
    addRequests([...entries, ...later], { render: false });
    renderRequests();
  } finally {
    arriving = null;
  }
}, 1000));

function clearRequests() {
  page.requests = [];
  page.seen = new Set();
}

let pendingRows = [];
let rowsTimer = 0;

function addRequests(entries, { render = true } = {}) {
  const fresh = [];
  for (const entry of entries) {
    const key = requestKey(entry);
    if (page.seen.has(key)) continue;
    page.seen.add(key);
    page.requests.push(entry);
    fresh.push(entry);
  }
  if (page.requests.length > MAX_REQUESTS) {
    for (const old of page.requests.splice(0, page.requests.length - MAX_REQUESTS)) {
      page.seen.delete(requestKey(old));
    }
  }
  if (!render || fresh.length === 0) return;
  pendingRows.push(...fresh);
  if (!rowsTimer) rowsTimer = setTimeout(flushRows, 30); // one DOM update per burst
}

function flushRows() {
  rowsTimer = 0;
  const fresh = pendingRows;
  pendingRows = [];
  const body = $("#requests-body");
  const current = filters();
  for (const entry of fresh) { // oldest first, each on top: the newest ends up first
    if (!matches(entry, current)) continue;
    for (const node of requestRows(entry).reverse()) body.insertBefore(node, body.firstChild);
  }
  trimRows(body);
  summarise();
}

function trimRows(body) {
  const rows = body.querySelectorAll('tr[data-testid="request-row"]');
  for (let i = MAX_REQUESTS; i < rows.length; i += 1) {
    if (rows[i].nextElementSibling?.classList.contains("detail")) rows[i].nextElementSibling.remove();
    rows[i].remove();
  }
}

function filters() {
  return { status: $("#filter-status").value, text: $("#filter-text").value.trim().toLowerCase() };
}

function matches(entry, { status, text } = filters()) {
  const code = Number(entry.status);
  if (status === "err" && code < 400) return false;
  if (status && status !== "err" && String(code)[0] !== status) return false;
  if (!text) return true;
  if (!entry._text) {
    entry._text = [
      entry.method, entry.path, entry.query, code, JSON.stringify(entry.requestHeaders),
      JSON.stringify(entry.requestBody), JSON.stringify(entry.responseBody),
    ].join(" ").toLowerCase();
  }
  return entry._text.includes(text);
}

function renderRequests() {
  clearTimeout(rowsTimer); // what was waiting to be added is in the full list
  rowsTimer = 0;
  pendingRows = [];
  const body = $("#requests-body");
  const rows = [];
  const current = filters();
  for (let i = page.requests.length - 1; i >= 0; i -= 1) {
    const entry = page.requests[i];
    if (matches(entry, current)) rows.push(...requestRows(entry));
  }
  body.replaceChildren(...rows);
  summarise();
}

function summarise() {
  const shown = $("#requests-body").querySelectorAll('tr[data-testid="request-row"]').length;
  const total = page.requests.length;
  $("#requests-summary").textContent = shown === total ? `${total} requests` : `${shown} of ${total} requests`;
  $("#count-requests").textContent = total ? String(total) : "";
  $("#requests-empty").hidden = total > 0;
}

function statusClass(code) {
  return code >= 500 ? "s5" : code >= 400 ? "s4" : "s2";
}

function requestRows(entry) {
  const key = requestKey(entry);
  const path = entry.query ? `${entry.path}?${entry.query}` : entry.path;
  const row = h("tr", {
    testid: "request-row", tabindex: 0, class: "clickable", "aria-expanded": "false",
    title: "Show headers and bodies",
  },
  h("td", { class: "time" }, clock(entry.time)),
  h("td", { class: "method" }, entry.method),
  h("td", { class: "path" }, path),
  h("td", {}, h("span", { class: `badge ${statusClass(entry.status)}` }, entry.status)),
  h("td", { class: "num" }, Number(entry.durationMs).toFixed(1)));
  const toggle = () => {
    const open = row.getAttribute("aria-expanded") === "true";
    if (open) {
      page.expanded.delete(key);
      if (row.nextElementSibling?.classList.contains("detail")) row.nextElementSibling.remove();
      row.setAttribute("aria-expanded", "false");
    } else {
      page.expanded.add(key);
      row.after(requestDetail(entry));
      row.setAttribute("aria-expanded", "true");
    }
  };
  row.addEventListener("click", toggle);
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); }
  });
  if (page.expanded.has(key)) {
    row.setAttribute("aria-expanded", "true");
    return [row, requestDetail(entry)];
  }
  return [row];
}

function requestDetail(entry) {
  const command = curl(entry);
  const copy = h("button", { type: "button", testid: "copy-curl" }, "Copy as curl");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(command);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Select the command below to copy it";
    }
    setTimeout(() => { copy.textContent = "Copy as curl"; }, 2000);
  });
  const headers = Object.entries(entry.requestHeaders || {}).map(([name, value]) => `${name}: ${value}`);
  return h("tr", { class: "detail", testid: "request-detail" }, h("td", { colspan: 5 },
    h("div", { class: "detail-grid" },
      h("section", {}, h("h4", {}, "Request headers"), h("pre", {}, headers.join("\n") || "(none)")),
      h("section", {}, h("h4", {}, "Request body"), h("pre", { testid: "request-body" }, pretty(entry.requestBody))),
      h("section", {}, h("h4", {}, `Response ${entry.status}`), h("pre", { testid: "response-body" }, pretty(entry.responseBody)))),
    h("div", { class: "curl" }, copy, h("pre", { testid: "curl-command" }, command))));
}

const CURL_SKIPPED = new Set([
  "host", "content-length", "connection", "accept-encoding", "user-agent", "accept",
  "cache-control", "pragma", "authorization",
]);

/** The request as a curl command; the redacted key becomes a shell variable to fill in. */
function curl(entry) {
  const query = entry.query ? `?${entry.query}` : "";
  const parts = [`curl -sS -X ${entry.method} ${shellQuote(location.origin + entry.path + query)}`];
  const headers = entry.requestHeaders || {};
  if ("Authorization" in headers) {
    const variable = entry.path.endsWith("/client") ? "DUB_PUBLISHABLE_KEY" : "DUB_TOKEN";
    parts.push(`-H "Authorization: Bearer $${variable}"`);
  }
  for (const [name, value] of Object.entries(headers)) {
    if (CURL_SKIPPED.has(name.toLowerCase()) || name.toLowerCase().startsWith("sec-")) continue;
    parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  }
  const body = entry.requestBody;
  if (body !== null && body !== undefined) {
    parts.push(`--data-raw ${shellQuote(typeof body === "string" ? body : JSON.stringify(body))}`);
  }
  return parts.join(" \\\n  ");
}

// ---------------------------------------------------------------------------- state and funnel

const refreshState = whenShown(["funnel", "state"], coalesced(async () => {
  const [snapshot, fxRates] = await Promise.all([
    api("GET", "/__mock/state"), api("GET", "/__mock/fx-rates"),
  ]);
  page.snapshot = snapshot;
  page.fxRates = fxRates || {};
  renderFunnel();
  renderState();
}, 500, 10));

function byId(records) {
  return new Map((records || []).map((record) => [record.id, record]));
}

function newestFirst(records, field = "timestamp") {
  return [...(records || [])].sort((a, b) => String(b[field] ?? "").localeCompare(String(a[field] ?? "")));
}

function renderFunnel() {
  const state = page.snapshot;
  if (!state) return;
  const links = byId(state.links);
  const clicks = byId(state.clicks);
  const leadsBy = groupBy(state.leads || [], "customerId");
  const salesBy = groupBy(state.sales || [], "customerId");
  const customers = newestFirst(state.customers, "createdAt").slice(0, MAX_ROWS);
  const linked = new Set((state.customers || []).map((customer) => customer.clickId).filter(Boolean));

  const cards = customers.map((customer) => {
    const click = customer.clickId ? clicks.get(customer.clickId) : null;
    const link = links.get(click?.linkId || customer.linkId);
    const leads = leadsBy.get(customer.id) || [];
    const sales = salesBy.get(customer.id) || [];
    const usd = sales.reduce((sum, sale) => sum + Number(sale.amount || 0), 0);
    const steps = [];
    if (click) {
      steps.push({ at: click.timestamp, node: h("li", { class: "step click", testid: "journey-click" },
        h("span", { class: "kind" }, "click"), h("code", {}, click.id),
        link ? ` on ${link.shortLink}` : "",
        click.referrer ? ` · from ${click.referrer}` : "",
        h("time", {}, clock(click.timestamp))) });
    } else {
      steps.push({ at: "", node: h("li", { class: "step none" }, h("span", { class: "kind" }, "click"),
        link ? `none recorded · link ${link.shortLink}` : "none recorded") });
    }
    for (const lead of leads) {
      steps.push({ at: lead.timestamp, node: h("li", { class: "step lead", testid: "journey-lead" },
        h("span", { class: "kind" }, "lead"), lead.eventName, h("time", {}, clock(lead.timestamp))) });
    }
    for (const sale of sales) {
      steps.push({ at: sale.timestamp, node: h("li", { class: "step sale", testid: "journey-sale" },
        h("span", { class: "kind" }, "sale"), h("strong", {}, saleAmount(sale)),
        ` · ${sale.eventName}`, sale.invoiceId ? ` · ${sale.invoiceId}` : "",
        h("time", {}, clock(sale.timestamp))) });
    }
    steps.sort((a, b) => String(a.at).localeCompare(String(b.at)));
    return h("li", { class: "journey", testid: "journey", "data-customer": customer.externalId },
      h("header", {},
        h("strong", {}, customer.name || customer.externalId), " ", h("code", {}, customer.externalId),
        customer.email ? h("span", { class: "muted" }, ` ${customer.email}`) : "",
        h("span", { class: "total" }, `${leads.length} lead${leads.length === 1 ? "" : "s"} · ` +
          `${sales.length} sale${sales.length === 1 ? "" : "s"} · ${money(usd, "usd")}`)),
      h("ol", { class: "steps" }, steps.map((step) => step.node)));
  });
  $("#journeys").replaceChildren(...cards);
  $("#funnel-empty").hidden = cards.length > 0;
  $("#count-funnel").textContent = (state.customers || []).length ? String(state.customers.length) : "";

  const waiting = newestFirst((state.clicks || []).filter((click) => !linked.has(click.id))).slice(0, MAX_ROWS);
  $("#unconverted").replaceChildren(waiting.length ? h("details", {},
    h("summary", {}, `Clicks with no customer yet (${waiting.length})`),
    h("ul", { class: "plain" }, waiting.map((click) => h("li", {},
      h("code", {}, click.id), ` on ${links.get(click.linkId)?.shortLink || click.linkId} · ${clock(click.timestamp)}`)))) : "");
}

function groupBy(records, field) {
  const groups = new Map();
  for (const record of records) {
    const key = record[field];
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(record);
  }
  return groups;
}

/** A table of records: columns are [title, (record) => text or node]. */
function table(title, testid, records, columns, { total, note } = {}) {
  const count = total ?? records.length;
  const shown = records.slice(0, MAX_ROWS);
  const caption = h("caption", {}, title, h("span", { class: "muted" },
    ` ${count}${count > shown.length ? ` (newest ${shown.length} shown)` : ""}`), note ? h("span", { class: "muted" }, ` · ${note}`) : "");
  const head = h("thead", {}, h("tr", {}, columns.map(([name]) => h("th", {}, name))));
  const rows = shown.map((record) => h("tr", { testid },
    columns.map(([, cell]) => { const value = cell(record); return h("td", {}, value ?? ""); })));
  const body = h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "none")));
  return h("table", { class: "grid" }, caption, head, body);
}

const yes = (value) => (value ? "yes" : "");
const code = (value) => (value ? h("code", {}, value) : "");

function renderState() {
  const state = page.snapshot;
  const customers = byId(state.customers);
  const who = (id) => customers.get(id)?.externalId || id;
  const links = byId(state.links);
  const short = (id) => links.get(id)?.shortLink || id;
  $("#state-tables").replaceChildren(
    h("p", { class: "muted" }, "As /__mock/state shows it: keys and secrets redacted."),
    table("Customers", "customer-row", newestFirst(state.customers, "createdAt"), [
      ["externalId", (r) => code(r.externalId)], ["name", (r) => r.name], ["email", (r) => r.email],
      ["click", (r) => code(r.clickId)], ["link", (r) => short(r.linkId)], ["sales", (r) => r.sales],
      ["total", (r) => money(r.saleAmount, "usd")], ["created", (r) => clock(r.createdAt)],
    ]),
    table("Clicks", "click-row", newestFirst(state.clicks), [
      ["id", (r) => code(r.id)], ["link", (r) => short(r.linkId)], ["url", (r) => r.url],
      ["referrer", (r) => r.referrer], ["workspace", (r) => r.workspaceId], ["time", (r) => clock(r.timestamp)],
    ]),
    table("Leads", "lead-row", newestFirst(state.leads), [
      ["event", (r) => r.eventName], ["customer", (r) => code(who(r.customerId))],
      ["click", (r) => code(r.clickId)], ["link", (r) => short(r.linkId)], ["time", (r) => clock(r.timestamp)],
    ]),
    table("Sales", "sale-row", newestFirst(state.sales), [
      ["amount", (r) => saleAmount(r)], ["customer", (r) => code(who(r.customerId))],
      ["event", (r) => r.eventName], ["invoice", (r) => r.invoiceId], ["processor", (r) => r.paymentProcessor],
      ["link", (r) => short(r.linkId)], ["time", (r) => clock(r.timestamp)],
    ]),
    table("Links", "link-row", newestFirst(state.links, "createdAt"), [
      ["short link", (r) => r.shortLink || r.id], ["id", (r) => code(r.id)], ["url", (r) => r.url],
      ["disabled", (r) => yes(r.disabled)], ["clicks", (r) => r.clicks], ["leads", (r) => r.leads],
      ["sales", (r) => r.sales], ["sale amount", (r) => money(r.saleAmount, "usd")],
    ]),
    table("Workspaces", "workspace-row", state.workspaces || [], [
      ["id", (r) => code(r.id)], ["plan", (r) => r.plan], ["allowed hostnames", (r) => (r.allowedHostnames || []).join(", ")],
    ]),
    table("API tokens", "token-row", state.tokens || [], [
      ["token", (r) => code(r.token)], ["workspace", (r) => r.workspaceId], ["role", (r) => r.role],
      ["expired", (r) => yes(r.expired)], ["limit / min", (r) => r.rateLimitPerMinute ?? "default"],
    ]),
    table("Publishable keys", "publishable-key-row", state.publishableKeys || [], [
      ["key", (r) => code(r.key)], ["workspace", (r) => r.workspaceId],
    ]),
    table("FX rates", "fx-row", Object.entries(page.fxRates).map(([currency, rate]) => ({ currency, rate })), [
      ["currency", (r) => r.currency], ["units per USD", (r) => r.rate],
    ]),
  );
}

// ---------------------------------------------------------------------------- webhooks

const refreshWebhooks = whenShown(["webhooks"], coalesced(async () => {
  const [endpoints, events, deliveries] = await Promise.all([
    api("GET", "/__mock/webhooks"), api("GET", "/__mock/webhooks/events"),
    api("GET", "/__mock/webhooks/deliveries"),
  ]);
  page.webhooks = { endpoints: endpoints || [], events: events || [], deliveries: deliveries || [] };
  renderWebhooks();
}, 300, 10));

function renderWebhooks() {
  const { endpoints, events, deliveries } = page.webhooks;
  const failing = deliveries.filter((attempt) => !attempt.ok).length;
  $("#count-webhooks").textContent = deliveries.length ? `${deliveries.length}${failing ? ` · ${failing} failed` : ""}` : "";
  const testButton = (endpoint) => {
    const select = h("select", { "aria-label": `Test event for ${endpoint.url}` },
      ["sale.created", "lead.created", "link.clicked"].map((name) => h("option", { value: name }, name)));
    const send = h("button", { type: "button", testid: "send-test-webhook" }, "Send test");
    send.addEventListener("click", () => act(send, () => api("POST", "/__mock/webhooks/test", { webhookId: endpoint.id, event: select.value })));
    return h("span", { class: "actions" }, select, send);
  };
  const removeButton = (endpoint) => {
    const remove = h("button", { type: "button", class: "danger", testid: "delete-webhook" }, "Delete");
    remove.addEventListener("click", () => act(remove, () => api("DELETE", `/__mock/webhooks/${encodeURIComponent(endpoint.id)}`)));
    return remove;
  };
  const redeliverButton = (event) => {
    const button = h("button", { type: "button", testid: "redeliver-button" }, "Redeliver");
    button.addEventListener("click", () => act(button, () => api("POST", `/__mock/webhooks/events/${encodeURIComponent(event.id)}/redeliver`)));
    return button;
  };
  const bodies = (attempt) => h("details", {}, h("summary", {}, "bodies"),
    h("h4", {}, "Sent"), h("pre", {}, pretty(attempt.requestBody)),
    h("h4", {}, "Answer"), h("pre", {}, pretty(attempt.responseBody)));
  $("#webhook-tables").replaceChildren(
    h("p", { class: "muted" }, "Endpoints get link.clicked, lead.created and sale.created, signed with Dub-Signature. Secrets redacted."),
    table("Endpoints", "webhook-row", endpoints, [
      ["url", (r) => r.url], ["id", (r) => code(r.id)], ["secret", (r) => code(r.secret)],
      ["triggers", (r) => (r.triggers || []).join(", ")], ["disabled", (r) => yes(r.disabled)],
      ["failures in a row", (r) => r.consecutiveFailures ?? 0], ["", (r) => h("span", { class: "actions" }, testButton(r), removeButton(r))],
    ]),
    table("Events", "webhook-event-row", [...events].reverse(), [
      ["event", (r) => r.event], ["id", (r) => code(r.id)], ["created", (r) => clock(r.createdAt)],
      ["endpoints", (r) => (r.webhookIds || []).length], ["delivered", (r) => (r.delivered ? "yes" : "not yet")],
      ["", (r) => redeliverButton(r)],
    ]),
    table("Deliveries", "delivery-row", [...deliveries].reverse(), [
      ["time", (r) => clock(r.time)], ["event", (r) => r.event], ["event id", (r) => code(r.eventId)],
      ["url", (r) => r.url], ["attempt", (r) => r.attempt],
      ["status", (r) => h("span", { class: `badge ${r.ok ? "s2" : "s5"}` }, r.status ?? "no answer")],
      ["error", (r) => r.error], ["ms", (r) => (r.durationMs === undefined ? "" : Number(r.durationMs).toFixed(1))],
      ["", (r) => bodies(r)],
    ]),
  );
}

/** A button's call: disabled while it runs, its error shown in its title. */
async function act(button, call) {
  button.disabled = true;
  try {
    await call();
    button.classList.remove("failed");
  } catch (error) {
    button.classList.add("failed");
    button.title = error.message;
  } finally {
    button.disabled = false;
    refreshWebhooks();
  }
}

// ---------------------------------------------------------------------------- controls

const text = (data, name) => {
  const value = data.get(name);
  return typeof value === "string" && value.trim() ? value.trim() : undefined;
};
const integer = (data, name) => (text(data, name) === undefined ? undefined : Number.parseInt(text(data, name), 10));
const checked = (data, name) => data.get(name) === "on";
const compact = (object) => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));

/** Each control form: what it sends, and how its answer is told (secrets redacted). */
const FORMS = {
  "form-customer": {
    body: (d) => compact({ externalId: text(d, "externalId"), name: text(d, "name"), email: text(d, "email"), clickId: text(d, "clickId"), lead: checked(d, "lead") }),
    done: (r) => `Customer ${r.externalId} created (${r.id}).`,
  },
  "form-click": {
    body: (d) => compact({ linkId: text(d, "linkId"), url: text(d, "url") }),
    done: (r) => `Click ${r.id} created on link ${r.linkId}.`,
  },
  "form-lead": {
    body: (d) => compact({ customerExternalId: text(d, "customerExternalId"), eventName: text(d, "eventName") }),
    done: (r) => `Lead "${r.eventName}" created.`,
  },
  "form-link": {
    body: (d) => compact({ domain: text(d, "domain"), key: text(d, "key"), url: text(d, "url"), disabled: checked(d, "disabled") }),
    done: (r) => `Link ${r.shortLink || r.id} created.`,
  },
  "form-token": {
    body: (d) => compact({ token: text(d, "token"), role: text(d, "role"), rateLimitPerMinute: integer(d, "rateLimitPerMinute"), expired: checked(d, "expired") }),
    done: (r) => `Token ${redact(r.token)} created (${r.role}).`,
  },
  "form-publishable-key": {
    body: (d) => compact({ key: text(d, "key") }),
    done: (r) => `Publishable key ${redact(r.key)} created.`,
  },
  "form-webhook": {
    body: (d) => compact({ url: text(d, "url"), secret: text(d, "secret"), triggers: d.getAll("triggers") }),
    done: (r) => `Endpoint ${r.id} added (secret ${redact(r.secret)}).`,
  },
  "form-fault": {
    body: (d) => compact({ status: integer(d, "status"), count: integer(d, "count"), delayMs: integer(d, "delayMs") }),
    done: (r) => {
      const what = [r.delayMs ? `wait ${r.delayMs} ms` : "", r.status ? `answer ${r.status}` : ""];
      const requests = r.count === 1 ? "API request" : `${r.count} API requests`;
      return `Fault set: the next ${requests} ${what.filter(Boolean).join(", then ")}.`;
    },
  },
  "form-fx": {
    body: (d) => ({ [String(text(d, "currency") || "").toUpperCase()]: Number(text(d, "rate")) }),
    done: (r, sent) => Object.entries(sent).map(([c, rate]) => `1 USD = ${rate} ${c} from now on.`).join(" "),
  },
};

function bindForms() {
  for (const [id, spec] of Object.entries(FORMS)) {
    const form = document.getElementById(id);
    const [method, path] = form.dataset.call.split(" ");
    const output = form.querySelector("output");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      output.className = "";
      output.textContent = "…";
      try {
        const sent = spec.body(new FormData(form));
        const answer = await api(method, path, sent);
        output.textContent = spec.done(answer, sent);
        form.reset();
        refreshState();
        refreshWebhooks();
      } catch (error) {
        output.className = "error";
        output.textContent = error.message;
      } finally {
        button.disabled = false;
      }
    });
  }
  const reset = $("#reset");
  reset.addEventListener("click", async () => {
    reset.disabled = true;
    try {
      await api("POST", "/__mock/reset");
      page.expanded.clear();
      clearRequests();
      renderRequests();
      resync();
    } catch (error) {
      report(error);
    } finally {
      reset.disabled = false;
    }
  });
}

// ---------------------------------------------------------------------------- views and start

function bindTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const show = (name, focus = false) => {
    for (const tab of tabs) {
      const selected = tab.dataset.view === name;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
      if (selected && focus) tab.focus();
    }
    if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
    page.view = name;
    whenShownHooks.forEach((hook) => hook());
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => show(tab.dataset.view));
    tab.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (step) show(tabs[(index + step + tabs.length) % tabs.length].dataset.view, true);
    });
  });
  const wanted = location.hash.slice(1);
  show(tabs.some((tab) => tab.dataset.view === wanted) ? wanted : "requests");
}

function showGate(message = "") {
  page.source?.close();
  page.source = null;
  stopPolling();
  clearTimeout(page.retryTimer);
  sessionStorage.removeItem(TOKEN_KEY);
  page.token = "";
  $("#app").hidden = true;
  $(".tabs").hidden = true;
  $("#reset").hidden = true;
  $("#gate").hidden = false;
  $("#gate-error").textContent = message;
  setLive("offline", "offline · locked");
  $('[data-testid="admin-token-input"]').focus();
}

function bindGate() {
  $("#gate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $('[data-testid="admin-token-input"]');
    page.token = input.value;
    try {
      await fetchChecked();
      sessionStorage.setItem(TOKEN_KEY, page.token);
      input.value = "";
      open();
    } catch (error) {
      if (!(error instanceof AdminError && error.status === 401)) {
        $("#gate-error").textContent = error.message;
      }
    }
  });
}

/** A call that needs the token: refused means the gate stays. */
async function fetchChecked() {
  page.snapshot = await api("GET", "/__mock/state");
}

function open() {
  $("#gate").hidden = true;
  $("#app").hidden = false;
  $(".tabs").hidden = false;
  $("#reset").hidden = false;
  connect();
}

function start() {
  $("#requests-hint").textContent = [
    `curl -sS -X POST ${location.origin}/track/sale \\`,
    `  -H "Authorization: Bearer $DUB_TOKEN" -H 'Content-Type: application/json' \\`,
    `  -d '{"customerExternalId": "user_42", "amount": 4900, "invoiceId": "INV_1"}'`,
  ].join("\n");
  bindTabs();
  bindForms();
  let typing = 0;
  $("#filter-status").addEventListener("change", renderRequests);
  $("#filter-text").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(renderRequests, 120);
  });
  bindGate();
  if (ADMIN_TOKEN_REQUIRED && !page.token) showGate();
  else open();
}

start();
