//! Page logins and the cookies they leave. Each kind of login has a cookie of its own
//! (`icsdrill_instructor`, `icsdrill_observer`, `icsdrill_team_<id>`, `icsdrill_region`), so a
//! white cell who opens a team's console or the projected scoreboard in the same browser keeps
//! the instructor console working. A page says whose credentials it acts with (`X-Icsdrill-As`,
//! or `?as=` on a stream, which cannot carry headers); a request that does not say is taken
//! as its path suggests.

use axum::http::{HeaderMap, HeaderValue, header};

/// The header a page names its credentials' scope in.
pub(crate) const AS_HEADER: &str = "x-icsdrill-as";
/// The cookie earlier versions set for every login (still read).
const LEGACY: &str = "icsdrill_token";
/// The scopes tried, in order, when the one asked for has no cookie.
const FALLBACK: [&str; 3] = ["instructor", "observer", "region"];

/// Whether `s` is a scope a cookie may be named after.
fn valid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 80 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The `Set-Cookie` of a login with `token` in `scope` (`None`: not a valid scope).
pub(crate) fn cookie(scope: &str, token: &str) -> Option<HeaderValue> {
    if !valid(scope) {
        return None;
    }
    HeaderValue::from_str(&format!("icsdrill_{scope}={token}; Path=/; HttpOnly; SameSite=Strict")).ok()
}

/// The token a request carries: the bearer header first, then the cookie of the scope it acts
/// in, the cookie of earlier versions, then any other login's.
pub(crate) fn token(headers: &HeaderMap) -> Option<String> {
    // The scheme's name is case-insensitive (RFC 9110 11.1): `bearer` is `Bearer`.
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some((scheme, t)) = v.trim_start().split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return Some(t.trim().to_string());
    }
    let cookies: Vec<(&str, &str)> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .collect();
    let named = |name: &str| cookies.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    let asked = headers.get(AS_HEADER).and_then(|v| v.to_str().ok()).filter(|s| valid(s));
    asked
        .and_then(|s| named(&format!("icsdrill_{s}")))
        .or_else(|| named(LEGACY))
        .or_else(|| FALLBACK.iter().find_map(|s| named(&format!("icsdrill_{s}"))))
        .or_else(|| cookies.iter().find(|(k, _)| k.starts_with("icsdrill_team_")).map(|(_, v)| v.to_string()))
}

/// Where a login URL sends the browser once the cookie is set: `path`, with the language the
/// URL asked for (`&lang=zh`) but without the token.
pub(crate) fn keeping_lang(path: &str, query: &str) -> String {
    match query.split('&').find_map(|kv| kv.strip_prefix("lang=")) {
        Some(lang @ ("en" | "zh")) => format!("{path}?lang={lang}"),
        _ => path.to_string(),
    }
}

/// The scope a request with no `X-Icsdrill-As` acts in: its `?as=`, else what its path
/// suggests (a team's own routes, the white cell's, the region's).
fn scope_of(path: &str, query: Option<&str>) -> Option<String> {
    if let Some(s) = query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("as="))) {
        return Some(s.to_string());
    }
    if let Some(rest) = path.strip_prefix("/api/teams/") {
        return Some(format!("team_{}", rest.split('/').next().unwrap_or_default()));
    }
    if path.starts_with("/api/instructor") || path.starts_with("/api/drill/") {
        return Some("instructor".into());
    }
    if path.starts_with("/api/region") || path.starts_with("/api/trainer") {
        return Some("region".into());
    }
    None
}

/// Names the scope of a request that does not name it (before any handler reads its token).
pub(crate) async fn scope_layer(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if !req.headers().contains_key(AS_HEADER)
        && let Some(scope) = scope_of(req.uri().path(), req.uri().query()).filter(|s| valid(s))
        && let Ok(v) = HeaderValue::from_str(&scope)
    {
        req.headers_mut().insert(AS_HEADER, v);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &str, scope: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(cookies).unwrap());
        if let Some(s) = scope {
            h.insert(AS_HEADER, HeaderValue::from_str(s).unwrap());
        }
        h
    }

    #[test]
    fn each_login_keeps_its_own_cookie_and_a_page_acts_with_its_own() {
        let both = "icsdrill_instructor=I; icsdrill_team_red=R; icsdrill_observer=O";
        assert_eq!(token(&headers(both, Some("instructor"))).as_deref(), Some("I"));
        assert_eq!(token(&headers(both, Some("team_red"))).as_deref(), Some("R"));
        assert_eq!(token(&headers(both, Some("observer"))).as_deref(), Some("O"));
        // Asked for a scope with no cookie: another login's, the white cell's first.
        assert_eq!(token(&headers(both, Some("team_blue"))).as_deref(), Some("I"));
        assert_eq!(token(&headers("icsdrill_team_red=R", None)).as_deref(), Some("R"));
        assert_eq!(token(&headers("icsdrill_token=L; icsdrill_instructor=I", None)).as_deref(), Some("L"));
        let mut bearer = headers(both, Some("team_red"));
        bearer.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer B"));
        assert_eq!(token(&bearer).as_deref(), Some("B"), "a bearer token wins");
        bearer.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer  B2"));
        assert_eq!(token(&bearer).as_deref(), Some("B2"), "the scheme in any case");
        bearer.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic QjpC"));
        assert_eq!(token(&bearer).as_deref(), Some("R"), "another scheme is no bearer token");
        assert_eq!(scope_of("/api/teams/red/state", None).as_deref(), Some("team_red"));
        assert_eq!(scope_of("/api/scoreboard/stream", Some("as=observer")).as_deref(), Some("observer"));
        assert_eq!(scope_of("/api/instructor/stream", None).as_deref(), Some("instructor"));
        assert_eq!(scope_of("/api/drill", None), None);
        assert!(cookie("team_red", "R").is_some() && cookie("a b", "R").is_none());
        assert_eq!(keeping_lang("/team/red", "token=T&lang=zh"), "/team/red?lang=zh");
        assert_eq!(keeping_lang("/team/red", "lang=xx&token=T"), "/team/red");
    }
}
