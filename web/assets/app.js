// icsdrill web view: scoreboard, team console, instructor console. No framework, no CDN.
"use strict";
const T = {
  en: {frozen:"Scoreboard frozen",login_needed:"Open the login URL you were given (…/?token=…).",rank:"Rank",team:"Team",score:"Score",detected:"Detected / attack steps",
    scoreboard:"Scoreboard",plant:"Plant",alarms:"Alarms",transactions:"Transactions (Modbus, IEC 104)",endpoints:"Endpoints",address:"Address",device:"Device",clients:"Your clients connect from",records_failing:"The drill database refuses writes (disk full?): actions are refused until the white cell fixes it.",pcap:"Download the last 5 minutes as a packet capture (pcapng, Wireshark)",view_frozen:"The operator station's displays are frozen: nothing on screen has updated since they froze (denial of view).",view_lost:"The operator station shows nothing (loss of view): run the plant from the field panels.",local:"LOCAL",local_short:"L",cross_team:"Connections refused from other teams' addresses",node:"node",elsewhere:"Teams other nodes of this drill run (their full view is on that node)",from:"From",target:"Team tried",attempts:"Attempts",summary:"counted",
    injects:"Messages",priority:"Priority",tag:"Tag",description:"Description",value:"Value",level:"Level",state:"State",prio_high:"High",prio_medium:"Medium",unacked:"unacknowledged",step_pending:"pending",step_not_reached:"not reached",step_active:"active",step_succeeded:"succeeded",step_failed:"failed",step_completed:"completed",step_expired:"expired",all_cohorts:"All cohorts",certificate:"Certificate",result_notice:"Result notice",area_architecture:"Architecture",area_implementation:"Implementation",area_operations:"Operations",area_assessment:"Assessment",area_response:"Response",filter:"Filter",time:"Time",prio_low:"Low",al_unacked:"unacknowledged",al_acked:"acknowledged",al_returned:"returned, unacknowledged",shelve:"Shelve",shelved:"Shelved on this console",on:"ON",off:"OFF",close:"Close",fp_range:"Range",fp_limit:"Alarm limit",fp_setpoint:"Set point",fp_normal:"normal",fp_kind:"Type",fp_valve:"valve",fp_pump:"pump",fp_breaker:"breaker",fp_control:"Control",fp_remote:"remote (PLC)",fp_fail:"Fail position",fp_hold:"holds",fp_stroke:"Stroke time",fp_trip_above:"Trips above",fp_trip_below:"Trips below",fp_voting:"Voting",fp_delay:"Trip delay",back_region:"← All enterprises",bundle_title:"Import a drill bundle",bundle_help:"A drill an enterprise ran on its own installation: accepted when its signature is the enterprise's registered key and its replay gives what it states.",bundle_file:"Bundle file",bundle_import:"Check and import",bundle_ok:"Accepted and recorded as verified: drill",bundle_no:"Rejected:",rej_unreadable:"not a drill bundle",rej_unsigned:"not signed",rej_tampered:"changed after it was signed",rej_unknown_key:"not signed with the key registered for the enterprise",rej_not_registered:"a team is not a registered enterprise",rej_not_reproduced:"its replay does not give what it states",rej_duplicate:"this drill is on record already",verified_bundle:"verified (signature and replay)",source:"Source",mean_score:"Mean drill score",by_industry_note:"Each prefecture's industries are listed under it.",drill:"Drill",mode:"Mode",finding:"Finding",severity:"Severity",rect_status:"Rectification",found:"Found",due:"Due",no_drills:"No drill on record for this enterprise yet.",no_findings:"No hidden hazards on record.",years_empty:"No drills on record yet: drills count here once they are run or entered in the registry.",year_chart:"Drills by year and prefecture",sec_level:"Security level",obligation:"Drill obligation",overdue:"overdue",not_binding:"not binding",sev_critical:"critical",sev_high:"high",sev_medium:"medium",sev_low:"low",fs_open:"open",fs_verified:"verified fixed",mode_regional:"regional drill",mode_enterprise:"enterprise drill",mode_contest:"contest",mode_exam:"exam",running:"running",iec104:"IEC 104 station",opcua:"OPC UA server",il_tripped:"TRIPPED",il_bypassed:"BYPASSED",il_unknown:"no view",whole_region:"Whole region",f_actuator:"Actuator",f_alarm:"Alarm",f_conduit:"Conduit",f_end:"End address",f_hazard:"Hazard (finding id)",f_host:"Host",f_max:"Maximum",f_min:"Minimum",f_mode:"Mode",f_plc:"PLC",f_position:"Position",f_sensor:"Sensor",f_start:"Start address",f_text:"Text",f_to:"To",f_functions:"Function codes",conn_lost:"Connection to the drill lost; retrying in",next_compliance_test:"Next compliance test",next_risk_assessment:"Next risk assessment",next_regrade:"Re-grading due",act_drill:"Drill",act_compliance_test:"Compliance test",act_risk_assessment:"Risk assessment",entered:"Entered in the registry",reference:"Reference",kind:"Kind",person_name:"Name",not_sent:"not sent",confirm_reveal:"Reveal hint {id} to team {team}? It costs the team {cost} points.",lvl_lolo:"LL",lvl_lo:"L",lvl_hi:"H",lvl_hihi:"HH",plc_run:"RUN",plc_stop:"STOP",plc_program:"PROGRAM",plant_time:"plant time",page_scoreboard:"icsdrill scoreboard",page_team:"icsdrill team console",page_instructor:"icsdrill instructor",page_region:"icsdrill regional view",page_trainer:"icsdrill trainer view",drill_over:"The drill has ended and its server has closed: what this page shows is final.",ends_in:"ends in",freezes_in:"board freezes in",fullscreen:"Full screen",trends:"Trends",variable:"Variable",score_history:"Score over time",reveal:"Reveal",no_injects:"No messages sent",confirm_end:"End the drill for every team? The plant stops and scores are final.",confirm_hot_wash:"Start the hot wash for every team? The plant stops and the teams get their after-action reports.",confirm_hint:"Take hint {id}? It costs {cost} points.",trips:"trips",damage:"damage",maintenance:"Scheduled maintenance (permits to work)",actions:"Defender actions",action:"Action",apply:"Apply",report:"Incident report",technique:"ATT&CK for ICS technique",asset:"Affected asset",
    tactic:"Tactic",observed:"Observed at (simulated s)",impact:"Impact",taken:"Actions taken",notes:"Notes",submit_report:"Submit report",hints:"Hints",
    breakdown:"Score breakdown",white_cell:"White cell",start:"Start",pause:"Pause",resume:"Resume",hot_wash:"Hot wash",end:"End",inject:"Inject",
    teams:"Teams (empty: all)",channel:"Channel",message:"Message",phone:"Phone call",fire_step:"Fire attack step",text:"Text",step:"Attack step",send:"Send",
    attack:"Attack timeline",script:"Faults, distractors and routine work",sc_fault:"fault / distractor",sc_work:"routine work",sc_kind:"Kind",sc_who:"Fault or host",note:"Note for the white cell",take:"Take",cost:"cost",phase_briefing:"Briefing",phase_live:"Live",phase_paused:"Paused",phase_hot_wash:"Hot wash",phase_ended:"Ended",
    no_alarms:"No active alarms",true_v:"True",measured:"Measured",done:"done",late:"late",missed:"missed",pending:"pending",sent:"Sent",applied:"Applied",
    tripped:"TRIPPED",acked:"acknowledged",ack:"Acknowledge",aar:"Report",flags:"Flags",flag:"Flag",submit_flag:"Submit flag",unit:"Unit ID",standings:"Standings (CSV)",region_title:"Regional oversight",alerts:"Monitoring alerts",last_score:"Last drill score",prefectures:"Prefectures",prefecture:"Prefecture",enterprises:"Enterprises",drills_on_time:"Drills on time",open_findings:"Open findings (C/H/M/L)",overdue_rect:"Overdue rectifications",name:"Name",industry:"Industry",next_drill:"Next drill",trend:"Trend by year",year:"Year",drills:"Drills",findings:"Findings",verified:"Verified fixed",trainer_title:"Exam cohorts",in_progress:"In progress",results:"Results",cohort:"Cohort",date:"Date",result:"Result",pass:"pass",fail:"fail",lang:"中文"},
  zh: {frozen:"排行榜已冻结",login_needed:"请打开分配给您的登录链接（…/?token=…）。",rank:"名次",team:"队伍",score:"得分",detected:"检出/攻击步骤",
    scoreboard:"排行榜",plant:"工艺流程",alarms:"报警",transactions:"通信记录（Modbus、IEC 104）",endpoints:"端点",address:"地址",device:"设备",clients:"本队客户端须从以下地址连接",records_failing:"演练数据库无法写入（磁盘已满？）：在导调组修复前，操作将被拒绝。",pcap:"下载最近 5 分钟的报文捕获（pcapng，可用 Wireshark 打开）",view_frozen:"操作员站画面已冻结：自冻结以来画面上的数值均未刷新（拒绝监视）。",view_lost:"操作员站无任何显示（失去监视）：请在现场操作柜就地操作。",local:"就地",local_short:"就地",cross_team:"来自其他队伍地址的连接（已拒绝）",node:"节点",elsewhere:"由本演练其他节点运行的队伍（完整视图见该节点）",from:"来源",target:"目标队伍",attempts:"次数",summary:"计数",
    injects:"消息",priority:"优先级",tag:"位号",description:"描述",value:"数值",level:"报警级别",state:"状态",prio_high:"高",prio_medium:"中",unacked:"未确认",step_pending:"未触发",step_not_reached:"未触达",step_active:"进行中",step_succeeded:"已得手",step_failed:"被阻断",step_completed:"已完成",step_expired:"已过期",all_cohorts:"全部批次",certificate:"证书",result_notice:"结果通知",area_architecture:"安全架构",area_implementation:"安全实施",area_operations:"运行监测",area_assessment:"安全评估",area_response:"应急处置",filter:"筛选",time:"时间",prio_low:"低",al_unacked:"未确认",al_acked:"已确认",al_returned:"已恢复，未确认",shelve:"搁置",shelved:"本终端已搁置",on:"通",off:"断",close:"关闭",fp_range:"量程",fp_limit:"报警限",fp_setpoint:"设定值",fp_normal:"正常",fp_kind:"类型",fp_valve:"阀门",fp_pump:"泵",fp_breaker:"断路器",fp_control:"控制方式",fp_remote:"远程（PLC）",fp_fail:"故障安全位置",fp_hold:"保持",fp_stroke:"全行程时间",fp_trip_above:"高于此值联锁",fp_trip_below:"低于此值联锁",fp_voting:"表决",fp_delay:"联锁延时",back_region:"← 返回企业列表",bundle_title:"导入演练数据包",bundle_help:"企业在自有环境中开展的演练：签名须为该企业登记的安装密钥，且重放结果与数据包所述一致，方可接收。",bundle_file:"数据包文件",bundle_import:"核验并导入",bundle_ok:"已接收并记为已核验：演练",bundle_no:"未接收：",rej_unreadable:"不是演练数据包",rej_unsigned:"未签名",rej_tampered:"签名后内容被改动",rej_unknown_key:"签名密钥不是该企业登记的安装密钥",rej_not_registered:"有队伍不是已登记企业",rej_not_reproduced:"重放结果与数据包所述不一致",rej_duplicate:"该演练已有记录",verified_bundle:"已核验（签名与重放）",source:"来源",mean_score:"平均演练得分",by_industry_note:"各地州市下列出其各行业的统计。",drill:"演练",mode:"形式",finding:"隐患",severity:"严重程度",rect_status:"整改状态",found:"发现日期",due:"整改期限",no_drills:"该企业尚无演练记录。",no_findings:"尚无安全隐患记录。",years_empty:"尚无演练记录：演练开展或在登记系统中录入后即在此统计。",year_chart:"各地州市年度演练次数",sec_level:"安全等级",obligation:"演练义务",overdue:"已逾期",not_binding:"非强制",sev_critical:"严重",sev_high:"高",sev_medium:"中",sev_low:"低",fs_open:"未整改",fs_verified:"已复核整改",mode_regional:"实网应急演练",mode_enterprise:"企业自主演练",mode_contest:"安全竞赛",mode_exam:"能力考核",running:"进行中",iec104:"IEC 104 子站",opcua:"OPC UA 服务器",il_tripped:"已联锁",il_bypassed:"已旁路",il_unknown:"无画面",whole_region:"全区",f_actuator:"执行机构",f_alarm:"报警",f_conduit:"通道",f_end:"结束地址",f_hazard:"隐患（隐患编号）",f_host:"主机",f_max:"上限",f_min:"下限",f_mode:"模式",f_plc:"PLC",f_position:"开度",f_sensor:"传感器",f_start:"起始地址",f_text:"内容",f_to:"通知对象",f_functions:"功能码",conn_lost:"与演练平台的连接已断开，重试倒计时",next_compliance_test:"下次符合性评测",next_risk_assessment:"下次风险评估",next_regrade:"重新定级期限",act_drill:"演练",act_compliance_test:"符合性评测",act_risk_assessment:"风险评估",entered:"登记系统录入记录",reference:"编号",kind:"类别",person_name:"姓名",not_sent:"未送达",confirm_reveal:"确定向队伍 {team} 发放提示 {id}？该队将被扣除 {cost} 分。",lvl_lolo:"低低",lvl_lo:"低",lvl_hi:"高",lvl_hihi:"高高",plc_run:"运行",plc_stop:"停止",plc_program:"编程",plant_time:"工艺时间",page_scoreboard:"icsdrill 排行榜",page_team:"icsdrill 队伍控制台",page_instructor:"icsdrill 导调台",page_region:"icsdrill 区域总览",page_trainer:"icsdrill 培训考核",drill_over:"演练已结束，平台已关闭：本页显示的即为最终结果。",ends_in:"距结束",freezes_in:"距封榜",fullscreen:"全屏",trends:"趋势",variable:"变量",score_history:"得分变化",reveal:"发放",no_injects:"尚未发送消息",confirm_end:"确定为所有队伍结束本次演练？工艺停止，得分即为最终成绩。",confirm_hot_wash:"确定为所有队伍进入复盘？工艺停止，各队伍可获取演练总结报告。",confirm_hint:"确定使用提示 {id}？将扣除 {cost} 分。",trips:"联锁动作",damage:"设备损坏",maintenance:"计划检修（作业票）",actions:"防御操作",action:"操作",apply:"执行",report:"事件报告",technique:"ATT&CK for ICS 技术",asset:"受影响资产",
    tactic:"战术",observed:"发现时间（仿真秒）",impact:"影响",taken:"已采取措施",notes:"备注",submit_report:"提交报告",hints:"提示",
    breakdown:"得分明细",white_cell:"导调组",start:"开始",pause:"暂停",resume:"继续",hot_wash:"热复盘",end:"结束",inject:"注入",
    teams:"队伍（留空为全部）",channel:"方式",message:"消息",phone:"电话",fire_step:"触发攻击步骤",text:"内容",step:"攻击步骤",send:"发送",
    attack:"攻击时间线",script:"故障、干扰项与日常作业",sc_fault:"故障/干扰项",sc_work:"日常作业",sc_kind:"类别",sc_who:"故障或主机",note:"导调说明",take:"使用",cost:"扣分",phase_briefing:"简报",phase_live:"进行中",phase_paused:"已暂停",phase_hot_wash:"热复盘",phase_ended:"已结束",
    no_alarms:"无活动报警",true_v:"真实值",measured:"测量值",done:"已完成",late:"超时",missed:"未完成",pending:"待定",sent:"已发送",applied:"已执行",
    tripped:"已联锁",acked:"已确认",ack:"确认",aar:"演练报告",flags:"夺旗",flag:"旗标（flag）",submit_flag:"提交旗标",unit:"单元号",standings:"排名（CSV）",region_title:"区域监管视图",alerts:"监测告警数",last_score:"最近演练得分",prefectures:"地州市",prefecture:"地州市",enterprises:"企业",drills_on_time:"按期演练",open_findings:"未整改隐患（严重/高/中/低）",overdue_rect:"逾期整改",name:"名称",industry:"行业",next_drill:"下次演练",trend:"年度趋势",year:"年份",drills:"演练",findings:"隐患",verified:"已复核整改",trainer_title:"考核批次",in_progress:"进行中",results:"成绩",cohort:"批次",date:"日期",result:"结果",pass:"通过",fail:"未通过",lang:"English"}
};
// An action's name, short (its label up to the first parenthesis), in the page's language.
const actionName = k => ACTIONS[k] ? ACTIONS[k][lang].split(/ \(|（/)[0] : k;
const ACTIONS = {
  block_source:{en:"Block a host on a conduit",zh:"在通道上封禁主机",f:["conduit","host"]},
  allow_functions:{en:"Allow only these function codes",zh:"仅允许指定功能码",f:["conduit","functions"]},
  restrict_writes:{en:"Restrict register writes",zh:"限制寄存器写入",f:["conduit","plc","start","end","min","max"]},
  reset_conduit:{en:"Reset a conduit's policy",zh:"恢复通道策略",f:["conduit"]},
  isolate_host:{en:"Isolate a host",zh:"隔离主机",f:["host"]},
  restore_host:{en:"Reconnect a host",zh:"恢复主机连接",f:["host"]},
  set_mode:{en:"Set PLC mode",zh:"设置 PLC 模式",f:["plc","mode"]},
  restore_setpoints:{en:"Restore set points",zh:"恢复设定值",f:["plc"]},
  replace_module:{en:"Fit a spare module to a bricked PLC (program from backup)",zh:"为固件损坏的 PLC 更换备用模块（从备份加载程序）",f:["plc"]},
  reimage_host:{en:"Re-image a wiped host or a frozen/blank operator station",zh:"重装被擦除的主机或画面冻结/黑屏的操作员站",f:["host"]},
  local_control:{en:"Switch an actuator to local at its field panel (position 0-100 %; empty = back to remote)",zh:"将执行机构切至现场操作柜就地控制（开度 0-100%；留空 = 切回远方）",f:["actuator","position"]},
  restore_sensor:{en:"Check and re-terminate a field signal (or fit a spare transmitter)",zh:"检查并重新接线现场信号（或更换备用变送器）",f:["sensor"]},
  restore_program:{en:"Restore program from backup",zh:"从备份恢复程序",f:["plc"]},
  restart_plc:{en:"Restart PLC",zh:"重启 PLC",f:["plc"]},
  acknowledge_alarm:{en:"Acknowledge alarm",zh:"确认报警",f:["plc","alarm"]},
  enable_range_checks:{en:"Enable set-point range checks",zh:"启用设定值范围检查",f:["plc"]},
  notify:{en:"Notify (duty officer, management, authority)",zh:"通知（值班长、管理层、主管部门）",f:["to","text"]},
  declare_hazard:{en:"Declare a hidden hazard (finding id, e.g. range:plc-t101)",zh:"申报安全隐患（隐患编号，如 range:plc-t101）",f:["hazard"]},
};
let lang = new URLSearchParams(location.search).get("lang") || localStorage.getItem("icsdrill.lang") || (navigator.language.startsWith("zh") ? "zh" : "en");
const $ = (s, r = document) => r.querySelector(s);
// Rebuilds an element only when its content changed: a list re-rendered on every update
// would replace the button under the pointer between press and release.
function put(el, html) { if (el && el._html !== html) { el.innerHTML = html; el._html = html; } }
const tr = k => (T[lang] && T[lang][k]) || T.en[k] || k;
const txt = t => t == null ? "" : (typeof t === "string" ? t : (t[lang] || t.en));
const esc = s => String(s).replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach(e => e.textContent = tr(e.dataset.i18n));
  document.querySelectorAll(".i18n").forEach(e => e.textContent = e.dataset[lang] || e.dataset.en);
  document.querySelectorAll("[data-i18n-label]").forEach(e => e.setAttribute("aria-label", tr(e.dataset.i18nLabel)));
  const b = $("#lang"); if (b) b.textContent = tr("lang");
}
function toast(msg, bad) { const t = $("#toast"); if (!t) return; t.textContent = msg; t.style.borderColor = bad ? "var(--bad)" : "var(--acc)"; t.style.display = "block"; clearTimeout(toast.h); toast.h = setTimeout(() => t.style.display = "none", 4000); }
// Whose login this page acts with: each login keeps a cookie of its own, so a white cell's
// instructor console keeps working after it opened a team's console in the same browser.
const AS = (() => {
  const p = location.pathname;
  if (p.startsWith("/team/")) return "team_" + decodeURIComponent(p.split("/")[2] || "");
  if (p.startsWith("/instructor")) return "instructor";
  if (p.startsWith("/region") || p.startsWith("/trainer")) return "region";
  return "observer";
})();
async function api(path, body) {
  const opt = body === undefined ? {headers: {"X-Icsdrill-As": AS}} : {method: "POST", headers: {"Content-Type": "application/json", "X-Icsdrill-As": AS}, body: JSON.stringify(body)};
  const r = await fetch(path, opt);
  const j = await r.json().catch(() => ({}));
  if (r.status === 401) $("#login").hidden = false;
  // In Chinese the server's general words, with its detail (which names ids and values).
  const zh = lang === "zh" && j.error_zh ? j.error_zh + (j.error && j.error !== j.error_zh ? `（${j.error}）` : "") : null;
  if (!r.ok) throw new Error(zh || j.error || r.statusText);
  return j;
}
// A live stream that says when the connection is lost and comes back on its own: retries
// back off from 1 s to 30 s, and the first update after it resumes hides the notice.
// A scoreboard delta (`BoardDelta`) applied to the board it is for: rows replaced by team,
// put in the new order (given, or the changed rows moved to their ranks), ranked 1.. and within
// their brackets. Null when it is for another board.
function boardPatch(b, d) {
  if (b.seq !== d.base) return null;
  const rows = new Map(b.rows.map(r => [r.team, r]));
  for (const r of d.rows) rows.set(r.team, r);
  let order = d.order;
  if (!order) {
    // The other rows keep their order: the changed ones move to their new ranks.
    const changed = new Set(d.rows.map(r => r.team));
    order = b.rows.map(r => r.team).filter(t => !changed.has(t));
    // Each after the rows it ties with whose team ids come first.
    const byTeam = new Map(b.rows.map(r => [r.team, r]));
    for (const r of [...d.rows].sort((x, y) => x.rank - y.rank || (x.team < y.team ? -1 : 1))) {
      byTeam.set(r.team, r);
      let at = Math.min(Math.max(r.rank, 1) - 1, order.length);
      while (at < order.length && order[at] < r.team && tie(byTeam.get(order[at]), r)) at++;
      order.splice(at, 0, r.team);
    }
  }
  if (!order.every(t => rows.has(t))) return null;
  // Ranked as competitions are ("1, 2, 2, 4"): a row that ties the one before it shares its rank.
  const inBracket = new Map();
  const ranked = [];
  order.forEach((t, i) => {
    const prev = ranked[i - 1];
    const r = { ...rows.get(t), rank: prev && tie(prev, rows.get(t)) ? prev.rank : i + 1 };
    if (r.bracket) {
      const [seen, last] = inBracket.get(r.bracket) || [0, null];
      r.bracket_rank = last && tie(last, r) ? last.bracket_rank : seen + 1;
      inBracket.set(r.bracket, [seen + 1, r]);
    }
    ranked.push(r);
  });
  return { seq: d.seq, phase: d.phase, frozen: d.frozen, changed_us: d.changed_us, clock: d.clock, steps: d.steps, rows: ranked };
}
// Whether two rows tie (`board::tie`): the same total, settled at the same tick.
function tie(a, b) { return !!a && a.total === b.total && a.settled_tick === b.settled_tick; }
const PATCHES = { scoreboard: boardPatch };

// `away` (a team console): called when this node stops answering, to look for the team on
// the drill's other nodes.
function stream(path, name, on, away) {
  let delay = 1000, es = null;
  const banner = () => {
    let b = $("#conn");
    if (!b) { b = document.createElement("p"); b.id = "conn"; b.className = "warn banner"; b.setAttribute("role", "status"); b.setAttribute("aria-live", "polite"); b.hidden = true; document.body.prepend(b); }
    return b;
  };
  let last = null;
  const open = () => {
    es = new EventSource(path + (path.includes("?") ? "&" : "?") + "as=" + encodeURIComponent(AS));
    es.addEventListener(name, e => { banner().hidden = true; delay = 1000; last = JSON.parse(e.data); on(last); });
    // What changed since the last event (the scoreboard's rows): applied to it, or, should it
    // not fit, the stream opened again for a whole one.
    const patch = PATCHES[name];
    if (patch) es.addEventListener(name + "-delta", e => {
      const next = last && patch(last, JSON.parse(e.data));
      if (!next) { es.close(); last = null; open(); return; }
      last = next; on(last);
    });
    es.onerror = () => {
      es.close();
      // An ended drill's server goes away: what the page shows is final, nothing to retry.
      if (last && last.phase === "ended") {
        const b = banner();
        b.dataset.i18n = "drill_over";
        b.textContent = tr("drill_over");
        b.className = "banner";
        b.dataset.over = "1";
        b.hidden = false;
        // Its links to the server lead nowhere now.
        document.querySelectorAll('a[href^="/"]').forEach(a => { a.removeAttribute("href"); a.setAttribute("aria-disabled", "true"); a.classList.add("gone"); });
        return;
      }
      fetch(path.replace(/stream$/, ""), {redirect: "manual", headers: {"X-Icsdrill-As": AS}}).then(r => {
        if (r.status === 401) { $("#login").hidden = false; return; }
        // Another node of the drill runs the team now: the page, opened again, is sent there.
        if (r.type === "opaqueredirect" && away) { location.reload(); return; }
        retry();
      }).catch(() => { if (away) away(); retry(); });
    };
  };
  const retry = () => {
    const b = banner();
    b.textContent = `${tr("conn_lost")} ${Math.round(delay / 1000)} s`;
    b.hidden = false;
    setTimeout(open, delay);
    delay = Math.min(delay * 2, 30000);
  };
  open();
}
function phaseBadge(p) { const e = $("#phase"); if (e) { e.textContent = tr("phase_" + p); e.className = "badge phase-" + p; e.dataset.phase = p; } }
function boardRows(b, tbody) {
  // One denominator for every team: the attack's steps.
  put(tbody, b.rows.map(r => `<tr data-team="${esc(r.team)}"><td>${r.rank}</td><td>${esc(r.name)}</td><td class="num total">${r.total.toFixed(1)}</td><td class="num detected">${r.detected}/${b.steps || r.fired}</td></tr>`).join(""));
}
const hms = s => { s = Math.max(0, Math.floor(s)); return [s / 3600, s % 3600 / 60, s % 60].map(x => String(Math.floor(x)).padStart(2, "0")).join(":"); };
// The big screen's clock and countdowns: the board's plant time, run on at its speed while
// the drill is live (the display ticks; no request).
let board = null, boardAt = 0;
// The plant time the drill said when the page opened (`/api/drill`): the board a page is
// first sent may be older than that.
let known = null;
function showClock() {
  if (!board || !$("#clock")) return;
  const c = board.clock, live = board.phase === "live", t = performance.now();
  const run = live ? (t - boardAt) / 1000 * c.speed : 0;
  const later = live && known ? known.at_s + (t - known.at) / 1000 * c.speed : 0;
  const now = Math.min(Math.max(c.at_s + run, later), c.end_s == null ? Infinity : c.end_s);
  $("#clock").textContent = hms(now);
  // Past the live part (hot wash, ended) nothing is counted down any more.
  const over = board.phase === "hot_wash" || board.phase === "ended";
  $("#ends").textContent = c.end_s == null || over ? "" : `${tr("ends_in")} ${hms(c.end_s - now)}`;
  $("#freezes").textContent = c.freeze_s == null || over || now >= c.freeze_s ? "" : `${tr("freezes_in")} ${hms(c.freeze_s - now)}`;
}
$("#lang") && $("#lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("icsdrill.lang", lang); applyLang(); rerender(); });
let rerender = () => {};
applyLang();

// The charts' axes on the dark pages: time below, values (in `unit`) at the left.
const chartAxes = unit => [
  {stroke: "#b9cfdd", grid: {stroke: "#24455c"}, ticks: {stroke: "#24455c"}},
  {stroke: "#b9cfdd", grid: {stroke: "#24455c"}, ticks: {stroke: "#24455c"}, label: unit, size: 60},
];

// A score holds from one update to the next: its line is drawn in steps.
const STEPS = () => window.uPlot && uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({align: 1}) : undefined;
// The board's history: every team's total at each board, over plant time (bounded).
function boardHistory() {
  if (!window.uPlot) return () => {};
  const xs = [], series = {}, palette = ["#3fa7d6", "#f59f00", "#2f9e44", "#e03131", "#b7a4f0", "#9fc", "#f783ac", "#ced4da"];
  let plot = null, teams = [];
  const el = $("#history");
  window.addEventListener("resize", () => { if (plot) plot.setSize({width: Math.max(260, el.clientWidth - 4), height: 220}); });
  return b => {
    if (!b.rows.length) return;
    const at = b.clock ? b.clock.at_s : xs.length;
    if (xs.length && at <= xs[xs.length - 1]) { xs.pop(); for (const t in series) series[t].pop(); }
    xs.push(at);
    for (const r of b.rows) (series[r.team] = series[r.team] || new Array(xs.length - 1).fill(null)).push(r.total);
    for (const t in series) while (series[t].length < xs.length) series[t].push(null);
    if (xs.length > TREND_POINTS) { xs.shift(); for (const t in series) series[t].shift(); }
    const names = Object.keys(series).sort();
    if (!plot || names.join() !== teams.join()) {
      teams = names;
      if (plot) plot.destroy();
      const name = id => (b.rows.find(r => r.team === id) || {name: id}).name;
      plot = new uPlot({width: Math.max(260, el.clientWidth - 4), height: 220, scales: {x: {time: false}},
        axes: chartAxes(""),
        // A total holds until the next board: drawn as steps, not slopes.
        series: [{label: "t (s)"}, ...teams.map((t, i) => ({label: name(t), stroke: palette[i % palette.length], width: 2, spanGaps: true, paths: STEPS()}))]},
        [xs, ...teams.map(t => series[t])], el);
    } else plot.setData([xs, ...teams.map(t => series[t])]);
    el.dataset.points = xs.length;
  };
}

async function scoreboardPage() {
  const history = boardHistory();
  let info = null;
  const title = () => { if (info) $("#title").textContent = info.name === info.title.en ? txt(info.title) : info.name + " — " + txt(info.title); };
  api("/api/drill").then(d => { info = d; known = {at_s: d.at_s || 0, at: performance.now()}; title(); showClock(); }).catch(() => {});
  // The language switch redraws what the page wrote itself.
  rerender = () => { title(); if (board) { phaseBadge(board.phase); showClock(); } };
  stream("/api/scoreboard/stream", "scoreboard", b => {
    // A board as new as what the drill said at the page's opening (or one held by a pause)
    // sets the clock from now on.
    if (known && (b.phase !== "live" || b.clock.at_s >= known.at_s)) known = null;
    board = b; boardAt = performance.now(); showClock(); history(b); phaseBadge(b.phase); $("#frozen").hidden = !b.frozen; boardRows(b, $("#board tbody")); document.body.dataset.seq = b.seq; });
  setInterval(showClock, 500);
  $("#fullscreen").addEventListener("click", () => document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen().catch(() => {}));
}

async function teamPage() {
  const team = decodeURIComponent(location.pathname.split("/")[2]);
  const base = `/api/teams/${encodeURIComponent(team)}`;
  let state = null, since = 0;
  const reportLink = () => { $("#report-link").href = `${base}/report?format=html&lang=${lang}`; };
  reportLink();
  const info = await api("/api/drill").catch(e => { toast(e.message, true); return null; });
  if (info) { $("#title").textContent = txt(info.title); const me = info.teams.find(t => t.id === team); $("#team").textContent = me ? me.name : team; $("#flags-section").hidden = info.mode !== "contest"; }
  $("#mimic").innerHTML = await fetch(base + "/mimic.svg").then(r => r.ok ? r.text() : "").catch(() => "");
  applyLang();
  const kind = $("#kind");
  const fillKinds = () => { const v = kind.value; kind.innerHTML = Object.entries(ACTIONS).map(([k, a]) => `<option value="${k}">${esc(a[lang])}</option>`).join(""); if (v) kind.value = v; };
  const opts = (list, sel) => list.map(x => `<option value="${esc(x.id)}"${x.id === sel ? " selected" : ""}>${esc(x.id)}${x.name ? " — " + esc(txt(x.name)) : ""}</option>`).join("");
  const fields = () => {
    if (!state) return;
    const f = ACTIONS[kind.value].f;
    $("#fields").innerHTML = f.map(n => {
      const l = `<label>${esc(tr("f_" + n))} `;
      if (n === "conduit") return `${l}<select name="conduit">${opts(state.conduits.map(id => ({id})))}</select></label>`;
      if (n === "host") return `${l}<select name="host">${opts(state.hosts)}</select></label>`;
      if (n === "plc") return `${l}<select name="plc">${opts(state.plcs)}</select></label>`;
      if (n === "actuator") return `${l}<select name="actuator">${opts(state.actuators)}</select></label>`;
      if (n === "position") return `${l} (%)<input name="position" type="number" min="0" max="100" step="1"></label>`;
      if (n === "sensor") return `${l}<select name="sensor">${opts(state.sensors)}</select></label>`;
      if (n === "alarm") return `${l}<select name="alarm">${opts(state.alarm_defs)}</select></label>`;
      if (n === "mode") return `${l}<select name="mode">${["run", "stop", "program"].map(m => `<option value="${m}">${tr("plc_" + m)}</option>`).join("")}</select></label>`;
      if (n === "functions") return `${l} (1,3,4,…)<input name="functions" placeholder="1,2,3,4"></label>`;
      if (n === "text") return `${l}<textarea name="text" rows="2"></textarea></label>`;
      if (n === "to") return `${l}<input name="to" value="duty_officer"></label>`;
      if (n === "hazard") return `${l}<input name="id" placeholder="path:STEP / range:PLC / backup:PLC" required></label>`;
      return `${l}<input name="${n}" type="number" min="0" max="65535"${n === "min" || n === "max" ? "" : " required"}></label>`;
    }).join("");
  };
  kind.addEventListener("change", fields);
  $("#action").addEventListener("submit", async ev => {
    ev.preventDefault();
    const body = {kind: kind.value};
    new FormData(ev.target).forEach((v, k) => {
      if (k === "kind" || v === "") return;
      if (k === "functions") body.functions = v.split(/[ ,]+/).filter(Boolean).map(Number);
      else if (["start", "end", "min", "max"].includes(k)) body[k] = Number(v);
      else if (k === "position") body.position = Number(v) / 100;
      else body[k] = v;
    });
    try { await api(base + "/actions", body); toast(tr("applied") + ": " + actionName(kind.value)); } catch (e) { toast(e.message, true); }
  });
  $("#flag").addEventListener("submit", async ev => {
    ev.preventDefault();
    try { const r = await api(base + "/flags", {flag: ev.target.flag.value.trim()}); toast(r.message, !r.valid); ev.target.reset(); } catch (e) { toast(e.message, true); }
  });
  $("#report").addEventListener("submit", async ev => {
    ev.preventDefault();
    const body = {};
    new FormData(ev.target).forEach((v, k) => { if (v !== "") body[k] = k === "observed_s" ? Number(v) : v; });
    try { await api(base + "/reports", body); toast(tr("sent")); ev.target.reset(); } catch (e) { toast(e.message, true); }
  });
  let first = true, injectsSeen = 0;
  const shelved = new Map();
  const trend = trends();
  const hmi = mimic(() => state);
  const render = s => {
    TICK_HZ = s.tick_hz;
    state = s;
    trend(s);
    phaseBadge(s.phase);
    // The report names the attack: it opens to teams at the hot wash, so does its link.
    $("#report-link").hidden = !["hot_wash", "ended"].includes(s.phase);
    $("#clock").textContent = `t = ${s.simulated_s.toFixed(0)} s`;
    $("#total").textContent = s.score.total.toFixed(1);
    document.body.dataset.tick = s.tick;
    const to = Math.max(1, Math.floor(s.simulated_s) - 2), pc = $("#pcap");
    if (pc) pc.href = `${base}/pcap?from=${Math.max(0, to - 300)}&to=${to}`;
    const view = $("#view"); view.hidden = s.view === "live"; view.textContent = s.view === "live" ? "" : tr("view_" + s.view);
    hmi(s);
    // The alarm list as ISA-18.2 has it: priority, time, tag, description, value, level,
    // state (unacknowledged, acknowledged, returned); shelved alarms leave the list for a
    // while (on this console) and come back by themselves.
    const now = s.simulated_s, key = a => a.plc + "|" + a.id;
    for (const [k, until] of shelved) if (until <= now) shelved.delete(k);
    const listed = s.alarms.filter(a => !shelved.has(key(a)));
    put($("#alarms tbody"), listed.length ? listed.map(a => `<tr data-alarm="${esc(key(a))}" data-state="${a.state}"><td class="${a.priority === "high" ? "bad" : a.priority === "medium" ? "warn" : "mut"}">${tr("prio_" + a.priority)}</td><td class="num">${a.since_s.toFixed(0)} s</td><td>${esc(a.tag)}</td><td>${esc(txt(a.description))}</td><td class="num" data-alarm-value="${esc(key(a))}"></td><td>${esc(a.levels.map(l => tr("lvl_" + l)).join(", ") || "–")}</td><td>${tr("al_" + a.state)}${a.acked ? "" : ` <button data-ack="${esc(key(a))}">${tr("ack")}</button>`} <button data-shelve="${esc(key(a))}">${tr("shelve")}</button></td></tr>`).join("")
      : `<tr><td class="mut" colspan="7">${tr("no_alarms")}</td></tr>`);
    // Values change every update: written into their cells, the rows (and buttons) stay.
    for (const a of listed) {
      const c = document.querySelector(`[data-alarm-value="${CSS.escape(key(a))}"]`);
      if (c) c.textContent = `${num(a.value)} ${a.unit}`;
    }
    const sh = $("#shelved"); sh.hidden = !shelved.size;
    put(sh, shelved.size ? `${tr("shelved")}: ${[...shelved.keys()].map(k => `<button data-unshelve="${esc(k)}">${esc(k.split("|")[1])} ✕</button>`).join(" ")}` : "");
    put($("#endpoints tbody"), s.endpoints.map(e => `<tr><td>${esc(e.plc)}</td><td>${esc(e.address)}:${e.port}</td><td>${e.unit_id}</td><td>${e.iec104_port ? `${esc(e.address)}:${e.iec104_port} (CA ${e.iec104_address})` : "–"}</td><td>${e.opcua_port ? `opc.tcp://${esc(e.address)}:${e.opcua_port}/` : "–"}</td><td>${esc(e.device)}</td></tr>`).join(""));
    $("#clients").textContent = s.clients ? `${tr("clients")}: ${s.clients.networks.join(", ")}` + (s.clients.mbpoll ? "" : ` — pymodbus: ${s.clients.pymodbus}`) : "";
    $("#records").hidden = !s.records_failing;
    $("#maint-box").hidden = !(s.maintenance || []).length;
    put($("#maintenance"), (s.maintenance || []).map(m => `<li><b>${esc(m.id)}</b> ${(m.from_tick / s.tick_hz).toFixed(0)}–${(m.to_tick / s.tick_hz).toFixed(0)} s, ${esc(m.host)} → ${esc(m.plcs.join(", "))}${m.note ? ": " + esc(txt(m.note)) : ""}</li>`).join(""));
    put($("#injects"), s.injects.map(i => `<li><span class="badge">${esc(tr(i.channel === "phone" ? "phone" : "message"))}</span> t=${(i.tick / s.tick_hz).toFixed(0)} s: ${esc(i.text)}</li>`).join(""));
    put($("#hints"), s.hints.map(h => `<li>${esc(h.id)} (${tr("cost")} ${h.cost}) ${h.taken ? "— " + esc(txt(h.text)) : `<button data-hint="${esc(h.id)}" data-cost="${h.cost}">${tr("take")}</button>`}</li>`).join(""));
    put($("#myactions"), s.actions.slice(-8).map(a => `<li data-kind="${esc(a.kind)}">t=${(a.tick / s.tick_hz).toFixed(0)} s ${esc(actionName(a.kind))} ${a.ok ? "✓" : "✗ " + esc(a.reason || "")}</li>`).join(""));
    put($("#card tbody"), s.score.components.map(c => `<tr data-key="${c.key}" data-points="${c.points}"><td>${esc(txt(c.label))}</td><td class="num ${c.points < 0 ? "bad" : ""}">${c.points.toFixed(1)}${c.max ? " / " + c.max : ""}</td><td class="mut">${esc(txt(c.detail))}</td></tr>`).join(""));
    put($("#plan tbody"), s.score.plan.map(p => `<tr><td>${esc(txt(p.name))}</td><td class="${p.status === "done" ? "ok" : p.status === "pending" ? "mut" : "bad"}">${tr(p.status)}</td></tr>`).join(""));
    // A message or call from the white cell that came since the last update: told at once,
    // wherever the page is scrolled to (on a phone, the messages are far down).
    if (!first && s.injects.length > injectsSeen) {
      const i = s.injects[s.injects.length - 1];
      toast(`${tr(i.channel === "phone" ? "phone" : "message")}: ${i.text}`);
    }
    injectsSeen = s.injects.length;
    // The transaction log is polled from the first update on: its times need the tick rate.
    if (first) { first = false; fillKinds(); fields(); const a = $("#asset"); a.innerHTML = opts(s.plcs.concat(s.hosts)); poll(); }
  };
  rerender = () => {
    reportLink();
    if (info) $("#title").textContent = txt(info.title);
    if (state) { fillKinds(); fields(); render(state); const a = $("#asset"); a.innerHTML = opts(state.plcs.concat(state.hosts), a.value); }
  };
  document.addEventListener("click", async ev => {
    const t = ev.target;
    try {
      // A hint costs points: taken only once confirmed (a tap on a phone comes easily).
      if (t.dataset.hint && confirm(tr("confirm_hint").replace("{id}", t.dataset.hint).replace("{cost}", t.dataset.cost))) { await api(base + "/hints", {hint: t.dataset.hint}); }
      if (t.dataset.ack) { const [plc, alarm] = t.dataset.ack.split("|"); await api(base + "/actions", {kind: "acknowledge_alarm", plc, alarm}); }
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
  stream(base + "/stream", "state", render, follow);
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
        line.textContent = e.kind === "iec104_transaction" ? iec104Line(e)
          : e.kind === "opcua_transaction" ? opcuaLine(e)
          : e.kind === "traffic_summary"
          ? e.entries.map(c => `${when(e)} ${c.source} -> ${c.plc} ${c.function == null ? "connect" : "fc=" + c.function} ${tr("summary")} x${c.count}${c.exceptions ? " EXC x" + c.exceptions : ""}`).join("\n")
          : e.kind === "modbus_transaction"
          ? `${when(e)} ${e.source} -> ${e.plc} fc=${e.function} addr=${e.addr} n=${e.count}${e.values ? " v=" + e.values.join(",") : ""}${e.exception ? " EXC " + e.exception : ""}${e.repeat ? " x" + e.repeat : ""}`
          : `${when(e)} ${e.source} connect ${e.plc}${e.refused ? " REFUSED " + e.refused : ""}`;
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

// IEC 104 requests in the transaction log as Wireshark names them: the type identification's
// mnemonic, the object, the value, select or execute, and a refusal's reason.
const IEC104_TYPES = {45: "C_SC_NA_1", 46: "C_DC_NA_1", 48: "C_SE_NA_1", 49: "C_SE_NB_1", 50: "C_SE_NC_1", 100: "C_IC_NA_1", 103: "C_CS_NA_1"};
const IEC104_COMMANDS = new Set([45, 46, 48, 49, 50]);
// When a logged request came, in simulated seconds as the rest of the console says it (the
// tick while the rate is not known yet).
let TICK_HZ = 0;
const when = e => TICK_HZ ? `t=${(e.tick / TICK_HZ).toFixed(1)} s` : String(e.tick);
const iec104Line = e => e.type_id === 0
  ? `${when(e)} ${e.source} connect ${e.plc} IEC 104${e.reason ? " REFUSED " + e.reason : ""}`
  : `${when(e)} ${e.source} -> ${e.plc} IEC 104 ${IEC104_TYPES[e.type_id] || "type " + e.type_id}${e.ioa ? " ioa=" + e.ioa : ""}${e.value != null ? " v=" + e.value : ""}${IEC104_COMMANDS.has(e.type_id) ? (e.select ? " select" : " execute") : ""}${e.reason ? " NEG " + e.reason : ""}${e.repeat ? " x" + e.repeat : ""}`;

// OPC UA requests by their service names, with the variable, a write's value and a refusal.
const OPCUA_SERVICES = {1: "Read", 2: "Write", 4: "CreateMonitoredItems"};
const opcuaLine = e => e.service === 0
  ? `${when(e)} ${e.source} connect ${e.plc} OPC UA${e.reason ? " REFUSED " + e.reason : ""}`
  : `${when(e)} ${e.source} -> ${e.plc} OPC UA ${OPCUA_SERVICES[e.service] || "service " + e.service}${e.node ? " " + e.node : ""}${e.value != null ? " v=" + e.value : ""}${e.reason ? " BAD " + e.reason : ""}${e.repeat ? " x" + e.repeat : ""}`;

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
      for (const [lvl, p] of open.limits) add(`${tr("fp_limit")} ${lvl.toUpperCase()}`, (s, regs) => num(param(p, regs)));
      for (const [id, p] of open.sp) add(`${tr("fp_setpoint")} ${id}`, (s, regs) => num(param(p, regs)));
      add(tr("state"), s => { const a = s.alarms.find(x => x.tag === open.id); return a ? `${tr("al_" + a.state)} (${a.levels.join(", ") || "–"})` : tr("fp_normal"); });
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
      for (const id of open.sensors) add(id, s => { const v = s.sensors.find(x => x.id === id) || {}; return `${num(v.value)} ${v.unit || ""}`; });
    }
    fields = [["", big], ...f];
    builtLang = lang;
    fp.innerHTML = `<button class="close" aria-label="${esc(tr("close"))}">✕</button><h2 id="fp-title">${esc(open.tag)} — ${esc(txt(open.name || ""))}</h2><p class="big" data-fpv="0"></p><table>`
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
      t._plot = new uPlot({width: Math.max(240, t.clientWidth - 4), height: 140, legend: {show: false}, scales: {x: {time: false}}, axes: chartAxes(open.unit),
        series: [{}, {stroke: "#3fa7d6", width: 2, spanGaps: true}]}, [xs.slice(), (ys[open.id] || []).slice()], t);
    } else t._plot.setData([xs.slice(), (ys[open.id] || []).slice()]);
  };
  return s => {
    if (svg) svg.classList.toggle("stale", s.view !== "live");
    const alarmed = new Map(s.alarms.filter(a => a.state !== "returned").map(a => [a.tag, a]));
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
      if (e) { e.textContent = `${p.id} ${tr("plc_" + p.mode)}${p.listen_only ? " LO" : ""}${p.restarting ? " …" : ""}`; e.parentNode.classList.toggle("abnormal", p.mode !== "run" || p.listen_only || p.restarting); }
    }
    draw(s, regs);
  };
}

// Trends on the team console: what the operator station read (spoofing shows) and the
// team's score, since the page opened, in simulated seconds. Bounded: the last
// TREND_POINTS updates.
const TREND_POINTS = 900;
function trends() {
  if (!window.uPlot) return () => {};
  const xs = [], ys = {}, score = [];
  window.TREND = {xs, ys};
  let plot = null, scorePlot = null, sensors = [], drawnLang = null;
  const width = el => Math.max(260, el.clientWidth - 4);
  const chart = (el, label, unit, data, paths) => new uPlot({width: width(el), height: 180, legend: {show: true},
    scales: {x: {time: false}}, axes: chartAxes(unit), series: [{label: "t (s)"}, {label, stroke: "#3fa7d6", width: 2, spanGaps: true, paths}]}, data, el);
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
  return s => {
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
      score.push(s.score.total);
      for (const v of s.sensors) (ys[v.id] = ys[v.id] || []).push(v.value);
      if (xs.length > TREND_POINTS) { xs.shift(); score.shift(); for (const k in ys) ys[k].shift(); }
    }
    if (!plot) draw(); else { const v = sensors.find(x => x.id === sel.value) || sensors[0]; plot.setData([xs, ys[v.id]]); }
    if (!scorePlot) scorePlot = chart($("#score-trend"), tr("score"), "", [xs, score], STEPS()); else scorePlot.setData([xs, score]);
    $("#trend").dataset.points = xs.length;
  };
}

// A step's status on the white cell's timeline: one still pending when the drill is over
// (hot wash, ended) was never reached.
const stepStatus = (status, phase) => {
  const st = status || "pending";
  return st === "pending" && (phase === "hot_wash" || phase === "ended") ? "not_reached" : st;
};

async function instructorPage() {
  const info = await api("/api/drill").catch(e => { toast(e.message, true); return null; });
  const title = () => { if (info) $("#title").textContent = info.name === info.title.en ? txt(info.title) : info.name + " — " + txt(info.title); };
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
      toast(r.map(x => `${x.team}: ${x.ok ? (x.queued ? "→ " + tr("node") + " " + x.queued : "✓") : tr("not_sent") + " (" + x.error + ")"}`).join("; "), refused.length > 0);
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
    put($("#cross tbody"), ct.map(a => `<tr><td>${esc(a.address)}${a.from_team ? " (" + esc(a.from_team) + ")" : ""}</td><td>${esc(a.team)} ${esc(a.plc)}</td><td class="num">${a.count}</td></tr>`).join(""));
    if (!stepsFilled && o.attack) { stepsFilled = true; $("#inject-step").innerHTML = o.attack.map(s => `<option value="${esc(s.id)}">${esc(s.id)} — ${esc(txt(s.name))}</option>`).join(""); }
    put($("#script tbody"), (o.script || []).map(l => `<tr><td class="num">${hms(l.at_s)}</td><td>${esc(tr("sc_" + l.kind))}</td><td>${esc(l.who)}${l.what ? " · " + esc(l.what) : ""}</td><td>${l.note ? esc(txt(l.note)) : ""}</td></tr>`).join(""));
    put($("#timeline tbody"), (o.attack || []).map(s => `<tr><td>${esc(s.id)}</td><td>${esc(txt(s.name))}</td><td>${esc(s.techniques.join(" "))}</td><td>${o.teams.map(t => `<span class="badge">${esc(t.id)}: ${esc(tr("step_" + stepStatus((t.steps.find(x => x.id === s.id) || {}).status, o.phase)))}</span>`).join(" ")}</td></tr>`).join(""));
    const away = o.elsewhere || [];
    $("#elsewhere").hidden = !away.length;
    put($("#elsewhere ul"), away.map(t => `<li><b>${esc(t.name)}</b> <span class="mut">(${esc(t.id)})</span> — ${t.total.toFixed(1)} · ${tr("node")} ${esc(t.node)}: <a href="${esc(t.http)}/instructor" target="_blank" rel="noopener">${esc(t.http)}</a></li>`).join(""));
    // The cards are built once (again when the teams, their variables or the language
    // change); each update writes only their numbers, so a focused link or a press on one
    // survives the updates.
    put($("#teams"), o.teams.map(t => `<section data-team="${esc(t.id)}"><h2>${esc(t.name)}${t.name === t.id ? "" : ` <span class="mut">(${esc(t.id)})</span>`} — <span data-total></span> <a href="/api/teams/${encodeURIComponent(t.id)}/report?format=html&lang=${lang}" target="_blank">${tr("aar")}</a></h2>
      <p class="mut" data-status></p>
      <table><thead><tr><th></th><th class="num">${tr("true_v")}</th><th class="num">${tr("measured")}</th></tr></thead><tbody>
      ${t.values.map((v, i) => `<tr><td>${esc(txt(v.name))}</td><td class="num" data-true="${i}"></td><td class="num" data-measured="${i}"></td></tr>`).join("")}</tbody></table></section>`).join(""));
    for (const t of o.teams) {
      const card = document.querySelector(`#teams section[data-team="${CSS.escape(t.id)}"]`);
      if (!card) continue;
      card.querySelector("[data-total]").textContent = t.score.total.toFixed(1);
      card.querySelector("[data-status]").textContent = `t = ${t.simulated_s.toFixed(0)} s · ${tr("trips")} ${t.trips} · ${tr("damage")} ${t.damage}`;
      t.values.forEach((v, i) => {
        const tv = card.querySelector(`[data-true="${i}"]`), mv = card.querySelector(`[data-measured="${i}"]`);
        if (tv) tv.textContent = `${v.true.toFixed(2)} ${v.unit}`;
        if (mv) {
          mv.textContent = v.measured == null ? "–" : `${v.measured.toFixed(2)} ${v.unit}`;
          mv.classList.toggle("bad", v.measured != null && Math.abs(v.measured - v.true) > 0.05 * (Math.abs(v.true) + 1));
        }
      });
    }
  };
  // Hints and messages per team, apart from the live values: they change rarely, so the
  // buttons stay put under the pointer.
  // Teams other nodes run get their hints too (the reveal is queued for that node); their
  // messages are on that node's page.
  const tools = o => put($("#tools"), [...o.teams, ...(o.elsewhere || [])].map(t => `<section data-team="${esc(t.id)}"><h2>${esc(t.name)}: ${tr("hints")}${t.node ? ` <span class="mut">(${tr("node")} ${esc(t.node)})</span>` : ` · ${tr("injects")}`}</h2>
      <ul>${(t.hints || []).map(h => `<li>${h.taken ? "✓" : `<button data-reveal="${esc(t.id)}" data-hint="${esc(h.id)}" data-cost="${h.cost}">${tr("reveal")}</button>`} <b>${esc(h.id)}</b> (${tr("cost")} ${h.cost}): ${esc(txt(h.text))}</li>`).join("")}</ul>
      ${t.node ? "" : `<ul class="mut">${(t.injects || []).map(i => `<li>t=${(i.tick / t.tick_hz).toFixed(0)} s ${esc(tr(i.channel === "phone" ? "phone" : "message"))}: ${esc(i.text)}</li>`).join("") || `<li>${tr("no_injects")}</li>`}</ul>`}</section>`).join(""));
  const controls = o => document.querySelectorAll("[data-control]").forEach(b => { b.disabled = !(o.controls || []).includes(b.dataset.control); });
  $("#tools").addEventListener("click", async ev => {
    const b = ev.target.closest("button[data-reveal]");
    if (!b) return;
    // A hint costs the team points: revealed only once confirmed.
    if (!confirm(tr("confirm_reveal").replace("{id}", b.dataset.hint).replace("{team}", b.dataset.reveal).replace("{cost}", b.dataset.cost))) return;
    try { const r = await api(`/api/teams/${encodeURIComponent(b.dataset.reveal)}/hints`, {hint: b.dataset.hint}); toast(`${b.dataset.reveal}: ${b.dataset.hint} ${r.queued ? "→ " + tr("node") + " " + r.queued : "✓"}`); } catch (e) { toast(e.message, true); }
  });
  rerender = () => { title(); stepsFilled = false; if (last) { render(last); tools(last); } };
  stream("/api/instructor/stream", "overview", o => { render(o); tools(o); controls(o); });
  stream("/api/scoreboard/stream", "scoreboard", b => boardRows(b, $("#board tbody")));
}

// Industry names, both languages (codes as the registry keeps them).
const INDUSTRY = {
  petrochemical: {en: "Petrochemical", zh: "石化"}, power: {en: "Power", zh: "电力"}, coal_chemical: {en: "Coal chemical", zh: "煤化工"},
  steel: {en: "Steel", zh: "钢铁"}, nonferrous: {en: "Nonferrous metals", zh: "有色金属"},
  equipment_manufacturing: {en: "Equipment manufacturing", zh: "装备制造"}, new_materials: {en: "New materials", zh: "新材料"}, other: {en: "Other", zh: "其他"},
};
const industryName = code => INDUSTRY[code] ? INDUSTRY[code][lang] : code;

// A small line chart of points by year (or date) on the light-on-dark pages.
function lineChart(el, xs, series, time) {
  if (!window.uPlot || !el) return null;
  const palette = ["#3fa7d6", "#f59f00", "#2f9e44", "#e03131", "#b7a4f0", "#9fc", "#f783ac", "#ced4da"];
  el.innerHTML = "";
  el.dataset.points = xs.length;
  if (!xs.length) return null;
  return new uPlot({width: Math.max(260, el.clientWidth - 4), height: 200, scales: {x: {time: !!time}},
    // Years as integers; dates as YYYY-MM, the same in both languages.
    axes: [{...chartAxes("")[0], values: (u, v) => v.map(x => time ? new Date(x * 1000).toISOString().slice(0, 7) : Number.isInteger(x) ? String(x) : "")}, chartAxes("")[1]],
    series: [{label: time ? tr("date") : tr("year")}, ...series.map((s, i) => ({label: s.label, stroke: palette[i % palette.length], width: 2, spanGaps: true, points: {show: true, size: 7}}))]},
    [xs, ...series.map(s => s.data)], el);
}

// Why a page shows nothing: said where it stays (a toast goes after a few seconds).
function refused(message) {
  let p = $("#refused");
  if (!p) { p = document.createElement("p"); p.id = "refused"; p.className = "warn"; p.setAttribute("role", "alert"); p.style.padding = "0 1rem"; document.querySelector("header").after(p); }
  p.textContent = message;
}

async function regionPage() {
  const r = await api("/api/region/rollup").catch(e => { toast(e.message, true); refused(e.message); return null; });
  if (!r) return;
  const sort = {by: "id", dir: 1};
  const prefName = code => { const p = r.prefectures.find(x => x.prefecture.code === code); return p ? (lang === "zh" ? p.prefecture.zh : p.prefecture.en) : code; };
  let ent = null, drawn = null;
  const renderList = () => {
    $("#scope").textContent = r.scope === "region" ? tr("whole_region") : prefName(r.scope);
    const f = t => t.open_findings.join("/");
    // A scope's counts as cells: what the CSV export has, in the same order.
    const cells = (t, c) => [t.enterprises, t.by_level.join("/"), `${t.drills_on_time}/${t.drills_due}`, f(t)].map(v => `<${c} class="num">${v}</${c}>`).join("")
      + `<${c} class="num ${t.overdue_rectifications ? "bad" : ""}">${t.overdue_rectifications}</${c}>`
      + [t.verified_findings, t.scored ? (t.score_sum / t.scored).toFixed(1) : "", t.alerts].map(v => `<${c} class="num">${v}</${c}>`).join("");
    put($("#prefs tbody"), r.prefectures.map(p => `<tr><td>${esc(lang === "zh" ? p.prefecture.zh : p.prefecture.en)}</td>${cells(p.totals, "td")}</tr>`
      + Object.entries(p.industries).map(([i, t]) => `<tr class="sub"><td>　${esc(industryName(i))}</td>${cells(t, "td")}</tr>`).join("")).join("")
      // The scope's total, unless the scope is one prefecture (its row says it already).
      + (r.prefectures.some(p => p.prefecture.code === r.scope) ? "" : `<tr><th>${esc($("#scope").textContent)}</th>${cells(r.totals, "th")}</tr>`));
    // Sorted by the chosen column (again: the other way round), filtered by any text shown.
    const key = e => ({id: e.enterprise.id, name: e.enterprise.name, prefecture: prefName(e.enterprise.prefecture),
      industry: industryName(e.enterprise.industry), level: e.enterprise.level, next: String((e.due.find(x => x.kind === "drill") || {}).next_due || ""),
      open: e.totals.open_findings.reduce((a, b) => a + b, 0), score: e.last_drill ? e.last_drill.score : -1, alerts: e.last_drill ? e.last_drill.alerts : -1})[sort.by];
    const words = $("#ent-filter").value.trim().toLowerCase();
    const shown = r.enterprises.filter(e => !words || [e.enterprise.id, e.enterprise.name, prefName(e.enterprise.prefecture), industryName(e.enterprise.industry)].join(" ").toLowerCase().includes(words))
      .sort((a, b) => {
        // Words in the page's language's order (Chinese by pinyin), numbers as numbers.
        const [x, y] = [key(a), key(b)];
        const c = typeof x === "string" ? x.localeCompare(y, lang === "zh" ? "zh-Hans-CN-u-co-pinyin" : "en") : x - y;
        return c * sort.dir;
      });
    document.querySelectorAll("#ents th[data-sort]").forEach(th => th.setAttribute("aria-sort", th.dataset.sort === sort.by ? (sort.dir > 0 ? "ascending" : "descending") : "none"));
    put($("#ents tbody"), shown.map(e => { const d = e.due.find(x => x.kind === "drill"); return `<tr><td><a href="#e=${encodeURIComponent(e.enterprise.id)}">${esc(e.enterprise.id)}</a></td><td>${esc(e.enterprise.name)}</td><td>${esc(prefName(e.enterprise.prefecture))}</td><td>${esc(industryName(e.enterprise.industry))}</td><td>${e.enterprise.level}</td><td class="${d && d.overdue && d.binding ? "bad" : ""}">${d ? esc(d.next_due) : ""}</td><td class="num">${f(e.totals)}</td><td class="num">${e.last_drill ? e.last_drill.score.toFixed(1) + (e.last_drill.verified ? ` <span class="ok" title="${esc(tr("verified_bundle"))}">✓<span class="sr">${esc(tr("verified_bundle"))}</span></span>` : "") : ""}</td><td class="num">${e.last_drill ? e.last_drill.alerts : ""}</td></tr>`; }).join(""));
    const years = Object.keys(r.years).map(Number);
    $("#years-empty").hidden = years.length > 0;
    put($("#years tbody"), Object.entries(r.years).map(([y, v]) => `<tr><td>${y}</td><td class="num">${v.drills}</td><td class="num">${v.findings}</td><td class="num">${v.verified}</td></tr>`).join(""));
    // Drills by year, one line per prefecture (and the scope's total when several).
    if (drawn !== lang) {
      drawn = lang;
      const series = r.prefectures.map(p => ({label: prefName(p.prefecture.code), data: years.map(y => (p.years[y] || {drills: 0}).drills)}));
      if (series.length > 1) series.push({label: $("#scope").textContent, data: years.map(y => r.years[y].drills)});
      lineChart($("#year-chart"), years, series, false);
    }
  };
  const renderEnterprise = () => {
    const p = ent, e = p.row.enterprise, d = p.row.due.find(x => x.kind === "drill");
    $("#ent-name").textContent = `${e.name} (${e.id})`;
    const row = (k, v, bad) => `<tr><th scope="row">${esc(tr(k))}</th><td class="${bad ? "bad" : ""}">${v}</td></tr>`;
    put($("#ent-facts tbody"), [
      row("prefecture", esc(prefName(e.prefecture))), row("industry", esc(industryName(e.industry))), row("sec_level", e.level),
      // Every obligation: the drill, the compliance test, the risk assessment, a re-grading.
      ...p.row.due.map(x => row("next_" + x.kind, `${esc(x.next_due)}${x.overdue ? " · " + tr("overdue") : ""}${x.binding ? "" : " · " + tr("not_binding")}`, x.overdue && x.binding)),
      row("open_findings", p.row.totals.open_findings.join("/")), row("overdue_rect", p.row.totals.overdue_rectifications, p.row.totals.overdue_rectifications > 0),
    ].join(""));
    const scored = p.drills.filter(x => x.score != null);
    lineChart($("#ent-chart"), scored.map(x => Date.parse(x.date + "T00:00:00+08:00") / 1000), [{label: tr("score"), data: scored.map(x => x.score)}], true);
    $("#ent-drills-empty").hidden = p.drills.length > 0;
    put($("#ent-drills tbody"), p.drills.slice().reverse().map(x => `<tr><td>${esc(x.date)}</td><td>${esc(x.title ? txt(x.title) : x.name)}${x.name === x.drill ? "" : ` <span class="mut">(${esc(x.drill)})</span>`}</td><td>${esc(tr("mode_" + x.mode))}</td><td class="num">${x.score == null ? esc(tr("running")) : x.score.toFixed(1)}</td><td class="num">${x.alerts == null ? "" : x.alerts}</td><td class="${x.verified ? "ok" : ""}">${x.verified ? "✓ " + esc(tr("verified_bundle")) : ""}</td></tr>`).join(""));
    const entered = p.entered || [];
    $("#ent-entered-box").hidden = !entered.length;
    put($("#ent-entered tbody"), entered.map(x => `<tr><td>${esc(x.date)}</td><td>${esc(tr("act_" + x.kind))}</td><td>${esc(x.reference)}</td></tr>`).join(""));
    $("#ent-findings-empty").hidden = p.findings.length > 0;
    put($("#ent-findings tbody"), p.findings.map(x => `<tr><td>${esc(txt(x.title))}</td><td class="sev-${esc(x.severity)}">${esc(tr("sev_" + x.severity))}</td><td class="${x.status === "verified" ? "ok" : ""}">${esc(tr("fs_" + x.status))}</td><td>${esc(x.found || "")}</td><td class="${x.overdue ? "bad" : ""}">${esc(x.due || "")}${x.overdue ? " · " + esc(tr("overdue")) : ""}</td></tr>`).join(""));
    document.body.dataset.enterprise = e.id;
  };
  // The drill-down: `#e=ID` shows an enterprise's page, anything else the lists.
  const route = async () => {
    let id = "";
    try { id = decodeURIComponent((location.hash.match(/^#e=(.+)$/) || [])[1] || ""); } catch (_) { /* a mangled link: the lists */ }
    $("#overview").hidden = !!id;
    $("#enterprise").hidden = !id;
    if (!id) { ent = null; delete document.body.dataset.enterprise; drawn = null; renderList(); return; }
    ent = await api(`/api/region/enterprises/${encodeURIComponent(id)}`).catch(err => { toast(err.message, true); return null; });
    if (ent) renderEnterprise(); else location.hash = "";
  };
  rerender = () => { drawn = null; if (ent) renderEnterprise(); else renderList(); };
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
      out.textContent = v.accepted ? `${tr("bundle_ok")} ${v.drill} (${v.teams.join(", ")})` : `${tr("bundle_no")} ${tr("rej_" + v.code)}. ${v.reason}`;
      out.dataset.accepted = v.accepted;
      if (v.accepted) { const fresh = await api("/api/region/rollup").catch(() => null); if (fresh) { Object.assign(r, fresh); drawn = null; renderList(); } }
    } catch (e) { out.className = "bad"; out.textContent = e.message; out.dataset.accepted = "false"; }
  });
  route();
}

async function trainerPage() {
  const cohort = new URLSearchParams(location.search).get("cohort");
  const v = await api("/api/trainer/exams" + (cohort ? `?cohort=${encodeURIComponent(cohort)}` : "")).catch(e => { toast(e.message, true); refused(e.message); return null; });
  if (!v) return;
  const render = () => {
    put($("#running tbody"), v.in_progress.map(e => `<tr><td>${esc(e.drill)}</td><td>${esc(e.trainee)}</td><td>${esc(tr("phase_" + e.phase))}</td></tr>`).join(""));
    // The exports hold what the table shows: the chosen cohort's results.
    for (const a of document.querySelectorAll('a[href^="/api/trainer/export"]')) {
      const format = new URL(a.href).searchParams.get("format");
      a.href = `/api/trainer/export?format=${format}` + (cohort ? `&cohort=${encodeURIComponent(cohort)}` : "");
    }
    // The cohort picker: every cohort on record; choosing one shows its results.
    put($("#cohort"), `<option value="">${tr("all_cohorts")}</option>` + (v.cohorts || []).map(c => `<option value="${esc(c)}"${c === cohort ? " selected" : ""}>${esc(c)}</option>`).join(""));
    const area = (r, a) => { const x = (r.areas || []).find(y => y[0] === a); return x ? `${x[1].toFixed(1)} / ${x[2]}` : ""; };
    put($("#results tbody"), v.results.map(r => `<tr><td>${esc(r.cohort)}</td><td>${esc(r.trainee)}</td><td>${esc(r.name)}</td><td>${esc(r.date)}</td>${["architecture", "implementation", "operations", "assessment", "response"].map(a => `<td class="num">${area(r, a)}</td>`).join("")}<td class="num">${r.total.toFixed(1)} / ${r.max}</td><td class="${r.passed ? "ok" : "bad"}">${tr(r.passed ? "pass" : "fail")}</td><td><a href="/api/trainer/certificates/${encodeURIComponent(r.drill)}?lang=${lang}" target="_blank">${tr(r.passed ? "certificate" : "result_notice")}</a></td></tr>`).join(""));
    $("#summary").textContent = `${v.passed} / ${v.results.length} ${tr("pass")}`;
  };
  $("#cohort").addEventListener("change", e => { location.search = e.target.value ? `?cohort=${encodeURIComponent(e.target.value)}` : ""; });
  rerender = render;
  render();
}

const page = document.body.dataset.page;
if (page === "trainer") trainerPage();
else if (page === "region") regionPage();
else if (page === "scoreboard") scoreboardPage(); else if (page === "team") teamPage(); else if (page === "instructor") instructorPage();
