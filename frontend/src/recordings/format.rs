//! How a recording's times read: `1 h 02 min`, local times, and the date filter's day bounds.
//! (Sizes read as in the file manager: `files::paths::human_size`.)

use wasm_bindgen::JsValue;

use crate::files::paths;

/// `850 ms`, `42 s`, `3 min 07 s`, `1 h 02 min`.
pub fn duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0 => format!("{ms} ms"),
        1..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM` in the browser's time zone; as given if unreadable.
pub fn local_time(rfc3339: &str) -> String {
    let millis = js_sys::Date::new(&JsValue::from_str(rfc3339)).get_time();
    if millis.is_nan() {
        return rfc3339.to_owned();
    }
    paths::local_time((millis / 1000.0).floor() as i64)
}

/// A date input's `YYYY-MM-DD` as the RFC 3339 instant its local day starts (`end_of_day`:
/// ends) at, so the filter means the user's days, not UTC's. Empty when there is no date.
pub fn day_bound(day: &str, end_of_day: bool) -> String {
    let mut parts = day.trim().splitn(3, '-').map(|p| p.parse::<i32>());
    let (Some(Ok(year)), Some(Ok(month)), Some(Ok(date))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return String::new();
    };
    let (h, m, s, ms) = if end_of_day {
        (23, 59, 59, 999)
    } else {
        (0, 0, 0, 0)
    };
    let local = js_sys::Date::new_with_year_month_day_hr_min_sec_milli(
        year as u32,
        month - 1,
        date,
        h,
        m,
        s,
        ms,
    );
    if local.get_time().is_nan() {
        return String::new();
    }
    local.to_iso_string().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_sensible_units() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(42_000), "42 s");
        assert_eq!(duration(187_000), "3 min 07 s");
        assert_eq!(duration(3_720_000), "1 h 02 min");
    }
}
