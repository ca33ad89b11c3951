//! Calendar dates as Unix day numbers (days since 1970-01-01), without a date library: the
//! registry's cadence, rectification deadlines and report dates need only days, months and
//! working days.

use anyhow::{Result, bail};

/// `YYYY-MM-DD` of a Unix day number (proleptic Gregorian; H. Hinnant's algorithm).
pub fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix day of a Unix millisecond time.
pub fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

/// Unix day number of a civil date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD` into a Unix day, rejecting impossible dates.
pub fn parse(s: &str) -> Result<i64> {
    let parts: Vec<&str> = s.trim().split('-').collect();
    let [y, m, d] = parts[..] else { bail!("`{s}` is not a date (YYYY-MM-DD)") };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<i64>(), d.parse::<i64>()) else {
        bail!("`{s}` is not a date (YYYY-MM-DD)");
    };
    if !(1900..=2999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > month_days(y, m) {
        bail!("`{s}` is not a valid date");
    }
    Ok(days_from_civil(y, m, d))
}

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn month_days(y: i64, m: i64) -> i64 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The year, month and day of a Unix day.
pub fn ymd(day: i64) -> (i64, i64, i64) {
    let s = civil(day);
    let p: Vec<i64> = s.split('-').map(|x| x.parse().unwrap_or(0)).collect();
    (p[0], p[1], p[2])
}

/// `day` plus `months` calendar months (the day of month clamped: Jan 31 + 1 month = Feb 28/29).
pub fn add_months(day: i64, months: i64) -> i64 {
    let (y, m, d) = ymd(day);
    let total = y * 12 + (m - 1) + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    days_from_civil(ny, nm, d.min(month_days(ny, nm)))
}

/// `day` plus `n` working days (Monday to Friday; public holidays are not modelled).
pub fn add_working_days(day: i64, n: i64) -> i64 {
    let mut d = day;
    let mut left = n;
    while left > 0 {
        d += 1;
        // 1970-01-01 was a Thursday: weekday 0 = Monday.
        let weekday = (d + 3).rem_euclid(7);
        if weekday < 5 {
            left -= 1;
        }
    }
    d
}

/// Today (UTC) as a Unix day.
pub fn today() -> i64 {
    day_of_ms(now_ms())
}

/// Unix milliseconds now (the wall clock of the live parts; the simulation never reads it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_months_clamp() {
        for s in ["1970-01-01", "2000-02-29", "2026-11-26", "2027-12-31"] {
            assert_eq!(civil(parse(s).unwrap()), s);
        }
        assert_eq!(civil(add_months(parse("2026-01-31").unwrap(), 1)), "2026-02-28");
        assert_eq!(civil(add_months(parse("2027-12-15").unwrap(), 13)), "2029-01-15");
        assert_eq!(civil(add_months(parse("2028-02-29").unwrap(), 12)), "2029-02-28");
        assert!(parse("2026-02-30").is_err() && parse("2026-13-01").is_err() && parse("26-1-1x").is_err());
        // Friday 2026-11-27 + 1 working day = Monday 2026-11-30.
        assert_eq!(civil(add_working_days(parse("2026-11-27").unwrap(), 1)), "2026-11-30");
        assert_eq!(civil(add_working_days(parse("2026-11-26").unwrap(), 30)), "2027-01-07");
    }
}
