//! Signed drill bundles: an enterprise runs a drill on its own installation and exports it;
//! the region accepts it only when the signature is the one registered for that enterprise
//! and a replay reproduces its hashes, scores and findings; then it counts towards cadence,
//! its findings join the register, and the regional roll-up shows it as verified.

use icsdrill::governance::bundle::{self, Body, Bundle, Rejection};
use icsdrill::store::{Batch, DrillRecord, SqliteStore, Store as _, TeamRecord};
use icsdrill_engine::{Sim, TimedInput};

use crate::util::builtin;

const SCENARIO: &str = "petrochem-tank-farm";

/// An enterprise drill of `team`, run headless on the enterprise's own installation in `dir`
/// with the first of the recorded defence's moves, recorded as a live drill is.
pub(crate) fn enterprise_drill(dir: &std::path::Path, id: &str, team: &str) -> SqliteStore {
    let _ = std::fs::remove_dir_all(dir);
    let mut store = SqliteStore::open(dir).unwrap();
    let scenario = builtin(SCENARIO);
    let source = icsdrill_scenarios::builtin(SCENARIO).unwrap().source;
    let inputs: Vec<TimedInput> = crate::report::defence(SCENARIO).into_iter().take(2).collect();
    let record = DrillRecord {
        id: id.into(),
        mode: icsdrill_drill::Mode::Enterprise,
        scenario_hash: scenario.source_hash.clone(),
        scenario_source: source.into(),
        seed: 7,
        created_ms: icsdrill::governance::dates::now_ms(),
        options: format!(r#"{{"rules":{}}}"#, icsdrill_engine::RULES),
        ..crate::registry::drill_record(id)
    };
    store
        .create_drill(
            &record,
            &[TeamRecord { id: team.into(), name: "独山子石化".into(), token: "t".into() }],
        )
        .unwrap();
    let mut sim = Sim::new(scenario.clone(), record.seed);
    let mut batches = vec![Batch { team: 0, tick: 0, inputs: vec![], events: sim.events().to_vec() }];
    let end = scenario.ticks(1200.0);
    while sim.tick() < end {
        let t = sim.tick();
        let now: Vec<_> = inputs.iter().filter(|i| i.tick == t).map(|i| i.input.clone()).collect();
        let before = sim.events().len();
        sim.step(now.clone());
        if !now.is_empty() || sim.events().len() > before {
            batches.push(Batch { team: 0, tick: t, inputs: now, events: sim.events()[before..].to_vec() });
        }
    }
    store.append(id, &[team.to_string()], &batches).unwrap();
    let card = format!(r#"{{"tick":{end},"alerts":4}}"#);
    let total = icsdrill::store::replay::score_at(&scenario, &record, sim.events(), &card).unwrap();
    store.save_score(id, team, end, total, &card).unwrap();
    store
}

/// The region's database: enterprise `team` registered, with `key` as its installation key.
fn region(dir: &std::path::Path, team: &str, key: &str) -> SqliteStore {
    let _ = std::fs::remove_dir_all(dir);
    let mut store = SqliteStore::open(dir).unwrap();
    let mut e = crate::registry::enterprise(team, "karamay", "petrochemical", 3);
    e.installation_key = key.into();
    store.import_enterprises(&[e], "2024-01-10".parse().unwrap()).unwrap();
    store
}

fn body(b: &Bundle) -> Body {
    serde_json::from_str(&b.body).unwrap()
}

#[test]
fn a_signed_bundle_that_replays_is_accepted_and_anything_else_is_rejected_with_its_reason() {
    let base = std::env::temp_dir().join(format!("icsdrill-bundle-{}", std::process::id()));
    let (ent_dir, reg_dir) = (base.join("enterprise"), base.join("region"));
    let ent = enterprise_drill(&ent_dir, "ent-d1", "dushanzi");
    let key = icsdrill::governance::cert::signing_key(&ent_dir).unwrap();
    let key_hex = icsdrill_engine::hex(key.verifying_key().as_bytes());
    let b = bundle::export(&ent, "ent-d1", &key).unwrap();
    let stated = body(&b);
    assert_eq!(stated.teams.len(), 1);
    assert!(
        !stated.teams[0].inputs.is_empty() && !stated.teams[0].findings.is_empty(),
        "{:?}",
        stated.teams[0].findings
    );
    assert_eq!(stated.teams[0].report["context"]["team_id"], "dushanzi");
    let import = |b: &Bundle| {
        let mut store = region(&reg_dir, "dushanzi", &key_hex);
        let r = bundle::import(&mut store, b, None).unwrap();
        (r, store)
    };

    // Tampered: one input moved by a tick after signing.
    let mut changed = b.clone();
    let mut body1 = body(&b);
    body1.teams[0].inputs[0].tick += 1;
    changed.body = serde_json::to_string(&body1).unwrap();
    assert_eq!(import(&changed).0, Err(Rejection::Tampered));
    // The same change, signed again by the enterprise: the signature holds, the replay does not.
    let resigned = bundle::sign(&body1, &key).unwrap();
    match import(&resigned).0 {
        Err(Rejection::NotReproduced { team, what, .. }) => {
            assert_eq!((team.as_str(), what), ("dushanzi", "event log"))
        }
        other => panic!("{other:?}"),
    }
    // The same, stated as played by other engine rules (here: from before they were kept):
    // this build cannot tell a changed log from changed rules, and says so.
    let mut older = body1.clone();
    older.drill.options = "{}".into();
    match import(&bundle::sign(&older, &key).unwrap()).0 {
        Err(Rejection::OtherRules(why)) => {
            assert!(why.contains("dushanzi") && why.contains("before rules were numbered"), "{why}");
            assert_eq!(Rejection::OtherRules(why).code(), "other_rules");
        }
        other => panic!("{other:?}"),
    }
    // A stated score the replay does not give.
    let mut body2 = body(&b);
    body2.teams[0].score = body2.teams[0].score.map(|s| s + 100.0);
    match import(&bundle::sign(&body2, &key).unwrap()).0 {
        Err(Rejection::NotReproduced { what, .. }) => assert_eq!(what, "score"),
        other => panic!("{other:?}"),
    }
    // Signed by another installation's key.
    let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    match import(&bundle::sign(&body(&b), &other).unwrap()).0 {
        Err(Rejection::UnknownKey { enterprise, registered, .. }) => {
            assert_eq!((enterprise.as_str(), registered.as_str()), ("dushanzi", key_hex.as_str()))
        }
        other => panic!("{other:?}"),
    }
    // Unsigned.
    let unsigned = Bundle { signature: String::new(), public_key: String::new(), ..b.clone() };
    assert_eq!(import(&unsigned).0, Err(Rejection::Unsigned));
    // A team the registry does not know.
    let mut body3 = body(&b);
    body3.teams[0].id = "nobody".into();
    assert_eq!(
        import(&bundle::sign(&body3, &key).unwrap()).0,
        Err(Rejection::NotRegistered("nobody".into()))
    );
    // Signed, but past any drill's length (it would replay for ever), or with an input after
    // its log's end: refused at once, by what is wrong.
    let last_input = stated.teams[0].inputs.iter().map(|i| i.tick).max().unwrap();
    for last in [Some(u64::MAX - 1), Some(10_000_000_000), None, Some(last_input - 1)] {
        let mut insane = body(&b);
        insane.teams[0].last_tick = last;
        let started = std::time::Instant::now();
        match import(&bundle::sign(&insane, &key).unwrap()).0 {
            Err(Rejection::Unreadable(why)) => assert!(why.contains("dushanzi"), "{why}"),
            other => panic!("{last:?}: {other:?}"),
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{last:?}");
    }
    // A drill that had not ended (killed, or still running when bundled), signed as it was:
    // no drill done. Its installation refuses to export it in the first place.
    let mut running = body(&b);
    running.drill.phase = icsdrill_drill::Phase::Live;
    match import(&bundle::sign(&running, &key).unwrap()).0 {
        Err(r @ Rejection::NotOver(..)) => assert_eq!(r.code(), "not_over", "{r}"),
        other => panic!("{other:?}"),
    }
    let mut killed = enterprise_drill(&base.join("killed"), "ent-k1", "dushanzi");
    killed.set_phase("ent-k1", icsdrill_drill::Phase::Live).unwrap();
    let refused = bundle::export(&killed, "ent-k1", &key).map(|_| ()).unwrap_err().to_string();
    assert!(refused.contains("not over (phase live)") && refused.contains("--resume ent-k1"), "{refused}");
    // Nothing rejected left a trace.
    let (_, store) = import(&unsigned);
    assert!(store.drills().unwrap().is_empty());

    // The bundle as exported: accepted.
    let (accepted, mut store) = import(&b);
    let accepted = accepted.unwrap();
    assert_eq!((accepted.drill.as_str(), accepted.teams.clone()), ("ent-d1", vec!["dushanzi".to_string()]));
    // Once only.
    assert_eq!(bundle::import(&mut store, &b, None).unwrap(), Err(Rejection::Duplicate("ent-d1".into())));
    // It replays at the region as it did at the enterprise.
    let (_, verdicts) = icsdrill::store::replay::verify(&store, "ent-d1").unwrap();
    assert!(verdicts[0].matches() && verdicts[0].replayed_hash == stated.teams[0].log_hash, "{verdicts:?}");
    // Its findings joined the register; it counts towards cadence, in this year, verified.
    let tracked = store.findings("dushanzi").unwrap();
    assert_eq!(tracked.len(), stated.teams[0].findings.len());
    let today = icsdrill::governance::dates::today();
    let r = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
    let row = r.enterprises.iter().find(|e| e.enterprise.id == "dushanzi").unwrap();
    let last = row.last_drill.as_ref().unwrap();
    assert_eq!((last.drill.as_str(), last.verified, last.alerts), ("ent-d1", true, 4), "{last:?}");
    assert_eq!(r.years[&i64::from(today.year())].drills, 1);
    let due = row.due.iter().find(|d| d.kind == "drill").unwrap();
    assert!(!due.overdue && due.next_due == today.add_months(12), "{due:?}");
    let _ = std::fs::remove_dir_all(&base);
}

/// The same through the command line, as the enterprise and the region would type it.
#[test]
fn bundles_go_from_the_enterprise_to_the_region_on_the_command_line() {
    let base = std::env::temp_dir().join(format!("icsdrill-bundle-cli-{}", std::process::id()));
    let (ent_dir, reg_dir) = (base.join("enterprise"), base.join("region"));
    drop(enterprise_drill(&ent_dir, "ent-d2", "dushanzi"));
    let icsdrill = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_icsdrill")).args(args).output().unwrap();
        (
            o.status.success(),
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        )
    };
    let (ent, reg) = (ent_dir.to_str().unwrap(), reg_dir.to_str().unwrap());
    let (ok, key) = icsdrill(&["bundle", "key", "--data-dir", ent]);
    assert!(ok && key.trim().len() == 64, "{key}");
    let file = base.join("ent-d2.bundle.json");
    let (ok, out) =
        icsdrill(&["bundle", "export", "ent-d2", "--out", file.to_str().unwrap(), "--data-dir", ent]);
    assert!(ok && out.contains(key.trim()), "{out}");
    drop(region(&reg_dir, "dushanzi", ""));
    // No key registered yet: rejected, and it says what to do.
    let (ok, out) = icsdrill(&["bundle", "import", file.to_str().unwrap(), "--data-dir", reg]);
    assert!(!ok && out.contains("rejected") && out.contains("registry key"), "{out}");
    let (ok, out) = icsdrill(&["registry", "key", "dushanzi", "not-a-key", "--data-dir", reg]);
    assert!(!ok && out.contains("64 hex digits"), "{out}");
    let (ok, out) = icsdrill(&["registry", "key", "dushanzi", key.trim(), "--data-dir", reg]);
    assert!(ok, "{out}");
    // A changed copy is rejected; the file as exported is accepted.
    let text = std::fs::read_to_string(&file).unwrap();
    let tampered = base.join("tampered.json");
    std::fs::write(&tampered, text.replacen("独山子石化", "独山子石油", 1)).unwrap();
    let (ok, out) = icsdrill(&["bundle", "import", tampered.to_str().unwrap(), "--data-dir", reg]);
    assert!(!ok && out.contains("signature does not match"), "{out}");
    let (ok, out) = icsdrill(&["bundle", "import", file.to_str().unwrap(), "--data-dir", reg]);
    assert!(ok && out.contains("accepted"), "{out}");
    // The registry export carries the key.
    let (ok, out) = icsdrill(&["registry", "export", "--data-dir", reg]);
    assert!(ok && out.contains(key.trim()), "{out}");
    let (ok, out) = icsdrill(&["replay", "ent-d2", "--data-dir", reg]);
    assert!(ok, "{out}");
    // A file over the size limit is rejected unread.
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(bundle::read_at_most(&file, size).unwrap().is_ok());
    match bundle::read_at_most(&file, size - 1).unwrap() {
        Err(Rejection::Unreadable(why)) => assert!(why.contains("larger than"), "{why}"),
        other => panic!("{other:?}"),
    }
    let garbage = base.join("garbage.json");
    std::fs::write(&garbage, "{\"format\": 1").unwrap();
    let (ok, out) = icsdrill(&["bundle", "import", garbage.to_str().unwrap(), "--data-dir", reg]);
    assert!(!ok && out.contains("not a drill bundle"), "{out}");
    let _ = std::fs::remove_dir_all(&base);
}

/// The regional web view takes bundles from the region's department only, answers each with
/// its verdict, and refuses an upload over its size limit before reading it.
#[tokio::test]
async fn the_region_imports_a_bundle_through_its_web_view() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;
    let base = std::env::temp_dir().join(format!("icsdrill-bundle-web-{}", std::process::id()));
    let (ent_dir, reg_dir) = (base.join("enterprise"), base.join("region"));
    let ent = enterprise_drill(&ent_dir, "ent-d3", "dushanzi");
    let key = icsdrill::governance::cert::signing_key(&ent_dir).unwrap();
    let bytes = serde_json::to_vec(&bundle::export(&ent, "ent-d3", &key).unwrap()).unwrap();
    let mut store = region(&reg_dir, "dushanzi", &icsdrill_engine::hex(key.verifying_key().as_bytes()));
    store.add_user("region-token", "region", None).unwrap();
    store.add_user("karamay-token", "prefecture", Some("karamay")).unwrap();
    drop(store);
    let api: std::sync::Arc<dyn icsdrill_web::region::RegionApi> = std::sync::Arc::new(
        icsdrill::governance::region::RegionService::new(icsdrill::store::Database::Sqlite(reg_dir.clone())),
    );
    let post = |token: &'static str, body: Vec<u8>| {
        let api = api.clone();
        async move {
            let req = Request::post("/api/region/bundles")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap();
            let res = icsdrill_web::region::router(api).oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
            (status, serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default())
        }
    };
    assert_eq!(post("karamay-token", bytes.clone()).await.0, 403, "a prefecture does not import");
    let (s, v) = post("region-token", bytes.clone()).await;
    assert_eq!((s, v["accepted"].as_bool(), v["drill"].as_str()), (200, Some(true), Some("ent-d3")), "{v}");
    let (s, v) = post("region-token", bytes.clone()).await;
    assert_eq!(
        (s, v["accepted"].as_bool(), v["code"].as_str()),
        (200, Some(false), Some("duplicate")),
        "{v}"
    );
    let (s, v) = post("region-token", b"{\"format\":".to_vec()).await;
    assert_eq!((s, v["code"].as_str()), (200, Some("unreadable")), "{v}");
    let (s, _) = post("region-token", vec![b' '; icsdrill_web::region::MAX_BUNDLE + 1]).await;
    assert_eq!(s, 413, "over the upload limit");
    let _ = std::fs::remove_dir_all(&base);
}

/// At most two large uploads are read at a time: a third, while two trickle in, is told to
/// send again (503), and the web view stays up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_upload_waits_its_turn() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = std::env::temp_dir().join(format!("icsdrill-bundle-slots-{}", std::process::id()));
    let mut store = region(&dir, "dushanzi", "");
    store.add_user("region-token", "region", None).unwrap();
    drop(store);
    let (addr, stop, server) = crate::util::serve_region(&dir).await;
    let head = |len: usize| {
        format!(
            "POST /api/region/bundles HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer region-token\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    // Slow uploads without the region's token are answered at once, holding no slot.
    let mut held = Vec::new();
    for token in ["", "Authorization: Bearer not-a-token\r\n"] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /api/region/bundles HTTP/1.1\r\nHost: x\r\n{token}Content-Length: {}\r\n\r\n",
            1 << 20
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&[b' '; 1024]).await.unwrap();
        let mut answer = vec![0; 256];
        let n = tokio::time::timeout(std::time::Duration::from_secs(30), s.read(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let status =
            String::from_utf8_lossy(&answer[..n]).split_whitespace().nth(1).unwrap_or("").to_string();
        // Answered with its body still to come: no slot waited for it.
        assert_eq!(status, "401", "{token:?}");
        held.push(s);
    }
    // Two uploads that have sent their head and a first part of a 1 MB body, and pause.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(head(1 << 20).as_bytes()).await.unwrap();
        s.write_all(&[b' '; 1024]).await.unwrap();
        slow.push(s);
    }
    // Both are being read (checked, with a bound: a loaded machine may take a while to get to
    // them).
    let both = icsdrill_web::server::large_uploads_reach(icsdrill_web::server::LARGE_UPLOAD_SLOTS);
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), both).await;
    assert!(read.is_ok(), "the two uploads were never read");
    // A third, whole and small: refused with 503.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("{}{{}}", head(2)).as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut answer)).await;
    let status = String::from_utf8_lossy(&answer).split_whitespace().nth(1).unwrap_or("").to_string();
    assert_eq!(status, "503");
    drop((slow, held));
    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    let _ = std::fs::remove_dir_all(&dir);
}
