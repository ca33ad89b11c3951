//! Exam certificates: signed (ed25519) statements of who passed which exam, with the score per
//! skill area and the replay hash of the exam's range, as JSON and printable HTML.
//!
//! The signing key is generated on first use in `DATA_DIR/keys/` (directory 0700, key 0600);
//! a certificate carries the public key, and verification against a data directory also
//! checks that key is the one kept there and re-runs the exam's replay.

use std::path::Path;

use crate::{Error, Result};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// What a certificate states. Nothing else: a field added to a signed certificate would be
/// dropped before its signature is checked, and read by a person as if it were signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertBody {
    /// Format version.
    pub version: u32,
    /// Trainee id.
    pub trainee: String,
    /// Trainee name.
    pub name: String,
    /// Cohort.
    pub cohort: String,
    /// Exam scenario id (the base scenario).
    pub exam: String,
    /// The trainee's variant seed.
    pub variant_seed: u64,
    /// Date, YYYY-MM-DD.
    pub date: crate::governance::dates::Day,
    /// (area, points, max) per skill area.
    pub areas: Vec<(String, f64, f64)>,
    /// Total points.
    pub total: f64,
    /// Most points.
    pub max: f64,
    /// `pass` or `fail`.
    pub result: String,
    /// The safety gate's finding, if the trainee caused harm.
    pub safety_violation: Option<String>,
    /// The same in Chinese; certificates from before it was kept have none, and sign the
    /// same bytes as then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_violation_zh: Option<String>,
    /// The exam's drill id in the store.
    pub drill: String,
    /// SHA-256 of the exam range's event log (what `icsdrill replay` prints).
    pub replay_hash: String,
    /// Who issues it (the organiser); certificates from before it was named have none, and
    /// sign the same bytes as then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The pass rule: the least share of all points and of each area's; certificates from
    /// before it was stated have none, and sign the same bytes as then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_rule: Option<[f64; 2]>,
    /// The last day a pass is certified for (the exam's `valid_years` after its date); none
    /// for a result notice, an exam whose certificates do not end, and certificates from
    /// before it was stated (which sign the same bytes as then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<crate::governance::dates::Day>,
}

impl CertBody {
    /// Whether a pass's validity ended before `today`.
    pub fn expired(&self, today: crate::governance::dates::Day) -> bool {
        self.valid_until.is_some_and(|d| d < today)
    }
}

/// A signed certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// The statement.
    pub body: CertBody,
    /// The signer's ed25519 public key, hex.
    pub public_key: String,
    /// ed25519 signature over the body's JSON, hex.
    pub signature: String,
}

use icsdrill_engine::hex;
use icsdrill_engine::scenario::exam::PassRule;

/// `N` bytes from `2N` hex digits; `what` names them in the error.
fn unhex<const N: usize>(s: &str, what: &str) -> Result<[u8; N]> {
    let bad = || Error::Refused(format!("{what}: expected {} hex digits", 2 * N));
    if s.len() != 2 * N || !s.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The signing key in `data_dir/keys/`, created on first use with restrictive permissions.
pub fn signing_key(data_dir: &Path) -> Result<SigningKey> {
    let dir = data_dir.join("keys");
    let path = dir.join("exam-signing.ed25519");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let damaged = |_| Error::unreadable(format!("the signing key file {} is damaged", path.display()));
        return Ok(SigningKey::from_bytes(&unhex::<32>(text.trim(), "signing key").map_err(damaged)?));
    }
    std::fs::create_dir_all(&dir).map_err(Error::file("create", &dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(Error::file("make private", &dir))?;
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Failed(format!("no randomness for a key: {e}")))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    use std::io::Write as _;
    let mut f = options.open(&path).map_err(Error::file("create", &path))?;
    f.write_all(hex(&seed).as_bytes()).and_then(|()| f.sync_all()).map_err(Error::file("write", &path))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Signs a certificate body.
pub fn sign(body: CertBody, key: &SigningKey) -> Result<Certificate> {
    let msg = serde_json::to_vec(&body)?;
    let signature = key.sign(&msg);
    Ok(Certificate {
        body,
        public_key: hex(key.verifying_key().as_bytes()),
        signature: hex(&signature.to_bytes()),
    })
}

/// Checks the signature with the key the certificate names, strictly: a weak (small-order)
/// public key or a non-canonical signature is refused, since either lets a forger make a
/// signature that verifies under the lenient rules.
pub fn verify_signature(cert: &Certificate) -> Result<()> {
    let key = VerifyingKey::from_bytes(&unhex::<32>(&cert.public_key, "public key")?)
        .map_err(|e| Error::Refused(format!("public key: {e}")))?;
    if key.is_weak() {
        return Err(Error::Refused(
            "the certificate's public key is a weak (small-order) key: refused".into(),
        ));
    }
    let signature = Signature::from_bytes(&unhex::<64>(&cert.signature, "signature")?);
    let msg = serde_json::to_vec(&cert.body)?;
    key.verify_strict(&msg, &signature)
        .map_err(|_| Error::Refused("the signature does not match the certificate".into()))
}

/// An exam's name as its certificate shows it: a built-in scenario's title with its id, or
/// the id (a scenario file of the organiser's own).
fn exam_name(id: &str, zh: bool) -> String {
    let esc = icsdrill_web::escape_html;
    match super::builtin_title(id) {
        Some(t) => format!("{} ({})", esc(if zh { &t.zh } else { &t.en }), esc(id)),
        None => esc(id),
    }
}

/// What the fingerprint is called: a certificate's (a pass) or a result notice's.
fn fingerprint_word(pass: bool, zh: bool) -> &'static str {
    match (pass, zh) {
        (true, true) => "证书指纹",
        (true, false) => "Certificate fingerprint",
        (false, true) => "通知指纹",
        (false, false) => "Notice fingerprint",
    }
}

/// The certificate's fingerprint: SHA-256 of its signed statement (the body's JSON), hex. Its
/// QR code is printed on it; `cert verify` prints it too, so a paper copy can be matched to
/// the file that verifies.
pub fn fingerprint(c: &Certificate) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(serde_json::to_vec(&c.body).unwrap_or_default()))
}

/// The fingerprint as a QR code, an inline SVG.
fn fingerprint_qr(c: &Certificate) -> String {
    let text = format!("icsdrill-cert:sha256:{}", fingerprint(c));
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(132, 132).build();
            // Inline in the page: the XML declaration goes.
            svg.find("<svg").map_or(String::new(), |i| svg[i..].to_string())
        }
        Err(_) => String::new(),
    }
}

/// The skill areas' rows of a certificate and its pass rule as a sentence (empty for a
/// record from before the rule was stated): what decided a fail, each area under its pass mark
/// named.
fn result_rows(b: &CertBody, zh: bool) -> (String, String) {
    fn area_name(a: &str, zh: bool) -> &str {
        match (a, zh) {
            ("architecture", true) => "安全架构",
            ("implementation", true) => "安全实施",
            ("operations", true) => "运行监测",
            ("assessment", true) => "安全评估",
            ("response", true) => "应急处置",
            ("architecture", false) => "Security architecture",
            ("implementation", false) => "Security implementation",
            ("operations", false) => "Operations and monitoring",
            ("assessment", false) => "Security assessment",
            ("response", false) => "Incident response",
            (a, _) => a,
        }
    }
    let below = |p: f64, m: f64| {
        b.pass_rule.is_some_and(|[overall, per_area]| PassRule { overall, per_area }.area_below(p, m))
    };
    let mark = if zh { " ✗ 低于该领域及格线" } else { " ✗ under the area's pass mark" };
    let rows: String = b
        .areas
        .iter()
        .map(|(a, p, m)| {
            let under = if below(*p, *m) { mark } else { "" };
            format!("<tr><td>{}{under}</td><td class=\"n\">{p:.1} / {m:.0}</td></tr>", area_name(a, zh))
        })
        .collect();
    let rule = b.pass_rule.map_or(String::new(), |[all, area]| {
        let (all, area) = ((all * 100.0).round(), (area * 100.0).round());
        if zh {
            format!("<p>通过条件：总分不低于满分的 {all}%，且每个能力领域不低于该领域满分的 {area}%。</p>")
        } else {
            format!("<p>To pass: at least {all} % of all points and {area} % of each area's points.</p>")
        }
    });
    (rows, rule)
}

/// A recorded certificate (its signed JSON) in the form asked for: printable HTML, or the
/// JSON as the exam wrote it next to the database (pretty), so either file verifies.
pub fn render(
    signed: &str,
    form: icsdrill_web::region::CertForm,
) -> Result<String, icsdrill_web::ServiceError> {
    use icsdrill_web::ServiceError;
    let cert: Certificate = serde_json::from_str(signed).map_err(ServiceError::internal)?;
    Ok(match form {
        icsdrill_web::region::CertForm::Html { zh } => html(&cert, zh),
        icsdrill_web::region::CertForm::Json => {
            serde_json::to_string_pretty(&cert).map_err(ServiceError::internal)?
        }
    })
}

/// The certificate as printable HTML.
pub fn html(c: &Certificate, zh: bool) -> String {
    let b = &c.body;
    let esc = icsdrill_web::escape_html;
    // Only a pass is certified; a fail gets a result notice, signed the same way.
    let pass = b.result == "pass";
    let (title, passed, failed) = match (zh, pass) {
        (true, true) => ("工业互联网安全工程师能力考核证书", "通过", "未通过"),
        (true, false) => ("工业互联网安全工程师能力考核结果通知", "通过", "未通过"),
        (false, true) => ("Industrial-internet security engineer certificate", "PASSED", "NOT PASSED"),
        (false, false) => {
            ("Industrial-internet security engineer exam: result notice", "PASSED", "NOT PASSED")
        }
    };
    let verify = match (zh, pass) {
        (true, true) => {
            "核验：对本证书的 JSON 文件运行 <code>icsdrill cert verify 文件.json --public-key 公钥</code>，公钥取自签发机构公布的公钥（不可照抄本页所印公钥），签名与重放哈希须一致。"
        }
        (true, false) => {
            "核验：对本通知的 JSON 文件运行 <code>icsdrill cert verify 文件.json --public-key 公钥</code>，公钥取自签发机构公布的公钥（不可照抄本页所印公钥），签名与重放哈希须一致。"
        }
        (false, true) => {
            "To verify: run <code>icsdrill cert verify FILE.json --public-key KEY</code> on this certificate's JSON file, with the key its issuer publishes (not one copied from this page); the signature and the replay hash must match."
        }
        (false, false) => {
            "To verify: run <code>icsdrill cert verify FILE.json --public-key KEY</code> on this notice's JSON file, with the key its issuer publishes (not one copied from this page); the signature and the replay hash must match."
        }
    };
    let (rows, rule) = result_rows(b, zh);
    let colon = if zh { "：" } else { ": " };
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" href=\"data:,\"><title>{title}</title><style>\
         body{{font:15px/1.5 system-ui,'Noto Sans CJK SC','WenQuanYi Zen Hei',sans-serif;max-width:800px;margin:2rem auto;color:#1b2733}}\
         .cert{{border:6px double #1d5c8a;padding:2rem 3rem}}h1{{text-align:center;color:#1d5c8a}}table{{width:100%;border-collapse:collapse}}\
         td{{border-bottom:1px solid #c5d2dc;padding:.3rem}}.n{{text-align:right}}.result{{text-align:center;font-size:1.6rem;font-weight:bold}}\
         .small{{font:11px monospace;word-break:break-all;color:#555}}code{{word-break:break-all}}.qr{{text-align:center}}.issuer{{margin-top:1.5rem}}.issuer td:first-child{{width:30%;color:#4b5563}}.seal{{height:3rem}}.qr svg{{width:132px;height:132px}}@media (max-width:600px){{.cert{{padding:1rem}}body{{margin:1rem .5rem}}}}@page{{margin:12mm}}@media print{{body{{margin:0;font-size:13px;line-height:1.35}}.cert{{padding:.8rem 1.4rem;border-width:4px}}h1{{margin:.2rem 0 .5rem;font-size:1.35rem}}p{{margin:.35rem 0}}td{{padding:.12rem .3rem}}.result{{font-size:1.3rem}}.issuer{{margin-top:.6rem}}.seal{{height:2rem}}.qr svg{{width:96px;height:96px}}}}</style></head><body><div class=\"cert\">\
         <h1>{title}</h1><p>{} <b>{}</b> ({}){}</p><p>{}{colon}{} · {}{colon}{}</p><table>{rows}<tr><td><b>{}</b></td><td class=\"n\"><b>{:.1} / {:.0}</b></td></tr></table>\
         <p class=\"result\">{}</p>{rule}{}<table class=\"issuer\"><tr><td>{}</td><td>{}</td></tr><tr><td>{}</td><td>{}</td></tr>{}<tr><td>{}</td><td class=\"seal\">{}</td></tr></table>\
         <div class=\"qr\">{}<p class=\"small\">{} sha256 {}</p></div><p>{verify}</p><p class=\"small\">{} {} · {} sha256 {}<br>{} ed25519 {}<br>{} {}</p></div></body></html>",
        if zh { "zh-CN" } else { "en" },
        if zh { "学员" } else { "Trainee" },
        esc(&b.name),
        esc(&b.trainee),
        if b.cohort.is_empty() { String::new() } else { format!(" · {}", esc(&b.cohort)) },
        if zh { "考核场景" } else { "Exam" },
        exam_name(&b.exam, zh),
        if zh { "日期" } else { "Date" },
        b.date,
        if zh { "总分" } else { "Total" },
        b.total,
        b.max,
        if pass { passed } else { failed },
        b.safety_violation.as_ref().map_or(String::new(), |en| format!(
            "<p>{}{colon}{}</p>",
            if zh { "安全门槛" } else { "Safety gate" },
            // A certificate from before the Chinese was kept says it in English only.
            esc(b.safety_violation_zh.as_ref().filter(|_| zh).unwrap_or(en))
        )),
        if zh { "签发机构" } else { "Issued by" },
        esc(b.issuer.as_deref().unwrap_or(if zh {
            "icsdrill 考核平台（下方签发公钥的持有者）"
        } else {
            "this icsdrill installation (the holder of the key below)"
        })),
        if zh { "签发日期" } else { "Date of issue" },
        b.date,
        b.valid_until.map_or(String::new(), |d| format!(
            "<tr><td>{}</td><td class=\"valid\">{d}</td></tr>",
            if zh { "有效期至" } else { "Valid until" }
        )),
        if zh { "签章" } else { "Seal and signature" },
        "",
        fingerprint_qr(c),
        fingerprint_word(pass, zh),
        fingerprint(c),
        if zh { "考核记录" } else { "Exam drill" },
        b.drill,
        if zh { "重放哈希" } else { "replay" },
        b.replay_hash,
        if zh { "签发公钥" } else { "issuer key" },
        c.public_key,
        if zh { "签名" } else { "signature" },
        c.signature
    )
}
