/*
 * Niyanta's interactive API documentation: reads /v1/openapi.json and
 * lists every operation with its parameters, request body schema and
 * responses, each with a "try it" form that sends the request and shows
 * the status, headers and body.  The API key is kept in this browser's
 * localStorage (the same entry the console uses).  Everything from the
 * document or the server is put on the page as text, never as HTML.
 */
"use strict";

(function () {
  const KEY = "niyanta.apiKey";
  const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
  const BODY_SHOWN_MAX = 200000;   // characters of a response body shown
  const $ = (id) => document.getElementById(id);
  let spec = null;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function apiKey() {
    return localStorage.getItem(KEY) || "";
  }

  function showKeyState() {
    const have = !!apiKey();
    $("key-form").hidden = have;
    $("key-set").hidden = !have;
  }

  function showError(text) {
    const m = $("message");
    m.textContent = text;
    m.hidden = !text;
  }

  /* Text with `code` spans, split into paragraphs on blank lines. */
  function prose(text, into) {
    for (const para of String(text || "").split(/\n\s*\n/)) {
      const p = el("p");
      String(para).split("`").forEach((part, i) => {
        p.append(i % 2 ? el("code", part) : document.createTextNode(part));
      });
      into.append(p);
    }
  }

  /* ---- schemas ---- */

  /* Follows a local "$ref"; returns [schema, name or null]. */
  function deref(s) {
    let name = null;
    let guard = 0;
    while (s && typeof s === "object" && typeof s.$ref === "string" && guard++ < 20) {
      const m = /^#\/(.*)$/.exec(s.$ref);
      if (!m) return [{}, s.$ref];
      name = m[1].split("/").pop();
      let t = spec;
      for (const part of m[1].split("/")) t = t && t[part.replace(/~1/g, "/").replace(/~0/g, "~")];
      s = t;
    }
    return [s || {}, name];
  }

  /* A one-line summary of a schema's type and constraints. */
  function typeText(s) {
    const [r, name] = deref(s);
    let t = r.type || (r.oneOf ? "one of" : r.allOf ? "all of" : r.properties ? "object" : "any");
    if (t === "array" && r.items) {
      const [it, iname] = deref(r.items);
      t = "array of " + (iname || it.type || "any");
    }
    if (r.format) t += " (" + r.format + ")";
    const bits = [];
    if (name) bits.push(name);
    if (r.enum) bits.push("one of " + r.enum.map((v) => JSON.stringify(v)).join(", "));
    if (r.minimum !== undefined) bits.push("\u2265 " + r.minimum);
    if (r.maximum !== undefined) bits.push("\u2264 " + r.maximum);
    if (r.minLength !== undefined) bits.push("length \u2265 " + r.minLength);
    if (r.maxLength !== undefined) bits.push("length \u2264 " + r.maxLength);
    if (r.minItems !== undefined) bits.push("items \u2265 " + r.minItems);
    if (r.maxItems !== undefined) bits.push("items \u2264 " + r.maxItems);
    if (r.pattern) bits.push("pattern " + r.pattern);
    if (r.default !== undefined) bits.push("default " + JSON.stringify(r.default));
    if (r.nullable) bits.push("nullable");
    return bits.length ? t + " \u2014 " + bits.join("; ") : t;
  }

  /* A schema as a nested list; named schemas seen on the way are folded. */
  function schemaTree(s, seen) {
    const [r, name] = deref(s);
    const wrap = el("div");
    if (name && seen.has(name)) {
      wrap.append(el("span", name + " (see above)", "muted"));
      return wrap;
    }
    const inner = new Set(seen);
    if (name) inner.add(name);
    if (r.description) wrap.append(el("div", r.description, "muted"));
    const variants = r.oneOf || r.anyOf || r.allOf;
    if (variants) {
      const ul = el("ul", null, "schema");
      for (const v of variants) {
        const li = el("li");
        li.append(el("span", typeText(v), "type"), schemaTree(v, inner));
        ul.append(li);
      }
      wrap.append(ul);
    }
    if (r.properties) {
      const req = new Set(r.required || []);
      const ul = el("ul", null, "schema");
      for (const [k, v] of Object.entries(r.properties)) {
        const li = el("li");
        li.append(el("span", k, "prop"), document.createTextNode(" "));
        if (req.has(k)) li.append(el("span", "required ", "req"));
        li.append(el("span", typeText(v), "type"));
        const [pv] = deref(v);
        if (pv.properties || pv.items || pv.oneOf || pv.allOf || pv.description ||
            pv.additionalProperties) {
          li.append(schemaTree(v, inner));
        }
        ul.append(li);
      }
      wrap.append(ul);
      if (r.additionalProperties === false) wrap.append(el("div", "no other members", "muted"));
    }
    if (r.additionalProperties && typeof r.additionalProperties === "object") {
      const ul = el("ul", null, "schema");
      const li = el("li");
      li.append(el("span", "<any name>", "prop"), document.createTextNode(" "),
        el("span", typeText(r.additionalProperties), "type"));
      ul.append(li);
      wrap.append(ul);
    }
    if (r.type === "array" && r.items) {
      const [it] = deref(r.items);
      if (it.properties || it.oneOf) {
        const ul = el("ul", null, "schema");
        const li = el("li");
        li.append(el("span", "items: " + typeText(r.items), "type"), schemaTree(r.items, inner));
        ul.append(li);
        wrap.append(ul);
      }
    }
    return wrap;
  }

  /* An example value for a schema: its example, default or a plain one. */
  function example(s, depth) {
    const [r] = deref(s);
    if (depth > 6) return null;
    if (r.example !== undefined) return r.example;
    if (r.default !== undefined) return r.default;
    if (r.enum) return r.enum[0];
    if (r.oneOf || r.anyOf) return example((r.oneOf || r.anyOf)[0], depth + 1);
    if (r.allOf) return example(r.allOf[0], depth + 1);
    switch (r.type) {
    case "object": {
      const o = {};
      const req = new Set(r.required || []);
      for (const [k, v] of Object.entries(r.properties || {})) {
        if (req.has(k)) o[k] = example(v, depth + 1);
      }
      return o;
    }
    case "array": return r.items ? [example(r.items, depth + 1)] : [];
    case "integer": return r.minimum !== undefined ? r.minimum : 0;
    case "number": return 0;
    case "boolean": return false;
    case "string": return r.format === "uuid" ? "00000000-0000-4000-8000-000000000000" : "";
    default: return r.properties ? {} : null;
    }
  }

  /* ---- operations ---- */

  function opParams(pathItem, op) {
    const all = [...(pathItem.parameters || []), ...(op.parameters || [])].map((p) => deref(p)[0]);
    const seen = new Map();
    for (const p of all) seen.set(p.in + ":" + p.name, p);
    return [...seen.values()];
  }

  function isPublic(op) {
    const sec = op.security !== undefined ? op.security : spec.security;
    return Array.isArray(sec) && sec.length === 0;
  }

  function opId(method, path, op) {
    return "op-" + (op.operationId || (method + path).replace(/[^A-Za-z0-9]+/g, "-"));
  }

  function paramTable(params) {
    const t = el("table");
    const head = el("tr");
    for (const h of ["name", "in", "type", "description"]) head.append(el("th", h));
    t.append(head);
    for (const p of params) {
      const tr = el("tr");
      const name = el("td");
      name.append(el("span", p.name, "prop"));
      if (p.required) name.append(document.createTextNode(" "), el("span", "required", "req"));
      tr.append(name, el("td", p.in), el("td", typeText(p.schema || {}), "type"),
        el("td", p.description || "", "muted"));
      t.append(tr);
    }
    return t;
  }

  function responsesList(op) {
    const t = el("table");
    const head = el("tr");
    for (const h of ["status", "description", "body", "headers"]) head.append(el("th", h));
    t.append(head);
    for (const [code, resp0] of Object.entries(op.responses || {})) {
      const [resp] = deref(resp0);
      const tr = el("tr");
      tr.append(el("td", code, "mono s" + String(code)[0]), el("td", resp.description || ""));
      const body = el("td");
      for (const [ct, media] of Object.entries(resp.content || {})) {
        if (media.schema) {
          const d = el("details");
          d.append(el("summary", ct + ": " + typeText(media.schema)), schemaTree(media.schema, new Set()));
          body.append(d);
        } else {
          body.append(el("div", ct, "muted"));
        }
      }
      tr.append(body, el("td", Object.keys(resp.headers || {}).join(", "), "mono"));
      t.append(tr);
    }
    return t;
  }

  /* The "try it" form of one operation. */
  function tryForm(method, path, op, params) {
    const box = el("div", null, "try");
    const d = el("details");
    d.append(el("summary", "Try it"));
    const form = el("form");
    const grid = el("div", null, "grid");
    const inputs = [];
    for (const p of params) {
      if (p.in === "cookie") continue;
      const id = "f-" + Math.random().toString(36).slice(2);
      const lab = el("label", p.in + " " + p.name + (p.required ? " *" : ""));
      lab.htmlFor = id;
      const inp = el("input");
      inp.id = id;
      inp.placeholder = typeText(p.schema || {});
      if (p.in === "path") inp.required = true;
      grid.append(lab, inp);
      inputs.push([p, inp]);
    }
    const extraId = "f-" + Math.random().toString(36).slice(2);
    const xlab = el("label", "header X-Request-Id");
    xlab.htmlFor = extraId;
    const xreq = el("input");
    xreq.id = extraId;
    xreq.placeholder = "optional";
    grid.append(xlab, xreq);
    form.append(grid);

    let bodyArea = null;
    const rb = op.requestBody ? deref(op.requestBody)[0] : null;
    if (rb) {
      const media = (rb.content || {})["application/json"];
      form.append(el("h4", "Body (application/json" + (rb.required ? "" : ", optional") + ")"));
      bodyArea = el("textarea");
      bodyArea.rows = 8;
      bodyArea.spellcheck = false;
      const ex = media && media.schema ? example(media.schema, 0) : {};
      bodyArea.value = rb.required || (ex && Object.keys(ex).length) ? JSON.stringify(ex, null, 2) : "";
      form.append(bodyArea);
    }
    const send = el("button", "Send " + method.toUpperCase(), "primary");
    send.type = "submit";
    const note = el("span", isPublic(op) ? "  no key needed" :
      "  sent with the stored API key", "muted");
    const bar = el("div");
    bar.append(send, note);
    form.append(bar);
    const out = el("div", null, "result");
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      sendRequest(method, path, op, inputs, xreq, bodyArea, out, send);
    });
    d.append(form, out);
    box.append(d);
    return box;
  }

  async function sendRequest(method, path, op, inputs, xreq, bodyArea, out, button) {
    out.replaceChildren();
    let url = path;
    const query = new URLSearchParams();
    const headers = {};
    for (const [p, inp] of inputs) {
      const v = inp.value;
      if (p.in === "path") {
        if (!v) {
          out.append(el("div", "path parameter " + p.name + " is required", "s4"));
          return;
        }
        url = url.split("{" + p.name + "}").join(encodeURIComponent(v));
      } else if (p.in === "query" && v !== "") {
        query.set(p.name, v);
      } else if (p.in === "header" && v !== "") {
        headers[p.name] = v;
      }
    }
    if (xreq.value) headers["X-Request-Id"] = xreq.value;
    const q = query.toString();
    if (q) url += "?" + q;
    if (!isPublic(op) && apiKey()) headers.Authorization = "Bearer " + apiKey();
    const opts = { method: method.toUpperCase(), headers };
    if (bodyArea && bodyArea.value.trim() !== "") {
      headers["Content-Type"] = "application/json";
      opts.body = bodyArea.value;
    }
    button.disabled = true;
    const t0 = performance.now();
    try {
      const res = await fetch(url, opts);
      const text = await res.text();
      const ms = Math.round(performance.now() - t0);
      out.append(el("div", opts.method + " " + url, "mono muted"));
      out.append(el("div", res.status + " " + res.statusText + "  (" + ms + " ms)",
        "status-line s" + String(res.status)[0]));
      const hs = [];
      res.headers.forEach((v, k) => hs.push(k + ": " + v));
      out.append(el("h4", "Headers"), el("pre", hs.sort().join("\n")));
      let shown = text;
      if ((res.headers.get("Content-Type") || "").includes("json")) {
        try {
          shown = JSON.stringify(JSON.parse(text), null, 2);
        } catch (e) {
          shown = text;
        }
      }
      if (shown.length > BODY_SHOWN_MAX) {
        shown = shown.slice(0, BODY_SHOWN_MAX) + "\n\u2026 (" + text.length + " characters in all)";
      }
      out.append(el("h4", "Body"), el("pre", shown || "(empty)"));
      if (res.status === 401 && !isPublic(op)) {
        out.append(el("div", apiKey() ? "The stored API key was refused." :
          "Set an API key at the top of the page.", "s4"));
      }
    } catch (e) {
      out.append(el("div", "The request failed: " + e.message, "s5"));
    } finally {
      button.disabled = false;
    }
  }

  function operationSection(method, path, pathItem, op) {
    const sec = el("section", null, "op");
    sec.id = opId(method, path, op);
    const h = el("h2");
    h.append(el("span", method.toUpperCase(), "method m-" + method), el("span", path, "path"));
    if (isPublic(op)) h.append(el("span", "public", "badge"));
    else if (/\(admin\)/.test(op.summary || "")) h.append(el("span", "admin key", "badge"));
    sec.append(h);
    if (op.summary) sec.append(el("div", op.summary));
    if (op.description) prose(op.description, sec);
    const params = opParams(pathItem, op);
    if (params.length) {
      sec.append(el("h4", "Parameters"), paramTable(params));
    }
    if (op.requestBody) {
      const [rb] = deref(op.requestBody);
      sec.append(el("h4", "Request body" + (rb.required ? "" : " (optional)")));
      if (rb.description) sec.append(el("div", rb.description, "muted"));
      for (const [ct, media] of Object.entries(rb.content || {})) {
        sec.append(el("div", ct + ": " + typeText(media.schema || {}), "type"));
        if (media.schema) sec.append(schemaTree(media.schema, new Set()));
      }
    }
    sec.append(el("h4", "Responses"), responsesList(op));
    sec.append(tryForm(method, path, op, params));
    return sec;
  }

  function render() {
    const main = $("main");
    const nav = $("nav");
    main.replaceChildren();
    nav.replaceChildren();
    $("title").textContent = (spec.info && spec.info.title) || "API";
    $("version").textContent = spec.info && spec.info.version ? "version " + spec.info.version : "";
    document.title = $("title").textContent;

    const intro = el("section", null, "intro");
    intro.id = "intro";
    prose(spec.info && spec.info.description, intro);
    main.append(intro);

    /* Operations grouped by their first tag, in the document's tag order. */
    const order = (spec.tags || []).map((t) => t.name);
    const groups = new Map(order.map((n) => [n, []]));
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const m of METHODS) {
        if (!item[m]) continue;
        const tag = (item[m].tags && item[m].tags[0]) || "other";
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push([m, path, item, item[m]]);
      }
    }
    const top = el("a", "Overview");
    top.href = "#intro";
    nav.append(top);
    for (const [tag, ops] of groups) {
      if (!ops.length) continue;
      nav.append(el("h3", tag));
      main.append(el("h3", tag, "group"));
      for (const [m, path, item, op] of ops) {
        const a = el("a");
        a.href = "#" + opId(m, path, op);
        a.append(el("span", m.toUpperCase(), "method m-" + m), document.createTextNode(" " + path));
        a.title = op.summary || "";
        nav.append(a);
        main.append(operationSection(m, path, item, op));
      }
    }

    const schemas = (spec.components && spec.components.schemas) || {};
    if (Object.keys(schemas).length) {
      nav.append(el("h3", "schemas"));
      const sec = el("section", null, "schemas");
      sec.id = "schemas";
      sec.append(el("h2", "Schemas"));
      for (const [name, s] of Object.entries(schemas)) {
        const d = el("details");
        d.id = "schema-" + name;
        d.append(el("summary", name + " \u2014 " + typeText(s)), schemaTree(s, new Set([name])));
        sec.append(d);
        const a = el("a", name);
        a.href = "#schema-" + name;
        a.addEventListener("click", () => { d.open = true; });
        nav.append(a);
      }
      main.append(sec);
    }
    if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target) target.scrollIntoView();
    }
  }

  async function load() {
    try {
      const res = await fetch("/v1/openapi.json", { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(res.status + " " + res.statusText);
      spec = await res.json();
      render();
    } catch (e) {
      $("main").replaceChildren(el("p", "Cannot load /v1/openapi.json: " + e.message, "s5"));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const k = $("key-input").value.trim();
      if (!k) {
        showError("Enter an API key first.");
        return;
      }
      localStorage.setItem(KEY, k);
      $("key-input").value = "";
      showError("");
      showKeyState();
    });
    $("key-forget").addEventListener("click", () => {
      localStorage.removeItem(KEY);
      showKeyState();
    });
    showKeyState();
    load();
  });
})();
