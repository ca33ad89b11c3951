//! Calendar dates: `Day`, a civil date (jiff) in the organiser's zone. The region's drills,
//! cadence, rectification deadlines and report dates are days; "today" is the organiser's
//! date in Beijing time (`Asia/Shanghai`, the programme's official time), not UTC's, so a
//! drill run after midnight in Xinjiang is dated that day.

use std::fmt;

use jiff::civil::{Date, Weekday};
use jiff::{ToSpan as _, tz::TimeZone};
use serde::{Deserialize, Serialize};

/// A text that is not a day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not in the `YYYY-MM-DD` form (or a year outside 1900-2999).
    #[error("`{0}` is not a date (YYYY-MM-DD)")]
    NotADate(String),
    /// In the form, but no such day (`2026-02-30`).
    #[error("`{0}` is not a valid date")]
    NoSuchDay(String),
}

type Result<T> = std::result::Result<T, DateError>;

/// The organiser's time zone.
pub const ZONE: &str = "Asia/Shanghai";

/// A calendar day, written `YYYY-MM-DD` in files, the database and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Day(pub Date);

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl PartialEq<&str> for Day {
    fn eq(&self, other: &&str) -> bool {
        parse(other).is_ok_and(|d| d == *self)
    }
}

impl PartialEq<str> for Day {
    fn eq(&self, other: &str) -> bool {
        parse(other).is_ok_and(|d| d == *self)
    }
}

impl std::str::FromStr for Day {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Day> {
        parse(s)
    }
}

impl Day {
    /// Unix milliseconds at the start of this day in the organiser's zone.
    pub fn unix_ms(self) -> i64 {
        self.0.to_zoned(zone()).map(|z| z.timestamp().as_millisecond()).unwrap_or(0)
    }

    /// The day of a date.
    pub fn ymd(year: i16, month: i8, day: i8) -> Result<Day> {
        Date::new(year, month, day)
            .map(Day)
            .map_err(|_| DateError::NoSuchDay(format!("{year:04}-{month:02}-{day:02}")))
    }

    /// The year.
    pub fn year(self) -> i16 {
        self.0.year()
    }

    /// This day plus `months` calendar months (the day of month clamped: Jan 31 + 1 month =
    /// Feb 28/29).
    pub fn add_months(self, months: i64) -> Day {
        Day(self.0.saturating_add((months as i32).months()))
    }

    /// This day plus `days` days.
    pub fn add_days(self, days: i64) -> Day {
        Day(self.0.saturating_add((days as i32).days()))
    }

    /// This day plus `n` working days (Monday to Friday; public holidays are not modelled).
    pub fn add_working_days(self, n: i64) -> Day {
        let mut d = self.0;
        let mut left = n;
        while left > 0 {
            d = d.tomorrow().unwrap_or(d);
            if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
                left -= 1;
            }
        }
        Day(d)
    }
}

/// Parses `YYYY-MM-DD`, rejecting impossible dates (and years outside 1900-2999).
pub fn parse(s: &str) -> Result<Day> {
    let t = s.trim();
    let ok = t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-';
    let Ok(d) = t.parse::<Date>() else {
        if ok && t.split('-').all(|p| p.chars().all(|c| c.is_ascii_digit())) {
            return Err(DateError::NoSuchDay(s.to_string()));
        }
        return Err(DateError::NotADate(s.to_string()));
    };
    if !ok || !(1900..=2999).contains(&d.year()) {
        return Err(DateError::NotADate(s.to_string()));
    }
    Ok(Day(d))
}

fn zone() -> TimeZone {
    TimeZone::get(ZONE).unwrap_or(TimeZone::UTC)
}

/// The organiser's day of a Unix millisecond time.
pub fn day_of_ms(ms: i64) -> Day {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    Day(ts.to_zoned(zone()).date())
}

/// Unix milliseconds of a civil time in the organiser's zone (`None` for one it skips).
pub fn zoned_ms(civil: jiff::civil::DateTime) -> Option<i64> {
    Some(civil.to_zoned(zone()).ok()?.timestamp().as_millisecond())
}

/// Unix milliseconds as the organiser's time, to the millisecond (`2026-09-15 09:00:00.000`).
pub fn format_ms(ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.to_zoned(zone()).strftime("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// Today, the organiser's date.
pub fn today() -> Day {
    day_of_ms(now_ms())
}

/// Unix milliseconds now (the wall clock of the live parts; the simulation never reads it).
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl rusqlite::types::ToSql for Day {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.to_string()))
    }
}

impl rusqlite::types::FromSql for Day {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = value.as_str()?;
        parse(s).map_err(|e| rusqlite::types::FromSqlError::Other(e.into()))
    }
}

impl postgres::types::ToSql for Day {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.to_string().to_sql(ty, out)
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        <String as postgres::types::ToSql>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

impl<'a> postgres::types::FromSql<'a> for Day {
    fn from_sql(
        ty: &postgres::types::Type,
        raw: &'a [u8],
    ) -> std::result::Result<Day, Box<dyn std::error::Error + Sync + Send>> {
        let s = <&str as postgres::types::FromSql>::from_sql(ty, raw)?;
        Ok(parse(s)?)
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        <&str as postgres::types::FromSql>::accepts(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_months_clamp() {
        for s in ["1970-01-01", "2000-02-29", "2026-11-26", "2027-12-31"] {
            assert_eq!(parse(s).unwrap().to_string(), s);
        }
        let p = |s: &str| parse(s).unwrap();
        assert_eq!(p("2026-01-31").add_months(1), "2026-02-28");
        assert_eq!(p("2027-12-15").add_months(13), "2029-01-15");
        assert_eq!(p("2028-02-29").add_months(12), "2029-02-28");
        assert!(parse("2026-02-30").is_err() && parse("2026-13-01").is_err() && parse("26-1-1x").is_err());
        assert!(parse("2026-02-30").unwrap_err().to_string().contains("not a valid date"));
        // Friday 2026-11-27 + 1 working day = Monday 2026-11-30.
        assert_eq!(p("2026-11-27").add_working_days(1), "2026-11-30");
        assert_eq!(p("2026-11-26").add_working_days(30), "2027-01-07");
    }

    #[test]
    fn the_organisers_day_is_beijing_times() {
        // 2026-12-01 17:30 UTC is 01:30 on 2 December in Beijing (and in Xinjiang).
        let ms = jiff::Timestamp::from_second(1_796_146_200).unwrap().as_millisecond();
        assert_eq!(day_of_ms(ms), "2026-12-02");
        assert_eq!(serde_json::to_string(&day_of_ms(ms)).unwrap(), "\"2026-12-02\"");
        let day = parse("2026-12-02").unwrap();
        assert_eq!(day_of_ms(day.unix_ms()), day);
        assert_eq!(day_of_ms(day.unix_ms() - 1), "2026-12-01");
    }
}
