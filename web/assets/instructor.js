// icsdrill web view: the white cell's console. Loaded after app.js (the words, helpers and streams it uses).
"use strict";
// A step's status on the white cell's timeline: one still pending when the drill is over
// (hot wash, ended) was never reached.
const stepStatus = (status, phase) => {
  const st = status || "pending";
  return st === "pending" && (phase === "hot_wash" || phase === "ended") ? "not_reached" : st;
};

// The routine work's input kinds as the inputs file spells them; in Chinese, words first.
const WHAT_ZH = {write_registers: "写寄存器", write_coils: "写线圈", modbus_request: "Modbus 请求", iec104: "IEC 104 请求", opcua: "OPC UA 请求"};
const what = k => lang === "zh" && WHAT_ZH[k] ? WHAT_ZH[k] : k;

async function instructorPage() {
  const info = await api("/api/drill").catch(e => { toast(e.message, true); return null; });
  if (info) challenges = info.challenges || [];
  const title = () => { if (info) $("#title").textContent = info.name === info.title.en ? txt(info.title) : info.name + " — " + txt(info.title); };
  // An exam is graded by its tasks, at its end: the proctor sees no drill score, board or
  // standings, and each trainee's grade once the exam is over.
  const exam = !!info && info.mode === "exam";
  document.body.classList.toggle("exam", exam);
  for (const e of [$("#h-board").closest("section"), $("a[href^='/api/drill/standings']"), $("header a[href='/']")]) if (e) e.hidden = exam;
  // Each trainee's grade, asked for once the exam is over and again every 2 s until it comes
  // (the board sends nothing more once the exam has ended: a render would never ask again).
  const grades = new Map();
  const askGrade = id => api(`/api/teams/${encodeURIComponent(id)}/exam`)
    .then(v => { if (!v.result) throw new Error("not graded yet"); grades.set(id, v.result); if (last) render(last); })
    .catch(() => setTimeout(() => askGrade(id), 2000));
  const examGrade = (t, over) => {
    if (!over) return tr("exam_graded_at_end");
    if (!grades.has(t.id)) { grades.set(t.id, null); askGrade(t.id); }
    const r = grades.get(t.id);
    return r ? `${r.total.toFixed(1)} / ${r.max} — ${tr(r.passed ? "exam_passed" : "exam_failed")}` : "…";
  };
  if (info) { title(); $("#inject-teams").innerHTML = info.teams.map(t => `<option value="${esc(t.id)}">${esc(t.name)}</option>`).join(""); }
  document.querySelectorAll("[data-control]").forEach(b => b.addEventListener("click", async () => {
    if (b.dataset.control === "end" && !confirm(tr("confirm_end"))) return;
    if (b.dataset.control === "hot_wash" && !confirm(tr("confirm_hot_wash"))) return;
    try { const r = await api("/api/drill/control", {action: b.dataset.control}); phaseBadge(r.phase); } catch (e) { toast(e.message, true); }
  }));
  // The form asks for what its channel needs: a text, or an attack step.
  const channelFields = () => {
    const f = $("#inject"), step = f.channel.value === "step";
    f.text.closest("label").hidden = step;
    f.step.closest("label").hidden = !step;
  };
  $("#inject").channel.addEventListener("change", channelFields);
  channelFields();
  $("#inject").addEventListener("submit", async ev => {
    ev.preventDefault();
    const f = ev.target, teams = [...f.teams.selectedOptions].map(o => o.value);
    const body = {channel: f.channel.value, text: f.text.value};
    if (teams.length) body.teams = teams;
    if (f.channel.value === "step") body.step = f.step.value;
    try {
      const r = await api("/api/drill/injects", body);
      const refused = r.filter(x => !x.ok);
      const said = r.map(x => `${x.team}${colon()}${x.ok ? (x.queued ? "→ " + tr("node") + " " + x.queued : "✓") : tr("not_sent") + paren(lang === "zh" && x.error_zh ? x.error_zh : x.error)}`).join(lang === "zh" ? "；" : "; ");
      toast(said, refused.length > 0);
      // What became of the last inject stays under the form.
      const last = $("#inject-result");
      last.textContent = said;
      last.className = refused.length ? "bad" : "mut";
      // Sent to every team: a second click does not send it again. Refused somewhere: the
      // text stays, to send again when the drill allows.
      if (!refused.length) f.text.value = "";
    } catch (e) { toast(e.message, true); }
  });
  let last = null, stepsFilled = false;
  const render = o => {
    last = o; phaseBadge(o.phase);
    $("#records").hidden = !o.records_failing;
    const ct = (o.cross_team || {}).attempts || [];
    $("#cross").hidden = !ct.length;
    $("#cross-none").hidden = ct.length > 0;
    put($("#cross tbody"), ct.map(a => `<tr><td>${esc(a.address)}${a.from_team ? " (" + esc(a.from_team) + ")" : ""}</td><td>${esc(a.team)} ${esc(a.plc)}</td><td class="num">${a.count}</td></tr>`).join(""));
    if (!stepsFilled && o.attack) { stepsFilled = true; $("#inject-step").innerHTML = o.attack.map(s => `<option value="${esc(s.id)}">${esc(s.id)} — ${esc(txt(s.name))}</option>`).join(""); }
    put($("#script tbody"), (o.script || []).map(l => `<tr><td class="num">${hms(l.at_s)}</td><td>${esc(tr("sc_" + l.kind))}</td><td>${esc(l.who)}${l.what ? " · " + esc(what(l.what)) : ""}</td><td>${l.note ? esc(txt(l.note)) : ""}</td></tr>`).join(""));
    put($("#timeline tbody"), (o.attack || []).map(s => `<tr><td>${esc(s.id)}</td><td>${esc(txt(s.name))}</td><td>${esc(s.techniques.join(" "))}</td><td>${o.teams.map(t => `<span class="badge">${esc(t.id)}${colon()}${esc(tr("step_" + stepStatus((t.steps.find(x => x.id === s.id) || {}).status, o.phase)))}</span>`).join(" ")}</td></tr>`).join(""));
    // Drawn as lines on a phone: its roles said outright for screen readers.
    labelCells($("#timeline"));
    const away = o.elsewhere || [];
    $("#elsewhere").hidden = !away.length;
    put($("#elsewhere ul"), away.map(t => `<li><b>${esc(t.name)}</b> <span class="mut">(${esc(t.id)})</span> — ${t.total.toFixed(1)} · ${tr("node")} ${esc(t.node)}: <a href="${esc(t.http)}/instructor" target="_blank" rel="noopener">${esc(t.http)}</a></li>`).join(""));
    // The cards are built once (again when the teams, their variables or the language
    // change); each update writes only their numbers, so a focused link or a press on one
    // survives the updates.
    put($("#teams"), o.teams.map(t => `<section data-team="${esc(t.id)}"><h2>${esc(t.name)}${t.name === t.id ? "" : ` <span class="mut">(${esc(t.id)})</span>`} — <span data-total></span> <a href="/api/teams/${encodeURIComponent(t.id)}/report?format=html&lang=${lang}" target="_blank">${tr("aar")}</a></h2>
      <p class="mut" data-status></p><p class="mut" data-flags></p>
      <table><thead><tr><th></th><th class="num">${tr("true_v")}</th><th class="num">${tr("measured")}</th><th class="num">${tr("team_sees")}</th></tr></thead><tbody>
      ${t.values.map((v, i) => `<tr><td>${esc(txt(v.name))}</td><td class="num" data-true="${i}"></td><td class="num" data-measured="${i}"></td><td class="num" data-shown="${i}"></td></tr>`).join("")}</tbody></table></section>`).join(""));
    for (const t of o.teams) {
      const card = document.querySelector(`#teams section[data-team="${CSS.escape(t.id)}"]`);
      if (!card) continue;
      card.querySelector("[data-total]").textContent = exam ? examGrade(t, ["hot_wash", "ended"].includes(o.phase)) : t.score.total.toFixed(1);
      // What the team's console shows as a communication failure, said here too.
      const lost = (t.comms_lost || []).length ? ` · ${tr("comm_fail")}${colon()}${t.comms_lost.join(", ")}` : "";
      // A contest: the team's flags solved, and those of other teams it submitted (a sign of
      // one team reaching another's range, or being handed its flags).
      const flags = (t.score.components || []).find(c => c.key === "flags");
      const solved = flags ? ` · ${txt(flags.detail)}` : "";
      card.querySelector("[data-status]").textContent = `t = ${t.simulated_s.toFixed(0)} s · ${tr("trips")} ${t.trips} · ${tr("damage")} ${t.damage}${lost}${solved}`;
      // Each flag it sent, latest last: which challenge, whose flag, or wrong.
      const sent = (t.flags || []).slice(-8).map(f => `t=${(f.tick / t.tick_hz).toFixed(1)} s ${f.challenge ? "✓ " + challengeName(f.challenge, lang) : f.owner ? "✗ " + tr("flag_of").replace("{team}", f.owner) : "✗ " + tr("flag_wrong")}`);
      card.querySelector("[data-flags]").textContent = sent.length ? `${tr("flags")}${colon()}${sent.join(" · ")}` : "";
      // A value more than 5 % (of the other, plus one) away from another stands out.
      const off = (a, b) => Math.abs(a - b) > 0.05 * (Math.abs(b) + 1);
      t.values.forEach((v, i) => {
        const tv = card.querySelector(`[data-true="${i}"]`), mv = card.querySelector(`[data-measured="${i}"]`);
        if (tv) tv.textContent = `${v.true.toFixed(2)} ${v.unit}`;
        if (mv) {
          mv.textContent = v.measured == null ? "–" : `${v.measured.toFixed(2)} ${v.unit}`;
          mv.classList.toggle("bad", v.measured != null && off(v.measured, v.true));
        }
        // What the team's operator screen shows: a spoofed, frozen or lost value stands out
        // against the measurement (the white cell saw only the field's numbers).
        const sv = card.querySelector(`[data-shown="${i}"]`);
        if (sv) {
          sv.textContent = v.shown == null ? "–" : `${v.shown.toFixed(2)} ${v.unit}`;
          const against = v.measured == null ? v.true : v.measured;
          sv.classList.toggle("bad", v.measured != null && (v.shown == null || off(v.shown, against)));
        }
      });
    }
  };
  // Hints and messages per team, apart from the live values: they change rarely, so the
  // buttons stay put under the pointer.
  // Teams other nodes run get their hints too (the reveal is queued for that node); their
  // messages are on that node's page.
  const tools = o => put($("#tools"), [...o.teams, ...(o.elsewhere || [])].map(t => `<section data-team="${esc(t.id)}"><h2>${esc(t.name)}${colon()}${tr("hints")}${t.node ? ` <span class="mut">(${tr("node")} ${esc(t.node)})</span>` : ` · ${tr("injects")}`}</h2>
      <ul>${(t.hints || []).map(h => `<li>${h.taken ? "✓" : `<button data-reveal="${esc(t.id)}" data-hint="${esc(h.id)}" data-cost="${h.cost}">${tr("reveal")}</button>`} <b>${esc(h.id)}</b>${paren(tr("cost") + " " + h.cost)}${colon()}${esc(txt(h.text))}</li>`).join("")}</ul>
      ${t.node ? "" : `<ul class="mut">${(t.injects || []).map(i => `<li>t=${(i.tick / t.tick_hz).toFixed(0)} s ${esc(tr(i.channel === "phone" ? "phone" : "message"))}${colon()}${esc(i.text)}</li>`).join("") || `<li>${tr("no_injects")}</li>`}</ul>`}</section>`).join(""));
  const controls = o => {
    document.querySelectorAll("[data-control]").forEach(b => { b.disabled = !(o.controls || []).includes(b.dataset.control); });
    // Hints and injects reach a team only while the drill is live: outside it their buttons
    // are off (an ended drill's asked to confirm a hint's cost, then refused it).
    const live = o.phase === "live";
    document.querySelectorAll("#tools button[data-reveal], #inject button[type=submit]").forEach(b => { b.disabled = !live; b.title = live ? "" : tr("not_live_white_cell"); });
  };
  $("#tools").addEventListener("click", async ev => {
    const b = ev.target.closest("button[data-reveal]");
    if (!b) return;
    // A hint costs the team points: revealed only once confirmed.
    if (!confirm(tr("confirm_reveal").replace("{id}", b.dataset.hint).replace("{team}", b.dataset.reveal).replace("{cost}", b.dataset.cost))) return;
    try { const r = await api(`/api/teams/${encodeURIComponent(b.dataset.reveal)}/hints`, {hint: b.dataset.hint}); toast(`${b.dataset.reveal}${colon()}${b.dataset.hint} ${r.queued ? "→ " + tr("node") + " " + r.queued : "✓"}`); } catch (e) { toast(e.message, true); }
  });
  // The white cell's chart goes on past a contest's freeze (the full history and board).
  const history = boardHistory();
  rerender = () => { title(); stepsFilled = false; if (last) { render(last); tools(last); controls(last); } history.redraw(); };
  stream("/api/instructor/stream", "overview", o => { render(o); tools(o); controls(o); });
  api("/api/scoreboard/history").then(history.seed).catch(() => {})
    .finally(() => stream("/api/scoreboard/stream", "scoreboard", b => {
      // A blind drill: what the white cell sees is not what the teams see, until the hot wash.
      boardRows(b, $("#board tbody")); history(b); fullView(b, info && info.blind);
    }));
}

instructorPage();
