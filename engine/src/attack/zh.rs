//! Chinese names of the ATT&CK for ICS techniques, tactics and mitigations, for the Chinese
//! reports and pages. MITRE publishes no Chinese edition: these are icsdrill's renderings in
//! the terms Chinese industrial-security material uses, always shown with the English name
//! beside them (`Technique::names`, `Mitigation::names`), so a reader can look the original
//! up. A test holds every technique and mitigation of the table to having one.

/// Techniques, by their v19 id (renumbered ones under the new id, with the new name's
/// rendering).
const TECHNIQUES: &[(&str, &str)] = &[
    ("T0800", "激活固件更新模式"),
    ("T0801", "监视过程状态"),
    ("T0802", "自动化收集"),
    ("T1691.001", "阻断 OT 消息：命令消息"),
    ("T1691.002", "阻断 OT 消息：报告消息"),
    ("T1695.001", "阻断通信：串口通信"),
    ("T1695.002", "阻断通信：以太网"),
    ("T1695.003", "阻断通信：Wi-Fi"),
    ("T0806", "暴力 I/O 操作"),
    ("T0807", "命令行界面"),
    ("T0809", "数据销毁"),
    ("T0811", "信息库中的数据"),
    ("T0812", "默认凭据"),
    ("T0813", "控制拒绝"),
    ("T0814", "拒绝服务"),
    ("T0815", "监视画面拒绝"),
    ("T0816", "设备重启/关机"),
    ("T0817", "路过式下载入侵"),
    ("T0819", "利用面向公众的应用程序"),
    ("T0820", "利用漏洞规避防护"),
    ("T0821", "修改控制器任务"),
    ("T0822", "外部远程服务"),
    ("T0823", "图形用户界面"),
    ("T0826", "可用性丧失"),
    ("T0827", "控制丧失"),
    ("T0828", "生产力与收入损失"),
    ("T0829", "监视画面丧失"),
    ("T0830", "中间人攻击"),
    ("T0831", "操纵控制"),
    ("T0832", "操纵监视画面"),
    ("T0834", "原生 API"),
    ("T0835", "操纵 I/O 映像"),
    ("T0836", "修改参数"),
    ("T0837", "保护丧失"),
    ("T0838", "修改报警设置"),
    ("T1693.001", "修改固件：系统固件"),
    ("T1693.002", "修改固件：模块固件"),
    ("T0840", "网络连接枚举"),
    ("T0842", "网络嗅探"),
    ("T0843", "程序下载"),
    ("T0843.001", "程序下载：全部下载"),
    ("T0843.002", "程序下载：在线编辑"),
    ("T0843.003", "程序下载：程序追加"),
    ("T0845", "程序上传"),
    ("T0846", "远程系统发现"),
    ("T0847", "通过可移动介质复制"),
    ("T0848", "仿冒主站"),
    ("T0849", "伪装"),
    ("T0851", "内核级隐藏工具"),
    ("T0852", "屏幕截取"),
    ("T0853", "脚本"),
    ("T1692.001", "未授权消息：命令消息"),
    ("T1692.002", "未授权消息：报告消息"),
    ("T0858", "更改运行模式"),
    ("T0859", "有效账户"),
    ("T0860", "无线入侵"),
    ("T0861", "测点与位号识别"),
    ("T0862", "供应链入侵"),
    ("T0863", "用户执行"),
    ("T0864", "临时接入的网络资产"),
    ("T0865", "鱼叉式钓鱼附件"),
    ("T0866", "利用远程服务漏洞"),
    ("T0867", "横向工具传输"),
    ("T0868", "探测运行模式"),
    ("T0869", "标准应用层协议"),
    ("T0871", "通过 API 执行"),
    ("T0872", "清除主机痕迹"),
    ("T0873", "工程文件感染"),
    ("T0874", "API 挂钩"),
    ("T0877", "I/O 映像"),
    ("T0878", "报警抑制"),
    ("T0879", "财产损害"),
    ("T0880", "安全功能丧失"),
    ("T0881", "服务停止"),
    ("T0882", "窃取运行信息"),
    ("T0883", "可从互联网访问的设备"),
    ("T0884", "连接代理"),
    ("T0885", "常用端口"),
    ("T0886", "远程服务"),
    ("T0887", "无线嗅探"),
    ("T0888", "远程系统信息发现"),
    ("T0889", "修改程序"),
    ("T0890", "利用漏洞提权"),
    ("T0891", "硬编码凭据"),
    ("T0892", "更改凭据"),
    ("T0893", "本地系统数据"),
    ("T0894", "系统二进制代理执行"),
    ("T0895", "自动运行映像"),
];

/// Tactics, by the table's ids.
const TACTICS: &[(&str, &str)] = &[
    ("initial-access", "初始访问"),
    ("execution", "执行"),
    ("persistence", "持久化"),
    ("privilege-escalation", "权限提升"),
    ("evasion", "规避"),
    ("discovery", "发现"),
    ("lateral-movement", "横向移动"),
    ("collection", "收集"),
    ("command-and-control", "命令与控制"),
    ("inhibit-response-function", "抑制响应功能"),
    ("impair-process-control", "破坏过程控制"),
    ("impact", "影响"),
];

/// Mitigations, by id.
const MITIGATIONS: &[(&str, &str)] = &[
    ("M0800", "授权强制执行"),
    ("M0801", "访问管理"),
    ("M0802", "通信真实性"),
    ("M0803", "数据防泄漏"),
    ("M0804", "人员用户认证"),
    ("M0805", "机械保护层"),
    ("M0806", "减少无线信号传播范围"),
    ("M0807", "网络白名单"),
    ("M0808", "网络流量加密"),
    ("M0809", "运行信息保密"),
    ("M0810", "带外通信通道"),
    ("M0811", "服务冗余"),
    ("M0812", "安全仪表系统"),
    ("M0813", "软件进程与设备认证"),
    ("M0814", "静态网络配置"),
    ("M0815", "看门狗定时器"),
    ("M0816", "缓解措施有限或无效"),
    ("M0817", "供应链管理"),
    ("M0818", "验证程序输入"),
    ("M0913", "应用开发指导"),
    ("M0915", "活动目录配置"),
    ("M0916", "漏洞扫描"),
    ("M0917", "用户培训"),
    ("M0918", "用户账户管理"),
    ("M0919", "威胁情报计划"),
    ("M0920", "SSL/TLS 检查"),
    ("M0921", "限制基于 Web 的内容"),
    ("M0922", "限制文件和目录权限"),
    ("M0924", "限制注册表权限"),
    ("M0926", "特权账户管理"),
    ("M0927", "密码策略"),
    ("M0928", "操作系统配置"),
    ("M0930", "网络分段"),
    ("M0931", "网络入侵防御"),
    ("M0932", "多因素认证"),
    ("M0934", "限制硬件安装"),
    ("M0935", "限制通过网络访问资源"),
    ("M0936", "账户使用策略"),
    ("M0937", "网络流量过滤"),
    ("M0938", "阻止执行"),
    ("M0941", "敏感信息加密"),
    ("M0942", "禁用或移除功能或程序"),
    ("M0944", "限制库加载"),
    ("M0945", "代码签名"),
    ("M0946", "启动完整性"),
    ("M0947", "审计"),
    ("M0948", "应用隔离与沙箱"),
    ("M0949", "防病毒/反恶意软件"),
    ("M0950", "漏洞利用防护"),
    ("M0951", "更新软件"),
    ("M0953", "数据备份"),
    ("M0954", "软件配置"),
];

fn find(table: &'static [(&'static str, &'static str)], id: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == id).map(|(_, zh)| *zh)
}

/// A technique's Chinese name, by its v19 id.
pub(super) fn technique(v19: &str) -> Option<&'static str> {
    find(TECHNIQUES, v19)
}

/// A mitigation's Chinese name.
pub(super) fn mitigation(id: &str) -> Option<&'static str> {
    find(MITIGATIONS, id)
}

/// A tactic's Chinese name (the table's id, e.g. `impair-process-control`).
pub fn tactic(id: &str) -> Option<&'static str> {
    find(TACTICS, id)
}

/// The table's id of a tactic as a person types it: the id, its English name in any case with
/// spaces (`Impair Process Control`) or its Chinese name (`破坏过程控制`).
pub fn tactic_id(typed: &str) -> Option<&'static str> {
    let typed = typed.trim();
    let key = typed.to_ascii_lowercase().replace([' ', '_'], "-");
    TACTICS.iter().find(|(id, zh)| *id == key || *zh == typed).map(|(id, _)| *id)
}
