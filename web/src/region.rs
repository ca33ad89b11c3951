//! The regional oversight view (web): roll-ups of the registry, drills and findings by
//! prefecture and industry. A region user sees everything; a prefecture user sees only its own
//! prefecture (another prefecture is 403).

use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::drill::asset;
use crate::{ApiError, ServiceError};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionRole {
    /// The region's department: every prefecture.
    Region,
    /// A prefecture's department: its own.
    Prefecture(String),
    /// A trainer: exam cohorts only.
    Trainer,
}

/// What the regional view needs.
pub trait RegionApi: Send + Sync + 'static {
    /// The role a token stands for.
    fn authenticate(&self, token: &str) -> Option<RegionRole>;
    /// Whether a prefecture code exists.
    fn is_prefecture(&self, code: &str) -> bool;
    /// The roll-up of one prefecture or the region.
    fn rollup(&self, scope: Option<&str>) -> Result<serde_json::Value, ServiceError>;
    /// An enterprise's page (its drills, scores, findings and their rectification), if it is
    /// registered within `scope`.
    fn enterprise(&self, id: &str, scope: Option<&str>) -> Result<serde_json::Value, ServiceError>;
    /// Checks an uploaded drill bundle and records it when it holds: `{"accepted": true,
    /// "drill", "teams"}`, or `{"accepted": false, "code", "reason"}` with why not.
    fn import_bundle(&self, bytes: &[u8]) -> Result<serde_json::Value, ServiceError>;
    /// A table of the roll-up as `csv` or `xlsx`: the content type and the bytes.
    fn export(&self, scope: Option<&str>, what: Export<'_>) -> Result<(&'static str, Vec<u8>), ServiceError>;
    /// Exam results and exams in progress, of one cohort or all.
    fn exams(&self, cohort: Option<&str>) -> Result<serde_json::Value, ServiceError>;
    /// Exam results as `csv` or `xlsx`: the content type and the bytes.
    fn exams_export(
        &self,
        cohort: Option<&str>,
        format: &str,
    ) -> Result<(&'static str, Vec<u8>), ServiceError>;
    /// An exam drill's certificate (or result notice): printable HTML in Chinese or English,
    /// or the signed JSON `icsdrill cert verify` checks.
    fn certificate(&self, drill: &str, form: CertForm) -> Result<String, ServiceError>;
    /// The after-action report of enterprise `id` in drill `drill` (one it took part in, over,
    /// the enterprise registered within `scope`): `format` html, md or xlsx, in Chinese or
    /// not. The content type and the bytes.
    fn report(
        &self,
        id: &str,
        drill: &str,
        scope: Option<&str>,
        form: ReportForm<'_>,
    ) -> Result<(&'static str, Vec<u8>), ServiceError>;
}

/// Which form of an after-action report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportForm<'a> {
    /// `html`, `md` or `xlsx`.
    pub format: &'a str,
    /// In Chinese.
    pub zh: bool,
}

/// Which table of the roll-up, in which form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Export<'a> {
    /// `csv` or `xlsx`.
    pub format: &'a str,
    /// The table: `None`, the roll-up by codes as the command line writes it (for scripts);
    /// `prefectures` or `enterprises`, what the regional view shows, named for a reader.
    pub table: Option<&'a str>,
    /// Names and headings in Chinese.
    pub zh: bool,
}

/// Which form of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertForm {
    /// Printable HTML, in Chinese or not.
    Html {
        /// In Chinese.
        zh: bool,
    },
    /// The signed JSON.
    Json,
}

/// A regional view behind the API.
pub type Region = Arc<dyn RegionApi>;

/// The regional view's router.
pub fn router(api: Region) -> Router {
    Router::new()
        .route("/api/region/rollup", get(rollup))
        .route("/api/region/prefectures/{code}", get(prefecture))
        .route("/api/region/enterprises/{id}", get(enterprise))
        .route("/api/region/enterprises/{id}/drills/{drill}/report", get(report))
        .route("/api/region/export", get(export))
        .route(
            BUNDLES_PATH,
            axum::routing::post(import_bundle)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_BUNDLE))
                .layer(axum::middleware::from_fn(crate::server::read_large))
                .layer(axum::middleware::from_fn_with_state(api.clone(), only_the_region)),
        )
        .route("/api/trainer/exams", get(trainer_exams))
        .route("/api/trainer/export", get(trainer_export))
        .route("/api/trainer/certificates/{drill}", get(trainer_certificate))
        .route("/region", get(page))
        .route("/trainer", get(trainer_page))
        .route("/assets/app.js", get(|| asset("text/javascript; charset=utf-8", crate::pages::APP_JS)))
        .route("/assets/region.js", get(|| asset("text/javascript; charset=utf-8", crate::pages::REGION_JS)))
        .route("/assets/app.css", get(|| asset("text/css; charset=utf-8", crate::pages::APP_CSS)))
        .route("/assets/uplot.js", get(|| asset("text/javascript; charset=utf-8", crate::pages::UPLOT_JS)))
        .route("/assets/uplot.css", get(|| asset("text/css; charset=utf-8", crate::pages::UPLOT_CSS)))
        .route("/favicon.svg", get(|| asset("image/svg+xml", crate::pages::FAVICON)))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such resource") })
        .layer(axum::middleware::from_fn(crate::trace::layer))
        .layer(axum::middleware::map_response(crate::drill::security_headers))
        .with_state(api)
}

/// Serves the regional view until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Region,
    limits: crate::server::HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::server::serve(listener, router(api), limits, shutdown).await
}

/// The caller's role. Stores may block (PostgreSQL): asked off the async runtime.
async fn role(api: &Region, headers: &HeaderMap) -> Result<RegionRole, ApiError> {
    let t = crate::drill::token(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "log in: open /region?token=TOKEN, or send Authorization: Bearer TOKEN",
        )
    })?;
    let a = api.clone();
    tokio::task::spawn_blocking(move || a.authenticate(&t))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unknown token"))
}

/// The prefecture a role sees (`None`: all); trainers see no roll-up.
fn scope(role: &RegionRole) -> Result<Option<String>, ApiError> {
    match role {
        RegionRole::Region => Ok(None),
        RegionRole::Prefecture(p) => Ok(Some(p.clone())),
        RegionRole::Trainer => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "trainers see exam cohorts, not the roll-up")
                .zh("培训考核账户查看考核批次，不查看区域汇总"))
        }
    }
}

fn trainer_or_region(role: &RegionRole) -> Result<(), ApiError> {
    match role {
        RegionRole::Region | RegionRole::Trainer => Ok(()),
        RegionRole::Prefecture(_) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "exam cohorts are for trainers")
                .zh("考核批次仅供培训考核账户查看"))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CohortQuery {
    cohort: Option<String>,
    format: Option<String>,
}

async fn trainer_exams(
    State(api): State<Region>,
    headers: HeaderMap,
    q: Result<Query<CohortQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    trainer_or_region(&role(&api, &headers).await?)?;
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let a = api.clone();
    let v = tokio::task::spawn_blocking(move || a.exams(q.cohort.as_deref())).await??;
    Ok(Json(v))
}

async fn trainer_export(
    State(api): State<Region>,
    headers: HeaderMap,
    q: Result<Query<CohortQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    trainer_or_region(&role(&api, &headers).await?)?;
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let a = api.clone();
    let format = q.format.unwrap_or_else(|| "csv".into());
    let stem = format!("exam-results-{}", q.cohort.as_deref().unwrap_or("all"));
    let built = tokio::task::spawn_blocking(move || a.exams_export(q.cohort.as_deref(), &format)).await??;
    let (ct, bytes) = built;
    Ok(crate::download(ct, bytes, &stem))
}

/// How a certificate is asked for: `?lang=en|zh&format=html|json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertQuery {
    lang: Option<String>,
    format: Option<String>,
}

impl CertQuery {
    /// The form asked for: printable HTML (Chinese unless `lang=en`) or the signed JSON.
    pub(crate) fn form(
        q: Result<Query<CertQuery>, axum::extract::rejection::QueryRejection>,
    ) -> Result<CertForm, ApiError> {
        let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
        Ok(match q.format.as_deref() {
            None | Some("html") => CertForm::Html { zh: q.lang.as_deref() != Some("en") },
            Some("json") => CertForm::Json,
            Some(_) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "format must be html or json")),
        })
    }
}

/// A certificate in the form it was asked for: a page, or the signed file to download,
/// `certificate-DRILL.json`.
pub(crate) fn cert_response(form: CertForm, drill: &str, text: String) -> Response {
    match form {
        CertForm::Html { .. } => Html(text).into_response(),
        CertForm::Json => {
            crate::attachment("application/json", text.into_bytes(), &format!("certificate-{drill}"), "json")
        }
    }
}

/// An exam's printable certificate (a pass) or result notice (a fail), for trainers; with
/// `format=json`, the signed file itself, to verify or hand to the holder.
async fn trainer_certificate(
    State(api): State<Region>,
    headers: HeaderMap,
    Path(drill): Path<String>,
    q: Result<Query<CertQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    trainer_or_region(&role(&api, &headers).await?)?;
    let form = CertQuery::form(q)?;
    let (a, id) = (api.clone(), drill.clone());
    let text = tokio::task::spawn_blocking(move || a.certificate(&id, form)).await??;
    Ok(cert_response(form, &drill, text))
}

async fn rollup(State(api): State<Region>, headers: HeaderMap) -> Result<Json<serde_json::Value>, ApiError> {
    let r = role(&api, &headers).await?;
    let s = scope(&r)?;
    let a = api.clone();
    let v = tokio::task::spawn_blocking(move || a.rollup(s.as_deref())).await??;
    Ok(Json(v))
}

async fn prefecture(
    State(api): State<Region>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let r = role(&api, &headers).await?;
    if !api.is_prefecture(&code) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no prefecture `{}`", code.escape_debug())));
    }
    scope(&r)?;
    if let RegionRole::Prefecture(own) = &r
        && *own != code
    {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "a prefecture user sees its own prefecture only")
            .zh("地州市账户仅可查看本地州市"));
    }
    let a = api.clone();
    let v = tokio::task::spawn_blocking(move || a.rollup(Some(&code))).await??;
    Ok(Json(v))
}

/// Where drill bundles are uploaded.
pub const BUNDLES_PATH: &str = "/api/region/bundles";
/// The largest bundle upload (a two-hour drill of 30 teams is a few MB; larger ones go
/// through `icsdrill bundle import`).
pub const MAX_BUNDLE: usize = 16 << 20;

/// Lets only the region's department send a bundle on (401, 403 otherwise), before its body
/// is read.
async fn only_the_region(
    State(api): State<Region>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    if role(&api, req.headers()).await? != RegionRole::Region {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "drill bundles are imported by the region")
            .zh("演练数据包由自治区级账户导入"));
    }
    Ok(next.run(req).await)
}

/// A drill bundle uploaded by the region's department (prefecture users and trainers: 403).
async fn import_bundle(
    State(api): State<Region>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    if role(&api, &headers).await? != RegionRole::Region {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "drill bundles are imported by the region")
            .zh("演练数据包由自治区级账户导入"));
    }
    let a = api.clone();
    let v = tokio::task::spawn_blocking(move || a.import_bundle(&body)).await??;
    Ok(Json(v))
}

/// An enterprise's page; a prefecture user sees its own prefecture's enterprises only (any
/// other is 404, so ids elsewhere are not disclosed).
async fn enterprise(
    State(api): State<Region>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let r = role(&api, &headers).await?;
    let s = scope(&r)?;
    let a = api.clone();
    let v = tokio::task::spawn_blocking(move || a.enterprise(&id, s.as_deref())).await??;
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    format: Option<String>,
    lang: Option<String>,
}

/// An enterprise's after-action report: HTML to read in the browser, Markdown or a workbook
/// to download.
async fn report(
    State(api): State<Region>,
    Path((id, drill)): Path<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let r = role(&api, &headers).await?;
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let s = scope(&r)?;
    let format = q.format.unwrap_or_else(|| "html".into());
    let ext = match format.as_str() {
        "html" | "md" | "xlsx" => format.clone(),
        _ => return Err(ApiError::new(StatusCode::BAD_REQUEST, "format must be html, md or xlsx")),
    };
    let zh = match q.lang.as_deref() {
        None | Some("zh") => true,
        Some("en") => false,
        Some(_) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "lang must be zh or en")),
    };
    let stem = format!("{drill}-{id}-report");
    let a = api.clone();
    let (ct, bytes) = tokio::task::spawn_blocking(move || {
        a.report(&id, &drill, s.as_deref(), ReportForm { format: &format, zh })
    })
    .await??;
    Ok(if ext == "html" {
        ([(header::CONTENT_TYPE, ct)], bytes).into_response()
    } else {
        crate::attachment(ct, bytes, &stem, &ext)
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    format: String,
    table: Option<String>,
    lang: Option<String>,
}

async fn export(
    State(api): State<Region>,
    headers: HeaderMap,
    q: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let r = role(&api, &headers).await?;
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let s = scope(&r)?;
    let a = api.clone();
    if !matches!(q.table.as_deref(), None | Some("prefectures" | "enterprises")) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "table must be prefectures or enterprises"));
    }
    let stem =
        format!("region-{}-{}", q.table.as_deref().unwrap_or("rollup"), s.as_deref().unwrap_or("region"));
    let built = tokio::task::spawn_blocking(move || {
        let what =
            Export { format: &q.format, table: q.table.as_deref(), zh: q.lang.as_deref() == Some("zh") };
        a.export(s.as_deref(), what)
    })
    .await??;
    let (ct, bytes) = built;
    Ok(crate::download(ct, bytes, &stem))
}

async fn trainer_page(State(api): State<Region>, RawQuery(q): RawQuery) -> Response {
    login_page(api, q, "/trainer", crate::pages::TRAINER).await
}

async fn page(State(api): State<Region>, RawQuery(q): RawQuery) -> Response {
    login_page(api, q, "/region", crate::pages::REGION).await
}

/// A page; `?token=` logs in (sets the cookie, drops the token from the address).
async fn login_page(api: Region, q: Option<String>, path: &'static str, html: &'static str) -> Response {
    if let Some(t) = q.as_deref().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token="))) {
        let (a, token) = (api.clone(), t.to_string());
        let known =
            tokio::task::spawn_blocking(move || a.authenticate(&token).is_some()).await.unwrap_or(false);
        if !known {
            return (StatusCode::UNAUTHORIZED, Html(crate::pages::BAD_TOKEN)).into_response();
        }
        let mut res =
            Redirect::to(&crate::login::keeping_lang(path, q.as_deref().unwrap_or_default())).into_response();
        if let Some(v) = crate::login::cookie("region", t) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
        return res;
    }
    Html(html).into_response()
}
