//! One drill over three `icsdrill serve --node` processes sharing the PostgreSQL database that
//! `scripts/test` starts (`ICSDRILL_TEST_POSTGRES`): the teams are shared among the nodes, one
//! node is killed (`kill -9`), the others serve its teams again from their records within
//! 10 s at the same endpoints, no acknowledged input is lost, and the replay matches.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::drill::http;
use crate::util::{Served, spawn_served_with};

/// The database, or `None` (with a note) where none is configured.
fn postgres() -> Option<String> {
    crate::util::test_postgres("the drill over several nodes is")
}

/// A node: its process, web address and the tokens its banner printed.
struct Node {
    served: Served,
    http: SocketAddr,
    tokens: BTreeMap<String, String>,
    instructor: String,
}

/// The arguments every node of drill `id` on database `db` is started with: its `teams`, the
/// endpoints from port `base`, no routine traffic, then `more`.
fn node_args(db: &str, id: &str, teams: &str, base: u16, more: &[&str]) -> Vec<String> {
    let base = base.to_string();
    let args =
        ["--database", db, "--drill-id", id, "--teams", teams, "--modbus-port", &base, "--http-port", "0"];
    args.iter().chain(&["--no-routine-traffic"]).chain(more).map(ToString::to_string).collect()
}

fn start_node(name: &str, args: &[String], log: &std::path::Path) -> Node {
    let mut all: Vec<&str> = vec!["serve", "--node", name];
    all.extend(args.iter().map(String::as_str));
    let log = std::fs::File::create(log.join(format!("{name}.log"))).unwrap();
    let (served, seen, _) = spawn_served_with(&all, None, |c| {
        c.stderr(log);
    });
    let url = |l: &str| l.split_whitespace().last().unwrap().to_string();
    let instructor_url =
        url(seen.iter().find(|l| l.starts_with("Instructor")).unwrap_or_else(|| panic!("{seen:#?}")));
    let http = instructor_url.strip_prefix("http://").unwrap().split('/').next().unwrap().parse().unwrap();
    let instructor = instructor_url.split("token=").nth(1).unwrap().to_string();
    let tokens = seen
        .iter()
        .filter(|l| l.starts_with("Team "))
        .map(|l| {
            let team = l.split_whitespace().nth(1).unwrap().to_string();
            (team, url(l).split("token=").nth(1).unwrap().to_string())
        })
        .collect();
    Node { served, http, tokens, instructor }
}

/// A team console open in headless Chromium (`clients/team_follow.py`) while its team moves
/// (`live`: the drill runs, and the console must show its values moving on).
struct Console {
    child: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Console {
    /// Opens `url` (a login URL); returns once the console shows the team.
    async fn open(url: &str, live: bool) -> Console {
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
        std::fs::create_dir_all(&out).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/team_follow.py");
        let mut child = std::process::Command::new("python3")
            .args([script, url, &out.display().to_string(), if live { "live" } else { "still" }])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        // Selenium's own waits bound the script: it prints `ready` or fails and exits.
        let (ready, lines) = tokio::task::spawn_blocking(move || (lines.next(), lines)).await.unwrap();
        let mut console = Console { child, lines };
        if !matches!(&ready, Some(Ok(l)) if l == "ready") {
            panic!("{ready:?}: {}", console.stderr());
        }
        console
    }

    /// What the console saw after its node died (the script's last line).
    async fn finish(mut self) -> serde_json::Value {
        let mut lines = self.lines;
        let (last, lines) = tokio::task::spawn_blocking(move || (lines.next(), lines)).await.unwrap();
        self.lines = lines;
        let Some(Ok(last)) = last else { panic!("{last:?}: {}", self.stderr()) };
        assert!(self.child.wait().unwrap().success());
        serde_json::from_str(&last).unwrap()
    }

    fn stderr(&mut self) -> String {
        let _ = self.child.wait();
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut s);
        s
    }
}

/// Which of `nodes` runs `team` now: the one whose team console answers 200 (the others
/// redirect there with 307). Fails when two nodes send the team's requests to each other.
async fn runner(nodes: &[&Node], team: &str, token: &str) -> Option<usize> {
    let path = format!("/api/teams/{team}/state");
    let mut answers = Vec::with_capacity(nodes.len());
    for n in nodes {
        answers.push(answer(nodes, n.http, &path, token).await);
    }
    for (i, (_, to)) in answers.iter().enumerate() {
        if let Some(j) = *to {
            assert_ne!(answers[j].1, Some(i), "nodes {i} and {j} send team {team}'s requests to each other");
        }
    }
    answers.iter().rposition(|(status, _)| *status == Some(200))
}

/// How the node at `addr` answers a GET of `path`: its status, and which of `nodes` it
/// redirects to, if it does.
async fn answer(nodes: &[&Node], addr: SocketAddr, path: &str, token: &str) -> (Option<u16>, Option<usize>) {
    let Some((status, head, _)) = crate::drill::http_raw(addr, "GET", path, Some(token), None).await else {
        return (None, None);
    };
    let to = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .and_then(|l| nodes.iter().position(|n| l.starts_with(&format!("http://{}/", n.http))));
    (Some(status), to)
}

/// Writes holding register 0 of team `k`'s `plc-t101` at `at` from the team's operator
/// station; whether the PLC acknowledged it.
async fn write_setpoint(k: usize, at: SocketAddr, value: u16) -> bool {
    let hmi = icsdrill::drill::in_team_net(IpAddr::from([127, 0, 0, 77]), k);
    let Some(mut c) = crate::modbus::Client::connect_from(hmi, at).await else { return false };
    let [hi, lo] = value.to_be_bytes();
    c.pdu(1, &[0x06, 0, 0, hi, lo]).await.is_some_and(|r| r == [0x06, 0, 0, hi, lo])
}

async fn read_setpoint(k: usize, at: SocketAddr) -> Option<u16> {
    let hmi = icsdrill::drill::in_team_net(IpAddr::from([127, 0, 0, 77]), k);
    let mut c = crate::modbus::Client::connect_from(hmi, at).await?;
    let r = c.pdu(1, &[0x03, 0, 0, 0, 1]).await?;
    (r.len() == 4 && r[0] == 0x03).then(|| u16::from_be_bytes([r[2], r[3]]))
}

/// `plc-t101`'s address in a team console's state.
fn t101(state: &str) -> SocketAddr {
    let v: serde_json::Value = serde_json::from_str(state).unwrap();
    let e = v["endpoints"].as_array().unwrap().iter().find(|e| e["plc"] == "plc-t101").unwrap();
    SocketAddr::new(e["address"].as_str().unwrap().parse().unwrap(), e["port"].as_u64().unwrap() as u16)
}

/// Bounded wait for `ok`, polling.
async fn until<F: std::future::Future<Output = bool>>(
    what: &str,
    within: Duration,
    mut ok: impl FnMut() -> F,
) {
    let deadline = Instant::now() + within;
    while !ok().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_over_three_nodes_survives_the_loss_of_one() {
    let Some(db) = postgres() else { return };
    let id = format!("cl{}", &icsdrill::drill::new_token()[..10]);
    let teams: Vec<String> = (0..30).map(|i| format!("t{i:02}")).collect();
    let dir = std::env::temp_dir().join(format!("icsdrill-cluster-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    // The same drill for every node; endpoints from one base port (a team's endpoints are at
    // the same place whichever node runs it), each web view on a port of its own. Plant time
    // runs at a fifth of real time: three processes of 30 ranges in all share two cores with
    // the other tests.
    let base = 22_000 + (std::process::id() % 50) as u16 * 150;
    let args = node_args(&db, &id, &teams.join(","), base, &["--tick-hz", "2"]);
    let a = start_node("a", &args, &dir);
    // Alone, node a runs every team; its last ones go when the others join (in the briefing,
    // a node hands back what is over its share, the last teams first). A console is open on
    // one of them.
    let last = teams.last().unwrap();
    until("node a runs every team", Duration::from_secs(30), || async {
        runner(&[&a], last, &a.tokens[last]).await == Some(0)
    })
    .await;
    let handed =
        Console::open(&format!("http://{}/team/{last}?token={}", a.http, a.tokens[last]), false).await;
    let b = start_node("b", &args, &dir);
    let mut c = start_node("c", &args, &dir);
    assert_eq!(a.tokens, c.tokens, "every node serves the drill with the same tokens");
    assert_eq!(a.tokens.len(), 30);
    // The teams are shared out: ten each, every one served by exactly one node.
    let nodes = [&a, &b, &c];
    until("ten teams on each node", Duration::from_secs(30), || async {
        let mut count = [0; 3];
        for t in &teams {
            match runner(&nodes, t, &a.tokens[t]).await {
                Some(i) => count[i] += 1,
                None => return false,
            }
        }
        count == [10, 10, 10]
    })
    .await;
    // The console open on node a followed its team to the node that took it.
    let moved = handed.finish().await;
    let now = runner(&nodes, last, &a.tokens[last]).await.unwrap();
    assert_ne!(now, 0, "the last team moved off node a");
    assert_eq!(moved["to"], nodes[now].http.to_string(), "{moved}");
    assert_eq!(moved["path"], format!("/team/{last}"), "{moved}");
    // Another node's team is redirected to its own node.
    let on_c: Vec<&String> = {
        let mut v = Vec::new();
        for t in &teams {
            if runner(&nodes, t, &a.tokens[t]).await == Some(2) {
                v.push(t);
            }
        }
        v
    };
    let (s, _) =
        http(a.http, "GET", &format!("/api/teams/{}/state", on_c[0]), Some(&a.tokens[on_c[0]]), None).await;
    assert_eq!(s, 307, "a team another node runs is redirected there");
    // The white cell starts the drill on node a; every node hears of it.
    let (s, body) =
        http(a.http, "POST", "/api/drill/control", Some(&a.instructor), Some(r#"{"action":"start"}"#)).await;
    assert_eq!(s, 200, "{body}");
    for n in &nodes {
        until("the phase reaches every node", Duration::from_secs(5), || async {
            http(n.http, "GET", "/api/drill", Some(&n.instructor), None).await.1.contains(r#""phase":"live""#)
        })
        .await;
    }
    // Node a's instructor view shows its own ten teams and where the other twenty run.
    let (_, overview) = http(a.http, "GET", "/api/instructor/overview", Some(&a.instructor), None).await;
    let overview: serde_json::Value = serde_json::from_str(&overview).unwrap();
    assert_eq!(overview["teams"].as_array().unwrap().len(), 10);
    assert_eq!(overview["elsewhere"].as_array().unwrap().len(), 20, "{overview}");
    // With their hints, texts included, none taken yet: the white cell reveals from here.
    for e in overview["elsewhere"].as_array().unwrap() {
        let hints = e["hints"].as_array().unwrap();
        assert!(
            !hints.is_empty() && hints.iter().all(|h| h["taken"] == false && h["text"].is_object()),
            "{e}"
        );
    }
    // An inject sent on node a to a team node b runs is queued there and applied by node b.
    let on_b = teams
        .iter()
        .find(|t| {
            overview["elsewhere"].as_array().unwrap().iter().any(|e| e["id"] == **t && e["node"] == "b")
        })
        .unwrap();
    let inject =
        serde_json::json!({"channel": "message", "text": "call the shift lead", "teams": [on_b]}).to_string();
    let (s, body) = http(a.http, "POST", "/api/drill/injects", Some(&a.instructor), Some(&inject)).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains(r#""queued":"b""#), "{body}");
    until("node b applies the queued inject", Duration::from_secs(5), || async {
        http(b.http, "GET", &format!("/api/teams/{on_b}/state"), Some(&b.tokens[on_b]), None)
            .await
            .1
            .contains("call the shift lead")
    })
    .await;
    // So is a hint the white cell reveals on node a for that team.
    let (_, state) =
        http(b.http, "GET", &format!("/api/teams/{on_b}/state"), Some(&b.tokens[on_b]), None).await;
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let hint = state["hints"][0]["id"].as_str().unwrap().to_string();
    let body = serde_json::json!({ "hint": hint }).to_string();
    let (s, answer) =
        http(a.http, "POST", &format!("/api/teams/{on_b}/hints"), Some(&a.instructor), Some(&body)).await;
    assert_eq!(s, 200, "{answer}");
    assert!(answer.contains(r#""queued":"b""#), "{answer}");
    until("node b reveals the queued hint", Duration::from_secs(5), || async {
        let (_, state) =
            http(b.http, "GET", &format!("/api/teams/{on_b}/state"), Some(&b.tokens[on_b]), None).await;
        let state: serde_json::Value = serde_json::from_str(&state).unwrap();
        state["hints"].as_array().unwrap().iter().any(|h| h["id"] == hint && h["taken"] == true)
    })
    .await;
    // Node a's white cell sees it taken, from the card node b records.
    until("node a shows the hint taken on node b's team", Duration::from_secs(10), || async {
        let (_, overview) = http(a.http, "GET", "/api/instructor/overview", Some(&a.instructor), None).await;
        let overview: serde_json::Value = serde_json::from_str(&overview).unwrap();
        let away = overview["elsewhere"].as_array().unwrap().iter().find(|e| e["id"] == **on_b).cloned();
        let hints = away.map(|e| e["hints"].clone()).unwrap_or_default();
        hints.as_array().is_some_and(|h| h.iter().any(|h| h["id"] == hint && h["taken"] == true))
    })
    .await;
    // In a browser on node a: node b's team lists its hints under node b's name, the one taken
    // without a button; another revealed from the page is queued for node b, applied there, and
    // then shown taken here.
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    std::fs::create_dir_all(&out).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/instructor_nodes.py");
    let args =
        [script, &format!("http://{}", a.http), &a.instructor, on_b, &hint, &out.display().to_string()];
    let o = crate::clients::run("python3", args.iter().map(ToString::to_string).collect()).await;
    assert!(o.status.success(), "{}", crate::clients::text(&o));
    let seen: serde_json::Value =
        serde_json::from_str(crate::clients::text(&o).lines().last().unwrap()).unwrap();
    assert!(seen["heading"].as_str().unwrap().contains("(node b)"), "{seen}");
    assert_eq!(seen["taken_button"], 0, "{seen}");
    assert_ne!(seen["revealed"], hint.as_str(), "{seen}");
    assert!(seen["toast"].as_str().unwrap().contains("→ node b"), "{seen}");
    let (_, state) =
        http(b.http, "GET", &format!("/api/teams/{on_b}/state"), Some(&b.tokens[on_b]), None).await;
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert!(
        state["hints"].as_array().unwrap().iter().any(|h| h["id"] == seen["revealed"] && h["taken"] == true)
    );
    // On node c's teams: a Modbus write and a defender action, each acknowledged.
    let mut endpoints = BTreeMap::new();
    for t in &on_c {
        let k = teams.iter().position(|x| x == *t).unwrap();
        let (s, state) =
            http(c.http, "GET", &format!("/api/teams/{t}/state"), Some(&c.tokens[*t]), None).await;
        assert_eq!(s, 200, "{state}");
        let at = t101(&state);
        assert!(write_setpoint(k, at, 450).await, "{t}: the write is acknowledged");
        let action = r#"{"kind":"notify","to":"duty_officer","text":"set point changed"}"#;
        let (s, body) =
            http(c.http, "POST", &format!("/api/teams/{t}/actions"), Some(&c.tokens[*t]), Some(action)).await;
        assert_eq!(s, 200, "{body}");
        endpoints.insert(t.to_string(), (k, at));
    }
    // A trainee has node c's console of one of its teams open in a browser; the console
    // knows the drill's other nodes.
    let watched = on_c[0];
    let (_, state) =
        http(c.http, "GET", &format!("/api/teams/{watched}/state"), Some(&c.tokens[watched]), None).await;
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let mut others: Vec<String> = [&a, &b].iter().map(|n| format!("http://{}", n.http)).collect();
    others.sort();
    assert_eq!(state["nodes"], serde_json::json!(others), "{state}");
    let console =
        Console::open(&format!("http://{}/team/{watched}?token={}", c.http, c.tokens[watched]), true).await;
    // Node c dies.
    c.served.kill().unwrap();
    c.served.wait().unwrap();
    let killed = Instant::now();
    let survivors = [&a, &b];
    // Within 10 s each of its teams is served again, at the same endpoints, with the write
    // in place; node a's board shows all 30 teams all along.
    for t in &on_c {
        let (k, at) = endpoints[t.as_str()];
        loop {
            let board = http(a.http, "GET", "/api/drill/standings", Some(&a.instructor), None).await.1;
            let rows: serde_json::Value = serde_json::from_str(&board).unwrap();
            assert_eq!(rows["rows"].as_array().unwrap().len(), 30, "the board shows every team throughout");
            if let Some(i) = runner(&survivors, t, &a.tokens[*t]).await {
                let n = survivors[i];
                let (_, state) =
                    http(n.http, "GET", &format!("/api/teams/{t}/state"), Some(&n.tokens[*t]), None).await;
                assert_eq!(t101(&state), at, "{t}: the same endpoint on its new node");
                assert_eq!(read_setpoint(k, at).await, Some(450), "{t}: the acknowledged write survived");
                let action = r#"{"kind":"notify","to":"duty_officer","text":"after the takeover"}"#;
                let (s, body) = http(
                    n.http,
                    "POST",
                    &format!("/api/teams/{t}/actions"),
                    Some(&n.tokens[*t]),
                    Some(action),
                )
                .await;
                assert_eq!(s, 200, "{body}");
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(10),
                "{t} not served again within 10 s of the kill"
            );
            tokio::task::yield_now().await;
        }
    }
    eprintln!("node c's teams were served again {:?} after the kill", killed.elapsed());
    // The open console found its team on the node that runs it now, and shows live values.
    let followed = console.finish().await;
    let runs = runner(&survivors, watched, &a.tokens[watched]).await.unwrap();
    assert_eq!(followed["to"], survivors[runs].http.to_string(), "{followed}");
    assert_eq!(followed["path"], format!("/team/{watched}"), "{followed}");
    assert!(followed["ticks"][1].as_u64() > followed["ticks"][0].as_u64(), "{followed}");
    // The survivors stop; the replay of the whole drill matches its records.
    for mut n in [a, b] {
        std::process::Command::new("kill").args(["-TERM", &n.served.id().to_string()]).status().unwrap();
        assert!(n.served.wait().unwrap().success());
    }
    for n in ["a", "b"] {
        let log = std::fs::read_to_string(dir.join(format!("{n}.log"))).unwrap();
        assert!(!log.contains("panicked"), "node {n}:\n{log}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["replay", &id, "--database", &db])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<&str> = text.lines().filter(|l| l.starts_with("team ")).collect();
    assert_eq!(verdicts.len(), 30, "{text}");
    assert!(verdicts.iter().all(|l| l.ends_with("identical")), "{text}");
    for t in &on_c {
        let line = verdicts.iter().find(|l| l.starts_with(&format!("team {t}:"))).unwrap();
        let inputs: usize = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(inputs >= 3, "{t}: the write and both actions are on record: {line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_lost_a_team_records_nothing_more_for_it_and_queued_inputs_are_bounded() {
    use icsdrill::store::cluster::ClusterStore;
    use icsdrill::store::{Batch, Database, DrillRecord, Recorder, TeamRecord};
    let Some(url) = postgres() else { return };
    let db = Database::Postgres(url.clone());
    let id = format!("fence{}", &icsdrill::drill::new_token()[..10]);
    let record = DrillRecord {
        id: id.clone(),
        name: "fence".into(),
        mode: icsdrill_drill::Mode::Regional,
        scenario_id: "petrochem-tank-farm".into(),
        scenario_hash: "h".into(),
        scenario_source: "src: 1\n".into(),
        seed: 1,
        live_attacker: false,
        phase: icsdrill_drill::Phase::Live,
        instructor_token: "i".into(),
        observer_token: "o".into(),
        options: "{}".into(),
        created_ms: 1_780_000_000_000,
    };
    let teams =
        ["x", "y"].map(|t| TeamRecord { id: t.into(), name: t.into(), token: format!("t{t}") }).to_vec();
    let (db2, id2) = (db.clone(), id.clone());
    let store = tokio::task::spawn_blocking(move || {
        let mut store = db2.open().unwrap();
        store.create_drill(&record, &teams).unwrap();
        // Node b took team x over; node a still holds y.
        assert!(ClusterStore::connect(&db2, &id2, "b").unwrap().claim("x", "").unwrap());
        assert!(ClusterStore::connect(&db2, &id2, "a").unwrap().claim("y", "").unwrap());
        store.fence("a").unwrap();
        store
    })
    .await
    .unwrap();
    let recorder = Recorder::start(store, id.clone(), vec!["x".into(), "y".into()]);
    let input = || icsdrill_engine::SimInput::Notify { to: "duty_officer".into(), text: "t".into() };
    for team in [0, 1] {
        recorder.record(Batch { team, tick: 5, inputs: vec![input()], events: Vec::new() });
    }
    recorder.score(0, 5, 1.0, "{}".into());
    recorder.score(1, 5, 2.0, "{}".into());
    // y's batch is acknowledged; x's never is (it is another node's now).
    let (x, mut y) = (recorder.durable(0), recorder.durable(1));
    tokio::time::timeout(Duration::from_secs(10), y.wait_for(|t| *t > 5)).await.unwrap().unwrap();
    tokio::task::spawn_blocking(move || recorder.finish()).await.unwrap();
    assert_eq!(*x.borrow(), 0, "x's input is never acknowledged here");
    let (db2, id2) = (db.clone(), id.clone());
    tokio::task::spawn_blocking(move || {
        // Inputs queued for another node's team are bounded.
        let mut c = ClusterStore::connect(&db2, &id2, "a").unwrap();
        let max = icsdrill::store::cluster::MAX_QUEUED_INPUTS;
        for _ in 0..max {
            c.post_input("x", "{}").unwrap();
        }
        let e = c.post_input("x", "{}").unwrap_err().to_string();
        assert!(e.contains(&format!("at most {max}")), "{e}");
        let queued = c.queued_inputs(&["x".to_string()]).unwrap();
        assert_eq!(queued.len() as i64, max);
        // Applied inputs leave the queue, and a node long gone that holds no lease is
        // forgotten at the next heartbeat: neither table grows with the drill's length.
        let mut raw = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let rows =
            |raw: &mut postgres::Client, sql: &str| -> i64 { raw.query_one(sql, &[&id2]).unwrap().get(0) };
        for (row, _, _) in &queued {
            c.applied(*row).unwrap();
        }
        assert_eq!(rows(&mut raw, "SELECT COUNT(*) FROM cluster_injects WHERE drill_id = $1"), 0);
        ClusterStore::connect(&db2, &id2, "ghost").unwrap().heartbeat("http://127.0.0.1:1", 0).unwrap();
        let stale = icsdrill::store::cluster::FORGET_MS + 1_000;
        raw.execute("UPDATE cluster_nodes SET seen_ms = seen_ms - $2 WHERE drill_id = $1", &[&id2, &stale])
            .unwrap();
        c.heartbeat("http://127.0.0.1:2", 0).unwrap();
        let nodes = "SELECT COUNT(*) FROM cluster_nodes WHERE drill_id = $1 AND node = 'ghost'";
        assert_eq!(rows(&mut raw, nodes), 0, "the ghost is forgotten");
        // A node that holds a lease is kept however long it was unseen (its lease says where
        // the team is until another node takes it).
        ClusterStore::connect(&db2, &id2, "b").unwrap().heartbeat("http://127.0.0.1:3", 0).unwrap();
        raw.execute(
            "UPDATE cluster_nodes SET seen_ms = seen_ms - $2 WHERE drill_id = $1 AND node = 'b'",
            &[&id2, &stale],
        )
        .unwrap();
        c.heartbeat("http://127.0.0.1:2", 0).unwrap();
        let b = "SELECT COUNT(*) FROM cluster_nodes WHERE drill_id = $1 AND node = 'b'";
        assert_eq!(rows(&mut raw, b), 1, "b holds x's lease");
        let store = db2.open().unwrap();
        assert_eq!(store.inputs(&id2, "y").unwrap().len(), 1);
        assert!(store.inputs(&id2, "x").unwrap().is_empty(), "nothing written for a team another node holds");
        assert!(store.score(&id2, "y").unwrap().is_some());
        assert!(store.score(&id2, "x").unwrap().is_none(), "nor its card");
    })
    .await
    .unwrap();
}

/// A node that runs none of the teams keeps the drill's clock by the other nodes' heartbeats,
/// not by the ticks of the cards they record: those are recorded as the true scores move, and
/// a clock that stood still between them would tell a blind drill's public board when a
/// team's true score moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_teams_keeps_the_drills_clock_while_no_card_is_recorded() {
    let Some(db) = postgres() else { return };
    let id = format!("clk{}", &icsdrill::drill::new_token()[..10]);
    let dir = std::env::temp_dir().join(format!("icsdrill-cluster-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let base = 27_000 + (std::process::id() % 50) as u16 * 20;
    let args = node_args(&db, &id, "solo", base, &[]);
    let a = start_node("a", &args, &dir);
    until("node a runs the team", Duration::from_secs(30), || async {
        runner(&[&a], "solo", &a.tokens["solo"]).await == Some(0)
    })
    .await;
    let b = start_node("b", &args, &dir);
    let (s, body) =
        http(a.http, "POST", "/api/drill/control", Some(&a.instructor), Some(r#"{"action":"start"}"#)).await;
    assert_eq!(s, 200, "{body}");
    // The team is idle and its plant runs normally: its true card does not move for a while
    // (the attack's first step comes at 30 s), so no card is recorded.
    let card_tick = || {
        let (db, id) = (icsdrill::store::Database::Postgres(db.clone()), id.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                let card = db.open().unwrap().score(&id, "solo").unwrap();
                card.and_then(|(_, c)| serde_json::from_str::<serde_json::Value>(&c).ok()?["tick"].as_u64())
            })
            .await
            .unwrap()
        }
    };
    let at_s = |n: &Node| {
        let (addr, token) = (n.http, n.instructor.clone());
        async move {
            let (_, body) = http(addr, "GET", "/api/drill", Some(&token), None).await;
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            v["at_s"].as_f64()
        }
    };
    until("node b's clock runs past the team's last recorded card", Duration::from_secs(30), || async {
        // No card recorded yet stands for the start.
        let card = card_tick().await.unwrap_or(0);
        let Some(b_at) = at_s(&b).await else { return false };
        // Ten ticks a second (the scenario's rate).
        b_at > 3.0 && b_at * 10.0 > card as f64 + 20.0
    })
    .await;
    // And it keeps within a few lease renewals of the node that runs the team.
    let (a_at, b_at) = (at_s(&a).await.unwrap(), at_s(&b).await.unwrap());
    assert!(b_at <= a_at + 0.5 && b_at > a_at - 5.0, "node a at {a_at} s, node b at {b_at} s");
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}
