//! The drill as the web layer sees it: `DrillApi`. Who may call what was decided by the web
//! layer already; this trusts its caller.

use std::sync::Arc;

use icsdrill_drill::exam::{ExamView, exam_view};
use icsdrill_drill::flags;
use icsdrill_drill::history::HistoryView;
use icsdrill_drill::track::reason_name;
use icsdrill_drill::trends::TrendsView;
use icsdrill_drill::views::{
    CrossTeam, FlagAnswer, Overview, OverviewTeam, Standings, StandingsRow, TeamElsewhere, TeamParts,
    TeamView,
};
use icsdrill_drill::{ActError, Control, DrillInfo, EndpointInfo, Mode, Phase, Role, Scoreboard};
use icsdrill_engine::scenario::Text;
use icsdrill_engine::{RejectReason, Scenario, SimEvent, SimInput};
use icsdrill_judge::score::ScoreCard;
use icsdrill_web::ServiceError;
use icsdrill_web::drill::{BoxFuture, DrillApi};
use tokio::sync::watch;

use super::{ACT_TIMEOUT, Drill, same_token};
use crate::runtime::live::ApplyError;

impl Drill {
    /// The registered enterprise a team is, if it is one (a filed report names it as
    /// registered, at its level).
    fn enterprise(&self, team: &str) -> Option<crate::governance::registry::Enterprise> {
        let store = self.database.as_ref()?.open().ok()?;
        store.registry().ok()?.enterprises.into_iter().find(|e| e.id == team)
    }

    /// The drill's clock's start, ms since 1970: when it started (its creation until then),
    /// the clock its captures and alerts are stamped with, plant time after it.
    fn epoch_ms(&self) -> u64 {
        u64::try_from(self.tick0_ms.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(0)
    }

    /// The record of `team`'s sitting of this exam, once graded and signed at its end (none:
    /// not yet, or a drill that records nothing).
    fn exam_record(&self, team: &str) -> Result<Option<crate::store::ExamRecord>, ServiceError> {
        let Some(db) = &self.database else { return Ok(None) };
        // This exam's cohort's results only (the console asks every 2 s until it is signed).
        let cohort = Some(self.cohort.as_str());
        let exams = db.open().and_then(|store| store.exams(cohort)).map_err(ServiceError::internal)?;
        Ok(exams.into_iter().find(|e| e.drill == self.id && e.trainee == team))
    }
}

impl DrillApi for Drill {
    fn authenticate(&self, token: &str) -> Option<Role> {
        let mut role = None;
        // Check every token, so the time taken does not say which kind matched.
        if same_token(token, &self.instructor_token) {
            role = Some(Role::Instructor);
        }
        if same_token(token, &self.observer_token) {
            role = Some(Role::Observer);
        }
        for t in &self.teams {
            if same_token(token, &t.token) {
                role = Some(Role::Team(t.info.id.clone()));
            }
        }
        role
    }

    fn info(&self) -> DrillInfo {
        DrillInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            mode: self.mode,
            phase: self.phase(),
            scenario: self.scenario.id.clone(),
            title: self.scenario.meta.title.clone(),
            brief: self.scenario.meta.brief.clone(),
            teams: self.teams.iter().map(|t| t.info.clone()).collect(),
            at_s: self.furthest_tick() as f64 / f64::from(self.scenario.tick_hz),
            blind: self.freeze.blind,
            epoch_ms: self.epoch_ms(),
            challenges: self.challenges.iter().map(|c| c.view(&self.scenario)).collect(),
            reasons: RejectReason::ALL.iter().map(|r| (*r, r.words())).collect(),
        }
    }

    fn scenario(&self) -> Arc<Scenario> {
        self.scenario.clone()
    }

    fn scoreboard(&self, full: bool) -> watch::Receiver<Arc<Scoreboard>> {
        if full { self.board_full.subscribe() } else { self.board_public.subscribe() }
    }

    fn score_history(&self, full: bool) -> HistoryView {
        // A contest's viewers see the chart up to the freeze until the hot wash, as they see
        // the board: decided by the rule, not by the public board, which is published after
        // the history has its first point past the freeze.
        let cut = !full && !self.phase().is_over();
        let until = self.freeze.tick.filter(|_| cut).map(|t| t as f64 / f64::from(self.scenario.tick_hz));
        // A blind drill's viewers get no team's totals until the hot wash (`boards::shown_rows`).
        let until = if !full && self.provisional() { Some(f64::NEG_INFINITY) } else { until };
        let mut view = self.history.lock().unwrap_or_else(|e| e.into_inner()).view(until);
        view.frozen = !full && self.freeze.frozen(self.furthest_tick(), self.phase());
        view
    }

    fn provisional(&self) -> bool {
        self.freeze.provisional(self.phase())
    }

    fn has_team(&self, team: &str) -> bool {
        self.team(team).is_some()
    }

    fn team_elsewhere(&self, team: &str) -> Option<String> {
        let t = self.team(team)?;
        if t.here.load().is_some() {
            return None;
        }
        t.away.load().as_ref().map(|a| a.http.clone()).filter(|h| !h.is_empty())
    }

    fn queue_for<'a>(&'a self, team: &'a str, input: SimInput) -> BoxFuture<'a, Result<String, ActError>> {
        Box::pin(async move {
            let node = self.team(team).and_then(|t| t.away.load_full()).map(|a| a.node.clone());
            let Some(node) = node else { return Err(ActError::Unavailable) };
            match super::cluster::queue(self, team, &input).await {
                Ok(()) => Ok(node),
                Err(e) => {
                    tracing::warn!(team, error = %e, "could not queue an input for another node");
                    Err(ActError::RecordsFailing)
                }
            }
        })
    }

    fn other_nodes(&self) -> Vec<String> {
        self.others.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn team_state(&self, team: &str) -> Option<TeamView> {
        let t = self.team(team)?;
        let h = t.here()?;
        let snap = h.live.snapshot();
        let parts = TeamParts {
            team: &t.info,
            phase: self.phase(),
            endpoints: &h.endpoints,
            clients: &t.clients,
            hosts: &h.hosts,
            records_failing: self.records_failing(),
            track: &h.published.track.load(),
            card: &self.card_of(&h),
        };
        let mut view = TeamView::build(&self.scenario, &snap, parts);
        view.nodes = self.other_nodes();
        view.challenges = self.challenge_views.clone();
        Some(view)
    }

    fn team_clock_s(&self, team: &str) -> Option<f64> {
        let h = self.team(team)?.here()?;
        Some(h.live.snapshot().tick as f64 / f64::from(self.scenario.tick_hz))
    }

    fn team_endpoints(&self, team: &str) -> Option<Vec<EndpointInfo>> {
        self.team(team).map(|t| self.endpoints_of(t))
    }

    fn team_events(&self, team: &str, since: u64, limit: usize) -> Option<Vec<SimEvent>> {
        let h = self.team(team)?.here()?;
        Some(h.live.shown_since(since, limit))
    }

    fn team_score(&self, team: &str) -> Option<ScoreCard> {
        let t = self.team(team)?;
        match (t.here(), t.away.load().is_some()) {
            (Some(h), _) => Some((*self.card_of(&h)).clone()),
            (None, true) => None,
            (None, false) => Some((*self.blank_card).clone()),
        }
    }

    fn team_trends(&self, team: &str) -> Option<TrendsView> {
        let h = self.team(team)?.here()?;
        let trends = h.published.trends.lock().unwrap_or_else(|e| e.into_inner());
        Some(trends.view(self.scenario.sensors.iter().map(|s| s.id.as_str())))
    }

    fn act<'a>(&'a self, team: &'a str, input: SimInput) -> BoxFuture<'a, Result<(), ActError>> {
        Box::pin(async move {
            let phase = self.phase();
            if phase != Phase::Live {
                return Err(ActError::NotLive(phase));
            }
            let Some(h) = self.team(team).and_then(super::Team::here) else {
                return Err(ActError::Unavailable);
            };
            if self.records_failing() {
                // Nothing could be acknowledged: refuse now rather than queue it.
                return Err(ActError::RecordsFailing);
            }
            // Whatever the plant makes of it, it is in the log (and the window, and the judged
            // events): its size and its rate are bounded before it gets there.
            let size = serde_json::to_vec(&input).map_or(usize::MAX, |v| v.len());
            if size > flags::MAX_ACTION_BYTES {
                return Err(ActError::TooLarge(size));
            }
            self.action_times
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(team, self.epoch.elapsed())
                .map_err(ActError::TooFast)?;
            match h.live.apply_within(input, ACT_TIMEOUT).await {
                Ok(()) => Ok(()),
                Err(ApplyError::Rejected(reason)) => {
                    let words = reason.words();
                    let code = reason_name(reason);
                    Err(ActError::Rejected(Text::new(format!("{} ({code})", words.en), words.zh)))
                }
                Err(ApplyError::Unavailable) => Err(ActError::Unavailable),
                Err(ApplyError::NotApplied) => Err(ActError::NotApplied),
                Err(ApplyError::NotRecorded) => Err(ActError::NotRecorded),
            }
        })
    }

    fn control(&self, control: Control) -> Result<Phase, ServiceError> {
        let phase =
            self.set_phase(control).map_err(|e| ServiceError::Conflict { en: e.to_string(), zh: e.zh() })?;
        self.changed.notify_one();
        self.rank_when_held(phase);
        Ok(phase)
    }

    fn report(&self, team: &str, format: &str, lang: &str) -> Result<(&'static str, Vec<u8>), ServiceError> {
        use crate::governance::report::{self, Format, Lang};
        let format = Format::parse(format)
            .ok_or_else(|| ServiceError::BadRequest("format must be html, md, json or xlsx".into()))?;
        let lang = if lang == "en" { Lang::En } else { Lang::Zh };
        let no_team = || ServiceError::NotFound(format!("no team `{}`", team.escape_debug()));
        let t = self.team(team).ok_or_else(no_team)?;
        let _turn = self.report_turn(team)?;
        let (events, end) = self.judged_log(team).map_err(ServiceError::internal)?.ok_or_else(no_team)?;
        let enterprise = self.enterprise(&t.info.id);
        let ctx = report::Context {
            drill_id: self.id.clone(),
            drill_name: self.name.clone(),
            mode: self.mode,
            team_id: t.info.id.clone(),
            team_name: enterprise.as_ref().map_or_else(|| t.info.name.clone(), |e| e.name.clone()),
            level: enterprise.as_ref().map_or(self.scenario.meta.level, |e| e.level),
            date: crate::governance::dates::day_of_ms(self.created_ms),
            seed: self.starter.seed(),
            cover: self.cover.clone(),
            deadlines: None,
            end_tick: Some(end),
            challenges: self.challenges.len(),
            planned_s: self.clock.end_s,
        };
        let r = report::build(&self.scenario, &events, self.mode.scores_plan(), ctx);
        Ok((format.content_type(), report::render(&r, format, lang)?))
    }

    fn team_exam(&self, team: &str) -> Result<ExamView, ServiceError> {
        if self.mode != Mode::Exam {
            return Err(ServiceError::NotFound("this drill is no exam".into()));
        }
        let no_team = || ServiceError::NotFound(format!("no team `{}`", team.escape_debug()));
        self.team(team).ok_or_else(no_team)?;
        let rule = self.scenario.exam.pass;
        let over = self.phase().is_over();
        // Graded as the certificate is (`grade_at` of the judged log at its end); while the
        // exam runs, an empty log's grade gives the tasks and their points, nothing earned.
        let kept = || self.exam_grades.lock().unwrap_or_else(|e| e.into_inner()).get(team).cloned();
        let (grade, certified) = match (over, kept()) {
            (true, Some(grade)) => (grade, true),
            (true, None) => {
                // Asked first: a log graded after its certificate was signed is final (one
                // graded before may still have been catching up), and its grade is kept for
                // the polls to come.
                let certified = self.exam_record(team)?.is_some();
                let _turn = self.report_turn(team)?;
                let (events, end) =
                    self.judged_log(team).map_err(ServiceError::internal)?.ok_or_else(no_team)?;
                let grade = icsdrill_judge::exam::grade_at(&self.scenario, &events, rule, end);
                if certified {
                    let mut kept = self.exam_grades.lock().unwrap_or_else(|e| e.into_inner());
                    kept.insert(team.to_string(), grade.clone());
                }
                (grade, certified)
            }
            (false, _) => (icsdrill_judge::exam::grade_at(&self.scenario, &[], rule, 0), false),
        };
        let mut view = exam_view(&grade, rule, self.clock.end_s, over);
        view.certified = certified;
        Ok(view)
    }

    fn team_certificate(
        &self,
        team: &str,
        form: icsdrill_web::region::CertForm,
    ) -> Result<String, ServiceError> {
        if self.mode != Mode::Exam {
            return Err(ServiceError::NotFound("this drill is no exam".into()));
        }
        self.team(team)
            .ok_or_else(|| ServiceError::NotFound(format!("no team `{}`", team.escape_debug())))?;
        let record = self.exam_record(team)?.ok_or_else(|| {
            ServiceError::NotFound("no certificate yet: it is issued when the exam ends".into())
        })?;
        crate::governance::cert::render(&record.certificate, form)
    }

    fn team_alerts(
        &self,
        team: &str,
        since: u64,
        limit: usize,
    ) -> Option<Vec<icsdrill_drill::alerts::Alert>> {
        let h = self.team(team)?.here()?;
        let events = h.live.shown_alerts_since(since, limit);
        let epoch = self.epoch_ms();
        Some(
            events
                .iter()
                .filter_map(|e| icsdrill_drill::alerts::alert_of(&self.scenario, e, epoch))
                .collect(),
        )
    }

    fn team_syslog(
        &self,
        team: &str,
        target: Option<icsdrill_drill::alerts::SyslogTarget>,
    ) -> Result<(), ServiceError> {
        let k = self.teams.iter().position(|t| t.info.id == team);
        let k = k.ok_or_else(|| ServiceError::NotFound(format!("no team `{}`", team.escape_debug())))?;
        // Refused before anything changes: a bad request leaves the forwarding as it was.
        if let Some(target) = &target
            && let Some(what) = self.listening_at(target.address)
        {
            return Err(ServiceError::BadRequest(format!(
                "{} is {what}, not a syslog receiver: give the port your receiver listens on",
                target.address
            )));
        }
        let t = &self.teams[k];
        let here = match &target {
            Some(_) => Some(t.here().ok_or_else(|| ServiceError::Unavailable {
                message: format!("team `{team}` is being moved to another node; try again in a moment"),
                retry_after_s: 5,
            })?),
            None => None,
        };
        let mut forwarders = self.syslog.lock().unwrap_or_else(|e| e.into_inner());
        forwarders.resize_with(self.teams.len(), || None);
        if let Some(old) = forwarders[k].take() {
            let _ = old.send(true);
        }
        if let (Some(target), Some(h)) = (target, here) {
            let (stop, watch) = watch::channel(false);
            let clock = (h.live.clone(), self.scenario.clone(), self.tick0_ms.clone());
            super::syslog::spawn(clock, t.info.id.clone(), target, watch);
            forwarders[k] = Some(stop);
        }
        Ok(())
    }

    fn team_pcap(&self, team: &str, from: Option<f64>, to: Option<f64>) -> Result<Vec<u8>, ServiceError> {
        let k = self.teams.iter().position(|t| t.info.id == team);
        let k = k.ok_or_else(|| ServiceError::NotFound(format!("no team `{}`", team.escape_debug())))?;
        let Some(db) = &self.database else {
            return Err(ServiceError::Conflict {
                en: "this drill keeps no record to rebuild a capture from".into(),
                zh: "本次演练未保存记录，无法重建报文".into(),
            });
        };
        // Only what is on disk: the window ends where the record does.
        let durable =
            self.recorder.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|r| *r.durable(k).borrow());
        if self.phase() == Phase::Briefing {
            return Err(ServiceError::Conflict {
                en: format!("nothing of team `{team}`'s range is on record yet: the drill has not started"),
                zh: format!("队伍“{team}”的靶场尚无记录：演练尚未开始"),
            });
        }
        let recorded_s = durable.unwrap_or(0) as f64 / f64::from(self.scenario.tick_hz);
        let to = to.unwrap_or(recorded_s);
        let from = from.unwrap_or((to - 300.0).max(0.0));
        if !(from >= 0.0 && to > from && to - from <= super::MAX_PCAP_WINDOW_S) {
            return Err(ServiceError::BadRequest(format!(
                "from and to must satisfy 0 <= from < to, at most {} simulated seconds apart",
                super::MAX_PCAP_WINDOW_S
            )));
        }
        // The team's turn, unless its capture or `MAX_PCAP_BUILDS` others are being built: asked
        // again later, never waited for.
        let Ok(_slot) = self.pcaps.enter(team, std::time::Duration::ZERO) else {
            return Err(ServiceError::Unavailable {
                message: "another capture is being built; try again in a moment".into(),
                retry_after_s: 2,
            });
        };
        // A window past the record ends where the record does (the console asks up to the
        // plant's clock; the record lags it by a moment, and by the quiet ticks after its last
        // event once the drill is over); one wholly past it is not on record yet.
        let first = self.scenario.ticks(from);
        let end = durable.map_or(self.scenario.ticks(to), |d| self.scenario.ticks(to).min(d));
        if first >= end {
            return Err(ServiceError::Conflict {
                en: format!(
                    "the record reaches {recorded_s:.0} s so far: ask for a window that begins before then"
                ),
                zh: format!("记录目前只到 {recorded_s:.0} 秒：请选择在此之前开始的时间段"),
            });
        }
        let store = db.open()?;
        let (record, _) = store
            .drill(&self.id)?
            .ok_or_else(|| ServiceError::NotFound(format!("no record of drill {}", self.id)))?;
        let scenario = crate::store::replay::stored_scenario(&record)?;
        // A contest team's PLCs answered with its own flags: its capture shows them so.
        let answering = super::team_scenario(&record, scenario.clone(), team);
        let inputs = store.inputs(&self.id, team)?;
        // Where this server serves the team's PLCs, as its console names them to decode by
        // (a drill resumed on other ports recorded its first ones; `icsdrill pcap` uses those).
        let placement = self.starter.placement(k);
        let run = crate::governance::pcap::Run {
            scenario: &scenario,
            answering: &answering,
            seed: record.seed,
            live_attacker: record.live_attacker,
            inputs: &inputs,
            placement: &placement,
            epoch_ms: self.epoch_ms(),
        };
        let mut out = Vec::new();
        crate::governance::pcap::write_pcap(run, (first, end), &mut out)?;
        Ok(out)
    }

    fn submit_flag<'a>(
        &'a self,
        team: &'a str,
        submitted: String,
    ) -> BoxFuture<'a, Result<FlagAnswer, ActError>> {
        Box::pin(async move {
            let Some(secret) = &self.flag_secret else {
                return Err(ActError::Rejected(Text::new(
                    "this drill has no flags (contest mode only)",
                    "本演练没有夺旗环节（仅竞赛模式）",
                )));
            };
            // A submission the drill cannot take now (the briefing, the hot wash) is refused
            // before it spends one of the team's tries: tries made in the briefing cost a team
            // its first minute of the contest.
            let phase = self.phase();
            if phase != Phase::Live {
                return Err(ActError::NotLive(phase));
            }
            let ids: Vec<&str> = self.teams.iter().map(|t| t.info.id.as_str()).collect();
            let verdict = flags::judge(secret, &ids, &self.challenges, team, &submitted);
            // A flag the team solved before is answered as such, and spends none of its tries
            // (it guesses nothing) nor a line of its log (nothing happened).
            let again = verdict.challenge.as_ref().is_some_and(|c| self.solved_before(team, c));
            if !again {
                self.flag_times
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take(team, self.epoch.elapsed())
                    .map_err(ActError::RateLimited)?;
                if let Some(owner) = &verdict.owner {
                    tracing::warn!(team, owner = %owner, "a team submitted another team's flag");
                }
                self.act(team, verdict.input(submitted.trim())).await?;
            }
            let (message, message_zh) = verdict.message(again);
            Ok(FlagAnswer {
                valid: verdict.challenge.is_some(),
                challenge: verdict.challenge.clone(),
                message,
                message_zh,
            })
        })
    }

    fn standings(&self) -> Standings {
        let board = self.board_full.borrow().clone();
        let rows = board
            .rows
            .iter()
            .map(|r| StandingsRow {
                rank: r.rank,
                team: r.team.clone(),
                name: r.name.clone(),
                bracket: r.bracket.clone(),
                bracket_rank: r.bracket_rank,
                total: r.total,
                settled_tick: (self.ties == icsdrill_drill::board::Ties::FirstSettled)
                    .then_some(r.settled_tick),
                settled_s: (self.ties == icsdrill_drill::board::Ties::FirstSettled)
                    .then(|| r.settled_tick as f64 / f64::from(self.scenario.tick_hz)),
                last_flag_s: r.flag_tick.map(|t| t as f64 / f64::from(self.scenario.tick_hz)),
                replay_sha256: self.log_hash(&r.team).unwrap_or_default(),
                first_bloods: r.first_bloods.clone(),
            })
            .collect();
        Standings { drill: self.id.clone(), phase: self.phase(), rows }
    }

    fn standings_csv(&self) -> Result<Vec<u8>, ServiceError> {
        let standings = self.standings();
        let rows: Vec<Vec<String>> = standings.rows.iter().map(|r| r.cells(standings.phase)).collect();
        Ok(crate::governance::tabular::to_csv_for_excel(&StandingsRow::COLUMNS, &rows)?)
    }

    fn seen(&self, team: Option<&str>) -> icsdrill_drill::Seen {
        Drill::seen(self, team)
    }

    fn next_change<'a>(&'a self, team: Option<&'a str>, seen: icsdrill_drill::Seen) -> BoxFuture<'a, ()> {
        Box::pin(Drill::next_change(self, team, seen))
    }

    fn overview(&self) -> Overview {
        let teams = self
            .teams
            .iter()
            .filter_map(|t| {
                let h = t.here()?;
                let (track, card) = (h.published.track.load(), self.card_of(&h));
                Some(OverviewTeam::build(&self.scenario, &h.live.snapshot(), &t.info, &track, &card))
            })
            .collect();
        let (attempts, uncounted) = self.foreign.list();
        let phase = self.phase();
        Overview {
            phase,
            controls: phase.controls(),
            mode: self.mode,
            records_failing: self.records_failing(),
            cross_team: CrossTeam { attempts, uncounted },
            attack: Overview::attack(&self.scenario),
            script: Overview::script(&self.scenario, self.clock.end_s),
            teams,
            elsewhere: self
                .teams
                .iter()
                .filter(|t| t.here.load().is_none())
                .filter_map(|t| {
                    let a = t.away.load_full()?;
                    Some(TeamElsewhere {
                        id: t.info.id.clone(),
                        name: t.info.name.clone(),
                        node: a.node.clone(),
                        http: a.http.clone(),
                        total: a.row.total,
                        hints: icsdrill_drill::views::hint_views(&self.scenario, &a.hints, true),
                    })
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use icsdrill_drill::Mode;
    use icsdrill_web::ServiceError;
    use icsdrill_web::drill::DrillApi;

    use crate::drill::{DrillServer, DrillSpec};

    /// One capture a team, `MAX_PCAP_BUILDS` at a time: a team whose capture is being built,
    /// or any team while the node builds as many as it takes, asks again later (503 with
    /// Retry-After); one team asking again and again never keeps another waiting.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_capture_waits_for_the_teams_own_or_a_full_node_only() {
        let dir = std::env::temp_dir().join(format!("icsdrill-pcap-slot-{}", std::process::id()));
        let b = icsdrill_scenarios::builtin("petrochem-tank-farm").expect("built in");
        let mut spec = DrillSpec::new(b.load().expect("loads"), &["a", "b"], Mode::Regional);
        (spec.range.modbus_port, spec.range.http_port) = (0, 0);
        spec.manual_clock = true;
        spec.database = Some(crate::store::Database::Sqlite(dir.clone()));
        spec.scenario_source = Some(b.source.to_string());
        let server = DrillServer::start(spec).await.expect("the drill starts");
        let drill = server.drill.clone();
        // Past the briefing (nothing is on record before it).
        drill.control(icsdrill_drill::Control::Start).expect("it starts");
        let busy = |team: &str| match drill.team_pcap(team, Some(0.0), Some(1.0)) {
            Err(ServiceError::Unavailable { retry_after_s, .. }) => retry_after_s > 0,
            _ => false,
        };
        // Team a's capture being built: a waits, b does not.
        let a = drill.pcaps.enter("a", std::time::Duration::ZERO).expect("a's slot");
        assert!(busy("a") && !busy("b"));
        // As many builds as the node takes: every team waits.
        let c = drill.pcaps.enter("c", std::time::Duration::ZERO).expect("a second slot");
        assert!(busy("b"));
        drop((a, c));
        assert!(!busy("a"), "free again");
        server.shutdown().await.expect("the drill stops");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
