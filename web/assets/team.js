// icsdrill web view: the team console (process diagram, faceplates, trends, forms, transaction log). Loaded after app.js (the words, helpers and streams it uses).
"use strict";
async function teamPage() {
  const team = decodeURIComponent(location.pathname.split("/")[2]);
  const base = `/api/teams/${encodeURIComponent(team)}`;
  let state = null, since = 0, alerts = null;
  const reportLink = () => { $("#report-link").href = `${base}/report?format=html&lang=${lang}`; };
  reportLink();
  const info = await api("/api/drill").catch(e => { toast(e.message, true); return null; });
  // The brief read to the teams: the plant, its hosts and what the team is there to do.
  const brief = () => { if (info && info.brief) { $("#brief").textContent = txt(info.brief); $("#brief-box").hidden = false; } };
  brief();
  if (info) reasonWords = info.reasons || {};
  if (info) { $("#title").textContent = txt(info.title); const me = info.teams.find(t => t.id === team); $("#team").textContent = me ? me.name : team; $("#flags-section").hidden = $("#hints-no-flags").hidden = info.mode !== "contest"; }
  // An exam: its tasks and time limit in place of the drill's score, its grade once over.
  const exam = examPanel(base, info && info.mode === "exam");
  $("#mimic").innerHTML = await fetch(base + "/mimic.svg").then(r => r.ok ? r.text() : "").catch(() => "");
  applyLang();
  const kind = $("#kind");
  // Declaring a hidden hazard is an exam's task: a drill's findings are the judge's to find.
  const offered = k => k !== "declare_hazard" || (info && info.mode === "exam");
  const fillKinds = () => { const v = kind.value; kind.innerHTML = Object.entries(ACTIONS).filter(([k]) => offered(k)).map(([k, a]) => `<option value="${k}">${esc(a[lang])}</option>`).join(""); if (v && offered(v)) kind.value = v; };
  const opts = (list, sel) => list.map(x => `<option value="${esc(x.id)}"${x.id === sel ? " selected" : ""}>${esc(x.id)}${x.name ? " — " + esc(txt(x.name)) : ""}</option>`).join("");
  const fields = () => {
    if (!state) return;
    const f = ACTIONS[kind.value].f;
    $("#fields").innerHTML = f.map(n => {
      const l = `<label>${esc(tr("f_" + n))} `;
      if (n === "conduit") return `${l}<select name="conduit">${opts(state.conduits)}</select></label>`;
      if (n === "host") return `${l}<select name="host">${opts(state.hosts)}</select></label>`;
      // Bypasses are taken off where interlocks run: the safety PLCs (any PLC was offered, and
      // a process PLC's "applied" changed nothing).
      if (n === "plc" && kind.value === "clear_bypasses") {
        const safety = new Set(state.interlocks.map(i => i.plc));
        return `${l}<select name="plc">${opts(state.plcs.filter(p => safety.has(p.id)))}</select></label>`;
      }
      if (n === "plc") return `${l}<select name="plc">${opts(state.plcs)}</select></label>`;
      if (n === "actuator") return `${l}<select name="actuator">${opts(state.actuators)}</select></label>`;
      if (n === "position") return `${l} (%)<input name="position" type="number" min="0" max="100" step="1"></label>`;
      if (n === "sensor") return `${l}<select name="sensor">${opts(state.sensors)}</select></label>`;
      if (n === "alarm") return `${l}<select name="alarm">${opts(state.alarm_defs)}</select></label>`;
      if (n === "mode") return `${l}<select name="mode">${["run", "stop", "program"].map(m => `<option value="${m}">${tr("plc_" + m)}</option>`).join("")}</select></label>`;
      if (n === "functions") return `${l} (1,3,4,…)<input name="functions" placeholder="1,2,3,4"></label>`;
      if (n === "text") return `${l}<textarea name="text" rows="2"></textarea></label>`;
      // The addressees a response plan names, by name (a free box took any word, and a plan
      // step waiting for 厂长 never saw 管理层's notice).
      if (n === "to") return `${l}<select name="to">${ADDRESSEES.map(a => `<option value="${a}">${esc(tr("to_" + a))}</option>`).join("")}</select></label>`;
      // What a trainee can name (a conduit, a PLC, damage): a path's own id names an attack
      // step nobody sees; no example that is an answer.
      if (n === "hazard") return `${l}<input name="id" placeholder="conduit:ID · range:PLC · backup:PLC · safety:damage" required></label>`;
      return `${l}<input name="${n}" type="number" min="0" max="65535"${n === "min" || n === "max" ? "" : " required"}></label>`;
    }).join("");
  };
  kind.addEventListener("change", fields);
  // A form being sent takes no second press (a double click sent an action twice: two PLC
  // restarts, two destructive-action penalties); the updates keep its button off meanwhile.
  const busy = new Set();
  const sending = async (form, send) => {
    if (busy.has(form.id)) return;
    busy.add(form.id);
    const b = form.querySelector("button[type=submit]");
    b.disabled = true;
    try { await send(); } finally { busy.delete(form.id); b.disabled = !state || state.phase !== "live"; }
  };
  // What an action acted on, as the form named it: the toast says what changed, not only how.
  const actedOn = b => {
    const what = ["conduit", "host", "plc", "sensor", "actuator", "alarm", "hazard"].map(k => b[k]).filter(v => v != null && v !== "");
    // A notice's addressee in words (`duty_officer` is the form's value, not the reader's).
    if (b.to) what.push(T.en["to_" + b.to] ? tr("to_" + b.to) : b.to);
    if (b.mode) what.push(b.mode);
    if (b.functions) what.push("FC " + b.functions.join(","));
    if (b.start != null && b.end != null) what.push(`${b.start}–${b.end}`);
    if (b.position != null) what.push(`${Math.round(b.position * 100)} %`);
    return what.length ? " " + what.join(" / ") : "";
  };
  $("#action").addEventListener("submit", async ev => {
    ev.preventDefault();
    if (busy.has(ev.target.id)) return;
    // A restart or a stop takes the PLC's control away and counts as destructive: asked first.
    const destructive = kind.value === "restart_plc" || (kind.value === "set_mode" && ev.target.mode && ev.target.mode.value !== "run");
    if (destructive && !confirm(tr("confirm_destructive"))) return;
    const body = {kind: kind.value};
    new FormData(ev.target).forEach((v, k) => {
      if (k === "kind" || v === "") return;
      if (k === "functions") body.functions = v.split(/[ ,]+/).filter(Boolean).map(Number);
      else if (["start", "end", "min", "max"].includes(k)) body[k] = Number(v);
      else if (k === "position") body.position = Number(v) / 100;
      else body[k] = v;
    });
    // Said in words before it is sent, not as the server's parser puts it.
    const bad = formProblem(body, ACTIONS[kind.value].f);
    if (bad) { toast(bad, true); return; }
    await sending(ev.target, async () => {
      try { await api(base + "/actions", body); toast(tr("applied") + colon() + actionName(kind.value) + actedOn(body)); } catch (e) { toast(e.message, true); }
    });
  });
  $("#flag").addEventListener("submit", async ev => {
    ev.preventDefault();
    await sending(ev.target, async () => {
      try { const r = await api(base + "/flags", {flag: ev.target.flag.value.trim()}); toast(lang === "zh" && r.message_zh ? r.message_zh : r.message, !r.valid); ev.target.reset(); } catch (e) { toast(e.message, true); }
    });
  });
  $("#report").addEventListener("submit", async ev => {
    ev.preventDefault();
    const body = {};
    new FormData(ev.target).forEach((v, k) => { if (v !== "") body[k] = k === "observed_s" ? Number(v) : v; });
    // A technique typed by its name, in either language (报警抑制, Alarm Suppression), is sent
    // as its id, as picking it from the list does.
    if (body.technique) {
      const typed = body.technique.trim().toLowerCase();
      const named = techniques.find(t => [t.name.en, t.name.zh].some(n => n && n.toLowerCase() === typed) || t.v19.toLowerCase() === typed);
      if (named) body.technique = named.id;
    }
    await sending(ev.target, async () => {
      try { await api(base + "/reports", body); toast(tr("sent")); ev.target.reset(); } catch (e) { toast(e.message, true); }
    });
  });
  let first = true, injectsSeen = 0, epochPhase = info && info.phase;
  const shelved = new Map();
  const trend = trends();
  const hmi = mimic(() => state);
  const render = s => {
    TICK_HZ = s.tick_hz;
    state = s;
    trend(s);
    phaseBadge(s.phase);
    // The drill's clock starts when the drill does: a console opened in the briefing reads it
    // again as the phase moves on (its captures' t = 0 said the drill's creation, off by the
    // whole briefing).
    if (info && s.phase !== epochPhase) {
      epochPhase = s.phase;
      api("/api/drill").then(i => { if (i) info.epoch_ms = i.epoch_ms; }).catch(() => {});
    }
    // The report names the attack: it opens to teams at the hot wash, so does its link.
    $("#report-link").hidden = document.body.classList.contains("exam") || !["hot_wash", "ended"].includes(s.phase);
    $("#clock").textContent = `t = ${s.simulated_s.toFixed(0)} s`;
    $("#total").textContent = s.score.total.toFixed(1);
    exam(s);
    document.body.dataset.tick = s.tick;
    const to = Math.max(1, Math.floor(s.simulated_s) - 2), pc = $("#pcap");
    if (pc) pc.href = `${base}/pcap?from=${Math.max(0, to - 300)}&to=${to}`;
    // Wireshark decodes port 502 as Modbus/TCP: endpoints on other ports are given to its
    // Modbus/TCP dissector as its ports.
    // Each run of consecutive Modbus ports once (no IEC 104 or OPC UA port among them).
    const ports = [...new Set(s.endpoints.map(e => e.port).filter(p => p !== 502))].sort((a, b) => a - b);
    const runs = [];
    for (const p of ports) { const r = runs[runs.length - 1]; if (r && p === r[1] + 1) r[1] = p; else runs.push([p, p]); }
    // The Modbus/TCP dissector's own port preference: with it tshark tells queries from
    // responses (a bare "Decode As" leaves every packet unclassified).
    // And how its packets' times read: the drill's clock, t = 0 at its start (a capture taken
    // at 15:40 held packets up to 15:44, with nothing to tie them to the console's t).
    const zero = info && info.epoch_ms ? new Date(info.epoch_ms).toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", {timeZone: "Asia/Shanghai", hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3}) : null;
    // IEC 104 off its standard port 2404 is not decoded at all without a "decode as" each.
    const iec = [...new Set(s.endpoints.map(e => e.iec104_port).filter(p => p && p !== 2404))].sort((a, b) => a - b);
    const decode = [
      ...(runs.length ? [`-o mbtcp.tcp.port:${runs.map(([a, b]) => a === b ? a : a + "-" + b).join(",")}`] : []),
      ...iec.map(p => `-d tcp.port==${p},iec60870_104`),
    ];
    $("#decode-as").textContent = (decode.length ? `${tr("decode_as")} tshark ${decode.join(" ")}${lang === "zh" ? "。" : "."}` : "")
      + (zero ? ` ${tr("capture_clock").replaceAll("{t0}", zero)}` : "");
    const view = $("#view"); view.hidden = s.view === "live"; view.textContent = s.view === "live" ? "" : tr("view_" + s.view);
    hmi(s);
    // The alarm list as ISA-18.2 has it: priority, time, tag, description, value, level,
    // state (unacknowledged, acknowledged, returned); shelved alarms leave the list for a
    // while (on this console) and come back by themselves.
    const now = s.simulated_s, key = a => a.plc + "|" + a.id;
    for (const [k, until] of shelved) if (until <= now) shelved.delete(k);
    const listed = s.alarms.filter(a => !shelved.has(key(a)));
    // A PLC the operator station cannot read raises a system alarm, as an HMI's does.
    const comm = s.plcs.filter(p => p.comms === false).map(p => `<tr data-comm="${esc(p.id)}"><td class="bad">${tr("prio_high")}</td><td class="num">–</td><td>${esc(p.id)}</td><td>${tr("comm_fail_desc")}</td><td class="num">–</td><td>–</td><td>${tr("comm_fail")}</td></tr>`).join("");
    put($("#alarms tbody"), comm + (listed.length || comm ? "" : `<tr><td class="mut" colspan="7">${tr("no_alarms")}</td></tr>`) + listed.map(a => `<tr data-alarm="${esc(key(a))}" data-state="${a.state}"><td class="${a.priority === "high" ? "bad" : a.priority === "medium" ? "warn" : "mut"}">${tr("prio_" + a.priority)}</td><td class="num">${a.since_s.toFixed(0)} s</td><td>${esc(a.tag)}</td><td>${esc(txt(a.description))}</td><td class="num" data-alarm-value="${esc(key(a))}"></td><td>${esc(a.levels.map(l => tr("lvl_" + l)).join(", ") || "–")}</td><td>${tr("al_" + a.state)}${a.acked ? "" : ` <button data-ack="${esc(key(a))}">${tr("ack")}</button>`} <button data-shelve="${esc(key(a))}">${tr("shelve")}</button></td></tr>`).join(""));
    // On a phone each alarm is a card, its buttons on screen (they were past a sideways scroll).
    labelCells($("#alarms"));
    // Values change every update: written into their cells, the rows (and buttons) stay.
    for (const a of listed) {
      const c = document.querySelector(`[data-alarm-value="${CSS.escape(key(a))}"]`);
      if (c) c.textContent = `${num(a.value)} ${a.unit}`;
    }
    const sh = $("#shelved"); sh.hidden = !shelved.size;
    put(sh, shelved.size ? `${tr("shelved")}${colon()}${[...shelved.keys()].map(k => `<button data-unshelve="${esc(k)}">${esc(k.split("|")[1])} ✕</button>`).join(" ")}` : "");
    put($("#endpoints tbody"), s.endpoints.map(e => `<tr><td>${esc(e.plc)}</td><td>${esc(e.address)}:${e.port}</td><td>${e.unit_id}</td><td>${e.iec104_port ? `${esc(e.address)}:${e.iec104_port} (CA ${e.iec104_address})` : "–"}</td><td>${e.opcua_port ? `opc.tcp://${esc(e.address)}:${e.opcua_port}/` : "–"}</td><td>${esc(e.device)}</td></tr>`).join(""));
    labelCells($("#endpoints"));
    // The networks, then the commands that connect from them: an nmap scan (the device
    // identities), pymodbus, and mbpoll where the team's networks include 127.0.0.1 (it cannot
    // choose its source address).
    const cmd = t => `<code>${esc(t)}</code>`;
    const c = s.clients;
    put($("#clients"), c ? `${esc(tr("clients"))}${colon()}${esc(c.networks.join(", "))}${c.mbpoll ? cmd(c.mbpoll) : ""}${cmd(c.nmap)}${cmd(c.pymodbus)}${c.mbpoll ? "" : esc(tr("no_mbpoll"))}` : "");
    // Which host the team's client acts as (the conduits judge it so, captures show it so),
    // and the addresses that act as the others.
    const hostName = id => { const h = s.hosts.find(x => x.id === id); return h && h.name ? `${id}${paren(txt(h.name))}` : id; };
    $("#as-hosts").textContent = c && c.stands_for ? tr("stands_for").replace("{a}", c.source).replace("{h}", hostName(c.stands_for))
      + (c.hosts.length ? ` ${tr("bind_as")}${colon()}${c.hosts.map(h => `${h.host} ${h.address}`).join(", ")}` : "") : "";
    $("#records").hidden = !s.records_failing;
    $("#maint-box").hidden = !(s.maintenance || []).length;
    put($("#maintenance"), (s.maintenance || []).map(m => `<li><b>${esc(m.id)}</b> ${(m.from_tick / s.tick_hz).toFixed(0)}–${(m.to_tick / s.tick_hz).toFixed(0)} s, ${esc(m.host)} → ${esc(m.plcs.join(", "))}${m.note ? ": " + esc(txt(m.note)) : ""}</li>`).join(""));
    put($("#injects"), s.injects.map(i => `<li><span class="badge">${esc(tr(i.channel === "phone" ? "phone" : "message"))}</span> t=${(i.tick / s.tick_hz).toFixed(0)} s${colon()}${esc(i.text)}</li>`).join(""));
    // A contest's challenges, each marked with when the team solved it.
    const solved = new Map((s.score.solved || []).map(([id, tick]) => [id, tick]));
    put($("#challenges"), (s.challenges || []).map(c => `<li data-challenge="${esc(c.id)}"${solved.has(c.id) ? " data-solved" : ""}>${esc(txt(c.title))} ${solved.has(c.id) ? `<span class="ok">${esc(tr("solved_at").replace("{t}", (solved.get(c.id) / s.tick_hz).toFixed(1)))}</span>` : ""}</li>`).join(""));
    put($("#hints"), s.hints.map(h => `<li>${esc(h.id)}${paren(tr("cost") + " " + h.cost)} ${h.taken ? "— " + esc(txt(h.text)) : `<button data-hint="${esc(h.id)}" data-cost="${h.cost}">${tr("take")}</button>`}</li>`).join(""));
    // Outside the live phase the drill takes no action, report, hint or flag: the buttons say
    // so rather than answer 409.
    const live = s.phase === "live";
    $("#not-live").hidden = live;
    document.querySelectorAll("#action button[type=submit], #report button[type=submit], #flag button[type=submit], #hints button[data-hint], #alarms button[data-ack]").forEach(b => { b.disabled = !live || busy.has(b.closest("form") && b.closest("form").id); });
    // The latest first, with what each acted on (two blocks on two conduits read the same).
    put($("#myactions"), s.actions.slice(-32).reverse().map(a => `<li data-kind="${esc(a.kind)}">t=${(a.tick / s.tick_hz).toFixed(0)} s ${esc(actionName(a.kind))}${a.target ? ` <span class="tag">${esc(a.kind === "notify" && T.en["to_" + a.target] ? tr("to_" + a.target) : a.target)}</span>` : ""} ${a.ok ? "✓" : "✗ " + esc(a.why ? txt(a.why) : a.reason || "")}${a.undone_tick != null ? ` <span class="warn">${esc(tr("forged_again").replace("{t}", (a.undone_tick / s.tick_hz).toFixed(0)))}</span>` : ""}</li>`).join(""));
    // A blind drill's provisional card: the parts judged at the hot wash show no points.
    $("#provisional-note").hidden = !s.score.components.some(c => c.withheld);
    put($("#card tbody"), s.score.components.map(c => `<tr data-key="${c.key}" data-points="${c.points}"${c.withheld ? " data-withheld" : ""}><td>${esc(txt(c.label))}</td><td class="num ${c.points < 0 ? "bad" : ""}">${c.withheld ? `<span class="mut">${tr("withheld")}</span>` : c.points.toFixed(1)}${c.max ? "\u00a0/\u00a0" + c.max : ""}</td><td class="mut">${esc(txt(c.detail))}</td></tr>`).join(""));
    put($("#plan tbody"), s.score.plan.map(p => `<tr><td>${esc(txt(p.name))}</td><td class="${p.status === "done" ? "ok" : p.status === "pending" ? "mut" : "bad"}">${tr(p.status)}</td></tr>`).join(""));
    // A message or call from the white cell that came since the last update: told at once,
    // wherever the page is scrolled to (on a phone, the messages are far down).
    if (!first && s.injects.length > injectsSeen) {
      const i = s.injects[s.injects.length - 1];
      toast(`${tr(i.channel === "phone" ? "phone" : "message")}${colon()}${i.text}`);
    }
    injectsSeen = s.injects.length;
    // The transaction log is polled from the first update on: its times need the tick rate.
    if (first) { first = false; fillKinds(); fields(); const a = $("#asset"); a.innerHTML = opts(s.plcs.concat(s.hosts)); poll(); }
  };
  // The report form's techniques to pick from (the v18 id trainees type, the v19 id and the
  // name in the page's language).
  const techniques = await fetch("/api/techniques").then(r => r.ok ? r.json() : []).catch(() => []);
  const lists = () => {
    put($("#techniques"), techniques.map(t => `<option value="${esc(t.id)}" label="${esc((t.v19 !== t.id ? t.v19 + " " : "") + txt(t.name))}"></option>`).join(""));
  };
  lists();
  rerender = () => {
    lists();
    for (const line of $("#log").children) if (line.logEvent) line.textContent = logLine(line.logEvent);
    reportLink();
    exam(null);
    if (info) $("#title").textContent = txt(info.title);
    brief();
    if (alerts) alerts.draw();
    if (state) { fillKinds(); fields(); render(state); const a = $("#asset"); a.innerHTML = opts(state.plcs.concat(state.hosts), a.value); }
  };
  document.addEventListener("click", async ev => {
    const t = ev.target;
    try {
      // A hint costs points: taken only once confirmed (a tap on a phone comes easily).
      if (t.dataset.hint && confirm(tr("confirm_hint").replace("{id}", t.dataset.hint).replace("{cost}", t.dataset.cost))) { await api(base + "/hints", {hint: t.dataset.hint}); }
      // Said, as every other action is (the row only vanished from the list).
      if (t.dataset.ack) { const [plc, alarm] = t.dataset.ack.split("|"); await api(base + "/actions", {kind: "acknowledge_alarm", plc, alarm}); toast(tr("applied") + colon() + actionName("acknowledge_alarm") + " " + alarm); }
      if (t.dataset.shelve && state) { shelved.set(t.dataset.shelve, state.simulated_s + SHELVE_S); render(state); }
      if (t.dataset.unshelve && state) { shelved.delete(t.dataset.unshelve); render(state); }
    } catch (e) { toast(e.message, true); }
  });
  // This node stopped answering: once one of the drill's other nodes serves this page (itself,
  // or by sending it on to the node that took the team over; until then it sends it to the
  // node that died, which fails), the page goes there (the login cookie goes with it on one
  // host). Tried every second for a minute.
  let looking = false;
  const follow = async () => {
    if (looking || !state || !(state.nodes || []).length) return;
    looking = true;
    for (let round = 0; round < 60; round++) {
      for (const n of state.nodes) {
        try { await fetch(n + location.pathname, {mode: "no-cors", cache: "no-store"}); location.href = n + location.pathname; return; } catch (_) { /* not yet */ }
      }
      await new Promise(r => setTimeout(r, 1000));
    }
    looking = false;
  };
  // A window of the drill's record as a capture: fetched, so a window the record does not
  // hold says why on the page, in its language, rather than on an error page.
  const capture = async (from, to) => {
    try {
      const r = await fetch(`${base}/pcap?from=${from}&to=${to}`, {headers: {"X-Icsdrill-As": AS}});
      if (!r.ok) throw await failure(r);
      const a = document.createElement("a");
      a.href = URL.createObjectURL(await r.blob());
      a.download = `${team}-t${from}-${to}.pcapng`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    } catch (e) { toast(e.message, true); }
  };
  $("#pcap-window").onsubmit = async ev => {
    ev.preventDefault();
    const from = Number(ev.target.from.value), to = Number(ev.target.to.value);
    // The server's limit (`MAX_PCAP_WINDOW_S`); it refuses a longer window anyway.
    if (!(from >= 0 && to > from && to - from <= 600)) { toast(tr("bad_pcap_window"), true); return; }
    await capture(from, to);
  };
  // The link gives the last 5 minutes (its address the window, kept up to date by `render`).
  $("#pcap").onclick = ev => {
    ev.preventDefault();
    const q = new URL(ev.currentTarget.href).searchParams;
    if (q.has("from")) capture(Number(q.get("from")), Number(q.get("to")));
  };
  // The historian's samples first: the trends show the last minutes, not only since now.
  await api(base + "/trends").then(trend.seed).catch(() => {});
  stream(base + "/stream", "state", render, follow);
  alerts = alertsPanel(base, () => state);
  // Every second; backing off while the server does not answer, and no more once an ended
  // drill's server has gone.
  let pollWait = 1000;
  const poll = async () => {
    try {
      const page = await api(`${base}/events?since=${since}&limit=500`);
      since = page.next;
      const log = $("#log");
      for (const e of page.events) {
        if (!["modbus_transaction", "modbus_connection", "iec104_transaction", "opcua_transaction", "traffic_summary"].includes(e.kind)) continue;
        const line = document.createElement("div");
        // Kept with its line: a change of language writes the log again in the new one.
        line.textContent = logLine(e);
        line.logEvent = e;
        if (e.values || (e.kind === "iec104_transaction" && IEC104_COMMANDS.has(e.type_id) && !e.select)
          || (e.kind === "opcua_transaction" && e.service === 2)) line.className = "warn";
        log.appendChild(line);
      }
      while (log.childNodes.length > 300) log.removeChild(log.firstChild);
      log.scrollTop = log.scrollHeight;
      pollWait = 1000;
    } catch (e) {
      // Shown by the state stream.
      if (state && state.phase === "ended") return;
      pollWait = Math.min(pollWait * 2, 30000);
    }
    setTimeout(poll, pollWait);
  };
}

// The monitoring platform's alerts (the range's IDS), newest first: time, severity, the ATT&CK
// technique its rule watches for, the rule, the PLC and the source. From the team's alert
// stream, which a reconnecting EventSource resumes after the last one it had (Last-Event-ID).
const ALERTS_KEPT = 200;
function alertsPanel(base, current) {
  const list = [];
  // The last alert's number, and how many came in all (the table keeps the newest ALERTS_KEPT).
  let last = -1, total = 0, queued = false;
  const sev = {critical: "bad", high: "bad", medium: "warn", low: "mut"};
  const draw = () => {
    queued = false;
    $("#alert-count").textContent = total;
    put($("#ids-alerts tbody"), list.length ? list.slice().reverse().map(a => `<tr data-rule="${esc(a.rule)}"><td class="num">${a.time_s.toFixed(0)} s</td><td class="${sev[a.severity] || ""}">${esc(tr("sev_" + a.severity))}</td><td>${esc(a.technique_v19 && a.technique_v19 !== a.technique ? a.technique_v19 + paren(a.technique) : a.technique)} ${esc(lang === "zh" && a.technique_name_zh ? a.technique_name_zh : a.technique_name)}</td><td>${esc(tr("rule_" + a.rule))}</td><td>${esc(a.asset)}</td><td>${esc(a.source)}</td></tr>`).join("")
      : `<tr><td class="mut" colspan="6">${tr("no_ids_alerts")}</td></tr>`);
    labelCells($("#ids-alerts"));
  };
  draw();
  // A backlog of alerts is drawn once, not once an alert.
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(draw); } };
  let wait = 1000;
  const open = () => {
    const es = new EventSource(`${base}/alerts?since=${last + 1}&as=${encodeURIComponent(AS)}`);
    es.addEventListener("alert", e => {
      wait = 1000;
      const a = JSON.parse(e.data);
      if (a.seq <= last) return;
      last = a.seq;
      total++;
      list.push(a);
      if (list.length > ALERTS_KEPT) list.shift();
      later();
    });
    // A network error is retried by the browser itself; an answer that was no stream (the
    // server at its connection cap) closes it: opened again later, from the last alert on. An
    // ended drill's server goes away: nothing more will come.
    es.onerror = () => {
      const s = current();
      if (s && s.phase === "ended") { es.close(); return; }
      if (es.readyState === EventSource.CLOSED) { setTimeout(open, wait); wait = Math.min(wait * 2, 30000); }
    };
  };
  open();
  return {draw};
}

// IEC 104 requests in the transaction log as Wireshark names them: the type identification's
// mnemonic, the object, the value, select or execute, and a refusal's reason.
const IEC104_TYPES = {45: "C_SC_NA_1", 46: "C_DC_NA_1", 48: "C_SE_NA_1", 49: "C_SE_NB_1", 50: "C_SE_NC_1", 100: "C_IC_NA_1", 103: "C_CS_NA_1"};
const IEC104_COMMANDS = new Set([45, 46, 48, 49, 50]);
// When a logged request came, in simulated seconds as the rest of the console says it (the
// tick while the rate is not known yet).
let TICK_HZ = 0;
// Why the range refused something, in the page's language: the drill's words for each reason
// (`/api/drill`'s `reasons`), its id where it has none.
let reasonWords = {};
const why = r => reasonWords[r] ? txt(reasonWords[r]) : r;
const refusedWhy = r => r ? ` ${tr("log_refused")}${paren(why(r))}` : "";
// A transaction log line of event `e`, in the page's language.
const logLine = e => e.kind === "iec104_transaction" ? iec104Line(e)
  : e.kind === "opcua_transaction" ? opcuaLine(e)
  : e.kind === "traffic_summary"
  ? e.entries.map(c => `${when(e)} ${c.source} -> ${c.plc} ${c.function == null ? tr("log_connect") : "fc=" + c.function} ${tr("summary")} x${c.count}${c.exceptions ? ` ${tr("log_exc")} x${c.exceptions}` : ""}`).join("\n")
  : e.kind === "modbus_transaction"
  ? `${when(e)} ${e.source} -> ${e.plc} fc=${e.function} addr=${e.addr} n=${e.count}${e.values ? " v=" + e.values.join(",") : ""}${e.exception ? ` ${tr("log_exc")} ${e.exception}` : ""}${!e.exception && e.reason ? refusedWhy(e.reason) : ""}${e.repeat ? " x" + e.repeat : ""}`
  : `${when(e)} ${e.source} ${tr("log_connect")} ${e.plc}${refusedWhy(e.refused)}`;
const when = e => TICK_HZ ? `t=${(e.tick / TICK_HZ).toFixed(1)} s` : String(e.tick);
const iec104Line = e => e.type_id === 0
  ? `${when(e)} ${e.source} ${tr("log_connect")} ${e.plc} IEC 104${refusedWhy(e.reason)}`
  : `${when(e)} ${e.source} -> ${e.plc} IEC 104 ${IEC104_TYPES[e.type_id] || "type " + e.type_id}${e.ioa ? " ioa=" + e.ioa : ""}${e.value != null ? " v=" + e.value : ""}${IEC104_COMMANDS.has(e.type_id) ? (e.select ? " select" : " execute") : ""}${e.reason ? ` ${tr("log_neg")} ${why(e.reason)}` : ""}${e.repeat ? " x" + e.repeat : ""}`;

// OPC UA requests by their service names, with the variable, a write's value and a refusal.
const OPCUA_SERVICES = {1: "Read", 2: "Write", 4: "CreateMonitoredItems"};
const opcuaLine = e => e.service === 0
  ? `${when(e)} ${e.source} ${tr("log_connect")} ${e.plc} OPC UA${refusedWhy(e.reason)}`
  : `${when(e)} ${e.source} -> ${e.plc} OPC UA ${OPCUA_SERVICES[e.service] || "service " + e.service}${e.node ? " " + e.node : ""}${e.value != null ? " v=" + e.value : ""}${e.reason ? ` ${tr("log_bad")} ${why(e.reason)}` : ""}${e.repeat ? " x" + e.repeat : ""}`;

// Shelving takes an alarm off this console's list for ten simulated minutes (ISA-18.2
// shelving: the operator's choice, timed, and listed so it is not forgotten).
const SHELVE_S = 600;
const num = (v, d) => v == null ? "?" : v.toFixed(d == null ? (Math.abs(v) < 10 ? 2 : 1) : d);
// A switch's reading in words, an actuator's position in percent.
const onOff = v => v == null ? "?" : v >= 0.5 ? tr("on") : tr("off");
const pct = v => v == null ? "?" : (v * 100).toFixed(0) + " %";
// An interlock's state: tripped, bypassed, ok, or unknown (no view).
const ilState = i => i.tripped == null ? "unknown" : i.tripped ? "tripped" : i.bypassed ? "bypassed" : "ok";

// The process diagram (ISA-101 greys): values, level fills, actuator states, alarm
// indicators, set points and trips written into the server's SVG by id; a click (or Enter)
// on a symbol opens its faceplate, refreshed with every update.
function mimic(current) {
  const svg = $("#mimic svg");
  let open = null;
  const fp = $("#faceplate");
  const show = el => { open = meta(el); builtLang = null; fp.hidden = false; const s = current(); if (s) draw(s, reg(s)); $("#faceplate .close").focus(); };
  // A symbol's faceplate data, parsed once.
  const meta = el => el._fp || (el._fp = JSON.parse(el.dataset.fp));
  if (svg) {
    svg.addEventListener("click", ev => { const g = ev.target.closest("[data-fp]"); if (g) show(g); });
    svg.addEventListener("keydown", ev => { const g = ev.target.closest("[data-fp]"); if (g && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); show(g); } });
  }
  fp.addEventListener("click", ev => { if (ev.target.classList.contains("close")) { fp.hidden = true; open = null; } });
  document.addEventListener("keydown", ev => { if (ev.key === "Escape" && !fp.hidden) { fp.hidden = true; open = null; } });
  const reg = s => { const m = new Map(); for (const h of (s.holding || [])) m.set(h.plc + "|" + h.id, h); return m; };
  // A parameter as the HMI reads it: a constant, or its holding register's value.
  const param = (p, regs) => p == null ? null : p.c != null ? p.c : p.r != null ? (regs.get(p.r) || {}).value : null;
  // The faceplate is built once when opened (and on a language switch); each update only
  // writes its values, so the close button and the trend stay put.
  let fields = [], builtLang = null;
  const build = () => {
    const f = [];
    const add = (label, value) => f.push([label, value]);
    let big = () => "";
    if (open.k === "s") {
      const find = s => s.sensors.find(x => x.id === open.id) || {};
      big = s => { const v = find(s).value; return `${open.switch ? onOff(v) : num(v)} ${open.unit}`; };
      add(tr("fp_range"), () => `${open.lo} … ${open.hi} ${open.unit}`);
      add("PLC", () => open.plc || "–");
      // The level as the alarm list names it (低低 on a Chinese page, it read LO_LO).
      for (const [lvl, p] of open.limits) add(`${tr("fp_limit")} ${tr("lvl_" + lvl.replace("_", ""))}`, (s, regs) => num(param(p, regs)));
      for (const [name, p] of open.sp) add(`${tr("fp_setpoint")} ${txt(name)}`, (s, regs) => num(param(p, regs)));
      // A transmitter at either end of its range reads nothing it can be trusted with (ISA-101:
      // bad quality): it said "normal" stuck at the bottom below its trip.
      add(tr("state"), s => { const v = find(s).value; if (!open.switch && v != null && (v <= open.lo || v >= open.hi)) return tr("fp_bad_pv"); const a = s.alarms.find(x => x.sensor === open.id); return a ? `${tr("al_" + a.state)}${paren(a.levels.join(", ") || "–")}` : tr("fp_normal"); });
    } else if (open.k === "a") {
      const find = s => s.actuators.find(x => x.id === open.id) || {};
      big = s => pct(find(s).position);
      add(tr("fp_kind"), () => tr("fp_" + open.kind));
      add(tr("fp_control"), s => find(s).local ? tr("local") : tr("fp_remote"));
      add("PLC", s => { const p = s.plcs.find(x => x.id === open.plc); return p ? `${p.id} ${tr("plc_" + p.mode)}` : "–"; });
      add(tr("fp_fail"), () => open.fail == null ? tr("fp_hold") : pct(open.fail));
      add(tr("fp_stroke"), () => `${open.stroke_s} s`);
    } else if (open.k === "i") {
      big = s => { const st = ilState(s.interlocks.find(x => x.id === open.id) || {}); return st === "ok" ? tr("fp_normal") : tr("il_" + st); };
      add("PLC", () => open.plc); add(tr("tag"), () => open.pv);
      if (open.above) add(tr("fp_trip_above"), (s, regs) => num(param(open.above, regs)));
      if (open.below) add(tr("fp_trip_below"), (s, regs) => num(param(open.below, regs)));
      add(tr("fp_voting"), () => `${open.need}oo${open.voters}`); add(tr("fp_delay"), () => `${open.delay_s} s`);
    } else {
      for (const [id, tag] of open.sensors) add(tag, s => { const v = s.sensors.find(x => x.id === id) || {}; return `${num(v.value)} ${v.unit || ""}`; });
    }
    fields = [["", big], ...f];
    builtLang = lang;
    fp.innerHTML = `<button class="close" aria-label="${esc(tr("close"))}">✕</button><h2 id="fp-title">${esc(txt(open.tag))} — ${esc(fpName(open))}</h2><p class="big" data-fpv="0"></p><table>`
      + f.map(([label], i) => `<tr><th scope="row">${esc(label)}</th><td class="num" data-fpv="${i + 1}"></td></tr>`).join("")
      + `</table>${open.k === "s" && !open.switch ? '<div id="fp-trend" class="chart"></div>' : ""}`;
  };
  const draw = (s, regs) => {
    if (!open || !s) return;
    if (builtLang !== lang) build();
    fields.forEach(([, value], i) => { const c = fp.querySelector(`[data-fpv="${i}"]`); if (c) c.textContent = value(s, regs); });
    const t = $("#fp-trend");
    if (!t || !window.TREND || !window.uPlot) return;
    const {xs, ys} = window.TREND;
    if (!t._plot) {
      t._plot = new uPlot({width: Math.max(240, t.clientWidth - 4), height: 140, legend: {show: false}, scales: valueScales(), axes: chartAxes(open.unit),
        series: [{}, {stroke: "#3fa7d6", width: 2, spanGaps: true}]}, [xs.slice(), (ys[open.id] || []).slice()], t);
    } else t._plot.setData([xs.slice(), (ys[open.id] || []).slice()]);
  };
  return s => {
    if (svg) svg.classList.toggle("stale", s.view !== "live");
    const alarmed = new Map(s.alarms.filter(a => a.state !== "returned").map(a => [a.sensor, a]));
    const regs = reg(s);
    for (const v of s.sensors) {
      const e = document.getElementById("v-" + v.id);
      if (!e) continue;
      const f = document.getElementById("f-" + v.id);
      const m = e.parentNode.dataset.fp ? meta(e.parentNode) : {};
      e.textContent = m.switch ? onOff(v.value) : num(v.value);
      if (f) {
        const lo = +f.dataset.lo, hi = +f.dataset.hi, h = +f.dataset.h, frac = v.value == null ? 0 : Math.max(0, Math.min(1, (v.value - lo) / (hi - lo || 1)));
        f.setAttribute("height", (frac * h).toFixed(1)); f.setAttribute("y", (+f.dataset.top + h * (1 - frac)).toFixed(1));
      }
      // Colour only when abnormal: the alarm indicator carries the priority as a number too.
      const a = alarmed.get(v.id), ind = document.getElementById("al-" + v.id), it = document.getElementById("alt-" + v.id);
      const prio = a ? (a.priority === "high" ? 1 : a.priority === "medium" ? 2 : 3) : 0;
      e.classList.toggle("alarmed", !!a);
      if (ind) { ind.setAttribute("visibility", a ? "visible" : "hidden"); ind.setAttribute("class", "alm p" + prio); }
      if (it) it.textContent = a ? String(prio) + (a.acked ? "" : "!") : "";
      const sp = document.getElementById("sp-" + v.id);
      if (sp && m.sp && m.sp.length) sp.textContent = "SP " + m.sp.map(([, p]) => num(param(p, regs))).join("/");
    }
    for (const a of s.actuators) {
      const e = document.getElementById("a-" + a.id); if (e) e.textContent = pct(a.position) + (a.local ? " " + tr("local_short") : "");
      const g = document.getElementById("g-" + a.id);
      if (g) { g.classList.toggle("open", a.position != null && a.position > 0.02); g.classList.toggle("local", a.local); }
    }
    for (const i of s.interlocks) {
      // Status in words too, not by colour alone.
      const st = ilState(i);
      const e = document.getElementById("i-" + i.id); if (e) e.setAttribute("class", st);
      const t = document.getElementById("is-" + i.id); if (t) t.textContent = st === "ok" ? "" : tr("il_" + st);
    }
    for (const p of s.plcs) {
      const e = document.getElementById("m-" + p.id);
      // A PLC the station cannot read: its state is not known there either.
      if (e) { e.textContent = p.comms === false ? `${p.id} ${tr("comm_fail")}` : `${p.id} ${tr("plc_" + p.mode)}${p.listen_only ? " LO" : ""}${p.restarting ? " …" : ""}`; e.parentNode.classList.toggle("abnormal", p.comms === false || p.mode !== "run" || p.listen_only || p.restarting); }
    }
    draw(s, regs);
  };
}

// Trends on the team console: what the operator station read (spoofing shows) and the
// team's score, from the historian's last minutes on, in simulated seconds. Bounded: the last
// TREND_POINTS updates.
function trends() {
  if (!window.uPlot) return Object.assign(() => {}, {seed: () => {}});
  const xs = [], ys = {}, score = [];
  window.TREND = {xs, ys};
  let plot = null, scorePlot = null, sensors = [], drawnLang = null;
  const width = el => Math.max(260, el.clientWidth - 4);
  const chart = (el, label, unit, data, paths) => new uPlot({width: width(el), height: 180, legend: {show: true},
    scales: valueScales(), axes: chartAxes(unit), series: [{label: "t (s)"}, {label, stroke: "#3fa7d6", width: 2, spanGaps: !!paths, paths}]}, data, el);
  const sel = $("#trend-var");
  const draw = () => {
    const v = sensors.find(x => x.id === sel.value) || sensors[0];
    if (!v) return;
    if (plot) plot.destroy();
    plot = chart($("#trend"), txt(v.name), v.unit, [xs.slice(), (ys[v.id] || []).slice()]);
  };
  sel.addEventListener("change", draw);
  window.addEventListener("resize", () => {
    if (plot) plot.setSize({width: width($("#trend")), height: 180});
    if (scorePlot) scorePlot.setSize({width: width($("#score-trend")), height: 180});
  });
  const add = s => {
    // Labels follow the language switch: redrawn in the new one.
    if (drawnLang !== lang) {
      drawnLang = lang;
      sensors = s.sensors;
      const keep = sel.value;
      sel.innerHTML = sensors.map(v => `<option value="${esc(v.id)}">${esc(txt(v.name))}</option>`).join("");
      if (keep) sel.value = keep;
      if (plot) { plot.destroy(); plot = null; }
      if (scorePlot) { scorePlot.destroy(); scorePlot = null; }
    }
    if (!xs.length || s.simulated_s > xs[xs.length - 1]) {
      xs.push(s.simulated_s);
      // The total the team sees, as its historian keeps it (a blind drill's white cell, looking
      // at this console, gets the true card with the team's provisional one inside).
      score.push(s.score.provisional ? s.score.provisional.total : s.score.total);
      for (const v of s.sensors) (ys[v.id] = ys[v.id] || []).push(v.value);
      if (xs.length > TREND_POINTS) { xs.shift(); score.shift(); for (const k in ys) ys[k].shift(); }
    }
    if (!plot) draw(); else { const v = sensors.find(x => x.id === sel.value) || sensors[0]; plot.setData([xs, ys[v.id]]); }
    if (!scorePlot) scorePlot = chart($("#score-trend"), tr("score"), "", [xs, score], STEPS()); else scorePlot.setData([xs, score]);
    $("#trend").dataset.points = xs.length;
  };
  // The team's historian (`/trends`): once a second of plant time, the last minutes; drawn
  // with the first update.
  add.seed = t => {
    const n = Math.min(t.at_s.length, TREND_POINTS);
    xs.push(...t.at_s.slice(-n));
    score.push(...t.score.slice(-n));
    for (const v of t.sensors) ys[v.id] = v.values.slice(-n);
  };
  return add;
}

teamPage();

// A faceplate's name without its tag when the name begins with it ("LIT-101 — T-101 level",
// not "LIT-101 — LIT-101 T-101 level").
function fpName(open) {
  const name = txt(open.name || ""), tag = txt(open.tag);
  return name.startsWith(tag + " ") ? name.slice(tag.length + 1) : name;
}

// What is wrong with an action's form, in words (none: it can be sent): a field left empty,
// function codes that are not 1-127, a write window that ends before it starts.
function formProblem(body, fields) {
  const empty = fields.find(f => !["min", "max", "text", "position"].includes(f) && (f === "hazard" ? body.id : body[f]) == null);
  if (empty) return tr("fill_in").replace("{f}", tr("f_" + empty));
  if (body.functions && (!body.functions.length || body.functions.some(f => !Number.isInteger(f) || f < 1 || f > 127))) return tr("bad_functions");
  if (body.end != null && body.start != null && body.end < body.start) return tr("bad_window");
  if (body.min != null && body.max != null && body.max < body.min) return tr("bad_limits");
  return null;
}

// The exam panel of a trainee's console: the tasks set and their points while the exam runs
// (with the time left), the grade task by task once it is over, the areas under their pass
// mark named. `update(state)` after each update; `update(null)` redraws (a language change).
function examPanel(base, on) {
  // An exam gives no hints, has no scoreboard, and its result is the grade and certificate,
  // not a drill's report: their sections and links go too.
  for (const [id, hide] of [["#exam-section", !on], ["#exam-head", !on], ["#score-head", on], ["#breakdown-section", on], ["#score-history", on], ["#hints-section", on], ["#board-link", on], ["#report-link", on]]) $(id).hidden = hide;
  document.body.classList.toggle("exam", on);
  if (!on) return () => {};
  // On a phone the columns stack: the exam comes first, above the plant, not after it.
  if (matchMedia("(max-width:900px)").matches) $("main > div").prepend($("#exam-section"));
  let view = null, over = null, now = 0;
  const pct = x => Math.round(x * 100);
  const draw = () => {
    if (!view) return;
    const r = view.result;
    put($("#exam tbody"), view.tasks.map(t => `<tr data-task="${esc(t.id)}"><td>${esc(tr("area_" + t.area))}</td><td>${esc(txt(t.title))}${t.detail ? `<div class="mut">${esc(txt(t.detail))}</div>` : ""}</td><td class="num">${t.points == null ? "–" : t.points.toFixed(1)} / ${t.max}</td></tr>`).join("")
      + (r ? r.areas.map(a => `<tr data-area="${esc(a.area)}" class="${a.below ? "bad" : ""}"><td colspan="2"><b>${esc(tr("area_" + a.area))}</b>${a.below ? " — " + esc(tr("exam_below")) : ""}</td><td class="num"><b>${a.points.toFixed(1)} / ${a.max}</b></td></tr>`).join("") : ""));
    const left = view.end_s == null ? "" : `${tr("exam_left")} ${hms(view.end_s - now)}`;
    const verdict = r ? `${r.total.toFixed(1)} / ${r.max} — ${tr(r.passed ? "exam_passed" : "exam_failed")}` : "";
    const status = $("#exam-status");
    status.className = r ? (r.passed ? "ok" : "bad") : "mut";
    status.textContent = r ? verdict + (r.safety_violation ? ` (${tr("exam_safety")}${colon()}${txt(r.safety_violation)})` : "") : [left, tr("exam_graded_at_end")].filter(Boolean).join(" · ");
    $("#exam-head").textContent = r ? `${tr("exam_title")}${colon()}${verdict}` : left;
    $("#exam-rule").textContent = tr("exam_rule").replace("{o}", pct(view.pass_overall)).replace("{a}", pct(view.pass_per_area));
    // The signed certificate (a pass) or result notice (a fail), once issued at the end.
    $("#exam-cert").hidden = !(r && view.certified);
    if (r && view.certified) {
      const link = $("#exam-cert-link");
      link.textContent = tr(r.passed ? "certificate" : "result_notice");
      link.href = `${base}/certificate?lang=${lang}`;
      $("#exam-cert-json").href = `${base}/certificate?format=json`;
    }
  };
  // The grade, and again every 2 s (at most a minute) until its certificate is issued.
  let asked = 0;
  const fetchView = () => api(base + "/exam").then(v => {
    view = v; draw();
    if (v.result && !v.certified && ++asked < 30) setTimeout(fetchView, 2000);
  }).catch(e => { over = null; toast(e.message, true); });
  return s => {
    if (s) {
      now = s.simulated_s;
      const ended = ["hot_wash", "ended"].includes(s.phase);
      if (ended !== over) { over = ended; asked = 0; fetchView(); }
    }
    draw();
  };
}
