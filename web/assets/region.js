// icsdrill web view: the regional view and the trainer view. Loaded after app.js (the words, helpers and streams it uses).
"use strict";
// Dates as the region keeps them, in China Standard Time whatever the browser's zone (a
// drill on 2026-12-06 is on the 6th in Urumqi, Beijing and London alike).
const ZONE = "Asia/Shanghai";
const DAY = new Intl.DateTimeFormat("en-CA", {timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit"});
const dayOf = x => DAY.format(new Date(x * 1000));
// Time ticks (s) as dates: to the day when they are under a month apart, else to the month;
// a tick labelled as the one before it is left blank (not "2026-11" nine times).
function dates(ticks, incr) {
  const day = incr < 28 * 86400;
  const labels = ticks.map(x => dayOf(x).slice(0, day ? 10 : 7));
  return labels.map((l, i) => i > 0 && l === labels[i - 1] ? "" : l);
}

// A small line chart of points by year (or date) on the light-on-dark pages. Lines that lie
// on each other stay told apart by their dashes and point sizes.
function lineChart(el, xs, series, time) {
  if (!window.uPlot || !el) return null;
  const palette = ["#3fa7d6", "#f59f00", "#2f9e44", "#e03131", "#b7a4f0", "#9fc", "#f783ac", "#ced4da"];
  const dashes = [[], [8, 4], [2, 3], [12, 3, 2, 3]];
  el.innerHTML = "";
  el.dataset.points = xs.length;
  // No point, no empty frame: the page says why instead.
  el.hidden = !xs.length;
  if (!xs.length) return null;
  // One point alone sits in the middle of a month (or a year) either side of it. (uPlot
  // widens a lone x itself before a range function sees it: the range is from the data.)
  // Several: a margin either side, so the first and last points are drawn whole.
  const one = time ? 30 * 86400 : 1;
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
  const margin = time ? (hi - lo) * 0.04 : 0.3;
  const range = lo === hi ? () => [lo - one, hi + one] : () => [lo - margin, hi + margin];
  const whole = (u, v) => v.map(x => Number.isInteger(x) ? String(x) : "");
  // The x axis as drawn, for the tests.
  const drawn = u => { el.dataset.x = JSON.stringify([u.scales.x.min, u.scales.x.max]); };
  // Counts (by year) from zero, in whole steps; a score as it comes.
  const counts = (u, min, max) => [0, Math.max(2, Math.ceil(max * 1.15))];
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
  // Room right of the plot for half the last date's label (drawn centred on its tick, it was
  // cut to "2027-01-0").
  return new uPlot({width: Math.max(260, el.clientWidth - 4), height: 200, padding: [null, time ? 40 : null, null, null], hooks: {ready: [drawn], setScale: [drawn]},
    ...(time ? {tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), ZONE)} : {}),
    scales: {x: {time: !!time, range}, ...(time ? {} : {y: {range: counts}})},
    // Years as integers, one grid line a year; dates as YYYY-MM (YYYY-MM-DD when the ticks
    // are under a month apart), the same in both languages, a label the same as the one
    // before it left out; counts (by year) whole.
    // Dates need room: a tick at least a label's width from the next (2026-11-062026-11-09 ran together).
    axes: [{...chartAxes("")[0], ...(time ? {space: 90} : {incrs: steps}), values: (u, v, _axis, _space, incr) => { const l = time ? dates(v, incr) : whole(u, v); el.dataset.xlabels = JSON.stringify(l); el.dataset.xticks = JSON.stringify(v); return l; }},
      time ? chartAxes("")[1] : {...chartAxes("")[1], incrs: steps, values: whole}],
    // The hovered point's date or year as the axis gives it (not "2,025", nor a time of day).
    series: [{label: time ? tr("date") : tr("year"), value: (u, v) => v == null ? "–" : time ? dayOf(v) : String(v)},
      ...series.map((s, i) => ({label: s.label, stroke: palette[i % palette.length], dash: dashes[i % dashes.length], width: 2, spanGaps: true, points: {show: true, size: 7 + 3 * (i % 3)}}))]},
    [xs, ...series.map(s => s.data)], el);
}

// Why a page shows nothing: said where it stays (a toast goes after a few seconds).
// With `link` ([href, words]), where to go instead; the header's exports, refused too, go.
function refused(message, link) {
  let p = $("#refused");
  if (!p) { p = document.createElement("p"); p.id = "refused"; p.className = "warn"; p.setAttribute("role", "alert"); p.style.padding = "0 1rem"; document.querySelector("header").after(p); }
  p.textContent = message;
  if (link) { const a = document.createElement("a"); a.href = link[0]; a.textContent = link[1]; p.append(" ", a); }
  document.querySelectorAll('a[href^="/api/"]').forEach(a => { a.hidden = true; });
}

async function regionPage() {
  const r = await api("/api/region/rollup").catch(e => {
    // Said once, where it stays: a missing login has its own notice already. Refused the
    // roll-up, a trainer is shown the way to the exam cohorts.
    if ($("#login").hidden) refused(e.message, e.status === 403 ? ["/trainer", `${tr("trainer_title")} →`] : null);
    return null;
  });
  if (!r) return;
  const sort = {by: "id", dir: 1};
  const prefName = code => { const p = r.prefectures.find(x => x.prefecture.code === code); return p ? (lang === "zh" ? p.prefecture.zh : p.prefecture.en) : code; };
  // Industry names as the server keeps them (its exports name them with the same table).
  const industryName = code => { const i = r.industries.find(x => x.code === code); return i ? i[lang] : code; };
  let ent = null, drawn = null;
  // Whose view this is, whichever page opened first (an enterprise's link showed "—").
  const scope = () => { $("#scope").textContent = r.scope === "region" ? tr("whole_region") : prefName(r.scope); };
  scope();
  const renderList = () => {
    scope();
    // The downloads hold the tables as shown, in the page's language.
    document.querySelectorAll("a[data-export]").forEach(a => { a.href = `/api/region/export?format=${a.dataset.format}&table=${a.dataset.export}&lang=${lang}`; });
    const f = t => t.open_findings.join("/");
    // A scope's counts as cells: what the CSV export has, in the same order.
    const cells = (t, c) => [t.enterprises, t.by_level.join("/"), `${t.drills_on_time}/${t.drills_due}`, f(t)].map(v => `<${c} class="num">${v}</${c}>`).join("")
      + `<${c} class="num ${t.overdue_rectifications ? "bad" : ""}">${t.overdue_rectifications}</${c}>`
      + [t.verified_findings, t.scored ? (t.score_sum / t.scored).toFixed(1) : "", t.alerts].map(v => `<${c} class="num">${v}</${c}>`).join("");
    put($("#prefs tbody"), r.prefectures.map(p => `<tr><td>${esc(lang === "zh" ? p.prefecture.zh : p.prefecture.en)}</td>${cells(p.totals, "td")}</tr>`
      + Object.entries(p.industries).map(([i, t]) => `<tr class="sub"><td>${esc(industryName(i))}</td>${cells(t, "td")}</tr>`).join("")).join("")
      // The scope's total, unless the scope is one prefecture (its row says it already).
      + (r.prefectures.some(p => p.prefecture.code === r.scope) ? "" : `<tr><th>${esc($("#scope").textContent)}</th>${cells(r.totals, "th")}</tr>`));
    labelCells($("#prefs"));
    // An industry's row under its prefecture is labelled as one (on a phone it read
    // "prefecture: 装备制造").
    document.querySelectorAll("#prefs tr.sub td:first-child").forEach(td => { td.dataset.label = tr("industry"); });
    // Sorted by the chosen column (again: the other way round), filtered by any text shown.
    const key = e => ({id: e.enterprise.id, name: e.enterprise.name, prefecture: prefName(e.enterprise.prefecture),
      industry: industryName(e.enterprise.industry), level: e.enterprise.level, next: String((e.due.find(x => x.kind === "drill") || {}).next_due || ""),
      open: e.totals.open_findings.reduce((a, b) => a + b, 0), score: e.last_drill ? e.last_drill.score : -1, alerts: e.last_drill ? e.last_drill.alerts : -1})[sort.by];
    const words = $("#ent-filter").value.trim().toLowerCase();
    // Every column's text, as the row shows it (a due date, a score, the findings' counts).
    const shownText = e => { const d = e.due.find(x => x.kind === "drill"); return [e.enterprise.id, e.enterprise.name, prefName(e.enterprise.prefecture), industryName(e.enterprise.industry), e.enterprise.level, d ? d.next_due : "", f(e.totals), e.last_drill ? e.last_drill.score.toFixed(1) : "", e.last_drill ? e.last_drill.alerts : ""].join(" "); };
    const shown = r.enterprises.filter(e => !words || shownText(e).toLowerCase().includes(words))
      .sort((a, b) => {
        // Words in the page's language's order (Chinese by pinyin), numbers as numbers.
        const [x, y] = [key(a), key(b)];
        const c = typeof x === "string" ? x.localeCompare(y, lang === "zh" ? "zh-Hans-CN-u-co-pinyin" : "en") : x - y;
        return c * sort.dir;
      });
    document.querySelectorAll("#ents th[data-sort]").forEach(th => th.setAttribute("aria-sort", th.dataset.sort === sort.by ? (sort.dir > 0 ? "ascending" : "descending") : "none"));
    put($("#ents tbody"), shown.map(e => { const d = e.due.find(x => x.kind === "drill"); return `<tr><td><a href="#e=${encodeURIComponent(e.enterprise.id)}">${esc(e.enterprise.id)}</a></td><td>${esc(e.enterprise.name)}</td><td>${esc(prefName(e.enterprise.prefecture))}</td><td>${esc(industryName(e.enterprise.industry))}</td><td>${e.enterprise.level}</td><td class="date ${d && d.overdue && d.binding ? "bad" : ""}">${d ? esc(d.next_due) : ""}</td><td class="num">${f(e.totals)}</td><td class="num">${e.last_drill ? e.last_drill.score.toFixed(1) + (e.last_drill.verified ? ` <span class="ok" title="${esc(tr("verified_bundle"))}">✓<span class="sr">${esc(tr("verified_bundle"))}</span></span>` : "") : ""}</td><td class="num">${e.last_drill ? e.last_drill.alerts : ""}</td></tr>`; }).join(""));
    labelCells($("#ents"));
    const years = Object.keys(r.years).map(Number);
    $("#years-empty").hidden = years.length > 0;
    put($("#years tbody"), Object.entries(r.years).map(([y, v]) => `<tr><td>${y}</td><td class="num">${v.drills}</td><td class="num">${v.findings}</td><td class="num">${v.verified}</td></tr>`).join(""));
    labelCells($("#years"));
    // Drills by year, one line per prefecture (and the scope's total when several).
    if (drawn !== lang) {
      drawn = lang;
      const series = r.prefectures.map(p => ({label: prefName(p.prefecture.code), data: years.map(y => (p.years[y] || {drills: 0}).drills)}));
      if (series.length > 1) series.push({label: $("#scope").textContent, data: years.map(y => r.years[y].drills)});
      lineChart($("#year-chart"), years, series, false);
    }
  };
  // A drill's after-action report, once it is over: to read, or as a workbook.
  const reportLinks = (id, drill) => {
    const at = `/api/region/enterprises/${encodeURIComponent(id)}/drills/${encodeURIComponent(drill)}/report?lang=${lang}`;
    return `<a href="${at}" target="_blank" rel="noopener">${esc(tr("aar_read"))}</a> · <a href="${at}&format=xlsx" download>xlsx</a>`;
  };
  const renderEnterprise = () => {
    const p = ent, e = p.row.enterprise, d = p.row.due.find(x => x.kind === "drill");
    $("#ent-name").textContent = `${e.name}${paren(e.id)}`;
    const row = (k, v, bad) => `<tr><th scope="row">${esc(tr(k))}</th><td class="${bad ? "bad" : ""}">${v}</td></tr>`;
    put($("#ent-facts tbody"), [
      row("prefecture", esc(prefName(e.prefecture))), row("industry", esc(industryName(e.industry))), row("sec_level", e.level),
      // Every obligation: the drill, the compliance test, the risk assessment, a re-grading.
      ...p.row.due.map(x => row("next_" + x.kind, `${esc(x.next_due)}${x.overdue ? " · " + tr("overdue") : ""}${x.binding ? "" : " · " + tr("not_binding")}`, x.overdue && x.binding)),
      // Which reading of "at least once a year" the dates follow.
      row("cadence", esc(tr("cadence_" + p.row.period))),
      row("open_findings", p.row.totals.open_findings.join("/")), row("overdue_rect", p.row.totals.overdue_rectifications, p.row.totals.overdue_rectifications > 0),
    ].join(""));
    // Oldest first; drills of one day a few hours apart, each its own point on that day.
    const scored = p.drills.filter(x => x.score != null);
    const at = scored.map(x => Date.parse(x.date + "T00:00:00+08:00") / 1000);
    for (let i = 1; i < at.length; i++) if (at[i] <= at[i - 1]) at[i] = at[i - 1] + 3 * 3600;
    lineChart($("#ent-chart"), at, [{label: tr("score"), data: scored.map(x => x.score)}], true);
    $("#ent-drills-empty").hidden = p.drills.length > 0;
    put($("#ent-drills tbody"), p.drills.slice().reverse().map(x => `<tr><td class="date">${esc(x.date)}</td><td>${esc(x.title ? txt(x.title) : x.name)}${x.name === x.drill ? "" : ` <span class="mut">(${esc(x.drill)})</span>`}</td><td>${esc(tr("mode_" + x.mode))}${!x.counted && (x.mode === "regional" || x.mode === "enterprise") ? `<br><span class="mut not-counted">${esc(tr("not_counted"))}</span>` : ""}</td><td class="num">${x.score == null ? esc(tr("running")) : x.score.toFixed(1)}</td><td class="num">${x.alerts == null ? "" : x.alerts}</td><td class="${x.verified ? "ok" : "mut"}">${x.verified ? "✓ " + esc(tr("verified_bundle")) : esc(tr("src_here"))}</td><td>${x.score == null ? "" : reportLinks(e.id, x.drill)}</td></tr>`).join(""));
    labelCells($("#ent-drills"));
    const entered = p.entered || [];
    $("#ent-entered-box").hidden = !entered.length;
    put($("#ent-entered tbody"), entered.map(x => `<tr><td class="date">${esc(x.date)}</td><td>${esc(tr("act_" + x.kind))}</td><td>${esc(x.reference)}</td></tr>`).join(""));
    labelCells($("#ent-entered"));
    $("#ent-findings-empty").hidden = p.findings.length > 0;
    put($("#ent-findings tbody"), p.findings.map(x => `<tr><td>${esc(txt(x.title))}</td><td class="sev-${esc(x.severity)}">${esc(tr("sev_" + x.severity))}</td><td class="${x.status === "verified" ? "ok" : ""}">${esc(tr("fs_" + x.status))}${x.closed ? ` <span class="date">${esc(x.closed)}</span>` : ""}${x.declared ? `<br><span class="declared" title="${esc(x.declared.note)}">${esc(tr("fs_declared").replace("{d}", x.declared.date))}</span>` : ""}${x.contained ? `<br><span class="contained">${esc(tr("fs_contained").replace("{d}", x.contained.date || x.contained.drill).replace("{t}", Math.round(x.contained.at_s)).replace("{how}", txt(x.contained.how)))}</span>` : ""}</td><td class="date">${esc(x.found || "")}</td><td class="date ${x.overdue ? "bad" : ""}">${esc(x.due || "")}${x.overdue ? " · " + esc(tr("overdue")) : ""}</td></tr>`).join(""));
    labelCells($("#ent-findings"));
    document.body.dataset.enterprise = e.id;
  };
  // The drill-down: `#e=ID` shows an enterprise's page, anything else the lists. `routed`
  // counts the links followed, so a slow answer to an earlier one draws nothing.
  let routed = 0, missing = null;
  const showMissing = () => { const m = $("#ent-missing"); m.textContent = tr("no_enterprise").replace("{id}", () => missing); m.hidden = false; };
  const route = async () => {
    let id = "";
    try { id = decodeURIComponent((location.hash.match(/^#e=(.+)$/) || [])[1] || ""); } catch (_) { /* a mangled link: the lists */ }
    $("#overview").hidden = !!id;
    $("#enterprise").hidden = !id;
    const turn = ++routed;
    if (!id) { ent = null; missing = null; delete document.body.dataset.enterprise; drawn = null; renderList(); return; }
    missing = null;
    $("#ent-missing").hidden = true;
    let failed = null;
    const got = await api(`/api/region/enterprises/${encodeURIComponent(id)}`).catch(err => { failed = err; return null; });
    if (turn !== routed) return; // A later link was followed meanwhile: its turn draws.
    ent = got;
    // An enterprise not in this user's view (a wrong link, another prefecture's: 404 or 403)
    // says so where its page would be, the way back above it; any other failure is said as
    // it is, over the list.
    if (!ent && failed && failed.status !== 404 && failed.status !== 403) { toast(failed.message, true); location.hash = ""; return; }
    missing = ent ? null : id;
    document.querySelectorAll("#enterprise > section").forEach(s => { s.hidden = !ent; });
    if (ent) renderEnterprise(); else { showMissing(); document.body.dataset.enterprise = ""; }
  };
  rerender = () => { drawn = null; scope(); if (ent) renderEnterprise(); else if (missing) showMissing(); else renderList(); };
  document.querySelectorAll("#ents th[data-sort]").forEach(th => th.querySelector("button").addEventListener("click", () => {
    sort.dir = sort.by === th.dataset.sort ? -sort.dir : (["score", "alerts", "open", "level"].includes(th.dataset.sort) ? -1 : 1);
    sort.by = th.dataset.sort;
    renderList();
  }));
  $("#ent-filter").addEventListener("input", () => renderList());
  window.addEventListener("hashchange", route);
  // The region's department imports the bundles enterprises send in.
  $("#bundles").hidden = r.scope !== "region";
  $("#bundle-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const file = $("#bundle-file").files[0];
    if (!file) return;
    const out = $("#bundle-result");
    try {
      const res = await fetch("/api/region/bundles", {method: "POST", headers: {"Content-Type": "application/json", "X-Icsdrill-As": AS}, body: await file.arrayBuffer()});
      const v = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error((lang === "zh" && v.error_zh) || v.error || res.statusText);
      out.className = v.accepted ? "ok" : "bad";
      out.textContent = v.accepted ? `${tr("bundle_ok")} ${v.drill}${paren(v.teams.join(lang === "zh" ? "、" : ", "))}` : `${tr("bundle_no")} ${tr("rej_" + v.code)}${lang === "zh" ? "。" : `. ${v.reason}`}`;
      out.dataset.accepted = v.accepted;
      if (v.accepted) { const fresh = await api("/api/region/rollup").catch(() => null); if (fresh) { Object.assign(r, fresh); drawn = null; renderList(); } }
    } catch (e) { out.className = "bad"; out.textContent = e.message; out.dataset.accepted = "false"; }
  });
  route();
}

async function trainerPage() {
  const cohort = new URLSearchParams(location.search).get("cohort");
  const v = await api("/api/trainer/exams" + (cohort ? `?cohort=${encodeURIComponent(cohort)}` : "")).catch(e => {
    // Said once, where it stays: a missing login has its own notice already.
    if ($("#login").hidden) refused(e.message);
    return null;
  });
  if (!v) return;
  const render = () => {
    put($("#running tbody"), v.in_progress.map(e => `<tr><td>${esc(e.drill)}</td><td>${esc(e.trainee)}</td><td>${esc(e.name || e.trainee)}</td><td>${esc(e.cohort || "")}</td><td class="date">${esc(e.date || "")}</td><td>${esc(tr("phase_" + e.phase))}</td></tr>`).join(""));
    labelCells($("#running"));
    $("#running").hidden = !v.in_progress.length;
    $("#running-empty").hidden = v.in_progress.length > 0;
    // The exports hold what the table shows: the chosen cohort's results.
    for (const a of document.querySelectorAll('a[href^="/api/trainer/export"]')) {
      const format = new URL(a.href).searchParams.get("format");
      a.href = `/api/trainer/export?format=${format}` + (cohort ? `&cohort=${encodeURIComponent(cohort)}` : "");
    }
    // The cohort picker: every cohort on record; choosing one shows its results.
    put($("#cohort"), `<option value="">${tr("all_cohorts")}</option>` + (v.cohorts || []).map(c => `<option value="${esc(c)}"${c === cohort ? " selected" : ""}>${esc(c)}</option>`).join(""));
    const area = (r, a) => { const x = (r.areas || []).find(y => y[0] === a); return x ? `${x[1].toFixed(1)} / ${x[2]}` : ""; };
    put($("#results tbody"), v.results.map(r => `<tr><td>${esc(r.cohort)}</td><td>${esc(r.trainee)}${r.sitting > 1 ? ` <span class="mut">(${esc(tr("sitting").replace("{n}", r.sitting))})</span>` : ""}</td><td>${esc(r.name)}</td><td class="date">${esc(r.date)}</td>${["architecture", "implementation", "operations", "assessment", "response"].map(a => `<td class="num">${area(r, a)}</td>`).join("")}<td class="num">${r.total.toFixed(1)} / ${r.max}</td><td class="${r.passed ? "ok" : "bad"}">${tr(r.passed ? "pass" : "fail")}${r.valid_until ? `<br><span class="valid ${r.expired ? "bad" : "mut"}">${esc(tr(r.expired ? "cert_expired" : "valid_until").replace("{d}", r.valid_until))}</span>` : ""}</td><td><a href="/api/trainer/certificates/${encodeURIComponent(r.drill)}?lang=${lang}" target="_blank">${tr(r.passed ? "certificate" : "result_notice")}</a> · <a href="/api/trainer/certificates/${encodeURIComponent(r.drill)}?format=json" download>JSON</a></td></tr>`).join(""));
    labelCells($("#results"));
    // Trainees passed of trainees examined (a retake passed is one trainee), and the sittings.
    $("#summary").textContent = tr("trainees_passed").replace("{p}", v.passed).replace("{t}", v.trainees).replace("{s}", v.results.length);
  };
  $("#cohort").addEventListener("change", e => { location.search = e.target.value ? `?cohort=${encodeURIComponent(e.target.value)}` : ""; });
  rerender = render;
  render();
}

if (page === "trainer") trainerPage();
else regionPage();
