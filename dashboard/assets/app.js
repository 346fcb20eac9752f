// Fennec dashboard: reads the JSON endpoints under /api and renders tables. No framework,
// no network beyond this server. Text always goes in through textContent, never as HTML.
"use strict";

const $ = (sel) => document.querySelector(sel);
const rate = (v) => Number((v || 0).toFixed(2));

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ""));
  return e;
}

function status(text) { $("#status").textContent = text || ""; }

async function api(path, form) {
  const init = form ? { method: "POST", body: new URLSearchParams(form) } : {};
  const r = await fetch(path, init);
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = { error: text }; }
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// Fills <table> `t` with `heads` and `rows` (arrays of cells; numbers right-aligned).
function fill(t, heads, rows, onClick) {
  t.replaceChildren(el("tr", {}, ...heads.map((h) => el("th", {}, h))));
  rows.forEach((row, i) => {
    const tr = el("tr", {}, ...row.map((c) =>
      el("td", { className: typeof c === "number" ? "num" : "" }, c)));
    if (onClick) { tr.className = "link"; tr.onclick = () => onClick(i); }
    t.append(tr);
  });
}

function guard(fn) {
  return async (...args) => {
    try { status(""); await fn(...args); } catch (e) { status(e.message); }
  };
}

// ---- Cluster ----------------------------------------------------------------------------
const history = [];
let clusters = [];

const loadCluster = guard(async () => {
  const report = await api("/api/cluster");
  const brokers = report.brokers || [];
  clusters = [...new Set(brokers.map((b) => b.cluster))];
  document.querySelectorAll("select.clusters").forEach((s) =>
    s.replaceChildren(...clusters.map((c) => el("option", { value: c }, c))));
  fill($("#brokers"),
    ["Cluster", "Broker", "Id", "Role", "Address", "Version", "In TPS", "Out TPS",
      "In today", "Out today", "Disk used %"],
    brokers.map((b) => [b.cluster, b.brokerName, b.brokerId, b.role, b.addr, b.version,
      rate(b.inTps), rate(b.outTps), b.inTotalToday, b.outTotalToday,
      b.diskUsedPercent?.toFixed(1) ?? b.error ?? ""]));
  const sum = (k) => brokers.reduce((a, b) => a + (b[k] || 0), 0);
  history.push({ in: sum("inTps"), out: sum("outTps") });
  if (history.length > 100) history.shift();
  drawChart();
});

function drawChart() {
  const c = $("#tps-chart"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const max = Math.max(1, ...history.map((h) => Math.max(h.in, h.out)));
  g.fillStyle = "#666";
  g.fillText(max.toFixed(1) + " msg/s", 4, 12);
  for (const [key, colour] of [["in", "#2a7ab0"], ["out", "#c0392b"]]) {
    g.strokeStyle = colour;
    g.beginPath();
    history.forEach((h, i) => {
      const x = (i / 99) * (c.width - 1);
      const y = c.height - 1 - (h[key] / max) * (c.height - 20);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  }
}

// ---- Topics -----------------------------------------------------------------------------
const isSystem = (t) => /^(%RETRY%|%DLQ%|rmq_sys_|RMQ_SYS_|SCHEDULE_TOPIC|TBW102|SELF_TEST|OFFSET_MOVED|BenchmarkTest|DefaultCluster|TRANS_)/.test(t);

const loadTopics = guard(async () => {
  if (!clusters.length) await loadCluster();
  const all = await api("/api/topics");
  const shown = all.filter((t) => $("#show-system").checked || !isSystem(t.topic));
  fill($("#topics"), ["Topic", "Cluster", ""], shown.map((t) => {
    const del = el("button", { textContent: "Delete" });
    del.onclick = (ev) => { ev.stopPropagation(); deleteTopic(t.topic, t.cluster); };
    return [t.topic, t.cluster || "", del];
  }), (i) => showTopic(shown[i].topic));
});

const showTopic = guard(async (topic) => {
  const { status: s, route } = await api("/api/topic?topic=" + encodeURIComponent(topic));
  const total = s.queues.reduce((a, q) => a + q.maxOffset - q.minOffset, 0);
  const t = el("table");
  fill(t, ["Broker", "Queue", "Min offset", "Max offset", "Messages", "Last update"],
    s.queues.map((q) => [q.brokerName, q.queueId, q.minOffset, q.maxOffset,
      q.maxOffset - q.minOffset, q.lastUpdateTimestamp ? new Date(q.lastUpdateTimestamp).toLocaleString() : ""]));
  const routes = el("table");
  fill(routes, ["Broker", "Read queues", "Write queues", "Perm"],
    (route.queueDatas || []).map((q) => [q.brokerName, q.readQueueNums, q.writeQueueNums, q.perm]));
  const producers = el("table", { id: "producers" });
  const find = el("form", {},
    el("input", { name: "group", placeholder: "producer group", required: true }),
    el("button", {}, "Producers online"));
  find.onsubmit = guard(async (ev) => {
    ev.preventDefault();
    const group = new FormData(find).get("group");
    const r = await api("/api/producers?" + new URLSearchParams({ group, topic }));
    fill(producers, ["Broker", "Client", "Address", "Language", "Version"],
      r.producers.map((p) => [p.brokerName, p.clientId, p.clientAddr, p.language, p.version]));
  });
  $("#topic-detail").replaceChildren(el("h3", {}, topic + " — " + total + " messages stored"),
    t, el("h4", {}, "Route"), routes, el("h4", {}, "Producers"), find, producers);
});

async function deleteTopic(topic, cluster) {
  const typed = prompt(`Delete topic ${topic} from cluster ${cluster}? Type its name to confirm.`);
  if (typed === null) return;
  await guard(async () => {
    await api("/api/topic/delete", { topic, cluster, confirm: typed });
    $("#topic-detail").replaceChildren();
    await loadTopics();
  })();
}

$("#create-topic").onsubmit = guard(async (ev) => {
  ev.preventDefault();
  const f = Object.fromEntries(new FormData(ev.target));
  if (!confirm(`Create topic ${f.topic} with ${f.queues} queues on cluster ${f.cluster}?`)) return;
  await api("/api/topic/create", f);
  ev.target.reset();
  await loadTopics();
});
$("#show-system").onchange = () => loadTopics();

// ---- Consumer groups --------------------------------------------------------------------
const loadGroups = guard(async () => {
  const groups = await api("/api/groups");
  fill($("#groups"), ["Group", "Clients", "Type", "Model", "Consume TPS", "Lag"],
    groups.map((g) => [g.group, g.count, g.consumeType, g.messageModel, rate(g.consumeTps), g.diffTotal]),
    (i) => showGroup(groups[i].group));
});

const showGroup = guard(async (group) => {
  const { progress, connection } = await api("/api/group?group=" + encodeURIComponent(group));
  const lag = el("table", { id: "group-lag" });
  fill(lag, ["Topic", "Broker", "Queue", "Broker offset", "Consumer offset", "Lag", "Last consumed"],
    progress.queues.map((q) => [q.topic, q.brokerName, q.queueId, q.brokerOffset,
      q.consumerOffset, q.diff, q.lastTimestamp ? new Date(q.lastTimestamp).toLocaleString() : ""]));
  const clients = el("table");
  fill(clients, ["Client", "Address", "Language", "Version"],
    ((connection && connection.connectionSet) || []).map((c) =>
      [c.clientId, c.clientAddr, c.language, c.version]));
  const topics = [...new Set(progress.queues.map((q) => q.topic).filter((t) => !t.startsWith("%RETRY%")))];
  const reset = el("form", {},
    el("select", { name: "topic" }, ...topics.map((t) => el("option", { value: t }, t))),
    el("input", { name: "timestamp", value: "now", title: "now, epoch ms or yyyy-MM-dd#HH:mm:ss:SSS" }),
    el("button", {}, "Reset offset"));
  reset.onsubmit = guard(async (ev) => {
    ev.preventDefault();
    const f = Object.fromEntries(new FormData(reset));
    if (!confirm(`Reset ${group} on ${f.topic} to ${f.timestamp}?`)) return;
    await api("/api/group/reset", { group, ...f });
    await showGroup(group);
  });
  $("#group-detail").replaceChildren(
    el("h3", {}, `${group} — lag ${progress.diffTotal}, ${rate(progress.consumeTps)} msg/s`),
    lag, el("h4", {}, "Online clients"), clients, el("h4", {}, "Reset offset to a time"), reset);
});

// ---- Messages ---------------------------------------------------------------------------
function showMessages(report) {
  const list = report.messages || [];
  $("#messages").replaceChildren(el("p", {}, `${list.length} message(s)`),
    ...list.map((m) => {
      const props = el("table");
      fill(props, ["Property", "Value"], Object.entries(m.properties || {}));
      return el("div", { className: "message" },
        el("h4", {}, m.msgId),
        el("p", {}, `${m.topic} · ${m.brokerName} queue ${m.queueId} offset ${m.queueOffset} · stored ${m.storeTime} · tags ${m.tags ?? ""} · keys ${m.keys ?? ""}`),
        props, el("p", {}, `Body (${m.bodyEncoding ?? ""}, ${m.bodySize} bytes)`),
        el("pre", { className: "body" }, m.body ?? ""));
    }),
    ...(report.errors || []).map((e) => el("p", { className: "error" }, e)));
}

$("#by-key").onsubmit = guard(async (ev) => {
  ev.preventDefault();
  showMessages(await api("/api/message/key?" + new URLSearchParams(new FormData(ev.target))));
});
$("#by-time").onsubmit = guard(async (ev) => {
  ev.preventDefault();
  showMessages(await api("/api/message/range?" + new URLSearchParams(new FormData(ev.target))));
});
$("#by-id").onsubmit = guard(async (ev) => {
  ev.preventDefault();
  showMessages(await api("/api/message/id?" + new URLSearchParams(new FormData(ev.target))));
});

// ---- Navigation -------------------------------------------------------------------------
// `#page?name=value` links open a page with a detail or a lookup already shown:
// `#topics?topic=T`, `#groups?group=G`, `#messages?topic=T&key=K`, `#messages?id=I`,
// `#messages?topic=T&begin=B&end=E`.
const loaders = {
  cluster: loadCluster,
  topics: async (q) => { await loadTopics(); if (q.get("topic")) await showTopic(q.get("topic")); },
  groups: async (q) => { await loadGroups(); if (q.get("group")) await showGroup(q.get("group")); },
  messages: guard(async (q) => {
    if (q.get("key")) {
      showMessages(await api("/api/message/key?" + new URLSearchParams({ topic: q.get("topic") || "", key: q.get("key") })));
    } else if (q.has("begin") || q.has("end")) {
      showMessages(await api("/api/message/range?" + new URLSearchParams({ topic: q.get("topic") || "", begin: q.get("begin") || "", end: q.get("end") || "" })));
    } else if (q.get("id")) {
      showMessages(await api("/api/message/id?" + new URLSearchParams({ id: q.get("id"), topic: q.get("topic") || "" })));
    }
  }),
};

function route() {
  const [page, query] = (location.hash || "#cluster").slice(1).split("?");
  return [loaders[page] ? page : "cluster", new URLSearchParams(query || "")];
}

function show() {
  const [page, query] = route();
  for (const name of Object.keys(loaders)) {
    $("#page-" + name).hidden = name !== page;
    document.querySelector(`nav a[data-page=${name}]`).classList.toggle("active", name === page);
  }
  loaders[page](query);
}

window.onhashchange = show;
show();
setInterval(() => {
  if (route()[0] === "cluster") loadCluster();
}, 3000);
