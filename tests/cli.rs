//! The `icsdrill` binary, run as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::util::{builtin, run};

fn icsdrill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_icsdrill")).args(args).output().expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn scenarios_list_prints_one_line_per_builtin_id_first() {
    let o = icsdrill(&["scenarios", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let ids: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    let expected: Vec<&str> = icsdrill_scenarios::LIBRARY.iter().map(|b| b.id).collect();
    assert_eq!(ids, expected);
}

#[test]
fn scenarios_show_describes_the_plant_in_both_languages() {
    let en = icsdrill(&["scenarios", "show", "petrochem-tank-farm"]);
    assert!(en.status.success(), "{}", stderr(&en));
    let en = stdout(&en);
    assert!(en.contains("PLC plc-t101") && en.contains("hr       1  t101_sp_high"), "{en}");
    let zh = stdout(&icsdrill(&["scenarios", "show", "petrochem-tank-farm", "--lang", "zh"]));
    assert!(zh.contains("储罐区与进料反应器") && zh.contains("进油停止液位"), "{zh}");
    // A PLC's IEC 104 station: each object, what it reports, the command it takes.
    let power = stdout(&icsdrill(&["scenarios", "show", "power-industroyer-substation"]));
    assert!(power.contains("IEC 104 station, common address 1:"), "{power}");
    assert!(power.contains("ioa     2001  qf1_close          M_DP     C_DC_NA_1 (1 off, 2 on)"), "{power}");
    assert!(!en.contains("IEC 104 station"), "the tank farm has none");
    let missing = icsdrill(&["scenarios", "show", "no-such-plant"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no built-in scenario or file named `no-such-plant`"));
}

#[test]
fn scenarios_validate_locates_errors_and_exits_1() {
    let dir = scratch("validate");
    let good = dir.join("good.yaml");
    std::fs::write(&good, icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().source).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "id: x\nmeta:\n  industry: petrochemical\n  level: 3\n  title: t\n  brief: b\n  colour: red\n",
    )
    .unwrap();
    let ok = icsdrill(&["scenarios", "validate", good.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).starts_with("ok "));
    let o = icsdrill(&["scenarios", "validate", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}:7:3: unknown field `colour`", bad.display())), "{err}");
}

#[test]
fn simulate_writes_the_same_log_as_the_library() {
    let dir = scratch("simulate");
    let events = dir.join("events.jsonl");
    let inputs = dir.join("inputs.jsonl");
    std::fs::write(
        &inputs,
        "# a bad set point from the engineering workstation\n\
         {\"tick\": 100, \"kind\": \"write_registers\", \"plc\": \"plc-t101\", \"source\": \"ews-01\", \"addr\": 1, \"values\": [1200]}\n",
    )
    .unwrap();
    let o = icsdrill(&[
        "simulate",
        "petrochem-tank-farm",
        "--no-attack",
        "--seed",
        "9",
        "--duration",
        "1800",
        "--inputs",
        inputs.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = stdout(&o);
    assert!(summary.contains("ticks      18000") && summary.contains("trip    il-101"), "{summary}");
    let log = std::fs::read_to_string(&events).unwrap();
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["tick"].is_u64() && v["kind"].is_string(), "{line}");
    }
    let parsed =
        icsdrill_engine::parse_inputs("inputs.jsonl", &std::fs::read_to_string(&inputs).unwrap()).unwrap();
    let sim = run(&std::sync::Arc::new(builtin("petrochem-tank-farm").without_attack()), 9, 1800.0, &parsed);
    assert_eq!(log, sim.events_jsonl(), "the CLI and the library disagree");
    assert!(!dir.join("events.jsonl.tmp").exists());
}

#[test]
fn simulate_reports_bad_inputs_with_their_line() {
    let dir = scratch("bad-inputs");
    let inputs = dir.join("inputs.jsonl");
    std::fs::write(&inputs, "{\"tick\": 5, \"kind\": \"set_mode\", \"plc\": \"plc-t101\", \"mode\": \"run\"}\n{\"tick\": 1, \"kind\": \"launch_missiles\"}\n").unwrap();
    let o = icsdrill(&[
        "simulate",
        "petrochem-tank-farm",
        "--duration",
        "10",
        "--inputs",
        inputs.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("inputs.jsonl:2: unknown variant `launch_missiles`"), "{}", stderr(&o));
    let o = icsdrill(&["simulate", "petrochem-tank-farm", "--duration=-3"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn no_arguments_serves_the_default_scenario_until_stopped() {
    let data = std::env::temp_dir().join(format!("icsdrill-noargs-{}", std::process::id()));
    let (mut child, seen, lines) = crate::util::spawn_served(&[], Some(&data));
    let table = seen.join("\n");
    assert!(table.contains(&format!("serving {}", icsdrill_scenarios::DEFAULT)), "{table}");
    assert!(
        table.contains("plc-t101") && table.contains("5020") && table.contains("http://127.0.0.1:8020/"),
        "{table}"
    );
    // SIGTERM stops it gracefully, with a summary.
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(child.wait().unwrap().success());
    assert!(rest.iter().any(|l| l.starts_with("icsdrill: stopped at tick")), "{rest:?}");
}

#[test]
fn serve_with_teams_prints_login_urls_and_endpoint_tables() {
    use std::io::{Read, Write};
    let data = std::env::temp_dir().join(format!("icsdrill-teams-{}", std::process::id()));
    let args = [
        "--log-format",
        "json",
        "serve",
        "--teams",
        "red:pro,blue:student",
        "--mode",
        "contest",
        "--live-scores",
        "--modbus-port",
        "0",
        "--http-port",
        "0",
    ];
    let log = std::env::temp_dir().join(format!("icsdrill-teams-{}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).unwrap();
    let (mut child, seen, lines) = crate::util::spawn_served_with(&args, Some(&data), |cmd| {
        cmd.env("RUST_LOG", "icsdrill=info,icsdrill_web=debug").stderr(log_file);
    });
    let out = seen.join("\n");
    assert!(out.contains("as a contest drill with 2 team(s)"), "{out}");
    assert!(out.contains("Phase: briefing"), "{out}");
    // Each team's bracket beside its name, for handing out the logins.
    // (The name only where it is not the id: "Team red (red, ...)" said it twice.)
    assert!(out.contains("Team red (bracket pro / 组别 pro) console"), "{out}");
    // Teams kept apart by loopback addresses only: the white cell is told what that takes.
    assert!(out.contains("any process on this host can bind another team's"), "{out}");
    // And which clients can come from a team's address (mbpoll cannot: refused, unexplained).
    assert!(out.contains("mbpoll cannot bind one") && out.contains("mbpoll 无法指定源地址"), "{out}");
    let url = |prefix: &str| -> String {
        let line =
            seen.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no `{prefix}` in\n{out}"));
        line.split_whitespace().last().unwrap().to_string()
    };
    let instructor = url("Instructor");
    let red = url("Team red");
    assert!(url("Team blue").contains("/team/blue?token="), "{out}");
    assert!(url("Scoreboard").contains("/?token="), "{out}");
    // Each team has its own endpoint table: 4 PLCs each, 8 distinct ports.
    let ports: std::collections::BTreeSet<&str> = seen
        .iter()
        .filter(|l| l.trim_start().starts_with("plc-") || l.trim_start().starts_with("sis-"))
        .map(|l| l.split_whitespace().nth(3).unwrap())
        .collect();
    assert_eq!(ports.len(), 8, "{out}");
    // The printed instructor token works as a bearer token on the API.
    let (host, token) = instructor.trim_start_matches("http://").split_once("/instructor?token=").unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET /api/drill HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("\"mode\":\"contest\""), "{answer}");
    // A contest is blind unless `--live-scores`: then teams see their true scores.
    assert!(answer.contains("\"blind\":false"), "{answer}");
    assert!(
        red.contains("/team/red?token=") && !red.contains(token),
        "teams and instructor have different tokens"
    );
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(child.wait().unwrap().success());
    assert!(rest.iter().any(|l| l.contains("team red: score")), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("team blue: score")), "{rest:?}");
    // `--log-format json`: one JSON object per line; the request's line carries its span
    // (id, method, route pattern, status, latency).
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> =
        logged.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let served = lines
        .iter()
        .find(|v| v["fields"]["message"] == "served" && v["span"]["route"] == "/api/drill")
        .unwrap_or_else(|| panic!("no request line in\n{logged}"));
    assert_eq!(served["span"]["method"], "GET", "{served}");
    assert_eq!(served["span"]["status"], 200, "{served}");
    assert!(served["span"]["ms"].is_number() && served["span"]["id"].is_string(), "{served}");
    let _ = std::fs::remove_file(&log);
}

/// The command list speaks both languages: every command says what it does in Chinese too
/// (white cells and officials read it), and the help says where each command's options are.
#[test]
fn the_help_lists_every_command_in_both_languages() {
    let o = icsdrill(&["--help"]);
    assert!(o.status.success());
    let help = stdout(&o);
    let cjk = |l: &str| l.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    assert!(cjk(help.lines().next().unwrap_or_default()), "{help}");
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.trim_start().starts_with("help "))
        .collect();
    assert!(commands.len() >= 13, "{help}");
    for line in &commands {
        assert!(cjk(line), "no Chinese for `{}`", line.trim());
    }
    assert!(help.contains("icsdrill 命令 --help"), "{help}");
}

/// Every command's and subcommand's options, arguments and subcommands say in Chinese too what
/// they are, down the whole command tree (`-h` of each).
#[test]
fn every_option_of_every_command_is_in_both_languages() {
    let cjk = |l: &str| l.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let (mut commands, mut options) = (0, 0);
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("-h");
        let o = icsdrill(&args);
        assert!(o.status.success(), "{args:?}");
        let help = stdout(&o);
        // Entries: a line indented by two to six spaces opens one, deeper lines continue it.
        let mut section = "";
        let mut entries: Vec<(String, String)> = Vec::new();
        for line in help.lines() {
            if !line.starts_with(' ') && line.ends_with(':') {
                section = line;
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if (2..=6).contains(&indent) {
                entries.push((section.to_string(), line.to_string()));
            } else if indent > 6
                && let Some(last) = entries.last_mut()
            {
                last.1.push_str(line);
            }
        }
        for (section, entry) in entries {
            let name = entry.split_whitespace().next().unwrap_or_default().to_string();
            if ["-h,", "-V,", "help"].contains(&name.as_str()) {
                continue;
            }
            assert!(
                cjk(&entry),
                "`icsdrill {} -h`, {section} no Chinese for `{}`",
                path.join(" "),
                entry.trim()
            );
            if section == "Commands:" {
                commands += 1;
                todo.push(path.iter().cloned().chain([name]).collect());
            } else {
                options += 1;
            }
        }
    }
    assert!(commands >= 35 && options >= 140, "{commands} commands, {options} options");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["scenarios", "synthetic", "3000"]) // megabytes: more than a pipe holds
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    drop(out);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && !err.contains("panicked"), "{:?}: {err}", o.status);
}

/// A drill whose time runs out ends for everyone before its server closes: the last board
/// and the last team view its pages were sent say "ended" (the page then keeps them as
/// final rather than reporting a lost connection).
#[test]
fn a_drill_whose_time_runs_out_shows_its_pages_the_end_before_closing() {
    use std::io::{Read, Write};
    let data = scratch("time-runs-out");
    // 30 simulated seconds at 10x: about 3 s.
    let args = [
        "serve",
        "--teams",
        "a",
        "--modbus-port",
        "0",
        "--http-port",
        "0",
        "--tick-hz",
        "100",
        "--duration",
        "30",
    ];
    let (child, seen, lines) = crate::util::spawn_served(&[&args[..], &["--start"]].concat(), Some(&data));
    let url = |prefix: &str| -> (String, String) {
        let line = seen.iter().find_map(|l| l.split_once(prefix)).map(|(_, u)| u.trim()).expect(prefix);
        let rest = line.strip_prefix("http://").unwrap();
        let (addr, query) = rest.split_once('/').unwrap();
        (addr.to_string(), query.split_once("token=").unwrap().1.to_string())
    };
    let (addr, observer) = url("Scoreboard (observers / 观察员):");
    let (_, team) = url("console / 队伍控制台:");
    // The banner says which host the team's client acts as, and the addresses that act as
    // the plant's other hosts.
    let acts = seen.iter().find(|l| l.contains(" acts as ")).expect("the acts-as line");
    assert!(acts.contains("acts as ews-01 / 客户端代表主机 ews-01"), "{acts}");
    assert!(acts.contains("hmi-01 127.0.0.102"), "{acts}");
    // Each stream read to its end (the server closing it), within a bound.
    let follow = |path: &'static str, token: String, addr: String| {
        std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
            write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n").unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).expect("the stream ends within the bound");
            let text = String::from_utf8_lossy(&all).into_owned();
            let last = text
                .split("\n\n")
                .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
                .last()
                .map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap());
            last.map(|v| v["phase"].as_str().unwrap_or_default().to_string())
        })
    };
    let board = follow("/api/scoreboard/stream", observer, addr.clone());
    let console = follow("/api/teams/a/stream", team, addr);
    assert_eq!(board.join().unwrap().as_deref(), Some("ended"), "the board's last word");
    assert_eq!(console.join().unwrap().as_deref(), Some("ended"), "the console's last word");
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(rest.iter().any(|l| l.starts_with("icsdrill: stopped at tick")), "{rest:?}");
    drop(child);
    // On record as ended: nothing to resume.
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["drills"])
        .env("ICSDRILL_DATA", &data)
        .output()
        .unwrap();
    assert_eq!(stdout(&o).split_whitespace().nth(2), Some("ended"), "{}", stdout(&o));
    // And when, in Beijing time (an official could not tell one year's drill from the next).
    let started = stdout(&o).split("started ").nth(1).map(|r| r[..16].to_string()).unwrap_or_default();
    assert!(
        started.starts_with("20") && started.as_bytes()[10] == b' ' && started.as_bytes()[13] == b':',
        "{}",
        stdout(&o)
    );
}

/// A drill file's scenario and seed are the ones the drill runs, records and logs (the log
/// line's span said the flag's seed, 1, when the file set another).
#[test]
fn a_drill_files_seed_is_the_one_run_recorded_and_logged() {
    let data = scratch("drill-file-seed");
    let file = data.join("drill.yaml");
    std::fs::write(&file, "scenario: petrochem-tank-farm\nseed: 4242\nteams:\n  - { id: a }\n").unwrap();
    let data_dir = data.join("data");
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["--log-format", "json", "serve", "--drill", file.to_str().unwrap()])
        .args(["--data-dir", data_dir.to_str().unwrap(), "--modbus-port", "0", "--http-port", "0"])
        .args(["--tick-hz", "100", "--duration", "5", "--start"])
        .env("RUST_LOG", "icsdrill=info")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let spans: Vec<serde_json::Value> = stderr(&o)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["span"]["name"] == "serve")
        .map(|v| v["span"].clone())
        .collect();
    assert!(!spans.is_empty(), "{}", stderr(&o));
    assert!(spans.iter().all(|s| s["seed"] == 4242 && s["scenario"] == "petrochem-tank-farm"), "{spans:?}");
    let listed = icsdrill(&["drills", "--data-dir", data_dir.to_str().unwrap()]);
    assert!(stdout(&listed).contains("seed 4242"), "{}", stdout(&listed));
}

/// A contest whose time runs out closes its server: its final standings are printed with the
/// summary (ranks, brackets, when each total settled), since the pages that had them close.
#[test]
fn a_contest_whose_time_runs_out_prints_its_final_standings() {
    let data = scratch("contest-standings");
    let o = icsdrill(&[
        "serve",
        "--teams",
        "red:pro,blue:student",
        "--mode",
        "contest",
        "--live-scores",
        "--no-attack",
        "--duration",
        "5",
        "--tick-hz",
        "100",
        "--start",
        "--modbus-port",
        "0",
        "--http-port",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let table: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("final standings (ended):")).collect();
    assert_eq!(table.len(), 3, "{out}");
    // And how to bring its pages back (the final board was only in the terminal).
    let id =
        out.split("`icsdrill serve --resume ").nth(1).and_then(|r| r.split('`').next()).unwrap_or_default();
    assert!(id.len() == 8 && out.contains("brings its pages back"), "{out}");
    // Nothing happened: equal totals, ranked by when they settled (both at the start).
    assert!(table[1].starts_with("    1. ") && table[2].starts_with("    1. "), "{out}");
    assert!(
        table.iter().any(|l| l.contains("red (pro: 1)"))
            && table.iter().any(|l| l.contains("blue (student: 1)")),
        "{out}"
    );
    assert!(table[1].contains(", settled at 0.0 s"), "{out}");
    // Its findings go on no register, and `findings` says why (it printed nothing).
    let drills = stdout(&icsdrill(&["drills", "--data-dir", data.to_str().unwrap()]));
    let id = drills.split_whitespace().next().expect("a drill id").to_string();
    let o = icsdrill(&["findings", &id, "--data-dir", data.to_str().unwrap()]);
    assert!(o.status.success() && stdout(&o).contains("its teams are not enterprises"), "{}", stdout(&o));
}

/// A drill's `--events` is a directory with a file a team: a file's name is refused in words
/// (it made a directory called `events.jsonl`).
#[test]
fn a_drills_events_option_names_a_directory() {
    let dir = std::env::temp_dir().join(format!("icsdrill-events-dir-{}", std::process::id()));
    let file = dir.join("events.jsonl");
    let o = icsdrill(&[
        "serve",
        "--teams",
        "a,b",
        "--events",
        file.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--http-port",
        "0",
        "--modbus-port",
        "0",
    ]);
    assert!(!o.status.success() && stderr(&o).contains("give a directory"), "{}", stderr(&o));
    assert!(!file.exists(), "no directory named after a file");
    let _ = std::fs::remove_dir_all(&dir);
}
