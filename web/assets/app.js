// icsdrill web view: scoreboard, team console, instructor console. No framework, no CDN.
"use strict";
const T = {
  en: {exam_title:"Certification exam",exam_area:"Area",exam_task:"Task",exam_points:"Points",exam_left:"Time left",exam_graded_at_end:"Points are given when the exam ends.",exam_passed:"PASSED",exam_failed:"NOT PASSED",exam_rule:"Pass: at least {o} % of all points and {a} % of each area's points.",exam_below:"under the area's pass mark",exam_safety:"Safety gate",frozen:"Scoreboard frozen",provisional_board:"Scores are shown at the hot wash: until then each team sees only its own, from what its reports found",provisional_card:"Provisional score: only the attack steps your reports have matched count so far; steps not reported, the response times and process safety are judged at the hot wash.",withheld:"at the hot wash",blind_view:"White cell view: true scores (until the hot wash, teams see only their own provisional score and observers none)",not_live:"Actions, reports, hints and flags are taken while the drill is live.",full_view:"White cell view: live scores (teams and observers see the board frozen)",login_needed:"Open the login URL you were given (…/?token=…).",fill_in:"Fill in: {f}",bad_functions:"Function codes: whole numbers from 1 to 127, separated by commas (e.g. 1,3,4)",bad_window:"The end address comes before the start address",bad_limits:"The maximum is below the minimum",not_yours:"This page is not for your login: open the link you were given (a team sees only its own console).",rank:"Rank",team:"Team",score:"Score",detected:"Detected / attack steps",
    scoreboard:"Scoreboard",plant:"Plant",alarms:"Alarms",transactions:"Transactions (Modbus, IEC 104)",endpoints:"Endpoints",address:"Address",device:"Device",clients:"Your clients connect from",records_failing:"The drill database refuses writes (disk full?): actions are refused until the white cell fixes it.",pcap:"Download the last 5 minutes as a packet capture (pcapng, Wireshark)",view_frozen:"The operator station's displays are frozen: nothing on screen has updated since they froze (denial of view).",view_lost:"The operator station shows nothing (loss of view): run the plant from the field panels.",local:"LOCAL",local_short:"L",cross_team:"Connections refused from other teams' addresses",node:"node",elsewhere:"Teams other nodes of this drill run (their full view is on that node)",from:"From",target:"Team tried",attempts:"Attempts",summary:"counted",log_connect:"connect",pcap_window:"Or a window of the drill, at most 10 minutes:",pcap_from:"from t =",pcap_to:"to t =",pcap_get:"Download",bad_pcap_window:"A capture's window starts at t ≥ 0 s and ends after it, at most 600 s later.",log_refused:"REFUSED",log_exc:"EXC",log_neg:"NEG",log_bad:"BAD",
    injects:"Messages",forged_again:"forged again at t={t} s: the attacker still holds it (cut its way in first)",capture_clock:"Packet times are the drill's clock: t = 0 at {t0} (Beijing time), so a packet at t s is {t0} + t.",fp_bad_pv:"at the end of its range: reading not valid (check the transmitter)",sec_level_short:"Level",to_duty_officer:"the duty officer",to_management:"management",to_authority:"the authority (industry department)",exam_over:"The exam has ended and its server has closed: what this page shows is final.",sitting:"sitting {n}",trainees_passed:"{p} of {t} trainees passed ({s} sittings)",aar_read:"Read",priority:"Priority",tag:"Tag",bracket:"Bracket",description:"Description",value:"Value",level:"Level",state:"State",prio_high:"High",prio_medium:"Medium",unacked:"unacknowledged",step_pending:"pending",step_not_reached:"not reached",step_active:"active",step_succeeded:"succeeded",step_failed:"failed",step_completed:"completed",step_expired:"expired",all_cohorts:"All cohorts",certificate:"Certificate",result_notice:"Result notice",fired_n:"{n} fired",valid_until:"valid until {d}",cert_expired:"valid until {d}: expired",area_architecture:"Architecture",area_implementation:"Implementation",area_operations:"Operations",area_assessment:"Assessment",area_response:"Response",filter:"Filter",time:"Time",prio_low:"Low",al_unacked:"unacknowledged",al_acked:"acknowledged",al_returned:"returned, unacknowledged",shelve:"Shelve",shelved:"Shelved on this console",on:"ON",off:"OFF",close:"Close",fp_range:"Range",fp_limit:"Alarm limit",fp_setpoint:"Set point",fp_normal:"normal",fp_kind:"Type",fp_valve:"valve",fp_pump:"pump",fp_breaker:"breaker",fp_control:"Control",fp_remote:"remote (PLC)",fp_fail:"Fail position",fp_hold:"holds",fp_stroke:"Stroke time",fp_trip_above:"Trips above",fp_trip_below:"Trips below",fp_voting:"Voting",fp_delay:"Trip delay",back_region:"← All enterprises",no_enterprise:"There is no enterprise “{id}” in your view: the link may be wrong, or the enterprise is another prefecture's.",bundle_title:"Import a drill bundle",bundle_help:"A drill an enterprise ran on its own installation: accepted when its signature is the enterprise's registered key and its replay gives what it states.",bundle_file:"Bundle file",bundle_import:"Check and import",bundle_ok:"Accepted and recorded as verified: drill",bundle_no:"Rejected:",rej_unreadable:"not a drill bundle",rej_unsigned:"not signed",rej_tampered:"changed after it was signed",rej_unknown_key:"not signed with the key registered for the enterprise",rej_not_registered:"a team is not a registered enterprise",rej_not_reproduced:"its replay does not give what it states",rej_other_rules:"recorded by another version of the engine's rules: replay it with a build of that version",rej_duplicate:"this drill is on record already",rej_not_over:"the drill had not ended (still running, or stopped before its end): only a drill played to its end counts",verified_bundle:"verified (signature and replay)",source:"Source",mean_score:"Mean drill score",by_industry_note:"Each prefecture's industries are listed under it.",drill:"Drill",mode:"Mode",finding:"Finding",severity:"Severity",rect_status:"Rectification",found:"Found",due:"Due",no_drills:"No drill on record for this enterprise yet.",no_findings:"No hidden hazards on record.",years_empty:"No drills on record yet: drills count here once they are run or entered in the registry.",year_chart:"Drills by year and prefecture",sec_level:"Security level",obligation:"Drill obligation",overdue:"overdue",not_binding:"not binding",sev_critical:"critical",sev_high:"high",sev_medium:"medium",sev_low:"low",fs_open:"open",fs_verified:"verified fixed",not_counted:"not counted for the drill obligation (not played to its end, or not one of the plants the registry names for the enterprise)",fs_declared:"rectified by the enterprise's own account on {d}, awaiting a drill's re-test",fs_contained:"contained by the team in the drill of {d} at t {t} s: {how} (a stopgap, still to rectify)",mode_regional:"regional drill",mode_enterprise:"enterprise drill",mode_contest:"contest",mode_exam:"exam",running:"running",iec104:"IEC 104 station",opcua:"OPC UA server",il_tripped:"TRIPPED",il_bypassed:"BYPASSED",il_unknown:"no view",whole_region:"Whole region",f_actuator:"Actuator",f_alarm:"Alarm",f_conduit:"Conduit",f_end:"End address",f_hazard:"Hazard (finding id or cause)",f_host:"Host",f_max:"Maximum",f_min:"Minimum",f_mode:"Mode",f_plc:"PLC",f_position:"Position",f_sensor:"Sensor",f_start:"Start address",f_text:"Text",f_to:"To",f_functions:"Function codes",conn_lost:"Connection to the drill lost; retrying in",next_compliance_test:"Next compliance test",ties_first_settled:"Equal scores: the team that reached its score first ranks first.",ties_shared:"Equal scores share a rank.",cross_none:"None so far.",src_here:"run on this platform",cadence:"Due dates counted",cadence_rolling:"in months from the last time",cadence_calendar:"by calendar year (once in every year, or every two)",next_risk_assessment:"Next risk assessment",next_regrade:"Re-grading due",act_drill:"Drill",act_compliance_test:"Compliance test",act_risk_assessment:"Risk assessment",entered:"Entered in the registry",reference:"Reference",kind:"Kind",person_name:"Name",not_sent:"not sent",confirm_reveal:"Reveal hint {id} to team {team}? It costs the team {cost} points.",lvl_lolo:"LL",lvl_lo:"L",lvl_hi:"H",lvl_hihi:"HH",plc_run:"RUN",plc_stop:"STOP",plc_program:"PROGRAM",plant_time:"plant time",page_scoreboard:"icsdrill scoreboard",page_team:"icsdrill team console",page_instructor:"icsdrill instructor",page_region:"icsdrill regional view",page_trainer:"icsdrill trainer view",drill_over:"The drill has ended and its server has closed: what this page shows is final.",ends_in:"ends in",freezes_in:"board freezes in",fullscreen:"Full screen",trends:"Trends",variable:"Variable",score_history:"Score over time",reveal:"Reveal",no_injects:"No messages sent",confirm_end:"End the drill for every team? The plant stops and scores are final.",confirm_hot_wash:"Start the hot wash for every team? The plant stops and the teams get their after-action reports.",confirm_hint:"Take hint {id}? It costs {cost} points.",confirm_destructive:"This stops or restarts a PLC: the plant loses its control meanwhile, and the score counts it as a destructive action. Go on?",trips:"trips",damage:"damage",maintenance:"Scheduled maintenance (permits to work)",actions:"Defender actions",action:"Action",apply:"Apply",report:"Incident report",technique:"ATT&CK for ICS technique",asset:"Affected asset",
    tactic:"Tactic",observed:"Observed at (simulated s)",impact:"Impact",taken:"Actions taken",notes:"Notes",submit_report:"Submit report",hints:"Hints",hints_defence:"Defence hints",hints_note:"About the attack on your plant, for defending it; each costs the points shown.",hints_no_flags:"They do not help with the flags.",
    breakdown:"Score breakdown",white_cell:"White cell",start:"Start",pause:"Pause",resume:"Resume",hot_wash:"Hot wash",end:"End",inject:"Inject",
    teams:"Teams (empty: all)",channel:"Channel",message:"Message",phone:"Phone call",fire_step:"Fire attack step",text:"Text",step:"Attack step",send:"Send",
    attack:"Attack timeline",script:"Faults, distractors and routine work",sc_fault:"fault / distractor",sc_work:"routine work",sc_kind:"Kind",sc_who:"Fault or host",note:"Note for the white cell",take:"Take",cost:"cost",phase_briefing:"Briefing",phase_live:"Live",phase_paused:"Paused",phase_hot_wash:"Hot wash",phase_ended:"Ended",
    no_alarms:"No active alarms",true_v:"True",measured:"Measured",not_live_white_cell:"Hints and injects reach the teams while the drill is live.",team_sees:"Team's screen",done:"done",late:"late",missed:"missed",pending:"pending",sent:"Sent",applied:"Applied",
    tripped:"TRIPPED",acked:"acknowledged",ack:"Acknowledge",aar:"Report",flags:"Flags",flag:"Flag",submit_flag:"Submit flag",unit:"Unit ID",standings:"Standings (CSV)",region_title:"Regional oversight",alerts:"Monitoring alerts",last_score:"Last drill score",prefectures:"Prefectures",prefecture:"Prefecture",enterprises:"Enterprises",drills_on_time:"Not overdue for a drill",open_findings:"Open findings (C/H/M/L)",overdue_rect:"Overdue rectifications",name:"Name",industry:"Industry",next_drill:"Next drill",trend:"Trend by year",year:"Year",drills:"Drills",findings:"Findings",verified:"Verified fixed",trainer_title:"Exam cohorts",download:"Download",none_running:"No exam is running.",in_progress:"In progress",results:"Results",cohort:"Cohort",date:"Date",result:"Result",pass:"pass",fail:"fail",lang:"中文"},
  zh: {exam_title:"能力考核",exam_area:"能力领域",exam_task:"考核任务",exam_points:"得分",exam_left:"剩余时间",exam_graded_at_end:"考核结束后评分。",exam_passed:"通过",exam_failed:"未通过",exam_rule:"通过条件：总分不低于满分的 {o}%，且每个能力领域不低于该领域满分的 {a}%。",exam_below:"低于该领域及格线",exam_safety:"安全否决",frozen:"排行榜已冻结",provisional_board:"得分在复盘时公布：此前各队伍只能看到本队根据已报告内容获得的暂定得分",provisional_card:"暂定得分：目前仅计入你的报告已命中的攻击步骤；未报告的步骤、响应时间及工艺安全在复盘时评定。",withheld:"复盘时评定",blind_view:"导调组视图：真实得分（复盘前各队伍只能看到本队的暂定得分，观察员看不到得分）",not_live:"演练进行中方可执行操作、提交报告、使用提示和提交旗标。",full_view:"导调组视图：实时得分（各队伍与观察员看到的是冻结的排行榜）",login_needed:"请打开分配给您的登录链接（…/?token=…）。",fill_in:"请填写：{f}",bad_functions:"功能码须为 1 到 127 的整数，以逗号分隔（如 1,3,4）",bad_window:"结束地址小于起始地址",bad_limits:"最大值小于最小值",not_yours:"此页面不属于您的登录身份：请打开分配给您的链接（每支队伍只能查看本队控制台）。",rank:"名次",team:"队伍",score:"得分",detected:"检出/攻击步骤",
    scoreboard:"排行榜",plant:"工艺流程",alarms:"报警",transactions:"通信记录（Modbus、IEC 104）",endpoints:"端点",address:"地址",device:"设备",clients:"本队客户端须从以下地址连接",records_failing:"演练数据库无法写入（磁盘已满？）：在导调组修复前，操作将被拒绝。",pcap:"下载最近 5 分钟的报文捕获（pcapng，可用 Wireshark 打开）",view_frozen:"操作员站画面已冻结：自冻结以来画面上的数值均未刷新（拒绝监视）。",view_lost:"操作员站无任何显示（失去监视）：请在现场操作柜就地操作。",local:"就地",local_short:"就地",cross_team:"来自其他队伍地址的连接（已拒绝）",node:"节点",elsewhere:"由本演练其他节点运行的队伍（完整视图见该节点）",from:"来源",target:"目标队伍",attempts:"次数",summary:"计数",log_connect:"连接",pcap_window:"或下载演练中的一段时间（最长 10 分钟）：",pcap_from:"从 t =",pcap_to:"到 t =",pcap_get:"下载",bad_pcap_window:"报文捕获的时间段须从 t ≥ 0 秒开始，结束时间晚于开始时间，且最长 600 秒。",log_refused:"拒绝",log_exc:"异常码",log_neg:"否定确认",log_bad:"错误",
    injects:"消息",forged_again:"t={t} 秒时再次被伪造：攻击者仍控制着它（先切断其入侵路径）",capture_clock:"报文时间即演练时钟：t = 0 为北京时间 {t0}，t 秒处的报文时间为 {t0} + t 秒。",fp_bad_pv:"读数处于量程端点：测量值不可信（请检查变送器）",sec_level_short:"等级",to_duty_officer:"值班长",to_management:"企业管理层",to_authority:"主管部门（工业和信息化部门）",exam_over:"考核已结束，平台已关闭：本页显示的即为最终结果。",sitting:"第 {n} 次",trainees_passed:"{t} 名学员中 {p} 名通过（共 {s} 次考核）",aar_read:"查看",priority:"优先级",tag:"位号",bracket:"组别",description:"描述",value:"数值",level:"报警级别",state:"状态",prio_high:"高",prio_medium:"中",unacked:"未确认",step_pending:"未触发",step_not_reached:"未触达",step_active:"进行中",step_succeeded:"已得手",step_failed:"被阻断",step_completed:"已完成",step_expired:"已过期",all_cohorts:"全部批次",certificate:"证书",result_notice:"结果通知",fired_n:"已发动 {n}",valid_until:"有效期至 {d}",cert_expired:"有效期至 {d}（已过期）",area_architecture:"安全架构",area_implementation:"安全实施",area_operations:"运行监测",area_assessment:"安全评估",area_response:"应急处置",filter:"筛选",time:"时间",prio_low:"低",al_unacked:"未确认",al_acked:"已确认",al_returned:"已恢复，未确认",shelve:"搁置",shelved:"本终端已搁置",on:"通",off:"断",close:"关闭",fp_range:"量程",fp_limit:"报警限",fp_setpoint:"设定值",fp_normal:"正常",fp_kind:"类型",fp_valve:"阀门",fp_pump:"泵",fp_breaker:"断路器",fp_control:"控制方式",fp_remote:"远程（PLC）",fp_fail:"故障安全位置",fp_hold:"保持",fp_stroke:"全行程时间",fp_trip_above:"高于此值联锁",fp_trip_below:"低于此值联锁",fp_voting:"表决",fp_delay:"联锁延时",back_region:"← 返回企业列表",no_enterprise:"您的查看范围内没有企业“{id}”：链接可能有误，或该企业属于其他地州市。",bundle_title:"导入演练数据包",bundle_help:"企业在自有环境中开展的演练：签名须为该企业登记的安装密钥，且重放结果与数据包所述一致，方可接收。",bundle_file:"数据包文件",bundle_import:"核验并导入",bundle_ok:"已接收并记为已核验：演练",bundle_no:"未接收：",rej_unreadable:"不是演练数据包",rej_unsigned:"未签名",rej_tampered:"签名后内容被改动",rej_unknown_key:"签名密钥不是该企业登记的安装密钥",rej_not_registered:"有队伍不是已登记企业",rej_not_reproduced:"重放结果与数据包所述不一致",rej_other_rules:"数据包由另一版本的仿真规则生成：请用该版本的程序重放核验",rej_duplicate:"该演练已有记录",rej_not_over:"该演练尚未结束（仍在进行或中途中断）：只有完整开展的演练才计入",verified_bundle:"已核验（签名与重放）",source:"来源",mean_score:"平均演练得分",by_industry_note:"各地州市下列出其各行业的统计。",drill:"演练",mode:"形式",finding:"隐患",severity:"严重程度",rect_status:"整改状态",found:"发现日期",due:"整改期限",no_drills:"该企业尚无演练记录。",no_findings:"尚无安全隐患记录。",years_empty:"尚无演练记录：演练开展或在登记系统中录入后即在此统计。",year_chart:"各地州市年度演练次数",sec_level:"安全等级",obligation:"演练义务",overdue:"已逾期",not_binding:"非强制",sev_critical:"严重",sev_high:"高",sev_medium:"中",sev_low:"低",fs_open:"未整改",fs_verified:"已复核整改",not_counted:"不计入演练义务（未完整开展，或非登记系统中该企业的装置场景）",fs_declared:"企业已于 {d} 申报整改完成，待演练复核",fs_contained:"{d} 演练中已于第 {t} 秒临时控制：{how}（临时措施，仍需整改）",mode_regional:"实网应急演练",mode_enterprise:"企业自主演练",mode_contest:"安全竞赛",mode_exam:"能力考核",running:"进行中",iec104:"IEC 104 子站",opcua:"OPC UA 服务器",il_tripped:"已联锁",il_bypassed:"已旁路",il_unknown:"无画面",whole_region:"全区",f_actuator:"执行机构",f_alarm:"报警",f_conduit:"通道",f_end:"结束地址",f_hazard:"隐患（编号或成因）",f_host:"主机",f_max:"上限",f_min:"下限",f_mode:"模式",f_plc:"PLC",f_position:"开度",f_sensor:"传感器",f_start:"起始地址",f_text:"内容",f_to:"通知对象",f_functions:"功能码",conn_lost:"与演练平台的连接已断开，重试倒计时",next_compliance_test:"下次符合性评测",ties_first_settled:"同分时，先达到该分数的队伍名次在前。",ties_shared:"同分者名次并列。",cross_none:"暂无。",src_here:"本平台开展",cadence:"期限计算方式",cadence_rolling:"自上次起按月计算",cadence_calendar:"按日历年计算（每年或每两年至少一次）",next_risk_assessment:"下次风险评估",next_regrade:"重新定级期限",act_drill:"演练",act_compliance_test:"符合性评测",act_risk_assessment:"风险评估",entered:"登记系统录入记录",reference:"编号",kind:"类别",person_name:"姓名",not_sent:"未送达",confirm_reveal:"确定向队伍 {team} 发放提示 {id}？该队将被扣除 {cost} 分。",lvl_lolo:"低低",lvl_lo:"低",lvl_hi:"高",lvl_hihi:"高高",plc_run:"运行",plc_stop:"停止",plc_program:"编程",plant_time:"工艺时间",page_scoreboard:"icsdrill 排行榜",page_team:"icsdrill 队伍控制台",page_instructor:"icsdrill 导调台",page_region:"icsdrill 区域总览",page_trainer:"icsdrill 培训考核",drill_over:"演练已结束，平台已关闭：本页显示的即为最终结果。",ends_in:"距结束",freezes_in:"距封榜",fullscreen:"全屏",trends:"趋势",variable:"变量",score_history:"得分变化",reveal:"发放",no_injects:"尚未发送消息",confirm_end:"确定为所有队伍结束本次演练？工艺停止，得分即为最终成绩。",confirm_hot_wash:"确定为所有队伍进入复盘？工艺停止，各队伍可获取演练总结报告。",confirm_hint:"确定使用提示 {id}？将扣除 {cost} 分。",confirm_destructive:"此操作将停止或重启 PLC：期间工艺失去控制，并计为破坏性操作扣分。是否继续？",trips:"联锁动作",damage:"设备损坏",maintenance:"计划检修（作业票）",actions:"防御操作",action:"操作",apply:"执行",report:"事件报告",technique:"ATT&CK for ICS 技术",asset:"受影响资产",
    tactic:"战术",observed:"发现时间（仿真秒）",impact:"影响",taken:"已采取措施",notes:"备注",submit_report:"提交报告",hints:"提示",hints_defence:"防御提示",hints_note:"关于本厂所受攻击的提示，用于防御处置；每条使用即扣除所示分数。",hints_no_flags:"与夺旗无关。",
    breakdown:"得分明细",white_cell:"导调组",start:"开始",pause:"暂停",resume:"继续",hot_wash:"复盘讲评",end:"结束",inject:"注入",
    teams:"队伍（留空为全部）",channel:"方式",message:"消息",phone:"电话",fire_step:"触发攻击步骤",text:"内容",step:"攻击步骤",send:"发送",
    attack:"攻击时间线",script:"故障、干扰项与日常作业",sc_fault:"故障/干扰项",sc_work:"日常作业",sc_kind:"类别",sc_who:"故障或主机",note:"导调说明",take:"使用",cost:"扣分",phase_briefing:"简报",phase_live:"进行中",phase_paused:"已暂停",phase_hot_wash:"复盘讲评",phase_ended:"已结束",
    no_alarms:"无活动报警",true_v:"真实值",measured:"测量值",not_live_white_cell:"演练进行中方可向队伍发放提示和消息。",team_sees:"队伍画面",done:"已完成",late:"超时",missed:"未完成",pending:"待定",sent:"已发送",applied:"已执行",
    tripped:"已联锁",acked:"已确认",ack:"确认",aar:"演练报告",flags:"夺旗",flag:"旗标（flag）",submit_flag:"提交旗标",unit:"单元号",standings:"排名（CSV）",region_title:"区域监管视图",alerts:"监测告警数",last_score:"最近演练得分",prefectures:"地州市",prefecture:"地州市",enterprises:"企业",drills_on_time:"演练未逾期",open_findings:"未整改隐患（严重/高/中/低）",overdue_rect:"逾期整改",name:"名称",industry:"行业",next_drill:"下次演练",trend:"年度趋势",year:"年份",drills:"演练",findings:"隐患",verified:"已复核整改",trainer_title:"考核批次",download:"下载",none_running:"当前没有进行中的考核。",in_progress:"进行中",results:"成绩",cohort:"批次",date:"日期",result:"结果",pass:"通过",fail:"未通过",lang:"English"},
  // Newer words, each beside its translation (merged into en and zh below).
  both: {
    stands_for: ["A client at {a} acts as {h}.", "从 {a} 连接的客户端代表主机 {h}。"],
    bind_as: ["To act as another host, bind its address", "如需代表其他主机，请绑定其地址"],
    no_mbpoll: ["(mbpoll cannot choose its source address: use pymodbus, or nmap -S)", "（mbpoll 无法指定源地址：请使用 pymodbus 或 nmap -S）"],
    decode_as: ["The endpoints are not on port 502: give Wireshark their ports as Modbus/TCP ports (Preferences › Protocols › Modbus/TCP), or:", "端点不在 502 端口：请在 Wireshark 中将这些端口设为 Modbus/TCP 端口（首选项 › 协议 › Modbus/TCP），或："],
    tactic_example: ["Impair Process Control", "破坏过程控制"],
    scenario_brief: ["Scenario brief", "场景简介"],
    comm_fail: ["COMM FAIL", "通信故障"],
    comm_fail_desc: ["Communication failure: the operator station cannot read this PLC", "通信故障：操作员站无法读取该 PLC"],
    ids_alerts: ["Security monitoring alerts", "安全监测告警"],
    no_ids_alerts: ["No alerts from the monitoring so far", "监测平台暂无告警"],
    rule: ["Rule", "规则"],
    first_blood: ["First blood", "一血"],
    rule_write_from_unexpected_host: ["Write from an unexpected host", "非预期主机写入"],
    rule_unexpected_reader: ["Read by an unexpected host", "非预期主机读取"],
    rule_device_identification: ["Device identification request", "设备识别请求"],
    rule_diagnostics_function: ["Diagnostics function", "诊断功能码"],
    rule_force_listen_only: ["Forced listen-only mode (diagnostics)", "强制只听模式（诊断功能码）"],
    rule_comm_restart: ["Communications restart (diagnostics)", "重启通信（诊断功能码）"],
    rule_diagnostics_query: ["Diagnostics query (echo, counters)", "诊断查询（回送、计数器）"],
    rule_engineering_access: ["Engineering access (undecoded)", "工程访问（未解析）"],
    rule_program_upload: ["Program upload (read back)", "程序上传（回读）"],
    rule_program_download: ["Program download", "程序下载"],
    rule_mode_change: ["Operating mode change", "运行模式变更"],
    rule_device_restart: ["Device restart", "设备重启"],
    rule_firmware_change: ["Firmware change", "固件变更"],
    rule_setpoint_out_of_range: ["Set point written out of range", "设定值写入越限"],
    rule_safety_bypass: ["Safety interlock bypass set", "安全联锁被置旁路"],
    rule_reporting_anomaly: ["Reported values disagree with the process", "上报数值与工艺不符"],
    rule_connection_flood: ["Connection flood", "连接泛洪"],
    rule_exception_burst: ["Burst of exception responses", "异常响应突增"],
    rule_blocked_connection: ["Blocked connection", "被阻断的连接"],
    rule_baseline_deviation: ["Deviation from the traffic baseline", "偏离通信基线"],
    detected_short: ["Detected", "检出"],
    flag_of: ["{team}'s flag (no points)", "队伍 {team} 的旗标（不得分）"],
    flag_wrong: ["wrong flag", "错误旗标"],
    solved_at: ["✓ solved at t\u00a0=\u00a0{t}\u00a0s", "✓ 已于 t\u00a0=\u00a0{t}\u00a0秒攻破"],
    capture_hosts: ["A capture is rebuilt from the range's record: each request shows from its host's own address (the one its routine traffic uses), whichever client sent it, yours too; requests over the record budget (a scan) are counted, not drawn, and a packet comment says where.", "抓包由靶场记录重建：每个请求均显示为其所属主机自身的地址（即该主机日常通信所用地址），无论由哪个客户端发出，包括本队的客户端；超出记录预算的请求（如扫描）只计数、不重绘，报文注释会标明位置。"],
    ties_first_settled_flags: ["Equal scores: the team that reached its score first ranks first, then the one whose last flag came first.", "同分时，先达到该分数的队伍名次在前；仍相同时，最后一面旗提交更早的队伍名次在前。"],
  },
};
for (const [k, [en, zh]] of Object.entries(T.both)) { T.en[k] = en; T.zh[k] = zh; }
// An action's name, short (its label up to the first parenthesis), in the page's language.
// A team's log names its reports, hints and flags too, in the page's words.
const OTHER_KINDS = {report_incident: "report", take_hint: "hints", submit_flag: "submit_flag"};
const actionName = k => ACTIONS[k] ? ACTIONS[k][lang].split(/ \(|（/)[0] : OTHER_KINDS[k] ? tr(OTHER_KINDS[k]) : k;
// Whom a notice goes to: the addressees response plans name (`notify:duty_officer`).
const ADDRESSEES = ["duty_officer", "management", "authority"];
const ACTIONS = {
  block_source:{en:"Block a host on a conduit",zh:"在通道上封禁主机",f:["conduit","host"]},
  allow_functions:{en:"Allow only these function codes",zh:"仅允许指定功能码",f:["conduit","functions"]},
  restrict_writes:{en:"Restrict register writes",zh:"限制寄存器写入",f:["conduit","plc","start","end","min","max"]},
  reset_conduit:{en:"Reset a conduit's policy",zh:"恢复通道策略",f:["conduit"]},
  isolate_host:{en:"Isolate a host",zh:"隔离主机",f:["host"]},
  restore_host:{en:"Reconnect a host",zh:"恢复主机连接",f:["host"]},
  set_mode:{en:"Set PLC mode",zh:"设置 PLC 模式",f:["plc","mode"]},
  restore_setpoints:{en:"Restore set points",zh:"恢复设定值",f:["plc"]},
  clear_bypasses:{en:"Take interlock bypasses off (bypass switches back to normal)",zh:"解除联锁旁路（旁路开关恢复正常位）",f:["plc"]},
  replace_module:{en:"Fit a spare module to a bricked PLC (program from backup)",zh:"为固件损坏的 PLC 更换备用模块（从备份加载程序）",f:["plc"]},
  reimage_host:{en:"Re-image a wiped host or a frozen/blank operator station",zh:"重装被擦除的主机或画面冻结/黑屏的操作员站",f:["host"]},
  local_control:{en:"Switch an actuator to local at its field panel (position 0-100 %; empty = back to remote)",zh:"将执行机构切至现场操作柜就地控制（开度 0-100%；留空 = 切回远方）",f:["actuator","position"]},
  restore_sensor:{en:"Check and re-terminate a field signal (or fit a spare transmitter)",zh:"检查并重新接线现场信号（或更换备用变送器）",f:["sensor"]},
  restore_program:{en:"Restore program from backup",zh:"从备份恢复程序",f:["plc"]},
  restart_plc:{en:"Restart PLC",zh:"重启 PLC",f:["plc"]},
  acknowledge_alarm:{en:"Acknowledge alarm",zh:"确认报警",f:["plc","alarm"]},
  enable_range_checks:{en:"Enable set-point range checks",zh:"启用设定值范围检查",f:["plc"]},
  notify:{en:"Notify (duty officer, management, authority)",zh:"通知（值班长、管理层、主管部门）",f:["to","text"]},
  declare_hazard:{en:"Declare a hidden hazard (finding id)",zh:"申报安全隐患（隐患编号）",f:["hazard"]},
};
let lang = new URLSearchParams(location.search).get("lang") || localStorage.getItem("icsdrill.lang") || (navigator.language.startsWith("zh") ? "zh" : "en");
const $ = (s, r = document) => r.querySelector(s);
// Rebuilds an element only when its content changed: a list re-rendered on every update
// would replace the button under the pointer between press and release.
function put(el, html) { if (el && el._html !== html) { el.innerHTML = html; el._html = html; } }
const tr = k => (T[lang] && T[lang][k]) || T.en[k] || k;
// A label's colon: full width in Chinese.
const colon = () => lang === "zh" ? "：" : ": ";
// What qualifies a word, in brackets: full width in Chinese.
const paren = t => lang === "zh" ? `（${t}）` : ` (${t})`;
const txt = t => t == null ? "" : (typeof t === "string" ? t : (t[lang] || t.en));
const esc = s => String(s).replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach(e => e.textContent = tr(e.dataset.i18n));
  document.querySelectorAll(".i18n").forEach(e => {
    e.textContent = e.dataset[lang] || e.dataset.en;
    if (e.dataset.titleEn) e.title = lang === "zh" ? e.dataset.titleZh : e.dataset.titleEn;
  });
  document.querySelectorAll(".colon").forEach(e => e.textContent = colon());
  document.querySelectorAll("[data-i18n-label]").forEach(e => e.setAttribute("aria-label", tr(e.dataset.i18nLabel)));
  // Names the server wrote in both languages (the process diagram's symbols).
  document.querySelectorAll("[data-label-zh]").forEach(e => e.setAttribute("aria-label", lang === "zh" ? e.dataset.labelZh : e.dataset.labelEn));
  document.querySelectorAll("[data-i18n-placeholder]").forEach(e => e.setAttribute("placeholder", tr(e.dataset.i18nPlaceholder)));
  const b = $("#lang"); if (b) b.textContent = tr("lang");
}
// A tap takes it away at once (on a phone it sits over the form below it).
function toast(msg, bad) { const t = $("#toast"); if (!t) return; t.onclick = () => { t.style.display = "none"; }; t.textContent = msg; t.style.borderColor = bad ? "var(--bad)" : "var(--acc)"; t.style.display = "block"; clearTimeout(toast.h); toast.h = setTimeout(() => t.style.display = "none", 4000); }
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
  if (!r.ok) throw await failure(r);
  return r.json().catch(() => ({}));
}
// The error a refused answer says: in Chinese where the server says it in Chinese, else its
// general words with its detail (which names ids and values).
async function failure(r) {
  const j = await r.json().catch(() => ({}));
  if (r.status === 401) $("#login").hidden = false;
  const zh = lang !== "zh" ? null : j.message_zh || (j.error_zh ? j.error_zh + (j.error && j.error !== j.error_zh ? `（${j.error}）` : "") : null);
  return Object.assign(new Error(zh || j.error || r.statusText), {status: r.status});
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
  return { seq: d.seq, phase: d.phase, frozen: d.frozen, provisional: !!d.provisional, changed_us: d.changed_us, clock: d.clock, steps: d.steps, rows: ranked };
}
// A contest's challenges as the drill names them (`/api/drill`'s `challenges`), set by the
// pages that show them.
let challenges = [];
// A challenge's name in language `l` from its id (its id until the drill's have come).
function challengeName(id, l) {
  const c = challenges.find(x => x.id === id);
  return c ? c.name[l] : id;
}
// Whether two rows tie (`board::tie`): the same total, settled at the same tick, the last flag
// at the same tick (or neither with one).
function tie(a, b) { return !!a && a.total === b.total && a.settled_tick === b.settled_tick && a.flag_tick === b.flag_tick; }
const PATCHES = { scoreboard: boardPatch };

// `away` (a team console): called when this node stops answering, to look for the team on
// the drill's other nodes.
function stream(path, name, on, away) {
  let delay = 1000, es = null;
  // The plain route of the stream's data: a team's state, the white cell's overview, the board.
  const probe = path.replace(/\/stream$/, name === "state" ? "/state" : name === "overview" ? "/overview" : "");
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
        // An exam's console says so of the exam.
        b.dataset.i18n = document.body.classList.contains("exam") ? "exam_over" : "drill_over";
        b.textContent = tr(b.dataset.i18n);
        b.className = "banner";
        b.dataset.over = "1";
        b.hidden = false;
        // Its links to the server lead nowhere now.
        document.querySelectorAll('a[href^="/"]').forEach(a => { a.removeAttribute("href"); a.setAttribute("aria-disabled", "true"); a.classList.add("gone"); });
        return;
      }
      // Asked of the stream's plain route why it failed: no login (401), or a login this page
      // is not for (403: another team's console) is said where it stays, and not retried.
      fetch(probe, {redirect: "manual", headers: {"X-Icsdrill-As": AS}}).then(r => {
        if (r.status === 401) { $("#login").hidden = false; banner().hidden = true; return; }
        if (r.status === 403) {
          const b = banner();
          b.dataset.i18n = "not_yours";
          b.textContent = tr("not_yours");
          b.dataset.refused = "1";
          b.hidden = false;
          return;
        }
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
  // Under the table, how equal scores rank in this drill.
  const table = tbody.closest("table");
  let note = table.nextElementSibling;
  if (!note || !note.classList.contains("ties")) { note = document.createElement("p"); note.className = "ties mut"; table.after(note); }
  // A contest's flag times break what the settled tick does not.
  const rule = (b.clock && b.clock.ties) || "first_settled";
  note.dataset.i18n = "ties_" + rule + (rule === "first_settled" && b.rows.some(r => r.flag_tick !== undefined) ? "_flags" : "");
  note.textContent = tr(note.dataset.i18n);
  // In both languages, so switching the page's language needs no new board.
  const firedNote = n => {
    const [en, zh] = [` (${T.en.fired_n})`, `（${T.zh.fired_n}）`].map(t => esc(t.replace("{n}", n)));
    return `<span class="fired mut i18n" data-en="${en}" data-zh="${zh}">${lang === "zh" ? zh : en}</span>`;
  };
  // A contest's first solvers of a challenge (一血), the challenges named in its title.
  const bloods = r => {
    const n = (r.first_bloods || []).length;
    if (!n || hide) return "";
    const [en, zh] = [T.en.first_blood, T.zh.first_blood].map(t => esc(n > 1 ? `${t} ×${n}` : t));
    // The challenges by what they ask (`identity:PLC`, `hidden:PLC`), in both languages.
    const [ten, tzh] = ["en", "zh"].map(l => esc(r.first_bloods.map(c => challengeName(c, l)).join(l === "zh" ? "；" : "; ")));
    return ` <span class="blood i18n" tabindex="0" data-en="${en}" data-zh="${zh}" data-title-en="${ten}" data-title-zh="${tzh}" title="${lang === "zh" ? tzh : ten}">${lang === "zh" ? zh : en}</span>`;
  };
  // One denominator for every team: the attack's steps; where fewer fired against a team (it
  // stopped the rest), how many did, as its report counts them. A blind drill's board shows no score
  // until the hot wash (nor how equal ones rank).
  const hide = b.provisional;
  note.hidden = !!hide;
  // A contest with brackets: each team's bracket and its rank there (a student team last
  // overall may lead its own).
  table.classList.toggle("brackets", b.rows.some(r => r.bracket));
  const bracket = r => r.bracket ? esc(r.bracket) + (hide || !r.bracket_rank ? "" : ` · ${r.bracket_rank}`) : "–";
  put(tbody, b.rows.map(r => `<tr data-team="${esc(r.team)}"><td>${hide ? "–" : r.rank}</td><td class="name"><span class="team-name">${esc(r.name)}</span>${bloods(r)}${r.bracket ? `<span class="brk">${bracket(r)}</span>` : ""}</td><td class="bracket">${bracket(r)}</td><td class="num total">${hide ? "–" : r.total.toFixed(1)}</td><td class="num detected">${hide ? "–" : `${r.detected}/${b.steps || r.fired}${b.steps && r.fired < b.steps ? firedNote(r.fired) : ""}`}</td></tr>`).join(""));
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

// The charts' value range: uPlot's own for a series that moves; for a flat one (a frozen
// reading, a score that never changed) a band around its value, where uPlot's, scaling the
// f32/f64 rounding between the historian's samples and the live value, drew no axis ticks and
// no visible line, though a flat line is what an operator most needs to see.
function yRange(u, min, max) {
  if (min == null || max == null || !isFinite(min) || !isFinite(max)) return [0, 1];
  // Flat to the historian's precision (its samples are f32, the live value f64).
  if (max - min <= 1e-6 * Math.max(1, Math.abs(min), Math.abs(max))) {
    const pad = Math.max(Math.abs(min) * 0.1, 1);
    return [min - pad, max + pad];
  }
  return uPlot.rangeNum(min, max, 0.1, true);
}
const valueScales = () => ({x: {time: false}, y: {range: yRange}});
// The charts' axes on the dark pages: time below, values (in `unit`) at the left.
const chartAxes = unit => [
  {stroke: "#b9cfdd", grid: {stroke: "#24455c"}, ticks: {stroke: "#24455c"}},
  {stroke: "#b9cfdd", grid: {stroke: "#24455c"}, ticks: {stroke: "#24455c"}, label: unit, size: 60},
];

// Each body cell of `table` says its column's heading (data-label): a stacked table on a
// phone shows it before the value.
// Its roles are said outright: a table drawn as blocks keeps them for screen readers.
function labelCells(table) {
  const heads = [...table.querySelectorAll("thead th")].map(th => th.textContent.trim());
  table.setAttribute("role", "table");
  for (const g of [table.tHead, ...table.tBodies]) if (g) g.setAttribute("role", "rowgroup");
  for (const row of table.rows) row.setAttribute("role", "row");
  for (const th of table.querySelectorAll("thead th")) th.setAttribute("role", "columnheader");
  // A cell across the row (a notice) has no one column's heading.
  for (const row of table.tBodies[0].rows) [...row.cells].forEach((td, i) => { td.dataset.label = td.colSpan > 1 ? "" : heads[i] || ""; td.setAttribute("role", "cell"); });
}

// A score holds from one update to the next: its line is drawn in steps.
const STEPS = () => window.uPlot && uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({align: 1}) : undefined;
// How many updates a chart keeps (the board's history, the console's trends).
const TREND_POINTS = 900;
// A team named for a colour is drawn in it (a "red" team's line is not green).
const NAMED_COLOURS = {red: "#e03131", blue: "#3fa7d6", green: "#2f9e44", orange: "#f59f00", yellow: "#fcc419", purple: "#b7a4f0", pink: "#f783ac", white: "#ced4da", grey: "#adb5bd", gray: "#adb5bd", "红": "#e03131", "蓝": "#3fa7d6", "绿": "#2f9e44", "橙": "#f59f00", "黄": "#fcc419", "紫": "#b7a4f0", "白": "#ced4da"};
const PALETTE = ["#3fa7d6", "#f59f00", "#2f9e44", "#e03131", "#b7a4f0", "#9fc", "#f783ac", "#ced4da"];
function teamColours(teams) {
  const named = t => {
    const words = `${t.id} ${t.name}`.toLowerCase().split(/[^a-z\u4e00-\u9fff]+/);
    for (const [w, c] of Object.entries(NAMED_COLOURS)) if (words.includes(w) || (w > "\u4e00" && words.some(x => x.includes(w)))) return c;
    return null;
  };
  // Named colours first, each to one team; the others take the palette's colours left over.
  const taken = new Set(), out = teams.map(t => { const c = named(t); if (c && !taken.has(c)) { taken.add(c); return c; } return null; });
  const free = PALETTE.filter(c => !taken.has(c));
  let k = 0;
  return out.map(c => c || (free.length ? free[k++ % free.length] : PALETTE[k++ % PALETTE.length]));
}
// Lines of equal totals lie on each other: each team's has its own dash as well.
const DASHES = [undefined, [10, 5], [3, 4], [14, 4, 3, 4]];

// The board's history: every team's total at each board, over plant time (bounded), from the
// drill's history (`seed`) on. A frozen board adds nothing: the chart ends at the freeze.
function boardHistory() {
  if (!window.uPlot) return Object.assign(() => {}, {seed: () => {}, redraw: () => {}});
  const xs = [], series = {};
  let plot = null, teams = [], last = null;
  const el = $("#history");
  window.addEventListener("resize", () => { if (plot) plot.setSize({width: Math.max(260, el.clientWidth - 4), height: 220}); });
  const draw = b => {
    const names = Object.keys(series).sort();
    if (!plot || names.join() !== teams.join()) {
      teams = names;
      if (plot) plot.destroy();
      const name = id => (b.rows.find(r => r.team === id) || {name: id}).name;
      const colours = teamColours(teams.map(t => ({id: t, name: name(t)})));
      plot = new uPlot({width: Math.max(260, el.clientWidth - 4), height: 220, scales: valueScales(),
        axes: chartAxes(""),
        // A total holds until the next board: drawn as steps, not slopes.
        series: [{label: tr("plant_time") + " (s)"}, ...teams.map((t, i) => ({label: name(t), stroke: colours[i], dash: DASHES[i % DASHES.length], width: 2, spanGaps: true, paths: STEPS()}))]},
        [xs, ...teams.map(t => series[t])], el);
    } else plot.setData([xs, ...teams.map(t => series[t])]);
    el.dataset.points = xs.length;
    el.dataset.from = xs[0];
  };
  const add = b => {
    last = b;
    if (!b.rows.length) return;
    // A frozen board adds nothing, nor does a blind drill's (no scores until the hot wash).
    if (!b.frozen && !b.provisional) {
      const at = b.clock ? b.clock.at_s : xs.length;
      if (xs.length && at <= xs[xs.length - 1]) { xs.pop(); for (const t in series) series[t].pop(); }
      xs.push(at);
      for (const r of b.rows) (series[r.team] = series[r.team] || new Array(xs.length - 1).fill(null)).push(r.total);
      for (const t in series) while (series[t].length < xs.length) series[t].push(null);
      // Past its bound every other point goes, the first kept: the chart still starts at the
      // drill's start.
      if (xs.length > TREND_POINTS) {
        const n = xs.length, keep = (_, i) => i % 2 === 0 || i === n - 1;
        xs.splice(0, xs.length, ...xs.filter(keep));
        for (const t in series) series[t] = series[t].filter(keep);
      }
    }
    if (xs.length) draw(b);
  };
  // The drill's history so far (`/api/scoreboard/history`), in place of what the chart held:
  // at the page's opening (the chart starts at the drill's start, not then) and as a freeze
  // lifts (the changes it hid go where they happened).
  add.seed = h => {
    xs.length = 0;
    for (const t in series) delete series[t];
    xs.push(...h.at_s);
    h.teams.forEach((t, j) => { series[t] = h.totals[j].slice(); });
    // The newest board stays the chart's last point (one older than the history is not).
    if (last && (!xs.length || !last.clock || last.clock.at_s >= xs[xs.length - 1])) add(last);
    else if (last && xs.length) draw(last);
  };
  // Drawn again in the page's language.
  add.redraw = () => { teams = []; if (last && xs.length) draw(last); };
  return add;
}

// A board past a contest's freeze, before the hot wash, that is not frozen is the white cell's
// (full) view: said so, so that it is not projected for the teams by mistake.
function isFullView(b) {
  return !b.frozen && b.clock.freeze_s != null && b.clock.at_s >= b.clock.freeze_s && (b.phase === "live" || b.phase === "paused");
}
// `blind`: the drill shows teams provisional scores (`/api/drill`'s `blind`); a board that is not
// provisional before the hot wash is then the white cell's true one, said so as well.
function fullView(b, blind) {
  const el = $("#fullview");
  if (el) el.hidden = !isFullView(b);
  const prov = $("#provisional");
  if (prov) prov.hidden = !b.provisional;
  const truth = $("#blindview");
  if (truth) truth.hidden = !blind || !b.seq || b.provisional || b.phase === "hot_wash" || b.phase === "ended";
  // A frozen board says since when: its totals (and its chart) are those of that moment.
  const frozen = $("#frozen");
  if (frozen) frozen.textContent = b.clock && b.clock.freeze_s != null ? `${tr("frozen")}${paren(hms(b.clock.freeze_s))}` : tr("frozen");
}

async function scoreboardPage() {
  const history = boardHistory();
  let info = null;
  const title = () => { if (info) $("#title").textContent = info.name === info.title.en ? txt(info.title) : info.name + " — " + txt(info.title); };
  // A board drawn before the drill's challenges came names its first bloods by id: drawn again.
  api("/api/drill").then(d => { info = d; challenges = d.challenges || []; known = {at_s: d.at_s || 0, at: performance.now()}; title(); showClock(); if (board) { fullView(board, d.blind); boardRows(board, $("#board tbody")); } }).catch(() => {});
  // The language switch redraws what the page wrote itself.
  rerender = () => { title(); history.redraw(); if (board) { phaseBadge(board.phase); showClock(); fullView(board, info && info.blind); } };
  await api("/api/scoreboard/history").then(history.seed).catch(() => {});
  let wasHidden = false;
  stream("/api/scoreboard/stream", "scoreboard", b => {
    // The freeze (or a blind drill's provisional scores) lifts: the chart takes the true
    // history, the changes it hid where they happened.
    if (wasHidden && !b.frozen && !b.provisional) api("/api/scoreboard/history").then(history.seed).catch(() => {});
    wasHidden = b.frozen || b.provisional;
    // A blind drill's chart has nothing to draw until the hot wash: no empty frame meanwhile.
    const chart = $("#history").closest("section");
    if (chart.hidden !== !!b.provisional) { chart.hidden = !!b.provisional; if (!chart.hidden) window.dispatchEvent(new Event("resize")); }
    fullView(b, info && info.blind);
    // A board as new as what the drill said at the page's opening (or one held by a pause)
    // sets the clock from now on.
    if (known && (b.phase !== "live" || b.clock.at_s >= known.at_s)) known = null;
    board = b; boardAt = performance.now(); showClock(); history(b); phaseBadge(b.phase); $("#frozen").hidden = !b.frozen; document.body.classList.toggle("frozen-board", !!b.frozen); boardRows(b, $("#board tbody")); document.body.dataset.seq = b.seq; });
  setInterval(showClock, 500);
  // A blind drill's board is sent again only when its phase changes (no scores move on it):
  // its clock is set from the drill's plant time every 30 s, not run on from the last board.
  setInterval(() => {
    if (!board || !board.provisional) return;
    api("/api/drill").then(d => {
      if (!board || !board.provisional) return;
      board = {...board, clock: {...board.clock, at_s: d.at_s}};
      boardAt = performance.now();
      known = null;
      showClock();
    }).catch(() => {});
  }, 30000);
  $("#fullscreen").addEventListener("click", () => document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen().catch(() => {}));
}

// Each page's own script (team.js, instructor.js, region.js) loads after this one and starts
// its page; the scoreboard's is here.
const page = document.body.dataset.page;
if (page === "scoreboard") scoreboardPage();
