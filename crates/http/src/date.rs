//! HTTP dates (IMF-fixdate, RFC 9110 §5.6.7) and the access-log time
//! format, without a calendar dependency: days since the epoch are turned
//! into civil dates with Howard Hinnant's algorithms.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// 10000-01-01T00:00:00Z in seconds since the epoch: the first time an
/// HTTP-date (four-digit years) cannot express.
const YEAR_10000: u64 = 253_402_300_800;

/// Whole seconds since the epoch (times before it count as the epoch).
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

pub(crate) use gyre_core::calendar::{civil_from_days, days_from_civil};

struct Parts {
    weekday: &'static str,
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
}

fn parts(seconds: u64) -> Parts {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    Parts {
        weekday: DAYS[days.rem_euclid(7) as usize],
        year,
        month,
        day,
        hour: rest / 3600,
        minute: rest / 60 % 60,
        second: rest % 60,
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for `Last-Modified` and listings.
pub fn format_http_date(time: SystemTime) -> String {
    let p = parts(unix_seconds(time));
    if (1000..=9999).contains(&p.year) {
        // Every static-file answer carries one (`Last-Modified`): written
        // byte by byte it costs a tenth of what `format!` does.
        let mut out = String::with_capacity(29);
        out.push_str(p.weekday);
        out.push_str(", ");
        push_digits(&mut out, u64::from(p.day), 2);
        out.push(' ');
        out.push_str(MONTHS[p.month as usize - 1]);
        out.push(' ');
        push_digits(&mut out, p.year as u64, 4);
        out.push(' ');
        push_digits(&mut out, p.hour, 2);
        out.push(':');
        push_digits(&mut out, p.minute, 2);
        out.push(':');
        push_digits(&mut out, p.second, 2);
        out.push_str(" GMT");
        return out;
    }
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        p.weekday,
        p.day,
        MONTHS[p.month as usize - 1],
        p.year,
        p.hour,
        p.minute,
        p.second
    )
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut String, value: u64, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10u64.pow(place) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// `10/Oct/2000:13:55:36 +0000`: the time of an access-log line (UTC).
pub fn format_log_time(time: SystemTime) -> String {
    let p = parts(unix_seconds(time));
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        p.day,
        MONTHS[p.month as usize - 1],
        p.year,
        p.hour,
        p.minute,
        p.second
    )
}

/// Parses an IMF-fixdate (the only form senders may generate) and the two
/// obsolete forms recipients must accept (RFC 850 and asctime). `None` for
/// anything else: an invalid date makes a conditional header be ignored.
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let (day, month, year, clock) = match fields.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [_, day, month, year, clock, "GMT"] if text.as_bytes().get(3) == Some(&b',') => {
            (*day, *month, year.parse::<i64>().ok()?, *clock)
        }
        // Sunday, 06-Nov-94 08:49:37 GMT
        [_, date, clock, "GMT"] => {
            let mut it = date.split('-');
            let (day, month, year) = (it.next()?, it.next()?, it.next()?);
            if it.next().is_some() || year.len() != 2 {
                return None;
            }
            let year: i64 = year.parse().ok()?;
            (
                day,
                month,
                if year < 70 { 2000 + year } else { 1900 + year },
                *clock,
            )
        }
        // Sun Nov  6 08:49:37 1994
        [_, month, day, clock, year] => (*day, *month, year.parse::<i64>().ok()?, *clock),
        _ => return None,
    };
    if !day.bytes().all(|b| b.is_ascii_digit()) || day.is_empty() || day.len() > 2 {
        return None;
    }
    let day: u32 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let mut hms = clock.split(':');
    let mut field = |max: u64| -> Option<u64> {
        let part = hms.next()?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok().filter(|value| *value <= max)
    };
    let (hour, minute, second) = (field(23)?, field(59)?, field(60)?);
    if hms.next().is_some() || !(1..=31).contains(&day) || !(1970..=9999).contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if civil_from_days(days) != (year, month, day) {
        return None; // 31 Feb and the like
    }
    let seconds = days as u64 * 86_400 + hour * 3600 + minute * 60 + second;
    // A leap second on the last day of 9999 would land in a year no
    // HTTP-date can be written with.
    (seconds < YEAR_10000).then(|| UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_format(seconds: u64) -> String {
        let p = parts(seconds);
        let month = MONTHS[p.month as usize - 1];
        format!(
            "{}, {:02} {month} {} {:02}:{:02}:{:02} GMT",
            p.weekday, p.day, p.year, p.hour, p.minute, p.second
        )
    }

    #[test]
    fn the_direct_writer_matches_format_everywhere() {
        assert_eq!(
            format_http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(format_http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        let mut seconds = 0u64;
        while seconds < YEAR_10000 + 86_400 * 400 {
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            assert_eq!(format_http_date(time), with_format(seconds), "{seconds}");
            seconds += 86_400 * 37 + 3_607; // walks every month, weekday and hour
        }
    }
}
