// dlr-vault support console. Plain JavaScript, no build step, no third-party code.
// Talks to two places only: this page's own origin (its /console/api routes) and the Cognito
// endpoint from config.json. Never asks for, holds or sends an API key: people sign in with the
// user pool, and only the ID token (an hour at most) is kept, in this tab's sessionStorage.
(() => {
  "use strict";

  const SESSION_KEY = "dlr-vault.console.session";
  const PAGE_SIZE = 20;
  const GROUPS = ["DELIVERED", "PENDING", "UNDELIVERABLE", "EXPIRED", "REJECTED"];
  const EXPIRED = "Your session has expired. Please sign in again.";
  const BASE = location.pathname.replace(/\/+$/, ""); // ".../console": the API is BASE + "/api"

  const $ = (id) => document.getElementById(id);
  let config = null;
  let session = null; // {idToken, username, exp}
  let challenge = null; // {session, username} while a first sign-in must set its password
  let runs = 0; // the latest search wins; older answers are dropped

  class Problem extends Error {
    constructor(message, status = 0) {
      super(message);
      this.status = status;
    }
  }
  class SignedOut extends Error {}

  // ------------------------------------------------------------------ DOM helpers (text only, never HTML)
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    return fill(node, attrs, children);
  }
  function svg(tag, attrs = {}, ...children) {
    return fill(document.createElementNS("http://www.w3.org/2000/svg", tag), attrs, children);
  }
  function fill(node, attrs, children) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name === "className" ? "class" : name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  function show(id, visible) {
    $(id).hidden = !visible;
  }

  // ------------------------------------------------------------------ formatting
  function parseTime(value) {
    if (typeof value !== "string") return null;
    const iso = value.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"); // Infobip writes +0000
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  function timeEl(value) {
    const date = parseTime(value);
    if (!date) return "—";
    const text = date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
    return el("time", { datetime: date.toISOString(), title: `${date.toISOString()} (UTC)` }, text);
  }
  function infobipTime(date) {
    return date.toISOString().replace("Z", "+0000"); // yyyy-MM-dd'T'HH:mm:ss.SSSZ
  }
  function duration(fromValue, toValue) {
    const from = parseTime(fromValue);
    const to = parseTime(toValue);
    if (!from || !to) return "";
    const seconds = Math.round((to - from) / 1000);
    if (seconds < 120) return `${seconds} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }
  function group(status) {
    return String((status && status.groupName) || "UNKNOWN").toUpperCase();
  }
  function statusClass(name) {
    return GROUPS.includes(name) || name === "SCHEDULED_FOR_LATER" || name === "ACCEPTED" ? `s-${name.toLowerCase()}` : "s-other";
  }
  function statusBadge(status) {
    const name = group(status);
    const title = status && status.description ? status.description : null;
    return el("span", { className: `status ${statusClass(name)}`, title }, name);
  }
  function price(report) {
    const p = report.price;
    if (!p || typeof p.pricePerMessage !== "number") return "—";
    return `${p.pricePerMessage} ${p.currency || ""}`.trim();
  }
  function errorText(report) {
    const e = report.error;
    if (!e || e.name === "NO_ERROR" || e.id === 0) return "—";
    return e.description || e.name || "—";
  }
  function destination(report) {
    return report.to || report.destination || "";
  }
  function mask(number) {
    return number.replace(/\d(?=(?:\D*\d){3})/g, "•"); // every digit but the last three
  }
  function phone(number) {
    if (!number) return "—";
    const text = el("span", { className: "number" }, mask(number));
    const last = number.replace(/\D/g, "").slice(-3);
    const button = el("button", { type: "button", "aria-pressed": "false", "aria-label": `Show the number ending ${last}` }, "Show");
    button.addEventListener("click", () => {
      const shown = button.getAttribute("aria-pressed") === "true";
      text.textContent = shown ? mask(number) : number;
      button.setAttribute("aria-pressed", String(!shown));
      button.setAttribute("aria-label", shown ? `Show the number ending ${last}` : `Hide the number ending ${last}`);
      button.textContent = shown ? "Show" : "Hide";
    });
    return el("span", { className: "phone" }, text, button);
  }

  // ------------------------------------------------------------------ session (ID token only)
  function decodeClaims(token) {
    const part = token.split(".")[1] || "";
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  }
  function loadSession() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
      if (saved && saved.idToken && saved.exp * 1000 > Date.now()) return saved;
    } catch {
      /* unreadable: start again */
    }
    sessionStorage.removeItem(SESSION_KEY);
    return null;
  }
  function startSession(idToken) {
    const claims = decodeClaims(idToken); // for display and expiry only: the API checks the signature
    session = { idToken, username: claims["cognito:username"] || claims.email || "", exp: claims.exp };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  }
  function signOut(note = "You have signed out.") {
    session = null;
    challenge = null;
    runs += 1;
    sessionStorage.removeItem(SESSION_KEY);
    $("view").replaceChildren();
    $("password").value = "";
    $("new-password").value = "";
    showSignIn(note);
  }

  // ------------------------------------------------------------------ Cognito (InitiateAuth, USER_PASSWORD_AUTH)
  const SIGN_IN_PROBLEMS = {
    NotAuthorizedException: "The user name or the password is not right.",
    UserNotFoundException: "The user name or the password is not right.",
    PasswordResetRequiredException: "Your password has to be reset: ask the administrator of this vault.",
    UserNotConfirmedException: "This user is not confirmed yet: ask the administrator of this vault.",
    TooManyRequestsException: "Too many sign-in attempts. Wait a minute and try again.",
    LimitExceededException: "Too many sign-in attempts. Wait a minute and try again.",
    ExpiredCodeException: "The sign-in took too long. Please start again.",
  };
  async function cognito(action, body) {
    let response;
    try {
      response = await fetch(`${config.cognitoEndpoint}/`, {
        method: "POST",
        headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}` },
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new Problem("The sign-in service could not be reached. Check your network connection and try again.");
    }
    const data = await response.json().catch(() => ({}));
    if (response.ok) return data;
    const type = String(data.__type || "").split("#").pop();
    if (type === "InvalidPasswordException") throw new Problem(`That password cannot be used: ${data.message || "it is too weak"}.`);
    throw new Problem(SIGN_IN_PROBLEMS[type] || `Signing in failed (HTTP ${response.status}). Try again in a minute.`);
  }
  function afterAuth(answer, username) {
    if (answer.AuthenticationResult) {
      startSession(answer.AuthenticationResult.IdToken); // the access and refresh tokens are not kept
      return true;
    }
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      challenge = { session: answer.Session, username: (answer.ChallengeParameters || {}).USER_ID_FOR_SRP || username };
      return false;
    }
    throw new Problem(`This account needs a sign-in step the console does not offer (${answer.ChallengeName}). Ask the administrator of this vault.`);
  }

  // ------------------------------------------------------------------ the vault's API
  function httpProblem(status, text) {
    if (status === 400) return `The vault did not accept this search: ${text || "it is not valid"}.`;
    if (status === 403) return "You are not allowed to see this. Sign out and in again; if that does not help, ask the administrator of this vault.";
    if (status === 404) return "Nothing was found.";
    if (status === 429) return "Too many requests right now. Wait a few seconds and try again.";
    if (status >= 500) return "The vault had a problem answering. Try again in a minute; if it keeps happening, tell the team that runs dlr-vault.";
    return `The vault answered with an unexpected error (HTTP ${status}).`;
  }
  async function api(path, params) {
    if (!session || session.exp * 1000 <= Date.now()) {
      signOut(EXPIRED);
      throw new SignedOut();
    }
    const query = params ? `?${new URLSearchParams(params)}` : "";
    let response;
    try {
      response = await fetch(`${BASE}/api${path}${query}`, {
        headers: { Authorization: session.idToken, Accept: "application/json" },
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new Problem("The vault could not be reached. Check your network connection and try again.");
    }
    if (response.status === 401) {
      signOut(EXPIRED);
      throw new SignedOut();
    }
    const data = await response.json().catch(() => null);
    if (response.ok && data) return data;
    const text = data && data.requestError && data.requestError.serviceException ? data.requestError.serviceException.text : "";
    throw new Problem(httpProblem(response.status, text), response.status);
  }
  async function orNotFound(promise) {
    try {
      return await promise;
    } catch (error) {
      if (error instanceof Problem && error.status === 404) return null;
      throw error;
    }
  }

  // ------------------------------------------------------------------ views
  function heading(text) {
    return el("h2", { tabindex: "-1", id: "view-title" }, text);
  }
  function resultsTable(reports, caption) {
    const columns = ["Status", "Message ID", "To", "Sender", "Sent", "Done", "Error", "Price", "MCC/MNC"];
    const rows = reports.map((r) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Status" }, statusBadge(r.status)),
        el("td", { "data-label": "Message ID" }, el("button", { type: "button", className: "link", onclick: () => search(r.messageId, "message") }, r.messageId || "—")),
        el("td", { "data-label": "To" }, phone(destination(r))),
        el("td", { "data-label": "Sender" }, r.sender || r.from || "—"),
        el("td", { "data-label": "Sent" }, timeEl(r.sentAt)),
        el("td", { "data-label": "Done" }, timeEl(r.doneAt)),
        el("td", { "data-label": "Error" }, errorText(r)),
        el("td", { "data-label": "Price", className: "num" }, price(r)),
        el("td", { "data-label": "MCC/MNC", className: "num" }, r.mccMnc || "—"),
      ),
    );
    return el(
      "div",
      { className: "table-wrap" },
      el("table", { className: "results" }, el("caption", {}, caption), el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c)))), el("tbody", {}, rows)),
    );
  }
  function csvCell(value) {
    let text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`; // a spreadsheet must not run it as a formula
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }
  function csvOf(reports) {
    const header = ["messageId", "bulkId", "to", "sender", "statusGroup", "status", "sentAt", "doneAt", "error", "pricePerMessage", "currency", "mccMnc"];
    const lines = reports.map((r) =>
      [
        r.messageId,
        r.bulkId,
        mask(destination(r)), // as shown: numbers stay masked in the file
        r.sender || r.from,
        group(r.status),
        r.status && r.status.name,
        r.sentAt,
        r.doneAt,
        errorText(r) === "—" ? "" : errorText(r),
        r.price && r.price.pricePerMessage,
        r.price && r.price.currency,
        r.mccMnc,
      ]
        .map(csvCell)
        .join(","),
    );
    return [header.join(","), ...lines].join("\r\n") + "\r\n";
  }
  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const link = el("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  function chart(byGroup) {
    const entries = Object.entries(byGroup).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const total = entries.reduce((sum, [, n]) => sum + n, 0) || 1;
    const most = Math.max(1, ...entries.map(([, n]) => n));
    const row = 30;
    const label = 175;
    const bar = 260;
    const summary = entries.map(([name, n]) => `${name} ${n}`).join(", ");
    const picture = svg(
      "svg",
      { className: "chart", viewBox: `0 0 ${label + bar + 130} ${entries.length * row + 6}`, role: "img", "aria-labelledby": "chart-title", id: "bulk-chart" },
      svg("title", { id: "chart-title" }, `Messages by status group: ${summary}`),
    );
    entries.forEach(([name, n], i) => {
      const y = i * row + 4;
      const width = Math.max(2, Math.round((n / most) * bar));
      picture.append(
        svg("text", { x: 0, y: y + 17 }, name),
        svg("rect", { x: label, y, width, height: row - 8, rx: 3, className: statusClass(name), "data-group": name, "data-count": n }),
        svg("text", { x: label + width + 8, y: y + 17 }, `${n} (${((100 * n) / total).toFixed(1)} %)`),
      );
    });
    return picture;
  }

  function showMessage(report) {
    const raw = JSON.stringify(report, null, 2);
    const copy = el("button", { type: "button" }, "Copy the JSON");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(raw);
        copy.textContent = "Copied";
      } catch {
        copy.textContent = "Copying failed: select the text below";
      }
    });
    const status = report.status || {};
    const error = report.error || {};
    const facts = [
      ["Status", el("span", {}, statusBadge(status), " ", status.name || "", status.description ? ` — ${status.description}` : "")],
      ["Error", errorText(report) === "—" ? "none" : `${error.name || ""}${error.description ? ` — ${error.description}` : ""}${error.permanent ? " (permanent)" : ""}`],
      ["To", phone(destination(report))],
      ["Sender", report.sender || report.from || "—"],
      ["Bulk", report.bulkId ? el("button", { type: "button", className: "link", onclick: () => search(report.bulkId, "bulk") }, report.bulkId) : "—"],
      ["Price", price(report)],
      ["Parts", report.messageCount || report.smsCount || "—"],
      ["MCC/MNC", report.mccMnc || "—"],
    ];
    const done = el("li", {}, el("strong", {}, "Done: "), statusBadge(status), " ", timeEl(report.doneAt));
    const took = duration(report.sentAt, report.doneAt);
    if (took) done.append(` (${took} after it was sent)`);
    return [
      heading(`Message ${report.messageId}`),
      report.recoveredFromLogs ? el("p", {}, el("span", { className: "badge" }, "Recovered from logs"), " This report was lost on its way from Infobip and found again in Infobip's message logs; it has no callbackData.") : null,
      el("dl", { className: "facts" }, facts.map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
      el("h3", {}, "Timeline"),
      el("ol", { className: "timeline" }, el("li", {}, el("strong", {}, "Sent: "), timeEl(report.sentAt)), done),
      el("h3", {}, "Raw JSON"),
      el("div", { className: "actions" }, copy),
      el("pre", { className: "raw", tabindex: "0", "aria-label": "The report as JSON" }, raw),
    ];
  }

  // A paged list: `load(cursor)` answers {reports, next}; the pager keeps the cursors seen so far.
  function pagedTable(title, load, fileName) {
    const cursors = [null];
    const holder = el("div", {});
    const pager = el("div", { className: "pager" });
    const previous = el("button", { type: "button" }, "Previous page");
    const next = el("button", { type: "button" }, "Next page");
    const where = el("span", { className: "note", "aria-live": "polite" });
    const csv = el("button", { type: "button" }, "Download this page as CSV");
    let shown = [];
    let nextCursor = null;
    async function render() {
      const page = await load(cursors[cursors.length - 1]);
      shown = page.reports;
      nextCursor = page.next;
      holder.replaceChildren(resultsTable(shown, `${title}: page ${cursors.length}, ${shown.length} messages`));
      previous.disabled = cursors.length === 1;
      next.disabled = !nextCursor;
      csv.disabled = shown.length === 0;
      where.textContent = `Page ${cursors.length}`;
      return page;
    }
    async function move(step) {
      if (step > 0) cursors.push(nextCursor);
      else cursors.pop();
      try {
        await render();
        problem("");
      } catch (error) {
        if (!(error instanceof SignedOut)) problem(error.message);
      }
    }
    previous.addEventListener("click", () => move(-1));
    next.addEventListener("click", () => move(1));
    csv.addEventListener("click", () => download(fileName(cursors.length), csvOf(shown)));
    pager.append(previous, where, next, csv);
    return { nodes: [pager, holder], first: render };
  }

  async function messageView(id) {
    const answer = await api("/sms/3/reports", { messageId: id });
    return answer.results && answer.results.length ? showMessage(answer.results[0]) : null;
  }
  async function bulkView(id) {
    const summary = await orNotFound(api(`/bulks/${encodeURIComponent(id)}/summary`));
    if (!summary) return null;
    const prices = Object.entries(summary.totalPrice || {}).map(([currency, amount]) => `${amount.toFixed(4).replace(/\.?0+$/, "")} ${currency}`);
    const list = pagedTable(
      "Reports of this bulk",
      async (cursor) => {
        const answer = await api("/sms/3/reports", { bulkId: id, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) });
        return { reports: answer.results || [], next: answer.nextCursor || null };
      },
      (page) => `bulk-${id}-page-${page}.csv`,
    );
    await list.first();
    return [
      heading(`Bulk ${id}`),
      el(
        "dl",
        { className: "figures" },
        el("div", {}, el("dt", {}, "Messages"), el("dd", { id: "bulk-messages" }, summary.messages)),
        el("div", {}, el("dt", {}, "Delivery rate"), el("dd", { id: "bulk-rate" }, `${(summary.deliveryRate * 100).toFixed(1)} %`)),
        el("div", {}, el("dt", {}, "Total price"), el("dd", {}, prices.length ? prices.join(", ") : "—")),
      ),
      el("h3", {}, "Messages by status group"),
      chart(summary.byStatusGroup || {}),
      el("h3", {}, "Reports"),
      ...list.nodes,
    ];
  }
  async function phoneView(number, days) {
    const digits = number.replace(/\D/g, "").replace(/^00/, "");
    const since = infobipTime(new Date(Date.now() - days * 86400000));
    const list = pagedTable(
      "Messages to this number",
      async (cursor) => {
        const params = { destination: digits, sentSince: since, limit: PAGE_SIZE, useCursor: "true", ...(cursor ? { cursor } : {}) };
        const answer = await api("/sms/3/logs", params);
        return { reports: answer.results || [], next: (answer.cursor && answer.cursor.nextCursor) || null };
      },
      (page) => `number-${digits.slice(-3)}-page-${page}.csv`,
    );
    let page;
    try {
      page = await list.first();
    } catch (error) {
      if (error instanceof Problem && error.status === 404) throw new Problem("Searching by phone number is not available on this vault yet.", 404);
      throw error;
    }
    if (!page.reports.length) return [heading("No messages to this number"), el("p", {}, `No message to ${mask(number)} was sent in the last ${days} days.`)];
    return [heading(`Messages to ${mask(number)}`), el("p", { className: "note" }, `Sent in the last ${days} days, newest first.`), ...list.nodes];
  }

  // ------------------------------------------------------------------ search: the URL holds the query
  function looksLikePhone(text) {
    const digits = text.replace(/\D/g, "");
    return /^\+?[0-9][0-9 ().-]*$/.test(text) && digits.length >= 6 && digits.length <= 15;
  }
  function currentQuery() {
    const params = new URLSearchParams(location.hash.slice(1));
    const since = ["2", "7", "30", "365"].includes(params.get("since")) ? params.get("since") : "30";
    const kind = ["auto", "message", "bulk", "phone"].includes(params.get("kind")) ? params.get("kind") : "auto";
    return { q: (params.get("q") || "").trim(), kind, since };
  }
  function search(q, kind, since = $("since").value) {
    const hash = new URLSearchParams({ q, kind, ...(kind === "phone" || (kind === "auto" && looksLikePhone(q)) ? { since } : {}) }).toString();
    if (location.hash.slice(1) === hash) run();
    else location.hash = hash; // hashchange runs it
  }
  function problem(text) {
    $("problem").textContent = text;
    show("problem", Boolean(text));
  }
  async function run() {
    if (!session) return;
    const { q, kind, since } = currentQuery();
    $("q").value = q;
    $("kind").value = kind;
    $("since").value = since;
    problem("");
    const view = $("view");
    view.replaceChildren();
    if (!q) return;
    const mine = ++runs;
    performance.clearMarks("dlr-search");
    performance.mark("dlr-search");
    document.body.dataset.state = "searching";
    $("busy").textContent = "Searching…";
    try {
      const as = kind === "auto" ? (looksLikePhone(q) ? "phone" : "id") : kind;
      let nodes = null;
      if (as === "phone") nodes = await phoneView(q, Number(since));
      if (as === "message" || as === "id") nodes = await messageView(q);
      if (!nodes && (as === "bulk" || as === "id")) nodes = await bulkView(q);
      if (mine !== runs) return;
      if (!nodes) {
        const what = { message: "No message has", bulk: "No bulk has", id: "No message and no bulk has" }[as];
        problem(`Not found (404): ${what} the ID “${q}”. Check the ID and try again.`);
        return;
      }
      view.replaceChildren(...nodes.flat().filter(Boolean));
      performance.measure("dlr-search-to-result", "dlr-search");
      $("view-title").focus();
    } catch (error) {
      if (mine === runs && !(error instanceof SignedOut)) problem(error.message);
    } finally {
      if (mine === runs) {
        $("busy").textContent = "";
        document.body.dataset.state = "ready";
      }
    }
  }

  // ------------------------------------------------------------------ screens
  function showSignIn(note = "") {
    show("loading", false);
    show("app", false);
    show("who", false);
    show("sign-in", true);
    show("sign-in-form", !challenge);
    show("new-password-form", Boolean(challenge));
    show("sign-in-problem", false);
    $("sign-in-note").textContent = note;
    document.body.dataset.state = "signed-out";
    (challenge ? $("new-password") : $("username").value ? $("password") : $("username")).focus();
  }
  function showApp() {
    show("loading", false);
    show("sign-in", false);
    show("app", true);
    show("who", true);
    $("who-name").textContent = session.username;
    document.body.dataset.state = "ready";
  }
  async function signInStep(step) {
    const problemBox = $("sign-in-problem");
    show("sign-in-problem", false);
    try {
      if (await step()) {
        challenge = null;
        $("password").value = "";
        $("new-password").value = "";
        showApp();
        if (currentQuery().q) await run();
        else $("q").focus();
      } else {
        showSignIn("Choose a new password to finish signing in.");
      }
    } catch (error) {
      problemBox.textContent = error.message;
      show("sign-in-problem", true);
    }
  }

  async function start() {
    try {
      const response = await fetch(`${BASE}/config.json`, { cache: "no-store", credentials: "omit" });
      if (!response.ok) throw new Error(String(response.status));
      config = await response.json();
    } catch {
      show("loading", false);
      problem("The console could not load its settings. Reload the page; if that does not help, tell the team that runs dlr-vault.");
      show("app", true);
      return;
    }
    $("sign-in-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const username = $("username").value.trim();
      const password = $("password").value;
      if (!username || !password) {
        $("sign-in-problem").textContent = "Enter your user name and your password.";
        show("sign-in-problem", true);
        return;
      }
      signInStep(async () =>
        afterAuth(await cognito("InitiateAuth", { AuthFlow: "USER_PASSWORD_AUTH", ClientId: config.clientId, AuthParameters: { USERNAME: username, PASSWORD: password } }), username),
      );
    });
    $("new-password-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const password = $("new-password").value;
      signInStep(async () =>
        afterAuth(
          await cognito("RespondToAuthChallenge", {
            ChallengeName: "NEW_PASSWORD_REQUIRED",
            ClientId: config.clientId,
            Session: challenge.session,
            ChallengeResponses: { USERNAME: challenge.username, NEW_PASSWORD: password },
          }),
          challenge.username,
        ),
      );
    });
    $("sign-out").addEventListener("click", () => signOut());
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const q = $("q").value.trim();
      if (!q) {
        problem("Type a message ID, a bulk ID or a phone number first.");
        $("q").focus();
        return;
      }
      search(q, $("kind").value);
    });
    window.addEventListener("hashchange", run);
    session = loadSession();
    if (session) {
      showApp();
      await run();
    } else {
      showSignIn();
    }
  }

  start();
})();
