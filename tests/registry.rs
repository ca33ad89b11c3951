//! The enterprise registry: cadence by level across year boundaries and level changes,
//! all-or-nothing imports with located errors, CSV/xlsx round trips, roll-ups from enterprise
//! to prefecture to region, and prefecture users confined to their prefecture.

use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use icsdrill::governance::dates::parse;
use icsdrill::governance::registry::{
    self, Activity, CadenceRules, Enterprise, GradingRules, LevelChange, MajorChange, Registry,
};
use icsdrill::store::{DrillRecord, SqliteStore, Store, TeamRecord, TrackedFinding};
use tower::ServiceExt;

pub(crate) fn enterprise(id: &str, prefecture: &str, industry: &str, level: u8) -> Enterprise {
    Enterprise {
        id: id.into(),
        name: format!("{id} 有限公司"),
        prefecture: prefecture.into(),
        industry: industry.into(),
        class: "networked_industrial".into(),
        level,
        verified_by: if level == 3 { "region" } else { "prefecture" }.into(),
        verified_on: "2024-01-10".parse().unwrap(),
        contact: String::new(),
        phone: String::new(),
        security_officer: String::new(),
        scenarios: vec![],
        installation_key: String::new(),
    }
}

fn drill_due(reg: &Registry, id: &str, today: &str) -> registry::Due {
    let e = reg.enterprises.iter().find(|e| e.id == id).unwrap();
    let due = registry::cadence(e, reg, &CadenceRules::defaults(), parse(today).unwrap());
    due.into_iter().find(|d| d.kind == "drill").unwrap()
}

/// Enterprise `enterprise`'s level changed on `date` `from` one level `to` another.
fn level_change(enterprise: &str, date: &str, (from, to): (u8, u8), reason: &str) -> LevelChange {
    LevelChange {
        enterprise: enterprise.into(),
        date: date.parse().unwrap(),
        from,
        to,
        reason: reason.into(),
    }
}

#[test]
fn cadence_by_level_across_year_boundaries_and_level_changes() {
    let mut reg = Registry {
        enterprises: vec![
            enterprise("l3", "karamay", "petrochemical", 3),
            enterprise("l2", "karamay", "petrochemical", 2),
        ],
        ..Registry::default()
    };
    // Both drilled 13 months before 2026-11-26.
    for id in ["l3", "l2"] {
        reg.activities.push(Activity {
            enterprise: id.into(),
            kind: "drill".into(),
            date: "2025-10-26".parse().unwrap(),
            reference: String::new(),
        });
    }
    let l3 = drill_due(&reg, "l3", "2026-11-26");
    assert!(l3.overdue && l3.binding, "level 3 drills yearly: {l3:?}");
    assert_eq!(l3.next_due, "2026-10-26");
    let l2 = drill_due(&reg, "l2", "2026-11-26");
    assert!(!l2.overdue, "level 2 drills every two years: {l2:?}");
    assert_eq!(l2.next_due, "2027-10-26");

    // Across a year boundary: a December drill is due the next December, to the day.
    reg.activities.push(Activity {
        enterprise: "l3".into(),
        kind: "drill".into(),
        date: "2025-12-31".parse().unwrap(),
        reference: String::new(),
    });
    assert!(!drill_due(&reg, "l3", "2026-12-31").overdue);
    assert!(drill_due(&reg, "l3", "2027-01-01").overdue);
    // Level 1 follows level 2 as guidance, not as an obligation.
    reg.enterprises.push(enterprise("l1", "hami", "steel", 1));
    let l1 = drill_due(&reg, "l1", "2026-11-26");
    assert!(!l1.binding && l1.next_due == "2026-01-10" && l1.overdue, "{l1:?}");
    // Upgraded to level 3: the yearly cadence applies from the last drill.
    reg.enterprises[1].level = 3;
    reg.level_changes.push(level_change("l2", "2026-06-01", (2, 3), "upgrade"));
    assert!(drill_due(&reg, "l2", "2026-11-26").overdue);

    // A major change makes re-grading due within 30 working days, until a level change.
    reg.major_changes.push(MajorChange {
        enterprise: "l1".into(),
        date: "2026-12-18".parse().unwrap(),
        note: "new DCS".into(),
    });
    let e = reg.enterprises.iter().find(|e| e.id == "l1").unwrap().clone();
    let regrade = |reg: &Registry, today: &str| {
        registry::cadence(&e, reg, &CadenceRules::defaults(), parse(today).unwrap())
            .into_iter()
            .find(|d| d.kind == "regrade")
    };
    // Registering the enterprise (from level 0) the same day re-grades nothing: registered
    // by an import and changed on one day, the change's re-grading was never due.
    reg.level_changes.push(level_change("l1", "2026-12-18", (0, 1), "registered"));
    let r = regrade(&reg, "2027-01-29").unwrap();
    assert_eq!(r.next_due, "2027-01-29", "30 working days from Friday 2026-12-18");
    assert!(!r.overdue);
    assert!(regrade(&reg, "2027-02-01").unwrap().overdue);
    reg.level_changes.push(level_change("l1", "2027-01-05", (1, 2), "re-graded"));
    assert!(regrade(&reg, "2027-02-01").is_none(), "re-graded: nothing due");
}

#[test]
fn self_grading_is_labelled_illustrative_and_respects_the_floor() {
    let rules = GradingRules::defaults();
    let g = rules.grade("petrochemical", "large", &[]).unwrap();
    assert_eq!(g.level, 2, "a large class-III enterprise is at least level 2: {g:?}");
    assert!(g.illustrative && g.notice.zh.contains("示意") && g.notice.en.contains("Illustrative"));
    let g = rules
        .grade("petrochemical", "large", &["remote_access".into(), "severe_consequence".into()])
        .unwrap();
    assert_eq!(g.level, 3);
    assert_eq!(rules.grade("consumer_goods", "small", &[]).unwrap().level, 1);
    assert!(rules.grade("petrochemical", "huge", &[]).is_err());
    assert!(rules.grade("petrochemical", "large", &["nope".into()]).is_err());
}

fn icsdrill(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_icsdrill")).args(args).arg("--data-dir").arg(dir).output().unwrap()
}

#[test]
fn imports_are_all_or_nothing_with_row_and_column_and_round_trip_csv_and_xlsx() {
    let dir = std::env::temp_dir().join(format!("icsdrill-registry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Text that looks like a number (a name `1e5`, a phone `+86...`) stays text both ways.
    let good = "id,name,prefecture,industry,class,level,verified_by,verified_on,scenarios,phone\n\
                dushanzi,独山子石化,karamay,petrochemical,networked_industrial,3,region,2025-03-01,petrochem-tank-farm,+8613900000000\n\
                zepu,泽普石化,喀什地区,petrochemical,networked_industrial,2,prefecture,2025-03-01,,09917654321\n\
                e5,1e5,hami,power,networked_industrial,1,prefecture,2025-03-01,,\n";
    std::fs::write(dir.join("good.csv"), good).unwrap();
    let o = icsdrill(
        &["registry", "import", dir.join("good.csv").to_str().unwrap(), "--date", "2025-03-01"],
        &dir,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let export = |dir: &std::path::Path| {
        String::from_utf8(icsdrill(&["registry", "export", "--format", "csv"], dir).stdout).unwrap()
    };
    let before = export(&dir);
    assert!(before.contains("zepu,泽普石化,kashgar"), "Chinese prefecture names map to codes:\n{before}");
    // A phone number with its `+` is text to a spreadsheet too (not 8.6E+12).
    assert!(before.contains(",'+8613900000000"), "{before}");

    let bad = "id,name,prefecture,industry,class,level,verified_by,verified_on\n\
               ok-1,好企业,hami,power,networked_industrial,2,prefecture,2025-01-01\n\
               x1,A,atlantis,steel,networked_industrial,4,region,2025-01-01\n\
               ok-1,重复,hami,steel,networked_industrial,2,prefecture,2025-01-01\n\
               y2,B,aksu,steel,networked_industrial,3,prefecture,2025-02-30\n";
    std::fs::write(dir.join("bad.csv"), bad).unwrap();
    let o = icsdrill(&["registry", "import", dir.join("bad.csv").to_str().unwrap()], &dir);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [
        "row 3, column prefecture: unknown prefecture `atlantis`",
        "row 3, column level: `4` is not a security level (1-3)",
        "row 4, column id: duplicate id `ok-1`",
        "row 5, column verified_by: a level 3 enterprise is verified by the region",
        "row 5, column verified_on: `2025-02-30` is not a valid date",
        "nothing imported",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in:\n{err}");
    }
    assert_eq!(
        export(&dir),
        before,
        "a rejected import leaves the registry unchanged (ok-1 was valid but not imported)"
    );

    // xlsx: export, wipe, import back: the same registry.
    let xlsx = dir.join("registry.xlsx");
    assert!(
        icsdrill(&["registry", "export", "--format", "xlsx", "--out", xlsx.to_str().unwrap()], &dir)
            .status
            .success()
    );
    let other = dir.join("other");
    let o = icsdrill(&["registry", "import", xlsx.to_str().unwrap(), "--date", "2025-03-01"], &other);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(export(&other), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An ended regional drill's record named `id`, created at the epoch, on the tank farm (its
/// report replays it).
pub(crate) fn drill_record(id: &str) -> DrillRecord {
    let source = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap().source;
    let hash = icsdrill_engine::Scenario::from_yaml("tank-farm.yaml", source).unwrap().source_hash;
    DrillRecord {
        id: id.into(),
        name: id.into(),
        mode: icsdrill_drill::Mode::Regional,
        scenario_id: "petrochem-tank-farm".into(),
        scenario_hash: hash,
        scenario_source: source.into(),
        seed: 1,
        live_attacker: false,
        phase: icsdrill_drill::Phase::Ended,
        instructor_token: "i".into(),
        observer_token: "o".into(),
        options: "{}".into(),
        created_ms: 0,
    }
}

/// Three enterprises in two prefectures with known drills and findings.
pub(crate) fn seeded_store(dir: &std::path::Path) -> SqliteStore {
    let _ = std::fs::remove_dir_all(dir);
    let mut store = SqliteStore::open(dir).unwrap();
    store
        .import_enterprises(
            &[
                enterprise("a", "karamay", "petrochemical", 3),
                enterprise("b", "karamay", "power", 2),
                enterprise("c", "kashgar", "petrochemical", 1),
            ],
            parse("2024-01-10").unwrap(),
        )
        .unwrap();
    let day_ms = |d: &str| parse(d).unwrap().unix_ms();
    for (id, date, teams) in
        [("d2025", "2025-06-01", vec!["a", "b"]), ("d2026", "2026-06-01", vec!["a", "c"])]
    {
        let record = DrillRecord { created_ms: day_ms(date), ..drill_record(id) };
        let teams: Vec<TeamRecord> = teams
            .iter()
            .map(|t| TeamRecord { id: (*t).into(), name: (*t).into(), token: format!("{id}-{t}") })
            .collect();
        store.create_drill(&record, &teams).unwrap();
        for t in &teams {
            // The stored card's monitoring alerts (c's card predates the count).
            let card = match (id, t.id.as_str()) {
                ("d2025", "a") => r#"{"alerts":3}"#,
                ("d2026", "a") => r#"{"alerts":12}"#,
                ("d2025", "b") => r#"{"alerts":5}"#,
                _ => "{}",
            };
            store.save_score(id, &t.id, 100, if t.id == "a" { 800.0 } else { 400.0 }, card).unwrap();
            store
                .add_activity(&Activity {
                    enterprise: t.id.clone(),
                    kind: "drill".into(),
                    date: parse(date).unwrap(),
                    reference: id.into(),
                })
                .unwrap();
        }
    }
    let finding = |ent: &str, id: &str, sev: &str, status: &str, first: &str, days: u32| {
        TrackedFinding {
        enterprise: ent.into(),
        id: id.into(),
        status: status.parse().unwrap(),
        severity: serde_json::from_value(serde_json::json!(sev)).unwrap(),
        first_drill: first.into(),
        last_drill: "d2026".into(),
        finding: {
            let mut v = serde_json::json!({"deadline_days": days, "title": {"en": format!("Hazard {id}"), "zh": format!("隐患 {id}")}});
            // One the team contained in the drill that found it (it stays open).
            if id == "path:x" {
                v["contained"] = serde_json::json!({"seq": 812, "at_s": 600.0, "how": {"en": "Engineering workstation isolated", "zh": "工程师站已隔离"}});
            }
            v.to_string()
        },
        // Found in its first drill; a verified one was verified by d2026.
        history: match status {
            "verified" => serde_json::json!([{"drill": first, "verdict": "new"}, {"drill": "d2026", "verdict": "verified"}]),
            _ => serde_json::json!([{"drill": first, "verdict": "new"}]),
        }
        .to_string(),
    }
    };
    store
        .track(
            "d2026",
            "a",
            &[
                finding("a", "path:x", "critical", "open", "d2025", 7),
                finding("a", "range:y", "high", "verified", "d2025", 30),
                finding("a", "alarm:z", "medium", "open", "d2026", 365),
            ],
        )
        .unwrap();
    store.track("d2025", "b", &[finding("b", "detect:q", "high", "open", "d2025", 30)]).unwrap();
    store.track("d2026", "c", &[finding("c", "plan:n", "low", "open", "d2026", 180)]).unwrap();
    store
}

#[test]
fn the_command_lines_cadence_counts_the_drills_on_record_as_the_regional_view_does() {
    // A level-3 enterprise's drill run here (or imported as a bundle) but never entered by
    // hand: `registry list` must not call its drill overdue.
    let dir = std::env::temp_dir().join(format!("icsdrill-cli-cadence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = SqliteStore::open(&dir).unwrap();
    store.import_enterprises(&[enterprise("z3", "hami", "power", 3)], parse("2024-01-10").unwrap()).unwrap();
    // The drill's own line of what is due: `drill DATE OVERDUE` or not.
    let overdue = || {
        let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
            .args(["registry", "list", "--today", "2026-11-26", "--data-dir", dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let line = out.lines().find(|l| l.starts_with("z3")).unwrap_or_else(|| panic!("{out}")).to_string();
        line.split(';').any(|due| due.contains("drill ") && due.contains("OVERDUE"))
    };
    assert!(overdue(), "no drill yet");
    let record = DrillRecord { created_ms: parse("2026-10-01").unwrap().unix_ms(), ..drill_record("dz3") };
    let team = TeamRecord { id: "z3".into(), name: "z3".into(), token: "t".into() };
    store.create_drill(&record, &[team]).unwrap();
    assert!(!overdue(), "drilled on 2026-10-01");
    // A level-1 enterprise's obligations are guidance: overdue, but never OVERDUE.
    store.import_enterprises(&[enterprise("z1", "hami", "power", 1)], parse("2024-01-10").unwrap()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["registry", "list", "--today", "2026-11-26", "--data-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let z1 = out.lines().find(|l| l.starts_with("z1")).unwrap_or_else(|| panic!("{out}"));
    assert!(!z1.contains("OVERDUE") && z1.contains("overdue, not binding"), "{z1}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_authority_adopts_once_in_every_calendar_year_and_the_list_and_the_roll_up_follow_it() {
    let dir = std::env::temp_dir().join(format!("icsdrill-calendar-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = SqliteStore::open(&dir).unwrap();
    store.import_enterprises(&[enterprise("z3", "hami", "power", 3)], parse("2024-01-10").unwrap()).unwrap();
    let drill = |date: &str| icsdrill::governance::registry::Activity {
        enterprise: "z3".into(),
        kind: "drill".into(),
        date: parse(date).unwrap(),
        reference: String::new(),
    };
    store.add_activity(&drill("2025-03-01")).unwrap();
    let cli = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
            .args(args)
            .args(["--data-dir", dir.to_str().unwrap()])
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (o.status.success(), text(&o.stdout), text(&o.stderr))
    };
    // The drill's own entry of what is due, as `registry list` shows it.
    let drill_due = || {
        let (ok, out, err) = cli(&["registry", "list", "--today", "2026-11-26"]);
        assert!(ok, "{err}");
        let line = out.lines().find(|l| l.starts_with("z3")).unwrap_or_else(|| panic!("{out}")).to_string();
        let at = line.find("drill ").unwrap_or_else(|| panic!("{line}"));
        line[at..].split(';').next().unwrap().trim().to_string()
    };
    let roll_up_drill = |store: &SqliteStore| {
        let r = icsdrill::governance::region::rollup_from(store, parse("2026-11-26").unwrap(), None).unwrap();
        let due = r.enterprises[0].due.iter().find(|d| d.kind == "drill").unwrap().clone();
        (due.next_due.to_string(), due.overdue)
    };
    // Twelve months from the last drill, by default.
    assert_eq!(drill_due(), "drill 2026-03-01 OVERDUE");
    assert_eq!(roll_up_drill(&store), ("2026-03-01".to_string(), true));
    let (ok, shown, _) = cli(&["registry", "cadence"]);
    assert!(ok && shown.contains("drill: 12"), "{shown}");
    // The authority reads 每年至少一次 as once in every calendar year: a drill in 2025 makes the
    // next due by the end of 2026.
    let calendar = include_str!("../data/cadence.yaml").replace("period: rolling", "period: calendar");
    std::fs::write(dir.join("calendar.yaml"), &calendar).unwrap();
    let (ok, shown, err) = cli(&["registry", "cadence", dir.join("calendar.yaml").to_str().unwrap()]);
    assert!(ok && shown.contains("period: calendar") && err.contains("adopted"), "{shown}{err}");
    assert_eq!(drill_due(), "drill 2026-12-31");
    assert_eq!(roll_up_drill(&store), ("2026-12-31".to_string(), false), "the regional view follows");
    // Rules that cannot be read so are refused, and the adopted ones stay.
    let odd = calendar.replace("drill: 24", "drill: 18");
    std::fs::write(dir.join("odd.yaml"), odd).unwrap();
    let (ok, _, err) = cli(&["registry", "cadence", dir.join("odd.yaml").to_str().unwrap()]);
    assert!(!ok && err.contains("whole years"), "{err}");
    // An unknown period: one clear error, and no registry made where there was none.
    std::fs::write(dir.join("yearly.yaml"), calendar.replace("period: calendar", "period: yearly")).unwrap();
    let nowhere = dir.join("no-registry-here");
    let o = Command::new(env!("CARGO_BIN_EXE_icsdrill"))
        .args(["registry", "cadence", dir.join("yearly.yaml").to_str().unwrap(), "--data-dir"])
        .arg(&nowhere)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.matches("error").count() == 1, "{err}");
    assert!(!nowhere.exists(), "a refused file leaves no registry behind");
    std::fs::write(dir.join("huge.yaml"), " ".repeat(1 << 20)).unwrap();
    let (ok, _, err) = cli(&["registry", "cadence", dir.join("huge.yaml").to_str().unwrap()]);
    assert!(!ok && err.contains("at most 65536"), "{err}");
    assert_eq!(drill_due(), "drill 2026-12-31");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_drill_that_never_left_its_briefing_counts_for_no_enterprises_cadence() {
    let dir = std::env::temp_dir().join(format!("icsdrill-briefing-{}", std::process::id()));
    let mut store = seeded_store(&dir);
    store.import_enterprises(&[enterprise("z", "hami", "power", 3)], parse("2024-01-10").unwrap()).unwrap();
    let created_ms = parse("2026-10-01").unwrap().unix_ms();
    for (id, phase) in [("dz", icsdrill_drill::Phase::Briefing), ("dz2", icsdrill_drill::Phase::Ended)] {
        let record = DrillRecord { created_ms, phase, ..drill_record(id) };
        let team = TeamRecord { id: "z".into(), name: "z".into(), token: format!("{id}-z") };
        store.create_drill(&record, &[team]).unwrap();
        let r =
            icsdrill::governance::region::rollup_from(&store, parse("2026-11-26").unwrap(), None).unwrap();
        let hami = r.prefectures.iter().find(|p| p.prefecture.code == "hami").unwrap().totals.clone();
        let on_time = usize::from(phase == icsdrill_drill::Phase::Ended);
        assert_eq!((hami.drills_due, hami.drills_on_time), (1, on_time), "after a drill in {phase:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_contest_or_an_exam_is_listed_but_is_not_the_enterprises_emergency_drill() {
    use icsdrill_drill::Mode;
    let dir = std::env::temp_dir().join(format!("icsdrill-modes-{}", std::process::id()));
    let mut store = seeded_store(&dir);
    store.import_enterprises(&[enterprise("z", "hami", "power", 3)], parse("2024-01-10").unwrap()).unwrap();
    // The emergency drill comes first: the contest and the exam after it are the newer scores.
    for (id, mode, counts, date) in [
        ("dzc", Mode::Contest, false, "2026-10-01"),
        ("dze", Mode::Exam, false, "2026-10-02"),
        ("dzr", Mode::Regional, true, "2026-09-01"),
    ] {
        let created_ms = parse(date).unwrap().unix_ms();
        let record =
            DrillRecord { created_ms, mode, phase: icsdrill_drill::Phase::Ended, ..drill_record(id) };
        let team = TeamRecord { id: "z".into(), name: "z".into(), token: format!("{id}-z") };
        store.create_drill(&record, &[team]).unwrap();
        let score = if mode == Mode::Regional { 500.0 } else { 900.0 };
        store.save_score(id, "z", 100, score, r#"{"alerts":3}"#).unwrap();
        let today = parse("2026-11-26").unwrap();
        let r = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
        let hami = r.prefectures.iter().find(|p| p.prefecture.code == "hami").unwrap().totals.clone();
        assert_eq!((hami.drills_due, hami.drills_on_time), (1, usize::from(counts)), "after a {mode:?}");
        // Listed on its page all the same.
        let page = icsdrill::governance::region::enterprise_from(&store, today, None, "z").unwrap().unwrap();
        assert!(page.drills.iter().any(|d| d.drill == id), "{mode:?}");
        // The latest result the region shows is the emergency drill's, never a newer contest's
        // or exam's score.
        let z = r.enterprises.iter().find(|e| e.enterprise.id == "z").unwrap();
        let latest = z.last_drill.as_ref().map(|d| (d.drill.as_str(), d.score));
        assert_eq!(latest, counts.then_some(("dzr", 500.0)), "after a {mode:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rollups_go_from_enterprise_to_prefecture_to_region() {
    let dir = std::env::temp_dir().join(format!("icsdrill-rollup-{}", std::process::id()));
    let store = seeded_store(&dir);
    let r = icsdrill::governance::region::rollup_from(&store, parse("2026-11-26").unwrap(), None).unwrap();
    let p = |code: &str| r.prefectures.iter().find(|p| p.prefecture.code == code).unwrap().totals.clone();
    let karamay = p("karamay");
    assert_eq!((karamay.enterprises, karamay.by_level), (2, [0, 1, 1]));
    // a (L3) drilled 2026-06-01: on time; b (L2) drilled 2025-06-01: due 2027-06-01, on time.
    assert_eq!((karamay.drills_due, karamay.drills_on_time), (2, 2));
    assert_eq!(karamay.open_findings, [1, 1, 1, 0]);
    // Overdue: a's critical (2025-06-01 + 7 d) and b's high (2025-06-01 + 30 d); a's medium is
    // due 2027-06-01.
    assert_eq!(karamay.overdue_rectifications, 2);
    assert_eq!(karamay.verified_findings, 1);
    assert_eq!((karamay.scored, karamay.score_sum), (2, 1200.0));
    let kashgar = p("kashgar");
    // c is level 1: guidance only, no binding drill.
    assert_eq!((kashgar.enterprises, kashgar.by_level, kashgar.drills_due), (1, [1, 0, 0], 0));
    assert_eq!((kashgar.open_findings, kashgar.overdue_rectifications), ([0, 0, 0, 1], 0));
    assert_eq!(r.totals.enterprises, 3);
    assert_eq!(r.totals.open_findings, [1, 1, 1, 1]);
    assert_eq!(r.totals.overdue_rectifications, 2);
    assert_eq!(karamay.open_findings[0] + kashgar.open_findings[0], r.totals.open_findings[0]);
    assert_eq!(r.years[&2025].drills, 2);
    assert_eq!(r.years[&2026].drills, 2);
    assert_eq!(r.years[&2025].findings, 3);
    assert_eq!(r.years[&2026].verified, 1);
    // The trend by prefecture adds up to the region's: Karamay (a, b) held both 2025 drills'
    // entries, Kashgar (c) one in 2026.
    let years = |code: &str| &r.prefectures.iter().find(|p| p.prefecture.code == code).unwrap().years;
    assert_eq!((years("karamay")[&2025].drills, years("karamay")[&2026].drills), (2, 1));
    assert_eq!((years("kashgar").get(&2025), years("kashgar")[&2026].drills), (None, 1));
    let a = r.enterprises.iter().find(|e| e.enterprise.id == "a").unwrap();
    assert_eq!(a.last_drill.as_ref().map(|d| (d.drill.as_str(), d.score)), Some(("d2026", 800.0)));
    // The situational-awareness roll-up: each enterprise's latest drill's alerts, summed.
    assert_eq!(a.last_drill.as_ref().map(|d| d.alerts), Some(12));
    assert_eq!((karamay.alerts, kashgar.alerts, r.totals.alerts), (17, 0, 17));
    // By industry inside a prefecture.
    let kp = &r.prefectures.iter().find(|p| p.prefecture.code == "karamay").unwrap().industries;
    assert_eq!(kp["power"].enterprises, 1);
    // A prefecture's own roll-up holds only its enterprises.
    let k = icsdrill::governance::region::rollup_from(&store, parse("2026-11-26").unwrap(), Some("kashgar"))
        .unwrap();
    assert_eq!(k.enterprises.len(), 1);
    assert_eq!(k.totals.enterprises, 1);
    // The CSV export carries the same figures.
    let (header, rows) = registry::rollup_rows(&r);
    let csv = String::from_utf8(registry::to_csv(&header, &rows).unwrap()).unwrap();
    assert!(csv.contains("karamay,*,2,0,1,1,2,2,1,1,1,0,2,1,600.0"), "{csv}");
    assert!(csv.contains("karamay,*,2,0,1,1,2,2,1,1,1,0,2,1,600.0,17"), "monitoring alerts: {csv}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_prefecture_user_reads_only_its_own_prefecture() {
    let dir = std::env::temp_dir().join(format!("icsdrill-region-authz-{}", std::process::id()));
    let mut store = seeded_store(&dir);
    store.add_user("region-token", "region", None).unwrap();
    store.add_user("kashgar-token", "prefecture", Some("kashgar")).unwrap();
    // A drill b is still playing: its report is not written yet.
    let running = DrillRecord { phase: icsdrill_drill::Phase::Live, ..drill_record("dlive") };
    store
        .create_drill(&running, &[TeamRecord { id: "b".into(), name: "b".into(), token: "dlive-b".into() }])
        .unwrap();
    // Entered by hand: a compliance test, and a drill run elsewhere.
    for (kind, date, reference) in
        [("compliance_test", "2026-03-01", "CT-2026-007"), ("drill", "2024-05-10", "paper")]
    {
        let date = parse(date).unwrap();
        store
            .add_activity(&Activity {
                enterprise: "a".into(),
                kind: kind.into(),
                date,
                reference: reference.into(),
            })
            .unwrap();
    }
    drop(store);
    let api: Arc<dyn icsdrill_web::region::RegionApi> = Arc::new(
        icsdrill::governance::region::RegionService::new(icsdrill::store::Database::Sqlite(dir.clone())),
    );
    let call = |path: &str, token: Option<&str>| {
        let api = api.clone();
        let mut req = Request::builder().uri(path.to_string());
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req.body(Body::empty()).unwrap();
        async move {
            let res = icsdrill_web::region::router(api).oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let matrix: &[(&str, Option<&str>, u16)] = &[
        ("/api/region/rollup", None, 401),
        ("/api/region/rollup", Some("wrong"), 401),
        ("/api/region/rollup", Some("region-token"), 200),
        ("/api/region/rollup", Some("kashgar-token"), 200),
        ("/api/region/prefectures/karamay", Some("region-token"), 200),
        ("/api/region/prefectures/karamay", Some("kashgar-token"), 403),
        ("/api/region/prefectures/kashgar", Some("kashgar-token"), 200),
        ("/api/region/prefectures/atlantis", Some("region-token"), 404),
        ("/api/region/export?format=csv", Some("kashgar-token"), 200),
        ("/api/region/export?format=pdf", Some("kashgar-token"), 400),
        ("/api/region/export?format=csv&table=everything", Some("kashgar-token"), 400),
        ("/api/region/export?format=xlsx&table=enterprises&lang=zh", Some("kashgar-token"), 200),
        ("/api/region/enterprises/a", Some("region-token"), 200),
        ("/api/region/enterprises/c", Some("kashgar-token"), 200),
        // Another prefecture's enterprise is not disclosed, as one that does not exist.
        ("/api/region/enterprises/a", Some("kashgar-token"), 404),
        ("/api/region/enterprises/nobody", Some("region-token"), 404),
        ("/api/region/enterprises/a", None, 401),
        // A drill's after-action report, for those who see its enterprise, once it is over.
        ("/api/region/enterprises/a/drills/d2026/report", Some("region-token"), 200),
        ("/api/region/enterprises/a/drills/d2026/report?format=xlsx&lang=en", Some("region-token"), 200),
        ("/api/region/enterprises/c/drills/d2026/report?format=md", Some("kashgar-token"), 200),
        ("/api/region/enterprises/a/drills/d2026/report", Some("kashgar-token"), 404),
        ("/api/region/enterprises/b/drills/d2026/report", Some("region-token"), 404),
        ("/api/region/enterprises/a/drills/nope/report", Some("region-token"), 404),
        ("/api/region/enterprises/b/drills/dlive/report", Some("region-token"), 409),
        ("/api/region/enterprises/a/drills/d2026/report?format=json", Some("region-token"), 400),
        ("/api/region/enterprises/a/drills/d2026/report?lang=fr", Some("region-token"), 400),
        ("/api/region/enterprises/a/drills/d2026/report", None, 401),
    ];
    for (path, token, status) in matrix {
        let (s, body) = call(path, *token).await;
        assert_eq!(s, *status, "{path} as {token:?}: {body}");
    }
    // A running drill's report is refused in the reader's language too (it said only the
    // general 当前演练状态下不能执行此操作).
    let (_, body) = call("/api/region/enterprises/b/drills/dlive/report", Some("region-token")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["message_zh"], "该演练仍在进行：演练结束后方可生成总结报告", "{body}");
    // The report names the enterprise as registered, in Chinese by default.
    let (_, html) = call("/api/region/enterprises/a/drills/d2026/report", Some("region-token")).await;
    assert!(html.contains("a 有限公司") && html.contains("lang=\"zh"), "{html}");
    assert!(html.contains("d2026"), "{html}");
    // The prefecture user's roll-up and export hold its prefecture only.
    let (_, body) = call("/api/region/rollup", Some("kashgar-token")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = v["enterprises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["enterprise"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c"]);
    let (_, csv) = call("/api/region/export?format=csv", Some("kashgar-token")).await;
    assert!(!csv.contains("karamay") && csv.contains("kashgar"), "{csv}");
    // Its total is its prefecture's row, once: a sum over the sheet counts nothing twice.
    assert_eq!(csv.lines().filter(|l| l.starts_with("kashgar,*,")).count(), 1, "{csv}");
    // The tables as the view shows them, for a reader: the enterprise list and the prefecture
    // table, named and headed in the page's language.
    let (_, csv) =
        call("/api/region/export?format=csv&table=enterprises&lang=zh", Some("kashgar-token")).await;
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    assert!(lines.next().is_some_and(|h| h.starts_with("编号,名称,地州市,行业,安全等级,下次演练")), "{csv}");
    let c: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!((c[0], c[2], c.len()), ("c", "喀什地区", 17), "{csv}");
    assert_eq!(c[16], "本平台开展", "where its last drill came from, as the view says: {csv}");
    assert!(lines.next().is_none(), "its prefecture's enterprises only: {csv}");
    let (_, csv) =
        call("/api/region/export?format=csv&table=prefectures&lang=en", Some("region-token")).await;
    assert!(
        csv.contains("\nKashgar,All industries,1,") && csv.contains("\nWhole region,All industries,3,"),
        "{csv}"
    );
    let (_, body) = call("/api/region/rollup", Some("region-token")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["enterprises"].as_array().unwrap().len(), 3);
    // An enterprise's page: its drills oldest first with their scores, its findings most
    // severe first with the dates they were found and are due.
    let (_, body) = call("/api/region/enterprises/a", Some("region-token")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let drills: Vec<(&str, &str, f64)> = v["drills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["drill"].as_str().unwrap(), d["date"].as_str().unwrap(), d["score"].as_f64().unwrap()))
        .collect();
    assert_eq!(drills, [("d2025", "2025-06-01", 800.0), ("d2026", "2026-06-01", 800.0)], "{body}");
    // Both count for its drill obligation (the registry names no plants for it: any counts).
    assert!(v["drills"].as_array().unwrap().iter().all(|d| d["counted"] == true), "{body}");
    let f = &v["findings"][0];
    assert_eq!(
        (f["id"].as_str(), f["status"].as_str(), f["found"].as_str(), f["due"].as_str()),
        (Some("path:x"), Some("open"), Some("2025-06-01"), Some("2025-06-08")),
        "{body}"
    );
    assert_eq!(
        (f["overdue"].as_bool(), f["title"]["zh"].as_str()),
        (Some(true), Some("隐患 path:x")),
        "{body}"
    );
    assert_eq!(v["findings"][1]["status"], "verified", "{body}");
    // The enterprise's own account that it rectified the open one (整改完成) before its due
    // date: still open, awaiting a drill's re-test, no longer overdue. A verified one is not
    // declared again.
    let o = icsdrill(
        &["registry", "rectified", "a", "path:x", "firewall rule added", "--date", "2025-06-05"],
        &dir,
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("open until a drill re-tests it"), "{o:?}");
    let long = "x".repeat(501);
    for bad in ["", "two\nlines", long.as_str()] {
        let o = icsdrill(&["registry", "rectified", "a", "path:x", bad], &dir);
        assert!(
            !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("1 to 500 characters"),
            "{o:?}"
        );
    }
    let verified = v["findings"][1]["id"].as_str().unwrap();
    let o = icsdrill(&["registry", "rectified", "a", verified, "again"], &dir);
    assert!(
        !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("verified fixed already"),
        "{o:?}"
    );
    let (_, body) = call("/api/region/enterprises/a", Some("region-token")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let f = &v["findings"][0];
    assert_eq!(
        (
            f["status"].as_str(),
            f["declared"]["date"].as_str(),
            f["declared"]["note"].as_str(),
            f["overdue"].as_bool()
        ),
        (Some("open"), Some("2025-06-05"), Some("firewall rule added"), Some(false)),
        "{body}"
    );
    // Its closing date (关闭日期) and each drill's check of it (复核结果).
    assert_eq!(v["findings"][1]["closed"], "2026-06-01", "{body}");
    let checks: Vec<(&str, &str, &str)> = v["findings"][1]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["drill"].as_str().unwrap(), c["date"].as_str().unwrap(), c["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(checks, [("d2025", "2025-06-01", "new"), ("d2026", "2026-06-01", "verified")], "{body}");
    assert_eq!(v["findings"][0]["closed"], serde_json::Value::Null, "open: {body}");
    // What was entered by hand, newest first; the drills on record are not listed twice.
    let entered: Vec<(&str, &str)> = v["entered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["reference"].as_str().unwrap()))
        .collect();
    assert_eq!(entered, [("compliance_test", "CT-2026-007"), ("drill", "paper")], "{body}");
    assert_eq!(v["findings"][1]["overdue"], false, "{body}");
    assert_eq!(v["row"]["enterprise"]["prefecture"], "karamay", "{body}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 500 shows the request's id and nothing of its causes (no paths, no database messages);
/// every answer names its request id; the log line with the causes carries the same id.
#[tokio::test]
async fn an_internal_error_answers_with_its_request_id_and_no_internals() {
    let dir = std::env::temp_dir().join(format!("icsdrill-region-500-{}", std::process::id()));
    let mut store = seeded_store(&dir);
    store.add_user("region-token", "region", None).unwrap();
    drop(store);
    // An enterprise row this version cannot read: the roll-up fails on the server's side.
    let conn = rusqlite::Connection::open(icsdrill::store::db_path(&dir)).unwrap();
    conn.execute("UPDATE enterprises SET data = '{\"secret-internal\": 1' WHERE id = 'a'", []).unwrap();
    drop(conn);
    let api: Arc<dyn icsdrill_web::region::RegionApi> = Arc::new(
        icsdrill::governance::region::RegionService::new(icsdrill::store::Database::Sqlite(dir.clone())),
    );
    // The log, captured (this test's runtime is one thread).
    #[derive(Clone, Default)]
    struct Log(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Log {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let log = Log::default();
    let writer = log.clone();
    let _log = tracing::subscriber::set_default(
        tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish(),
    );
    let req = |path: &str| {
        Request::builder()
            .uri(path)
            .header("authorization", "Bearer region-token")
            .body(Body::empty())
            .unwrap()
    };
    let res = icsdrill_web::region::router(api.clone()).oneshot(req("/api/region/rollup")).await.unwrap();
    assert_eq!(res.status().as_u16(), 500);
    let id = res.headers()[icsdrill_web::REQUEST_ID_HEADER].to_str().unwrap().to_string();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["request_id"], id.as_str(), "{v}");
    let text = v["error"].as_str().unwrap();
    assert!(text.contains(&id), "{text}");
    for internal in ["unreadable", "secret-internal", "sqlite", &dir.display().to_string()] {
        assert!(!text.to_lowercase().contains(internal), "a 500 shows `{internal}`: {text}");
    }
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let line = logged.lines().find(|l| l.contains("internal error")).unwrap_or_else(|| panic!("{logged}"));
    assert!(
        line.contains(&id) && line.contains("a stored enterprise is unreadable"),
        "the log has the id and the causes: {line}"
    );
    assert!(line.contains("route=/api/region/rollup"), "in the request's span: {line}");
    // A caller's mistake keeps its message, and every answer has an id of its own.
    let res = icsdrill_web::region::router(api).oneshot(req("/api/region/export?format=pdf")).await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let other = res.headers()[icsdrill_web::REQUEST_ID_HEADER].to_str().unwrap().to_string();
    assert_ne!(other, id);
    let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("format must be csv or xlsx"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_drill_on_record_counts_in_its_year_and_for_its_enterprise_the_day_it_ends() {
    let dir = std::env::temp_dir().join(format!("icsdrill-rollup-today-{}", std::process::id()));
    let mut store = seeded_store(&dir);
    let today = parse("2026-11-26").unwrap();
    let before = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
    // Enterprise b drills today; nobody enters it in the registry by hand.
    let record = DrillRecord {
        id: "d-today".into(),
        name: "today".into(),
        mode: icsdrill_drill::Mode::Enterprise,
        scenario_id: "power-drum-boiler".into(),
        scenario_hash: String::new(),
        scenario_source: String::new(),
        seed: 1,
        live_attacker: false,
        phase: icsdrill_drill::Phase::Live,
        instructor_token: "i".into(),
        observer_token: "o".into(),
        options: "{}".into(),
        created_ms: today.unix_ms(),
    };
    store
        .create_drill(&record, &[TeamRecord { id: "b".into(), name: "b".into(), token: "t".into() }])
        .unwrap();
    store.save_score("d-today", "b", 100, 650.0, r#"{"alerts":4}"#).unwrap();
    // While it runs (or if its server was killed and it never ended) it is no drill done.
    let r = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
    assert_eq!(r.years[&2026].drills, before.years[&2026].drills, "a drill counts once it has ended");
    let b = r.enterprises.iter().find(|e| e.enterprise.id == "b").unwrap();
    assert_ne!(b.due.iter().find(|d| d.kind == "drill").unwrap().last, Some(today));
    store.set_phase("d-today", icsdrill_drill::Phase::Ended).unwrap();
    // Ended, but of another plant than the ones the registry names for b: not its drill done.
    let with_plants = |plants: &[&str]| Enterprise {
        scenarios: plants.iter().map(|p| (*p).to_string()).collect(),
        ..enterprise("b", "karamay", "power", 2)
    };
    store.import_enterprises(&[with_plants(&["petrochem-tank-farm"])], parse("2024-01-10").unwrap()).unwrap();
    let r = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
    assert_eq!(r.years[&2026].drills, before.years[&2026].drills, "another plant's drill counts for nothing");
    let b = r.enterprises.iter().find(|e| e.enterprise.id == "b").unwrap();
    assert_ne!(b.due.iter().find(|d| d.kind == "drill").unwrap().last, Some(today));
    store
        .import_enterprises(
            &[with_plants(&["petrochem-tank-farm", "power-drum-boiler"])],
            parse("2024-01-10").unwrap(),
        )
        .unwrap();
    let r = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
    assert_eq!(r.years[&2026].drills, before.years[&2026].drills + 1, "today's drill counts in its year");
    let b = r.enterprises.iter().find(|e| e.enterprise.id == "b").unwrap();
    let drill = b.due.iter().find(|d| d.kind == "drill").unwrap();
    assert_eq!(drill.last, Some(today), "the enterprise's last drill is today's");
    assert_eq!(
        b.last_drill.as_ref().map(|d| (d.drill.as_str(), d.score, d.alerts)),
        Some(("d-today", 650.0, 4))
    );
    // Entered by hand as well, it still counts once.
    store
        .add_activity(&Activity {
            enterprise: "b".into(),
            kind: "drill".into(),
            date: today,
            reference: "d-today".into(),
        })
        .unwrap();
    let again = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
    assert_eq!(again.years[&2026].drills, r.years[&2026].drills);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_drill_of_another_plant_counts_for_nothing_even_when_entered() {
    let dir = std::env::temp_dir().join(format!("icsdrill-other-plant-{}", std::process::id()));
    let mut store = seeded_store(&dir);
    let today = parse("2026-11-26").unwrap();
    let before = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
    // Enterprise b's own plant is a boiler; a regional drill of the tank farm, played to its end.
    let b =
        Enterprise { scenarios: vec!["power-drum-boiler".into()], ..enterprise("b", "karamay", "power", 2) };
    store.import_enterprises(&[b], parse("2024-01-10").unwrap()).unwrap();
    let record = DrillRecord { created_ms: today.unix_ms(), ..drill_record("d-other") };
    store
        .create_drill(&record, &[TeamRecord { id: "b".into(), name: "b".into(), token: "t".into() }])
        .unwrap();
    // The entry a server stored for it when it ended (before it read the rule the regional
    // view reads: the page said "not counted" while its cadence counted it).
    let entry =
        Activity { enterprise: "b".into(), kind: "drill".into(), date: today, reference: "d-other".into() };
    store.add_activity(&entry).unwrap();
    let r = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
    assert_eq!(r.years[&2026].drills, before.years[&2026].drills, "another plant's drill counts for nothing");
    let b = r.enterprises.iter().find(|e| e.enterprise.id == "b").unwrap();
    assert_ne!(b.due.iter().find(|d| d.kind == "drill").unwrap().last, Some(today));
    // The command line's cadence and plan read the same.
    let reg = icsdrill::governance::region::registry_with_drills(&store).unwrap();
    assert!(!reg.activities.iter().any(|a| a.reference == "d-other"), "{:?}", reg.activities);
    // Scored, it is listed on the enterprise's page but is not its latest result, there or in
    // the regional means (the newest drill on record, it was both).
    let unscored = r.totals.score_sum;
    store.save_score("d-other", "b", 100, 123.0, r#"{"alerts":9}"#).unwrap();
    let r = icsdrill::governance::region::rollup_from(&store, today, None).unwrap();
    let b = r.enterprises.iter().find(|e| e.enterprise.id == "b").unwrap();
    assert_ne!(b.last_drill.as_ref().map(|d| d.drill.as_str()), Some("d-other"), "{:?}", b.last_drill);
    assert_ne!(b.totals.score_sum, 123.0);
    assert_eq!(r.totals.score_sum, unscored, "the region's scores are as before");
    let page = icsdrill::governance::region::enterprise_from(&store, today, None, "b").unwrap().unwrap();
    let listed = page.drills.iter().find(|d| d.drill == "d-other").expect("listed on its page");
    assert!(!listed.counted && listed.score == Some(123.0));
    assert_ne!(page.row.last_drill.as_ref().map(|d| d.drill.as_str()), Some("d-other"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_enterprises_report_carries_its_full_name_and_document_number() {
    use icsdrill_web::drill::DrillApi as _;
    let dir = std::env::temp_dir().join(format!("icsdrill-report-name-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = SqliteStore::open(&dir).unwrap();
    store
        .import_enterprises(
            &[enterprise("dushanzi", "karamay", "petrochemical", 3)],
            parse("2024-01-10").unwrap(),
        )
        .unwrap();
    drop(store);
    let b = icsdrill_scenarios::builtin("petrochem-tank-farm").unwrap();
    let spec = crate::util::test_spec(
        crate::util::builtin(b.id),
        &["dushanzi"],
        icsdrill_drill::Mode::Enterprise,
        Some((&dir, b.source)),
    );
    let server = icsdrill::drill::DrillServer::start(spec).await.unwrap();
    let drill = server.drill.clone();
    drill.control(icsdrill_drill::Control::Start).unwrap();
    drill.step(10).await;
    let (_, body) = drill.report("dushanzi", "json", "zh").unwrap();
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["context"]["team_name"], "dushanzi 有限公司", "the registry's full name");
    let (_, html) = drill.report("dushanzi", "html", "zh").unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains(&format!("ICSD-{}-dushanzi", drill.id)) && html.contains("批准"));
    server.shutdown().await.unwrap();
    // A drill the command line runs names the team as the registry does, from the start (the
    // banner, consoles and boards named it `dushanzi`); a name given is kept.
    let args =
        ["serve", "--duration", "1", "--tick-hz", "100", "--http-port", "0", "--modbus-port", "0", "--start"];
    let o = icsdrill(&[&args[..], &["--teams", "dushanzi,other"]].concat(), &dir);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Team dushanzi (dushanzi 有限公司)") && out.contains("Team other console"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_registry_workbook_spanning_the_whole_sheet_or_unpacking_to_gigabytes_is_a_clear_error() {
    use icsdrill::governance::registry::{MAX_UNPACKED_BYTES, xlsx_rows};
    use rust_xlsxwriter::Workbook;
    let started = std::time::Instant::now();
    // Two cells, A1 and XFD1048576: a used range of seventeen billion cells.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "id").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    let far = wb.save_to_buffer().unwrap();
    let e = xlsx_rows(&far).unwrap_err().to_string();
    assert!(e.contains("row 1048576, column 16384"), "{e}");
    // A small file of distinct long strings that unpacks past the limit.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let long = "a".repeat(32_000);
    let rows = MAX_UNPACKED_BYTES / 32_000 + 10;
    for r in 0..rows as u32 {
        ws.write_string(r, 0, format!("{r}{long}")).unwrap();
    }
    let bomb = wb.save_to_buffer().unwrap();
    assert!((bomb.len() as u64) < MAX_UNPACKED_BYTES / 10, "{} bytes packed", bomb.len());
    let e = xlsx_rows(&bomb).unwrap_err().to_string();
    assert!(e.contains("unpacks to"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "refused without reading it all");
    // What a registry looks like still reads, from its first used cell.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(1, 1, "id").unwrap();
    ws.write_string(1, 2, "name").unwrap();
    ws.write_number(2, 1, 42.0).unwrap();
    let rows = xlsx_rows(&wb.save_to_buffer().unwrap()).unwrap();
    assert_eq!(rows, [vec!["id".to_string(), "name".into()], vec!["42".into(), String::new()]]);
}

/// A drill named after its scenario (the default name: the English title) carries the title
/// in both languages to the enterprise's page, which shows it in its own language; a drill
/// given a name of its own keeps it.
#[test]
fn a_drill_named_after_its_scenario_is_titled_in_both_languages_on_the_enterprise_page() {
    let dir = std::env::temp_dir().join(format!("icsdrill-region-titles-{}", std::process::id()));
    let mut store = seeded_store(&dir);
    let record = DrillRecord {
        name: "Tank farm and feed reactor".into(),
        created_ms: parse("2026-09-01").unwrap().unix_ms(),
        ..drill_record("dtitle")
    };
    let team = TeamRecord { id: "b".into(), name: "b".into(), token: "dtitle-b".into() };
    store.create_drill(&record, &[team]).unwrap();
    let page = icsdrill::governance::region::enterprise_from(&store, parse("2026-11-26").unwrap(), None, "b")
        .unwrap()
        .unwrap();
    let titles: Vec<(&str, Option<&str>)> =
        page.drills.iter().map(|d| (d.drill.as_str(), d.title.as_ref().map(|t| t.zh.as_str()))).collect();
    assert_eq!(titles, [("d2025", None), ("dtitle", Some("储罐区与进料反应器"))]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A prefecture user is made by the prefecture's code or either name (克拉玛依市 was an
/// unknown prefecture, and the refusal did not say which there are); the token comes with
/// where it logs in.
#[test]
fn a_prefecture_user_is_made_by_its_chinese_name_and_a_wrong_one_lists_the_codes() {
    let dir = std::env::temp_dir().join(format!("icsdrill-region-user-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let o = icsdrill(&["region", "user", "--role", "prefecture", "--prefecture", "克拉玛依市"], &dir);
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() && out.trim().len() == 32 && err.contains("/region?token="), "{out}{err}");
    let token = out.trim().to_string();
    let store = SqliteStore::open(&dir).unwrap();
    assert_eq!(store.user(&token).unwrap(), Some(("prefecture".into(), Some("karamay".into()))));
    let o = icsdrill(&["region", "user", "--role", "prefecture", "--prefecture", "atlantis"], &dir);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("karamay (克拉玛依市)"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_region_keeps_the_reports_it_replayed_within_its_bound() {
    use icsdrill::governance::region::{REPORTS_KEPT, RegionService};
    let dir = std::env::temp_dir().join(format!("icsdrill-region-reports-{}", std::process::id()));
    let mut store = seeded_store(&dir);
    store.add_user("region-token", "region", None).unwrap();
    let extra: Vec<String> = (0..=REPORTS_KEPT).map(|i| format!("dx{i}")).collect();
    for id in &extra {
        let team = TeamRecord { id: "a".into(), name: "a".into(), token: format!("{id}-a") };
        store.create_drill(&drill_record(id), &[team]).unwrap();
    }
    let service = Arc::new(RegionService::new(icsdrill::store::Database::Sqlite(dir.clone())));
    let api: Arc<dyn icsdrill_web::region::RegionApi> = service.clone();
    let call = |path: String| {
        let req = Request::builder()
            .uri(path)
            .header("authorization", "Bearer region-token")
            .body(Body::empty())
            .unwrap();
        let api = api.clone();
        async move {
            let res = icsdrill_web::region::router(api).oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let body = axum::body::to_bytes(res.into_body(), 4 << 20).await.unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    // One drill read in every format and language is replayed once.
    for q in ["", "?lang=en", "?format=md", "?format=xlsx&lang=zh"] {
        let (s, body) = call(format!("/api/region/enterprises/a/drills/d2026/report{q}")).await;
        assert_eq!(s, 200, "{q}: {body}");
    }
    assert_eq!(service.reports_kept(), 1);
    // Renamed in the registry: the report is written under the new name, not the kept one.
    let renamed = Enterprise {
        name: "a 新名称有限公司".into(),
        ..enterprise("a", "karamay", "petrochemical", 3)
    };
    SqliteStore::open(&dir).unwrap().import_enterprises(&[renamed], parse("2026-12-01").unwrap()).unwrap();
    let (_, md) = call("/api/region/enterprises/a/drills/d2026/report?format=md".into()).await;
    assert!(md.contains("a 新名称有限公司"), "{md}");
    assert_eq!(service.reports_kept(), 2);
    // Many drills read: the most recent stay, no more than the bound.
    for id in &extra {
        let (s, body) = call(format!("/api/region/enterprises/a/drills/{id}/report?format=md")).await;
        assert_eq!(s, 200, "{id}: {body}");
        assert!(body.contains(id.as_str()), "{id}: {body}");
    }
    assert_eq!(service.reports_kept(), REPORTS_KEPT);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The registry records what was done: no date after today, and a level verified again at the
/// same level leaves its obligations' clock where it was (a review made an overdue drill, test
/// and assessment due a year later).
#[test]
fn records_are_never_dated_ahead_and_a_review_of_the_level_keeps_what_is_overdue() {
    let dir = std::env::temp_dir().join(format!("icsdrill-registry-dates-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let header = "id,name,prefecture,industry,class,level,verified_by,verified_on\n";
    let row = |on: &str| {
        format!("{header}ds,独山子石化,karamay,petrochemical,networked_industrial,3,region,{on}\n")
    };
    std::fs::write(dir.join("ahead.csv"), row("2099-03-01")).unwrap();
    let o = icsdrill(&["registry", "import", dir.join("ahead.csv").to_str().unwrap()], &dir);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("row 2, column verified_on: 2099-03-01 is after"), "{err}");
    std::fs::write(dir.join("in.csv"), row("2024-03-01")).unwrap();
    let o =
        icsdrill(&["registry", "import", dir.join("in.csv").to_str().unwrap(), "--date", "2024-03-01"], &dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let overdue = |dir: &std::path::Path| {
        let out = String::from_utf8(icsdrill(&["registry", "list"], dir).stdout).unwrap();
        out.matches("OVERDUE").count()
    };
    assert_eq!(overdue(&dir), 3, "drill, compliance test and risk assessment overdue");
    // A prefecture by either name; one that does not exist is an error, not an empty list.
    let o = icsdrill(&["registry", "list", "--prefecture", "克拉玛依市"], &dir);
    assert!(String::from_utf8_lossy(&o.stdout).contains("独山子石化"), "{o:?}");
    let o = icsdrill(&["registry", "list", "--prefecture", "nowhere"], &dir);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && err.contains("unknown prefecture `nowhere`: one of")
            && err.contains("karamay"),
        "{err}"
    );
    // A CSV for Excel on a Chinese desktop: a byte-order mark, or every Chinese name garbles.
    for args in [&["registry", "export", "--format", "csv"][..], &["region", "rollup", "--format", "csv"][..]]
    {
        let o = icsdrill(args, &dir);
        assert!(o.status.success() && o.stdout.starts_with("\u{feff}".as_bytes()), "{args:?}: {o:?}");
    }
    for args in [
        ["registry", "record", "ds", "compliance_test", "--date", "2099-01-01"],
        ["registry", "level", "ds", "3", "--date", "2099-01-01"],
        ["registry", "change", "ds", "new unit", "--date", "2099-01-01"],
    ] {
        let o = icsdrill(&args, &dir);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains("2099-01-01 is after today"), "{args:?}: {err}");
    }
    assert_eq!(overdue(&dir), 3, "nothing recorded");
    // A review at the same level: in its history, the clock unchanged.
    let o = icsdrill(&["registry", "level", "ds", "3", "--reason", "annual review"], &dir);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("count from 2024-03-01 as before"), "{out}");
    assert_eq!(overdue(&dir), 3, "a review makes nothing on time");
    // A new level is a new clock.
    let o = icsdrill(&["registry", "level", "ds", "2", "--reason", "scope reduced"], &dir);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(overdue(&dir), 0);
    // What was recorded is said (record and change printed nothing).
    let o = icsdrill(&["registry", "record", "ds", "risk_assessment", "--date", "2026-11-02"], &dir);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("ds: risk_assessment on 2026-11-02 recorded"), "{out}");
    let o = icsdrill(&["registry", "change", "ds", "new DCS", "--date", "2026-11-02"], &dir);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("re-grading due by 2026-12-14"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A roll-up of a past day (a year's report) counts what was on record then: no drill,
/// finding or activity after it, a finding verified after it still open.
#[test]
fn a_rollup_of_a_past_day_counts_what_was_on_record_then() {
    let dir = std::env::temp_dir().join(format!("icsdrill-rollup-asof-{}", std::process::id()));
    let store = seeded_store(&dir);
    let now = icsdrill::governance::region::rollup_from(&store, parse("2026-11-26").unwrap(), None).unwrap();
    let then = icsdrill::governance::region::rollup_from(&store, parse("2025-12-31").unwrap(), None).unwrap();
    assert_eq!(now.years.get(&2026).map(|y| y.drills), Some(2), "{:?}", now.years);
    assert!(
        then.years.get(&2026).is_none_or(|y| y.drills == 0),
        "no 2026 drill at the end of 2025: {:?}",
        then.years
    );
    let ent = |r: &icsdrill::governance::registry::Rollup, id: &str| {
        r.enterprises.iter().find(|e| e.enterprise.id == id).unwrap().clone()
    };
    // c drilled only in 2026; a's last drill then was 2025's.
    assert!(ent(&then, "c").last_drill.is_none());
    assert_eq!(ent(&then, "a").last_drill.map(|d| d.drill), Some("d2025".to_string()));
    // a's findings: alarm:z was found in 2026; range:y was verified fixed in 2026, open then.
    assert_eq!((now.totals.verified_findings, then.totals.verified_findings), (1, 0));
    let open =
        |r: &icsdrill::governance::registry::Rollup| ent(r, "a").totals.open_findings.iter().sum::<usize>();
    assert_eq!((open(&now), open(&then)), (2, 2), "now path:x and alarm:z; then path:x and range:y");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An open hazard the team contained in the drill that found it says so on the enterprise's
/// page, when and how, and still counts as open (the register listed it as a plain open
/// hazard); once a later drill finds it no more, nothing is said of the stopgap.
#[test]
fn a_hazard_contained_in_the_drill_says_so_on_the_enterprise_page_and_stays_open() {
    use icsdrill_engine::{SimInput, TimedInput};
    let dir = std::env::temp_dir().join(format!("icsdrill-contained-{}", std::process::id()));
    let mut store = seeded_store(&dir);
    let today = parse("2026-11-26").unwrap();
    let s = crate::util::builtin("petrochem-tank-farm");
    let at = |t: f64, input| TimedInput { tick: s.ticks(t), input };
    let inputs = [at(534.0, SimInput::EnableRangeChecks { plc: "plc-t101".into() })];
    let sim = crate::util::run(&s, 1, 900.0, &inputs);
    let record = DrillRecord { created_ms: parse("2026-09-01").unwrap().unix_ms(), ..drill_record("dkeep") };
    store
        .create_drill(&record, &[TeamRecord { id: "b".into(), name: "b".into(), token: "k".into() }])
        .unwrap();
    let found = icsdrill_judge::findings::findings(&s, sim.events(), 2);
    icsdrill::governance::rectify::track(&mut store, ("dkeep", &s), "b", &found, sim.events()).unwrap();
    let page = icsdrill::governance::region::enterprise_from(&store, today, None, "b").unwrap().unwrap();
    let range = page.findings.iter().find(|f| f.id == "range:plc-t101").expect("the breach");
    assert_eq!(range.status, icsdrill::store::FindingStatus::Open, "a stopgap is not a rectification");
    let c = range.contained.as_ref().expect("contained, said so");
    assert_eq!((c.drill.as_str(), c.date), ("dkeep", Some(parse("2026-09-01").unwrap())));
    assert_eq!(
        (c.contained.at_s, c.contained.how.en.as_str()),
        (534.0, "set-point range checks turned on in T-101 tank PLC")
    );
    let json = serde_json::to_value(range).unwrap();
    assert_eq!(json["contained"]["at_s"], 534.0, "{json}");
    // Never contained: nothing said.
    let open = page.findings.iter().find(|f| f.id == "path:pivot-dmz").expect("the DMZ session");
    assert!(open.contained.is_none() && serde_json::to_value(open).unwrap().get("contained").is_none());
    // A later drill that did not re-test it leaves the note with the drill that found it (the
    // command line's register says it of that drill only).
    let record = DrillRecord { created_ms: parse("2026-10-01").unwrap().unix_ms(), ..drill_record("dlater") };
    store
        .create_drill(&record, &[TeamRecord { id: "b".into(), name: "b".into(), token: "l".into() }])
        .unwrap();
    icsdrill::governance::rectify::track(&mut store, ("dlater", &s), "b", &[], &[]).unwrap();
    let tracked = store.findings("b").unwrap();
    let range = tracked.iter().find(|f| f.id == "range:plc-t101").unwrap();
    assert_eq!(range.last_drill, "dlater");
    let (by, c) = range.contained().expect("still said");
    assert_eq!((by.drill.as_str(), by.verdict.as_str(), c.at_s), ("dkeep", "new", 534.0));
    let _ = std::fs::remove_dir_all(&dir);
}
