/*
 * The Niyanta console: a client of the public REST API, nothing more.  The
 * API key is kept in this browser's localStorage and sent as a bearer
 * token; every value from the server is put on the page as text (never as
 * HTML).  An admin key also sees the workers, the cluster and the
 * customers (create one, see its keys, add or revoke keys; a new key's
 * text is shown once).
 */
"use strict";

(function () {
  const KEY = "niyanta.apiKey";
  const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
  const REFRESH_MS = 3000;
  const $ = (id) => document.getElementById(id);

  let cursor = null;      // next_cursor of the last page shown
  let detailId = null;    // workload shown in the detail panel
  let keysFor = null;     // customer whose keys are shown
  let admin = null;       // null until known; false once an admin route said 403
  let timer = null;

  function apiKey() {
    return localStorage.getItem(KEY);
  }

  /* Calls the API; resolves to {status, data}, rejects with an Error that
   * carries the HTTP status and the error body. */
  async function api(method, path, body) {
    const opts = { method, headers: { Authorization: "Bearer " + apiKey() } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(path, opts);
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const err = new Error(data && data.error ? data.error.message : res.status + " " + res.statusText);
      err.status = res.status;
      err.details = data && data.error ? data.error.details : [];
      throw err;
    }
    return { status: res.status, data };
  }

  function show(text, isError) {
    const m = $("message");
    m.textContent = text;
    m.classList.toggle("error", !!isError);
    m.hidden = !text;
  }

  function errorText(e) {
    const parts = [e.message];
    for (const d of e.details || []) {
      parts.push(d.field ? d.field + ": " + d.message : JSON.stringify(d));
    }
    return parts.join(" \u2014 ");
  }

  /* 401 means the stored key is no good: forget it. */
  function fail(e) {
    if (e.status === 401) {
      forgetKey();
      show("The API key was rejected: " + e.message, true);
      return;
    }
    if (e.status === 429) {
      show("Too many requests for this key's rate limit; " + e.message, true);
      return;
    }
    show(errorText(e), true);
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function fmtTime(t) {
    return t ? new Date(t).toLocaleString() : "";
  }

  function tagsText(tags) {
    return Object.entries(tags || {}).map(([k, v]) => k + "=" + v).join(", ");
  }

  /* ---- workloads ---- */

  function workloadRow(w) {
    const tr = document.createElement("tr");
    const idCell = document.createElement("td");
    const link = el("button", w.id.slice(0, 8), "link");
    link.title = w.id;
    link.addEventListener("click", () => showDetail(w.id));
    idCell.append(link);
    tr.append(idCell, el("td", w.workload_type));
    const st = el("td");
    st.append(el("span", w.status + (w.cancel_requested && !TERMINAL.has(w.status) ? " (cancelling)" : ""),
      "status st-" + w.status));
    tr.append(st, el("td", w.priority, "num"), el("td", Math.round(w.progress) + "%", "num"),
      el("td", w.worker_id || ""), el("td", fmtTime(w.created_at)));
    const act = el("td", null, "actions");
    if (["PENDING", "SCHEDULED", "RUNNING"].includes(w.status)) {
      const p = el("button", "Pause");
      p.addEventListener("click", () => transition(w.id, "pause"));
      act.append(p);
    }
    if (w.status === "PAUSED") {
      const r = el("button", "Resume");
      r.addEventListener("click", () => transition(w.id, "resume"));
      act.append(r);
    }
    if (!TERMINAL.has(w.status)) {
      const b = el("button", "Cancel");
      b.addEventListener("click", () => cancel(w.id));
      act.append(b);
    }
    tr.append(act);
    return tr;
  }

  /* Pause or resume: the answer is the workload's new status. */
  async function transition(id, verb) {
    try {
      const { status, data } = await api("POST", "/v1/workloads/" + encodeURIComponent(id) + "/" + verb);
      show(status === 202 ? "Pause requested; the worker will checkpoint and stop." :
        "Workload " + id.slice(0, 8) + " is " + data.status + ".");
      await refresh();
    } catch (e) {
      fail(e);
    }
  }

  async function loadWorkloads(append) {
    const q = new URLSearchParams({ limit: "50" });
    const status = $("filter-status").value;
    if (status) q.set("status", status);
    if (append && cursor) q.set("cursor", cursor);
    const { data } = await api("GET", "/v1/workloads?" + q.toString());
    const body = $("workloads");
    if (!append) body.replaceChildren();
    for (const w of data.workloads) body.append(workloadRow(w));
    if (!append && data.workloads.length === 0) {
      const tr = document.createElement("tr");
      const td = el("td", "No workloads.", "muted");
      td.colSpan = 8;
      tr.append(td);
      body.append(tr);
    }
    cursor = data.next_cursor;
    $("more").hidden = !cursor;
  }

  async function cancel(id) {
    if (!window.confirm("Cancel workload " + id + "?")) return;
    try {
      const { status } = await api("POST", "/v1/workloads/" + encodeURIComponent(id) + "/cancel", {});
      show(status === 202 ? "Cancellation requested; the worker will stop it." : "Workload cancelled.");
      await refresh();
    } catch (e) {
      fail(e);
    }
  }

  async function showDetail(id) {
    try {
      const { data } = await api("GET", "/v1/workloads/" + encodeURIComponent(id));
      detailId = id;
      $("detail-id").textContent = id;
      const dl = $("detail-fields");
      dl.replaceChildren();
      for (const [k, v] of Object.entries(data)) {
        dl.append(el("dt", k));
        const dd = el("dd");
        if (v !== null && typeof v === "object") dd.append(el("pre", JSON.stringify(v, null, 2)));
        else dd.textContent = v === null ? "\u2014" : String(v);
        dl.append(dd);
      }
      $("detail").hidden = false;
    } catch (e) {
      fail(e);
    }
  }

  /* ---- customers and keys (admin keys) ---- */

  function limitText(v) {
    return v === null || v === undefined ? "\u221e" : String(v);
  }

  async function loadCustomers() {
    const section = $("customers-section");
    if (admin === false) {
      section.hidden = true;
      return;
    }
    try {
      const { data } = await api("GET", "/v1/customers");
      section.hidden = false;
      const body = $("customers");
      body.replaceChildren();
      for (const c of data.customers) {
        const eff = c.effective_limits || {};
        const use = c.usage || {};
        const tr = document.createElement("tr");
        const idCell = el("td", c.id.slice(0, 8), "mono");
        idCell.title = c.id;
        const act = el("td", null, "actions");
        const b = el("button", "Keys");
        b.addEventListener("click", () => showKeys(c.id, c.name));
        act.append(b);
        tr.append(idCell, el("td", c.name), el("td", c.tier),
          el("td", limitText(eff.max_queue_depth), "num"), el("td", limitText(eff.max_concurrent), "num"),
          el("td", limitText(eff.rate_limit_rps), "num"), el("td", use.pending, "num"),
          el("td", use.active, "num"), act);
        body.append(tr);
      }
      if (data.customers.length === 0) {
        const tr = document.createElement("tr");
        const td = el("td", "No customers yet.", "muted");
        td.colSpan = 9;
        tr.append(td);
        body.append(tr);
      }
      if (keysFor) await loadKeys();
    } catch (e) {
      if (e.status !== 403) throw e;
      admin = false;
      section.hidden = true;
    }
  }

  /* Shows a key's secret text once, until the user says it is saved. */
  function showNewKey(forName, text) {
    $("new-key-for").textContent = forName;
    $("new-key-text").textContent = text;
    $("new-key").hidden = false;
  }

  async function createCustomer(ev) {
    ev.preventDefault();
    const body = { name: $("customer-name").value.trim(), tier: $("customer-tier").value };
    for (const [id, field] of [["customer-queue", "max_queue_depth"],
      ["customer-concurrent", "max_concurrent"], ["customer-rate", "rate_limit_rps"]]) {
      const v = $(id).value;
      if (v !== "") body[field] = Number(v);
    }
    try {
      const { data } = await api("POST", "/v1/customers", body);
      $("customer-form").reset();
      showNewKey(data.customer.name, data.api_key.key);
      show("Created customer " + data.customer.name + " (" + data.customer.id + ").");
      await loadCustomers();
    } catch (e) {
      fail(e);
    }
  }

  async function showKeys(id, name) {
    keysFor = { id, name };
    $("keys-for").textContent = name;
    $("keys").hidden = false;
    try {
      await loadKeys();
    } catch (e) {
      fail(e);
    }
  }

  async function loadKeys() {
    const { id } = keysFor;
    const { data } = await api("GET", "/v1/customers/" + encodeURIComponent(id) + "/keys");
    const body = $("keys-list");
    body.replaceChildren();
    for (const k of data.keys) {
      const tr = document.createElement("tr");
      const act = el("td", null, "actions");
      if (!k.revoked) {
        const b = el("button", "Revoke");
        b.addEventListener("click", () => revokeKey(id, k.id));
        act.append(b);
      }
      tr.append(el("td", k.id, "mono"), el("td", fmtTime(k.created_at)),
        el("td", k.revoked ? "revoked" : "active", k.revoked ? "muted" : ""), act);
      body.append(tr);
    }
  }

  async function newKey() {
    if (!keysFor) return;
    try {
      const { data } = await api("POST", "/v1/customers/" + encodeURIComponent(keysFor.id) + "/keys", {});
      showNewKey(keysFor.name, data.key);
      await loadKeys();
    } catch (e) {
      fail(e);
    }
  }

  async function revokeKey(customerId, keyId) {
    if (!window.confirm("Revoke key " + keyId + "? Requests with it will be refused at once.")) return;
    try {
      await api("DELETE", "/v1/customers/" + encodeURIComponent(customerId) + "/keys/" +
        encodeURIComponent(keyId));
      show("Key " + keyId + " revoked.");
      await loadKeys();
    } catch (e) {
      fail(e);
    }
  }

  /* ---- workers and cluster (admin keys) ---- */

  async function loadWorkers() {
    const body = $("workers");
    const note = $("workers-note");
    if (admin === false) {
      body.replaceChildren();
      note.textContent = "Workers are shown to admin keys only.";
      note.hidden = false;
      return;
    }
    try {
      const { data } = await api("GET", "/v1/workers");
      body.replaceChildren();
      const types = new Set(["sleep", "exec"]);
      for (const w of data.workers) {
        (w.capabilities || []).forEach((c) => types.add(c));
        const tr = document.createElement("tr");
        const st = el("td");
        st.append(el("span", w.status, "status st-" + w.status));
        tr.append(el("td", w.id), st, el("td", w.used_slots + " / " + w.capacity, "num"),
          el("td", (w.capabilities || []).join(", ")), el("td", tagsText(w.tags)),
          el("td", fmtTime(w.last_heartbeat)), el("td", w.version || ""));
        body.append(tr);
      }
      const list = $("known-types");
      list.replaceChildren();
      for (const t of [...types].sort()) {
        const o = document.createElement("option");
        o.value = t;
        list.append(o);
      }
      note.hidden = data.workers.length > 0;
      note.textContent = "No workers have registered.";
    } catch (e) {
      if (e.status !== 403) throw e;
      admin = false;
      body.replaceChildren();
      note.textContent = "Workers are shown to admin keys only.";
      note.hidden = false;
    }
  }

  async function loadCluster() {
    if (admin === false) {
      $("cluster").textContent = "";
      return;
    }
    try {
      const { data } = await api("GET", "/v1/cluster");
      $("cluster").textContent = "node " + data.node_id + (data.leader ? " \u00b7 leader" : "") +
        " \u00b7 term " + data.term + " \u00b7 applied " + data.applied_index;
    } catch (e) {
      if (e.status !== 403) throw e;
      admin = false;
      $("cluster").textContent = "";
    }
  }

  /* ---- page ---- */

  async function refresh() {
    try {
      await Promise.all([loadWorkloads(false), loadWorkers(), loadCluster(), loadCustomers()]);
      if (detailId && !$("detail").hidden) await showDetail(detailId);
    } catch (e) {
      fail(e);
    }
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = null;
    if ($("auto-refresh").checked && apiKey()) {
      timer = setInterval(() => {
        if (!document.hidden) refresh();
      }, REFRESH_MS);
    }
  }

  function start() {
    const have = !!apiKey();
    $("key-form").hidden = have;
    $("key-set").hidden = !have;
    $("app").hidden = !have;
    if (have) refresh();
    schedule();
  }

  function forgetKey() {
    localStorage.removeItem(KEY);
    admin = null;
    keysFor = null;
    $("keys").hidden = true;
    $("new-key").hidden = true;
    $("customers-section").hidden = true;
    start();
  }

  async function submit(ev) {
    ev.preventDefault();
    let params;
    try {
      const text = $("submit-params").value.trim();
      params = text ? JSON.parse(text) : {};
    } catch (e) {
      show("Input parameters are not valid JSON: " + e.message, true);
      return;
    }
    const body = { workload_type: $("submit-type").value.trim(), input_params: params };
    const prio = $("submit-priority").value;
    if (prio !== "") body.priority = Number(prio);
    try {
      const { data } = await api("POST", "/v1/workloads", body);
      show("Submitted workload " + data.id + ".");
      await refresh();
    } catch (e) {
      fail(e);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const k = $("key-input").value.trim();
      if (!k) return;
      localStorage.setItem(KEY, k);
      admin = null;
      $("key-input").value = "";
      show("");
      start();
    });
    $("key-forget").addEventListener("click", () => {
      forgetKey();
      show("");
    });
    $("submit-form").addEventListener("submit", submit);
    $("filter-status").addEventListener("change", () => loadWorkloads(false).catch(fail));
    $("refresh").addEventListener("click", refresh);
    $("more").addEventListener("click", () => loadWorkloads(true).catch(fail));
    $("auto-refresh").addEventListener("change", schedule);
    $("customer-form").addEventListener("submit", createCustomer);
    $("new-key-hide").addEventListener("click", () => {
      $("new-key").hidden = true;
      $("new-key-text").textContent = "";
    });
    $("key-new").addEventListener("click", newKey);
    $("keys-close").addEventListener("click", () => {
      $("keys").hidden = true;
      keysFor = null;
    });
    $("detail-close").addEventListener("click", () => {
      $("detail").hidden = true;
      detailId = null;
    });
    start();
  });
})();
